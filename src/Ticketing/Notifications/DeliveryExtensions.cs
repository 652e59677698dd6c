using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Email;
using WorkOrders.Ticketing.Webhooks;

namespace WorkOrders.Ticketing.Notifications;

public static class DeliveryExtensions
{
    /// <summary>
    /// Registers how notifications and history leave the database: the process's one PostgreSQL listener (live bell),
    /// the webhook dispatcher and the e-mail sender, with their options. Call it after the start-up migration is
    /// registered: hosted services start in order, and these read the tables the migration makes.
    /// </summary>
    public static IServiceCollection AddNotificationDelivery(this IServiceCollection services)
    {
        services.AddSingleton(new ListenChannel(Notifications.Channel));
        services.AddSingleton(new ListenChannel(WebhookDispatcher.Channel));
        services.AddSingleton(new ListenChannel(EmailSender.Channel));
        services.AddSingleton<ChannelListener>();
        services.AddHostedService(sp => sp.GetRequiredService<ChannelListener>());
        services.AddSingleton<NotificationListener>();

        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations()
            .Validate(WebhookOptions.HasPositiveTimes, "Webhooks: Timeout, FirstRetryDelay and PollInterval must be positive, and MaxRetryDelay at least FirstRetryDelay.")
            .ValidateOnStart();
        services.AddSingleton<WebhookTargets>();
        services.AddWebhookClient();
        services.AddSingleton<WebhookSubscriptions>();
        services.AddSingleton<WebhookDeliveries>();
        services.AddHostedService<WebhookDispatcher>();

        services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section).ValidateDataAnnotations()
            .Validate(EmailOptions.IsConsistent, "Email: From must be an e-mail address when Host is set, UserName and Password go together, and the times must be positive.")
            .ValidateOnStart();
        services.AddHostedService<EmailSender>();
        return services;
    }

    /// <summary>
    /// The named client the dispatcher posts with: every connection it opens goes through
    /// <see cref="WebhookTargets.ConnectAsync"/>, so the receiver rule holds on the address actually connected to. It
    /// goes straight to the receiver (no proxy from the environment), since the rule is about where the post lands.
    /// </summary>
    public static IServiceCollection AddWebhookClient(this IServiceCollection services)
    {
        services.AddHttpClient(WebhookDispatcher.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                ConnectCallback = sp.GetRequiredService<WebhookTargets>().ConnectAsync,
                UseProxy = false,
            });
        return services;
    }
}
