using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// The app behind a TLS reverse proxy on this machine: ReverseProxy:Enabled, and every request arriving from loopback
/// as a proxy's connection does (the in-process server gives no address of its own).
/// </summary>
public sealed class ReverseProxyHost : ApiHost
{
    protected override IEnumerable<(string Key, string Value)> Settings(string folder) => [("ReverseProxy:Enabled", "true")];

    protected override void ConfigureServices(IServiceCollection services) => services.AddTransient<IStartupFilter, FromLoopback>();

    private sealed class FromLoopback : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Loopback;
                return following(context);
            });
            next(app);
        };
    }
}

public sealed class ReverseProxyTests(ReverseProxyHost host) : IClassFixture<ReverseProxyHost>
{
    private static HttpRequestMessage Get(string path, string? proto)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (proto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", proto);
        }

        return request;
    }

    private static IEnumerable<string> Cookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [];

    [Fact]
    public async Task behind_a_tls_proxy_the_cookies_are_secure_and_redirects_go_to_https_and_over_plain_http_they_are_not()
    {
        using var client = host.Anonymous();

        var overTls = await client.SendAsync(Get("/login", "https"));
        var overHttp = await client.SendAsync(Get("/login", null));

        Assert.Equal(HttpStatusCode.OK, overTls.StatusCode);
        var antiforgery = Assert.Single(Cookies(overTls), c => c.StartsWith(".AspNetCore.Antiforgery", StringComparison.Ordinal));
        Assert.Contains("secure", antiforgery, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Cookies(overHttp), c => c.Contains("secure", StringComparison.OrdinalIgnoreCase));

        var culture = await client.SendAsync(Get("/culture?culture=zh-TW&returnUrl=/login", "https"));
        Assert.Contains("secure", Assert.Single(Cookies(culture)), StringComparison.OrdinalIgnoreCase);

        var challenged = await client.SendAsync(Get("/", "https"));
        Assert.Equal(HttpStatusCode.Redirect, challenged.StatusCode);
        Assert.StartsWith("https://", challenged.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("http://", (await client.SendAsync(Get("/", null))).Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_sign_in_throttle_counts_the_forwarded_client_address_not_the_proxys()
    {
        using var client = host.Anonymous();

        async Task<HttpStatusCode> FailFrom(string address, int attempt)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/login")
            {
                Content = JsonContent.Create(new { userName = $"nobody-{Guid.NewGuid():N}-{attempt}", password = "wrong" }),
            };
            request.Headers.Add("X-Forwarded-For", address);
            request.Headers.Add("X-Forwarded-Proto", "https");
            return (await client.SendAsync(request)).StatusCode;
        }

        for (var i = 0; i < SignInThrottle.FailuresPerAddress; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await FailFrom("203.0.113.7", i));
        }

        // That client is held; another behind the same proxy is not.
        Assert.Equal(HttpStatusCode.TooManyRequests, await FailFrom("203.0.113.7", -1));
        Assert.Equal(HttpStatusCode.Unauthorized, await FailFrom("203.0.113.8", -1));
    }
}
