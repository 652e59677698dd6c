using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Inspections;

/// <summary>
/// Inspection routes and rounds under /api/v1/inspections. Routes are read by everyone signed in and written by planners,
/// managers and administrators. The round commands (start, confirm or skip a stop, record a result, complete) are what the
/// round page and the field app send; each carries a commandId the client made, so sending it again is safe.
/// </summary>
public static class InspectionApi
{
    public static IServiceCollection AddInspections(this IServiceCollection services)
    {
        services.AddOptions<InspectionOptions>().BindConfiguration(InspectionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<InspectionRoutes>();
        services.AddSingleton<Rounds>();
        services.AddSingleton<RoundAssignment>();
        services.AddSingleton<RoundGenerator>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RoundGenerator>());
        return services;
    }

    /// <summary>Maps the endpoints under the API's /api/v1 group.</summary>
    public static void MapInspectionApi(this RouteGroupBuilder api)
    {
        var inspections = api.MapGroup("/inspections").WithTags("Inspections");

        inspections.MapGet("/routes", async (InspectionRoutes routes, CancellationToken ct, bool includeInactive = false) =>
            TypedResults.Ok(await routes.ListAsync(includeInactive, ct)));

        inspections.MapGet("/routes/{id:long}", async (long id, InspectionRoutes routes, CancellationToken ct, int? version = null) =>
                await routes.FindAsync(id, version, ct) is { } route ? Results.Ok(route) : Failure.NotFound("inspection.route_not_found", id).ToResult())
            .Produces<InspectionRoute>();

        inspections.MapPost("/routes", async (RouteRequest request, Actor actor, InspectionRoutes routes, CancellationToken ct) =>
                (await routes.CreateAsync(request, actor, ct)).Map(route => Results.Created($"/api/v1/inspections/routes/{route.Id}", route)))
            .AccessFirst(InspectionRoutes.ManageRefusal)
            .Produces<InspectionRoute>(StatusCodes.Status201Created)
            .ProducesValidationProblem();

        inspections.MapPut("/routes/{id:long}", async (long id, RouteRequest request, Actor actor, InspectionRoutes routes, CancellationToken ct) =>
                (await routes.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(InspectionRoutes.ManageRefusal)
            .Produces<InspectionRoute>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        inspections.MapGet("/rounds/mine", async (Actor actor, Rounds rounds, CancellationToken ct, bool includeDone = false) =>
            TypedResults.Ok(await rounds.MineAsync(actor, includeDone, ct)));

        inspections.MapGet("/rounds", async (DateTime from, DateTime until, Actor actor, Rounds rounds, CancellationToken ct, long? routeId = null) =>
            Rounds.MaySee(actor) ? Results.Ok(await rounds.ListAsync(routeId, from, until, ct)) : Failure.Forbidden("inspection.round_not_yours").ToResult());

        inspections.MapGet("/compliance", async (DateTime from, DateTime until, Rounds rounds, CancellationToken ct) =>
            TypedResults.Ok(await rounds.ComplianceAsync(from, until, ct)));

        inspections.MapGet("/rounds/{id:long}", async (long id, Actor actor, Rounds rounds, CancellationToken ct) =>
                Rounds.MaySee(actor) ? (await rounds.GetAsync(id, ct)).Map(Results.Ok) : Failure.Forbidden("inspection.round_not_yours").ToResult())
            .Produces<RoundView>();

        inspections.MapPost("/rounds/{id:long}/reassign", async (long id, RoundReassignRequest request, Actor actor, RoundAssignment assignment, CancellationToken ct) =>
                (await assignment.ReassignAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<RoundAssigned>()
            .ProducesValidationProblem();
        inspections.MapPost("/rounds/{id:long}/start", async (long id, StartRoundCommand command, Actor actor, Rounds rounds, CancellationToken ct) =>
                (await rounds.StartAsync(id, command, actor, ct)).Map(Results.Ok))
            .Produces<RoundView>()
            .ProducesValidationProblem();

        inspections.MapPost("/rounds/{id:long}/stops/confirm", async (long id, ConfirmStopCommand command, Actor actor, Rounds rounds, CancellationToken ct) =>
                (await rounds.ConfirmStopAsync(id, command, actor, ct)).Map(Results.Ok))
            .Produces<RoundView>()
            .ProducesValidationProblem();

        inspections.MapPost("/rounds/{id:long}/stops/skip", async (long id, SkipStopCommand command, Actor actor, Rounds rounds, CancellationToken ct) =>
                (await rounds.SkipStopAsync(id, command, actor, ct)).Map(Results.Ok))
            .Produces<RoundView>()
            .ProducesValidationProblem();

        inspections.MapPost("/rounds/{id:long}/results", async (long id, RecordResultCommand command, Actor actor, Rounds rounds, CancellationToken ct) =>
                (await rounds.RecordAsync(id, command, actor, ct)).Map(Results.Ok))
            .Produces<RoundView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        inspections.MapPost("/rounds/{id:long}/complete", async (long id, CompleteRoundCommand command, Actor actor, Rounds rounds, CancellationToken ct) =>
                (await rounds.CompleteAsync(id, command, actor, ct)).Map(Results.Ok))
            .Produces<RoundView>()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        inspections.MapPost("/photos", async (HttpContext http, Actor actor, Rounds rounds, CancellationToken ct) =>
            {
                if (!http.Request.HasFormContentType)
                {
                    return Failure.Invalid("file", "attachment.not_multipart").ToResult();
                }

                var form = await http.Request.ReadFormAsync(ct);
                if (form.Files.GetFile("file") is not { } file)
                {
                    return Failure.Invalid("file", "attachment.part_required").ToResult();
                }

                await using var content = file.OpenReadStream();
                return (await rounds.UploadPhotoAsync(file.FileName, file.ContentType, content, actor, ct))
                    .Map(p => Results.Created($"/api/v1/inspections/photos/{p.Sha256}", p));
            })
            .DisableAntiforgery()
            .Accepts<IFormFile>("multipart/form-data")
            .Produces<PhotoInfo>(StatusCodes.Status201Created)
            .ProducesValidationProblem();

        inspections.MapGet("/photos/{sha256}", async (string sha256, Rounds rounds, HttpResponse response, CancellationToken ct) =>
                (await rounds.PhotoAsync(sha256, ct)).Map(p =>
                {
                    response.Headers.XContentTypeOptions = "nosniff";
                    response.Headers.ContentSecurityPolicy = "default-src 'none'; img-src 'self'; sandbox";
                    return Results.File(p.Content, p.ContentType);
                }))
            .Produces(StatusCodes.Status200OK);

        inspections.MapPost("/generator/run", async (RoundGenerator generator, CancellationToken ct) =>
                TypedResults.Ok(await generator.Runner.RequestRunAsync(ct)))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin));
    }
}
