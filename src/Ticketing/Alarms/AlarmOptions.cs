using System.ComponentModel.DataAnnotations;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>Settings of alarm handling, bound from the "Alarms" section. The interval is that of the state timers.</summary>
public sealed class AlarmOptions : JobOptions
{
    public const string Section = "Alarms";

    public AlarmOptions() => Interval = TimeSpan.FromSeconds(30);

    /// <summary>Run the state timers (pending that held long enough, clears that held) in this process.</summary>
    public bool TimersEnabled { get; set; } = true;

    /// <summary>Most events one batch may carry.</summary>
    [Range(1, 10_000)]
    public int MaxBatch { get; set; } = 1000;

    /// <summary>Most work orders alarms may raise on one site within <see cref="SiteRateWindow"/>; beyond it raises are recorded as rate-limited.</summary>
    [Range(1, 100_000)]
    public int SiteRateLimit { get; set; } = 50;

    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan SiteRateWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A new work order raised this soon after the last one of the same asset and fault closed is linked to it as a repeat.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan RepeatCooldown { get; set; } = TimeSpan.FromDays(7);

    /// <summary>An event time further than this ahead of the server's clock is refused.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);
}
