using System.Net;
using WorkOrders.Dashboard.Security;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// A publish of the field app (<c>FieldApp:PublishedPath</c>, as ./run.sh sets it) served under /field/: the brotli or
/// gzip copy the browser accepts, fingerprinted files cached for good, the shell for the app's own pages, 304 on a
/// matching ETag, and nothing outside the folder. The folder holds files in a publish's layout with known bytes.
/// </summary>
public sealed class PublishedFieldAppTests(PublishedFieldAppTests.Host host) : IClassFixture<PublishedFieldAppTests.Host>
{
    private const string Runtime = "_framework/dotnet.native.u7x2kq0c3b.js";

    public sealed class Host : ApiHost
    {
        protected override IEnumerable<(string Key, string Value)> Settings(string folder)
        {
            var root = Directory.CreateDirectory(Path.Combine(folder, "field-app", "wwwroot", "field")).FullName;
            Directory.CreateDirectory(Path.Combine(root, "_framework"));
            File.WriteAllText(Path.Combine(root, "index.html"), "<!DOCTYPE html><title>shell</title>");
            File.WriteAllText(Path.Combine(root, "index.html.br"), "brotli shell");
            File.WriteAllText(Path.Combine(root, "index.html.gz"), "gzip shell");
            File.WriteAllText(Path.Combine(root, Runtime), "runtime");
            File.WriteAllText(Path.Combine(root, Runtime + ".gz"), "gzip runtime");
            File.WriteAllText(Path.Combine(folder, "secret.txt"), "outside");
            yield return ("FieldApp:PublishedPath", Path.Combine(folder, "field-app"));
        }
    }

    [Fact]
    public async Task the_shell_comes_as_brotli_when_accepted_as_gzip_otherwise_and_plain_without_either_never_cached_blindly()
    {
        using var brotli = await host.GetAsync("/field/", "gzip, deflate, br");
        using var gzip = await host.GetAsync("/field/", "gzip");
        using var plain = await host.GetAsync("/field/");

        Assert.Equal("brotli shell", await brotli.Content.ReadAsStringAsync());
        Assert.Equal(["br"], brotli.Content.Headers.ContentEncoding);
        Assert.Equal("gzip shell", await gzip.Content.ReadAsStringAsync());
        Assert.Equal("<!DOCTYPE html><title>shell</title>", await plain.Content.ReadAsStringAsync());
        Assert.Empty(plain.Content.Headers.ContentEncoding);
        foreach (var response in new[] { brotli, gzip, plain })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.CacheControl?.NoCache);
            Assert.Contains("Accept-Encoding", response.Headers.Vary);
            Assert.Equal(SecurityHeaders.FieldAppPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        }
    }

    [Fact]
    public async Task a_fingerprinted_file_is_immutable_a_refused_encoding_is_not_sent_and_a_page_of_the_app_gets_the_shell()
    {
        using var runtime = await host.GetAsync($"/field/{Runtime}", "br;q=0, gzip");
        using var page = await host.GetAsync("/field/rounds/42", "identity");

        Assert.Equal("gzip runtime", await runtime.Content.ReadAsStringAsync());
        Assert.Equal(["gzip"], runtime.Content.Headers.ContentEncoding);
        Assert.Equal(TimeSpan.FromDays(365), runtime.Headers.CacheControl?.MaxAge);
        Assert.Contains("immutable", runtime.Headers.CacheControl!.Extensions.Select(e => e.Name));
        Assert.Equal("<!DOCTYPE html><title>shell</title>", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task a_matching_etag_gets_304_and_a_missing_file_or_one_outside_the_publish_gets_404()
    {
        using var first = await host.GetAsync("/field/index.html", "br");
        using var again = await host.GetAsync("/field/index.html", "br", first.Headers.ETag);
        using var missing = await host.GetAsync("/field/_framework/missing.wasm");
        using var outside = await host.GetAsync("/field/..%2F..%2F..%2Fsecret.txt");

        Assert.NotNull(first.Headers.ETag);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.NotEqual("outside", await outside.Content.ReadAsStringAsync());
    }
}
