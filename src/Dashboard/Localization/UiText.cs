using System.Globalization;
using System.Resources;
using Microsoft.AspNetCore.Localization;

namespace WorkOrders.Dashboard;

/// <summary>
/// The UI's text: <c>IStringLocalizer&lt;UiText&gt;</c> reads Resources/UiText.resx (neutral English) and one
/// UiText.{culture}.resx per language. Keys are stable names grouped by feature (Nav.MyWork, Status.InProgress).
/// </summary>
public sealed class UiText
{
    /// <summary>The same resources for code that must pick the culture itself.</summary>
    internal static ResourceManager Resources { get; } = new("WorkOrders.Dashboard.Resources.UiText", typeof(UiText).Assembly);
}

/// <summary>Radzen's own words (pager, filters, date picker, dialogs) from the UI's resources, keyed "Radzen.{its key}".</summary>
internal sealed class RadzenText : Radzen.ILocalizer
{
    public string? Get(string key, CultureInfo culture) => UiText.Resources.GetString($"Radzen.{key}", culture);
}

public static class UiTextExtensions
{
    /// <summary>Registers the UI's localizer, Radzen's texts and the cultures on offer.</summary>
    public static IServiceCollection AddUiText(this IServiceCollection services)
    {
        services.AddLocalization(o => o.ResourcesPath = "Resources");
        services.AddSingleton<Radzen.ILocalizer, RadzenText>();
        services.AddOptions<UiCultureOptions>().BindConfiguration(UiCultureOptions.Section);
        services.AddSingleton<OfferedCultures>();
        services.AddScoped<Components.Shared.Show>();
        services.AddOptions<RequestLocalizationOptions>().Configure<OfferedCultures>((o, cultures) =>
        {
            o.DefaultRequestCulture = new RequestCulture(cultures.Neutral);
            o.SupportedCultures = [.. cultures.All];
            o.SupportedUICultures = [.. cultures.All];

            // The API answers in the language of Accept-Language (English without one); pages keep the reader's choice.
            o.RequestCultureProviders = [new PageCultureCookieProvider(), new AcceptLanguageHeaderRequestCultureProvider()];
        });
        return services;
    }

    /// <summary>The culture cookie, for pages only: an API call is answered by its Accept-Language alone.</summary>
    private sealed class PageCultureCookieProvider : CookieRequestCultureProvider
    {
        public override Task<ProviderCultureResult?> DetermineProviderCultureResult(HttpContext httpContext) =>
            Ticketing.TicketingExtensions.IsApi(httpContext.Request) ? NullProviderCultureResult : base.DetermineProviderCultureResult(httpContext);
    }
}
