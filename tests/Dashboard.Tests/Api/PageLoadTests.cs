using System.Net;
using System.Text.RegularExpressions;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// What a page load costs the browser beyond the page: the dashboard's own and the packages' static files as the build
/// made them (the compressed copy the browser accepts, 304 when it already holds the file, fingerprinted files cached
/// for good), and no prerendered analytics page that the circuit would replace at once.
/// </summary>
public sealed partial class PageLoadTests(ApiHost host) : IClassFixture<ApiHost>
{
    private const string Theme = "/_content/Radzen.Blazor/css/material-base.css";

    [Fact]
    public async Task the_theme_stylesheet_comes_compressed_and_a_browser_holding_it_gets_304()
    {
        using var plain = await host.GetAsync(Theme);
        using var gzip = await host.GetAsync(Theme, "gzip, deflate, br");
        var plainLength = (await plain.Content.ReadAsByteArrayAsync()).Length;
        var gzipLength = (await gzip.Content.ReadAsByteArrayAsync()).Length;
        using var again = await host.GetAsync(Theme, "gzip, deflate, br", gzip.Headers.ETag);

        Assert.Equal(HttpStatusCode.OK, gzip.StatusCode);
        Assert.Equal(["gzip"], gzip.Content.Headers.ContentEncoding);
        Assert.True(gzipLength * 4 < plainLength, $"{gzipLength} bytes compressed against {plainLength}");
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Empty(await again.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task the_dashboards_fingerprinted_stylesheet_named_by_the_sign_in_page_is_immutable()
    {
        var login = await (await host.GetAsync("/login")).Content.ReadAsStringAsync();
        var href = AppStylesheet().Match(login).Groups["href"].Value;

        using var css = await host.GetAsync("/" + href, "gzip");

        Assert.NotEqual("app.css", href);
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal(TimeSpan.FromDays(365), css.Headers.CacheControl?.MaxAge);
        Assert.Contains("immutable", css.Headers.CacheControl!.Extensions.Select(e => e.Name));
    }

    [Fact]
    public async Task an_analytics_page_comes_without_a_prerender_and_other_pages_keep_theirs()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var browser = host.Anonymous();
        var token = WebUtility.HtmlDecode(TokenField().Match(await browser.GetStringAsync("/login")).Groups["token"].Value);
        var signedIn = await browser.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userName"] = org[Role.Executive].UserName, ["password"] = TestOrg.Password, ["returnUrl"] = "/", ["__RequestVerificationToken"] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);

        foreach (var path in new[] { "/analytics", "/analytics/reliability", "/analytics/staff", "/analytics/pm" })
        {
            var page = await browser.GetStringAsync(path);
            Assert.Contains("<!--Blazor:{\"type\":\"server\"", page, StringComparison.Ordinal);
            Assert.DoesNotContain("prerenderId", page, StringComparison.Ordinal);
            Assert.DoesNotContain("analytics-filters", page, StringComparison.Ordinal);
        }

        Assert.Contains("prerenderId", await browser.GetStringAsync("/work-orders"), StringComparison.Ordinal);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"(?<token>[^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("href=\"(?<href>app\\.[^\"]*css)\"")]
    private static partial Regex AppStylesheet();
}
