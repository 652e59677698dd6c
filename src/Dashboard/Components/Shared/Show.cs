using System.Globalization;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>How times and numbers read on the pages. The server does not know the browser's time zone, so times say UTC.</summary>
public static class Show
{
    public static string Time(DateTime? utc) => utc is null ? "–" : ShortTime(utc) + " UTC";

    /// <summary>For columns whose header already says UTC.</summary>
    public static string ShortTime(DateTime? utc) => utc?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "–";

    public static string Day(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string Priority(int priority) => string.Create(CultureInfo.InvariantCulture, $"P{priority}");

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.CurrentCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.CurrentCulture, $"{bytes / 1024.0:0.#} KiB"),
        _ => string.Create(CultureInfo.CurrentCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
    };
}
