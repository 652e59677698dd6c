using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Field;

/// <summary>
/// The field app's API: devices (<c>/api/v1/devices</c>), the trip pack and photo uploads (<c>/api/v1/field</c>), sync
/// (<c>/api/v1/sync</c>) and, for the office, sync conflicts (<c>/api/v1/sync-conflicts</c>). The request and response
/// records are those of the WorkOrders.FieldApp.Contracts project, which the field app shares.
/// </summary>
public static class FieldApi
{
    public static IServiceCollection AddField(this IServiceCollection services)
    {
        services.AddOptions<FieldOptions>().BindConfiguration(FieldOptions.Section).ValidateDataAnnotations()
            .Validate(
                o => o.CommandRetention >= o.CredentialLifetime,
                "Field:CommandRetention must be at least Field:CredentialLifetime: a device may retry a command for as long as its credential lives.")
            .ValidateOnStart();
        services.AddOptions<FieldRetentionOptions>().BindConfiguration(FieldRetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Devices>();
        services.AddSingleton<SyncCommands>();
        services.AddSingleton<SyncConflicts>();
        services.AddSingleton<FieldPhotos>();
        services.AddSingleton<TripPacks>();
        services.AddSingleton<FieldRetention>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<FieldRetention>());
        return services;
    }

    public static void MapFieldApi(this RouteGroupBuilder api)
    {
        var devices = api.MapGroup("/devices").WithTags("Field");
        devices.MapPost("", async (RegisterDeviceRequest request, FieldCaller caller, Devices register, CancellationToken ct) =>
                (await register.RegisterAsync(request, caller.Actor, caller.DeviceId is not null, ct)).Map(d => Results.Created($"/api/v1/devices/{d.DeviceId}", d)))
            .AccessFirst(Devices.RegisterRefusal)
            .Produces<DeviceCredential>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        devices.MapGet("", async (Actor actor, Devices register, CancellationToken ct, long? userId = null, bool includeRevoked = true, int skip = 0, int take = 50) =>
                TypedResults.Ok(await register.ListAsync(actor, userId, includeRevoked, skip, take, ct)))
            .Produces<DevicePage>();
        devices.MapPost("/{id:long}/revoke", async (long id, Actor actor, Devices register, CancellationToken ct) =>
                (await register.RevokeAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<DeviceInfo>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        var field = api.MapGroup("/field").WithTags("Field");
        field.MapGet("/trip-pack", async (FieldCaller caller, TripPacks packs, CancellationToken ct, int? days = null) =>
                (await packs.PackAsync(caller.Actor, days, ct)).Map(Results.Ok))
            .Produces<TripPack>()
            .ProducesValidationProblem();
        field.MapGet("/photos/{sha256}", async (string sha256, FieldCaller caller, FieldPhotos photos, CancellationToken ct) =>
                (await photos.StatusAsync(sha256, caller.Actor, ct)).Map(Results.Ok))
            .Produces<PhotoUploadStatus>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        // The same as GET, in headers only: Upload-Offset (bytes held) and Upload-Length (the photo's size); 404 when unknown.
        field.MapMethods("/photos/{sha256}", [HttpMethods.Head], async (string sha256, FieldCaller caller, FieldPhotos photos, HttpResponse response, CancellationToken ct) =>
                (await photos.StatusAsync(sha256, caller.Actor, ct)).Map(status =>
                {
                    response.Headers["Upload-Offset"] = status.ReceivedBytes.ToString(CultureInfo.InvariantCulture);
                    response.Headers["Upload-Length"] = status.TotalBytes.ToString(CultureInfo.InvariantCulture);
                    response.Headers["Upload-Complete"] = status.Complete ? "?1" : "?0";
                    return Results.Ok();
                }))
            .ExcludeFromDescription();
        field.MapPut("/photos/{sha256}", async (string sha256, HttpRequest request, FieldCaller caller, FieldPhotos photos, CancellationToken ct) =>
                (await photos.PutAsync(sha256, request.Headers.ContentRange.ToString(), request.ContentType, request.Body, caller.Actor, ct)).Map(Results.Ok))
            .Produces<PhotoUploadStatus>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        var sync = api.MapGroup("/sync").WithTags("Field");
        sync.MapPost("/commands", async (SyncBatch batch, FieldCaller caller, SyncCommands commands, CancellationToken ct) =>
                (await commands.ApplyAsync(batch, caller, CultureInfo.CurrentUICulture, ct)).Map(Results.Ok))
            .AccessFirst(SyncCommands.Refusal)
            .Produces<SyncBatchResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        sync.MapGet("/changes", async (FieldCaller caller, TripPacks packs, CancellationToken ct, string? cursor = null) =>
                (await packs.ChangesAsync(caller.Actor, cursor, ct)).Map(Results.Ok))
            .Produces<ChangeSet>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status410Gone);

        var conflicts = api.MapGroup("/sync-conflicts").WithTags("Field");
        conflicts.MapGet("", async (Actor actor, SyncConflicts list, CancellationToken ct, bool includeResolved = false, int skip = 0, int take = 50) =>
                (await list.ListAsync(actor, includeResolved, skip, take, ct)).Map(Results.Ok))
            .Produces<ConflictPage>()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        conflicts.MapPost("/{id:long}/resolve", async (long id, ResolveConflictRequest request, Actor actor, SyncConflicts list, CancellationToken ct) =>
                (await list.ResolveAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(SyncConflicts.Refusal)
            .Produces<ConflictView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }
}
