using System.Globalization;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>
/// How times and numbers read on the pages. Times are shown in the reader's time zone (<c>users.time_zone</c>, an IANA
/// name, UTC by default) and name it; dates without a time stay dates. One per circuit: the layout sets the zone of
/// the signed-in user before any page shows a time.
/// </summary>
public sealed class Show
{
    public TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;

    /// <summary>The name the pages give the zone, as the user chose it (Asia/Taipei, UTC).</summary>
    public string ZoneName => Zone.Id;

    public void UseZone(TimeZoneInfo zone) => Zone = zone;

    /// <summary>A time with its zone named: "2026-12-03 22:05 Asia/Taipei".</summary>
    public string Time(DateTime? utc) => utc is null ? "–" : $"{ShortTime(utc)} {ZoneName}";

    /// <summary>For columns whose header names the zone.</summary>
    public string ShortTime(DateTime? utc) => utc is { } t
        ? TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(t, DateTimeKind.Utc), Zone).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : "–";

    public static string Day(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string Priority(int priority) => string.Create(CultureInfo.InvariantCulture, $"P{priority}");

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.CurrentCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.CurrentCulture, $"{bytes / 1024.0:0.#} KiB"),
        _ => string.Create(CultureInfo.CurrentCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
    };
}
