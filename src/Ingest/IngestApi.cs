using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ingest.Forecast;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ingest;

public static class IngestApi
{
    /// <summary>The endpoints of the warehouse's jobs: the ingest's status and "ingest now" for administrators, and the forecast's.</summary>
    public static IEndpointRouteBuilder MapIngestApi(this IEndpointRouteBuilder app)
    {
        app.MapForecastApi();
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
