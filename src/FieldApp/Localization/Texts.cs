using System.Globalization;
using WorkOrders.FieldApp.Storage;

namespace WorkOrders.FieldApp.Localization;

/// <summary>
/// The app's words in English and Traditional Chinese: a table in the app itself, so switching language is instant and
/// offline (no satellite assembly to fetch). The browser's language picks the first; the header button switches and
/// the choice is kept on the device.
/// </summary>
public sealed class Texts(LocalStore store)
{
    public const string English = "en";
    public const string Chinese = "zh-TW";

    private Dictionary<string, string> _table = Strings.En;

    /// <summary>The language in use, also sent as Accept-Language so the server's refusals come in it.</summary>
    public string Language { get; private set; } = English;

    public event Action? Changed;

    public string this[string key] => _table.GetValueOrDefault(key) ?? Strings.En.GetValueOrDefault(key) ?? key;

    public async Task LoadAsync() => Use(await store.GetAsync<string>("language") ?? await store.LanguageAsync());

    public async Task SwitchAsync()
    {
        Use(Language == Chinese ? English : Chinese);
        await store.SetAsync("language", Language);
        Changed?.Invoke();
    }

    private void Use(string language)
    {
        Language = language.StartsWith("zh", StringComparison.OrdinalIgnoreCase) ? Chinese : English;
        _table = Language == Chinese ? Strings.ZhTw : Strings.En;
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.CurrentCulture =
            CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
    }

    /// <summary>A work-order or round status in words.</summary>
    public string Status(string status) => this["status_" + status];

    /// <summary>How long ago, in the largest whole unit.</summary>
    public string Ago(TimeSpan age) => age.TotalMinutes < 1 ? this["just_now"]
        : age.TotalHours < 1 ? string.Format(CultureInfo.InvariantCulture, this["minutes_ago"], (int)age.TotalMinutes)
        : age.TotalDays < 1 ? string.Format(CultureInfo.InvariantCulture, this["hours_ago"], (int)age.TotalHours, age.Minutes)
        : string.Format(CultureInfo.InvariantCulture, this["days_ago"], (int)age.TotalDays, age.Hours);

    /// <summary>A time on the device's clock, written the same in both languages (year-month-day, 24 h).</summary>
    public string Time(DateTimeOffset at) => at.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}
