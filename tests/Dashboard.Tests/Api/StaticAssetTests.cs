using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// The dashboard's own and the packages' static files as the build made them: the compressed copy the browser accepts,
/// 304 when the browser already holds the file, and fingerprinted files cached for good, so a page load does not fetch
/// the theme's stylesheet and scripts again.
/// </summary>
public sealed partial class StaticAssetTests(ApiHost host) : IClassFixture<ApiHost>
{
    private const string Theme = "/_content/Radzen.Blazor/css/material-base.css";

    private async Task<HttpResponseMessage> GetAsync(string path, string? acceptEncoding = null, EntityTagHeaderValue? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        if (ifNoneMatch is not null)
        {
            request.Headers.IfNoneMatch.Add(ifNoneMatch);
        }

        return await host.Anonymous().SendAsync(request);
    }

    [Fact]
    public async Task the_theme_stylesheet_comes_compressed_and_a_browser_holding_it_gets_304()
    {
        using var plain = await GetAsync(Theme);
        using var gzip = await GetAsync(Theme, "gzip, deflate, br");
        var plainLength = (await plain.Content.ReadAsByteArrayAsync()).Length;
        var gzipLength = (await gzip.Content.ReadAsByteArrayAsync()).Length;
        using var again = await GetAsync(Theme, "gzip, deflate, br", gzip.Headers.ETag);

        Assert.Equal(HttpStatusCode.OK, gzip.StatusCode);
        Assert.Equal(["gzip"], gzip.Content.Headers.ContentEncoding);
        Assert.True(gzipLength * 4 < plainLength, $"{gzipLength} bytes compressed against {plainLength}");
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Empty(await again.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task the_dashboards_fingerprinted_stylesheet_named_by_the_sign_in_page_is_immutable()
    {
        var login = await (await GetAsync("/login")).Content.ReadAsStringAsync();
        var href = AppStylesheet().Match(login).Groups["href"].Value;

        using var css = await GetAsync("/" + href, "gzip");

        Assert.NotEqual("app.css", href);
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal(TimeSpan.FromDays(365), css.Headers.CacheControl?.MaxAge);
        Assert.Contains("immutable", css.Headers.CacheControl!.Extensions.Select(e => e.Name));
    }

    [GeneratedRegex("href=\"(?<href>app\\.[^\"]*css)\"")]
    private static partial Regex AppStylesheet();
}
