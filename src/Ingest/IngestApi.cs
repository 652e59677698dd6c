using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ingest.Forecast;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ingest;

public static class IngestApi
{
    /// <summary>The endpoints of the warehouse's jobs: the ingest's status and "ingest now" for administrators, and the forecast's.</summary>
    public static IEndpointRouteBuilder MapIngestApi(this IEndpointRouteBuilder app)
    {
        app.MapForecastApi();
        // The reject file of a register upload on the /assets page: a download, not a message through the circuit.
        app.MapGet("/api/v1/assets/imports/{token}/rejects", (string token, Actor actor, Import.AssetUploads uploads) =>
                uploads.RejectsPath(token, actor) is { } path
                    ? Results.File(path, "text/csv", "asset-import-rejects.csv")
                    : Results.NotFound())
            .RequireAuthorization()
            .WithTags("Assets");
        app.MapPost("/api/v1/assets/imports", async (HttpRequest http, Actor actor, Import.AssetUploads uploads, CancellationToken ct) =>
            {
                var form = await http.ReadFormAsync(ct);
                if (form.Files.GetFile("file") is not { } file)
                {
                    return Failure.Invalid("file", "attachment.part_required").ToResult();
                }

                await using var content = file.OpenReadStream();
                return (await uploads.ImportAsync(content, file.FileName, actor, ct)).Map(Results.Ok);
            })
            .RequireAuthorization()
            .DisableAntiforgery()
            .Accepts<IFormFile>("multipart/form-data")
            .Produces<Import.AssetUploadResult>()
            .ProducesValidationProblem()
            .WithTags("Assets");
        var ingest = app.MapGroup("/api/v1/ingest").RequireAuthorization(p => p.RequireRole(Roles.Admin)).WithTags("Warehouse");
        ingest.MapGet("/status", (IngestService service) => TypedResults.Ok(service.Status));
        ingest.MapPost("/runs", async (IngestService service, CancellationToken ct, bool wait = false) =>
            {
                var run = service.RequestRunAsync(ct);
                return wait
                    ? Results.Ok(await run)
                    : Results.Accepted("/api/v1/ingest/status", service.Status);
            })
            .Produces<IngestStatus>()
            .Produces<IngestStatus>(StatusCodes.Status202Accepted);
        app.MapGet("/api/v1/warehouse/snapshot", Snapshot).AllowAnonymous().WithTags("Warehouse")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    /// <summary>
    /// The owner's latest published snapshot of the warehouse, for a reader process on another machine: to an
    /// administrator, or to a request whose X-Warehouse-Token header holds Warehouse:SnapshotToken. Its ETag names
    /// the snapshot, so a reader asking with If-None-Match for the one it holds is answered 304.
    /// </summary>
    private static IResult Snapshot(HttpContext http, IOptions<WarehouseOptions> options)
    {
        var settings = options.Value;
        if (!http.User.IsInRole(Roles.Admin) && !HoldsToken(http.Request, settings.SnapshotToken))
        {
            return Results.StatusCode(http.User.Identity?.IsAuthenticated == true ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized);
        }

        if (settings.Role != WarehouseRole.Owner)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: "This process is a warehouse reader; ask the owner for the snapshot.");
        }

        // The result sends and disposes the stream.
#pragma warning disable CA2000
        FileStream snapshot;
        try
        {
            // The next snapshot is renamed over this one; the file opened here stays whole while it is sent.
            snapshot = new FileStream(WarehouseSnapshot.PathFor(settings.Path), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: "No snapshot yet: the owner publishes one after each ingest.");
        }

        return Results.Stream(
            snapshot, "application/octet-stream", "warehouse-snapshot.duckdb", File.GetLastWriteTimeUtc(snapshot.SafeFileHandle), EntityTagHeaderValue.Parse(WarehouseReplica.Tag(snapshot)));
#pragma warning restore CA2000
    }

    private static bool HoldsToken(HttpRequest request, string? token) =>
        token is not null
        && request.Headers[WarehouseReplica.TokenHeader] is [{ } sent]
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(token));
}
