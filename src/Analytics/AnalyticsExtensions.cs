using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics;

public static class AnalyticsExtensions
{
    /// <summary>Registers the warehouse reader the analytics queries run on.</summary>
    public static IHostApplicationBuilder AddAnalytics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WarehouseOptions>().BindConfiguration(WarehouseOptions.Section);
        builder.Services.TryAddSingleton<WarehouseReader>();
        builder.Services.TryAddSingleton<WarehouseAnalytics>();
        return builder;
    }
}
