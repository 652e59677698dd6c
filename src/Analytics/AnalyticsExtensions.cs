using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Forecasting;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics;

public static class AnalyticsExtensions
{
    /// <summary>Registers the warehouse reader the analytics queries run on, and the forecasts.</summary>
    public static IHostApplicationBuilder AddAnalytics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WarehouseOptions>().BindConfiguration(WarehouseOptions.Section).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WarehouseOptions>, WarehouseOptionsValidation>());
        builder.Services.TryAddSingleton<WarehouseReader>();
        builder.Services.TryAddSingleton<WarehouseAnalytics>();
        builder.Services.AddOptions<ForecastOptions>().BindConfiguration(ForecastOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton<Forecasts>();
        return builder;
    }
}
