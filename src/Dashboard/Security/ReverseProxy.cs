using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace WorkOrders.Dashboard.Security;

/// <summary>
/// Behind a TLS reverse proxy, bound from the "ReverseProxy" section. Off by default: only when it is on are the
/// X-Forwarded-For and X-Forwarded-Proto headers believed, and only from loopback and the proxies and networks named
/// here, so the app sees the client's address (the sign-in throttle counts it) and https (cookies are Secure, redirects
/// go to https).
/// </summary>
public sealed class ReverseProxyOptions
{
    public const string Section = "ReverseProxy";

    /// <summary>Believe X-Forwarded-For and X-Forwarded-Proto from the known proxies.</summary>
    public bool Enabled { get; set; }

    /// <summary>Addresses of the proxies besides loopback, e.g. "10.0.0.5".</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of the proxies besides loopback, in CIDR form, e.g. "10.0.0.0/24".</summary>
    public string[] KnownNetworks { get; set; } = [];
}

public static class ReverseProxy
{
    public static IServiceCollection AddReverseProxy(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(ReverseProxyOptions.Section).Get<ReverseProxyOptions>() ?? new ReverseProxyOptions();
        services.Configure<ReverseProxyOptions>(configuration.GetSection(ReverseProxyOptions.Section));
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (var proxy in settings.KnownProxies)
            {
                o.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in settings.KnownNetworks)
            {
                o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return services;
    }

    /// <summary>First in the pipeline, so everything after it sees the client's scheme and address.</summary>
    public static WebApplication UseReverseProxy(this WebApplication app)
    {
        if (app.Configuration.GetSection(ReverseProxyOptions.Section).Get<ReverseProxyOptions>() is { Enabled: true })
        {
            app.UseForwardedHeaders();
        }

        return app;
    }
}
