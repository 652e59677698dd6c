using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
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
        return app;
    }
}
