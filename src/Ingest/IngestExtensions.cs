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
}
