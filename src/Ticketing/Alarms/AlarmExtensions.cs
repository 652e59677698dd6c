using Microsoft.Extensions.DependencyInjection;

namespace WorkOrders.Ticketing.Alarms;

public static class AlarmExtensions
{
    /// <summary>Sensor alarms: sources, rules, the ingestion path, the state timers and the MQTT bridge (off without a broker).</summary>
    public static IServiceCollection AddAlarms(this IServiceCollection services)
    {
        services.AddOptions<AlarmOptions>().BindConfiguration(AlarmOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AlarmSources>();
        services.AddSingleton<AlarmRules>();
        services.AddSingleton<AlarmQueries>();
        services.AddSingleton<AlarmEngine>();
        services.AddSingleton<AlarmIngestion>();
        services.AddSingleton<AlarmTimers>();
        services.AddHostedService(sp => sp.GetRequiredService<AlarmTimers>());
        services.AddOptions<MqttBridgeOptions>().BindConfiguration(MqttBridgeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MqttBridge>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttBridge>());
        return services;
    }
}
