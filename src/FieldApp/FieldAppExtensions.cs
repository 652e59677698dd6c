using Microsoft.AspNetCore.Components.WebAssembly.Hosting;
using WorkOrders.FieldApp.Localization;
using WorkOrders.FieldApp.Storage;
using WorkOrders.FieldApp.Sync;

namespace WorkOrders.FieldApp;

public static class FieldAppExtensions
{
    /// <summary>The app's services: one of each for the whole tab (a WebAssembly app has one user and one scope).</summary>
    public static WebAssemblyHostBuilder AddFieldApp(this WebAssemblyHostBuilder builder)
    {
        var services = builder.Services;
        // The API is at the site's root, the app under /field/.
        var origin = new Uri(new Uri(builder.HostEnvironment.BaseAddress).GetLeftPart(UriPartial.Authority));
        services.AddSingleton(_ => new HttpClient { BaseAddress = origin, Timeout = TimeSpan.FromSeconds(60) });
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<LocalStore>();
        services.AddSingleton<Texts>();
        services.AddSingleton<FieldData>();
        services.AddSingleton<FieldApi>();
        services.AddSingleton<SyncEngine>();
        return builder;
    }
}
