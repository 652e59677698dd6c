using System.Globalization;
using Microsoft.Extensions.Options;

namespace WorkOrders.Dashboard;

public sealed class UiCultureOptions
{
    public const string Section = "Localization";

    /// <summary>Offers the generated pseudo-locale, whose every word is marked, to find text that skips the resources.</summary>
    public bool PseudoLocale { get; set; }
}

/// <summary>
/// The languages the UI offers: the neutral one (English) and every culture whose satellite assembly of the UI's
/// resources was built, so adding a language is adding its resource files. The pseudo-locale only when switched on.
/// </summary>
public sealed class OfferedCultures
{
    /// <summary>The culture of the resources generated at build time from the neutral ones (see src/PseudoLocale.targets).</summary>
    public const string PseudoLocale = "qps-Ploc";

    public OfferedCultures(IOptions<UiCultureOptions> options)
    {
        var folder = Path.GetDirectoryName(typeof(UiText).Assembly.Location)!;
        var satellite = Path.GetFileNameWithoutExtension(typeof(UiText).Assembly.Location) + ".resources.dll";
        var found = Directory.EnumerateDirectories(folder)
            .Where(dir => File.Exists(Path.Combine(dir, satellite)))
            .Select(dir => Path.GetFileName(dir))
            .Where(name => options.Value.PseudoLocale || name != PseudoLocale)
            .Order(StringComparer.Ordinal)
            .Select(name => CultureInfo.GetCultureInfo(name));
        All = [Neutral, .. found];
    }

    public CultureInfo Neutral { get; } = CultureInfo.GetCultureInfo("en");

    /// <summary>The neutral culture first, then the others by name.</summary>
    public IReadOnlyList<CultureInfo> All { get; }

    /// <summary>The languages besides the neutral one that people write in (the pseudo-locale is none), for per-language labels.</summary>
    public IReadOnlyList<CultureInfo> Translations => [.. All.Skip(1).Where(c => c.Name != PseudoLocale)];

    public bool Offers(string name) => All.Any(c => c.Name == name);
}
