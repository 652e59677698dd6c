using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Analytics;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ingest;

public static class IngestExtensions
{
    /// <summary>Hosts the warehouse ingest in this process: on a schedule, on demand, with its status.</summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        builder.AddAnalytics();
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<WarehouseOptions>>().Value.BusinessHours());
        builder.Services.AddSingleton<WarehouseIngest>();
        builder.Services.AddSingleton<IngestService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IngestService>());
        return builder;
    }

    /// <summary>The ingest's status and "ingest now", for administrators.</summary>
    public static IEndpointRouteBuilder MapIngestApi(this IEndpointRouteBuilder app)
    {
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
