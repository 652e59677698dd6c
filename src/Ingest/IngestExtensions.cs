using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Analytics;
using WorkOrders.Ingest.Forecast;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ingest.Warehouse;

namespace WorkOrders.Ingest;

public static class IngestExtensions
{
    /// <summary>
    /// Hosts the jobs of the process that owns the warehouse: the ingest, and the forecast that trains on the warehouse
    /// and publishes proposals; each on a schedule, on demand, with its status.
    /// </summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        builder.AddAnalytics();
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<WarehouseOptions>>().Value.BusinessHours());
        builder.Services.AddSingleton<WarehouseIngest>();
        builder.Services.AddHttpClient(WarehouseReplica.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddSingleton<WarehouseReplica>();
        builder.Services.AddSingleton<IngestService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IngestService>());
        builder.Services.AddSingleton<GeneratorTruth>();
        builder.Services.AddSingleton<Import.AssetUploads>();
        builder.Services.AddOptions<ForecastJobOptions>().BindConfiguration(ForecastJobOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ForecastJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ForecastJob>());
        return builder;
    }
}
