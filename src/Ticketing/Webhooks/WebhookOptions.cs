using System.ComponentModel.DataAnnotations;
using WorkOrders.Ticketing.Notifications;

namespace WorkOrders.Ticketing.Webhooks;

/// <summary>How webhook deliveries are sent and retried, bound from the "Webhooks" section.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>How long one POST may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The pause after the first failed attempt.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Each further pause is the one before times this.</summary>
    [Range(1.0, 10.0)]
    public double BackoffFactor { get; set; } = 2;

    /// <summary>The longest pause between two attempts.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Attempts before a delivery is marked failed.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>How often the dispatcher looks for due retries; new deliveries wake it at once.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deliveries claimed and sent together.</summary>
    [Range(1, 500)]
    public int BatchSize { get; set; } = 20;

    /// <summary>
    /// Hosts (names or addresses, as written in the URL) a receiver may have although they resolve to a loopback,
    /// link-local or other internal address, e.g. a receiver on this machine. Empty by default.
    /// </summary>
    public string[] AllowedHosts { get; set; } = [];

    public RetryPolicy Retry => new(FirstRetryDelay, BackoffFactor, MaxAttempts, MaxRetryDelay);

    public static bool HasPositiveTimes(WebhookOptions o) =>
        o.Timeout > TimeSpan.Zero && o.FirstRetryDelay > TimeSpan.Zero && o.MaxRetryDelay >= o.FirstRetryDelay && o.PollInterval > TimeSpan.Zero;
}
