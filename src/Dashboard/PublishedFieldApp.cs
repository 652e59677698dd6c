using System.Text.RegularExpressions;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace WorkOrders.Dashboard;

/// <summary>Where a publish of the field app is (<c>dotnet publish src/FieldApp -c Release -o DIR</c>).</summary>
public sealed class FieldAppOptions
{
    public const string Section = "FieldApp";

    /// <summary>
    /// The publish's folder (or its wwwroot). When set, /field/ is served from it: trimmed, precompressed (brotli or
    /// gzip as the browser accepts), its fingerprinted files cached for good. When not set (the tests, a plain build),
    /// the field app's files come from the build output as static assets.
    /// </summary>
    public string? PublishedPath { get; set; }
}

/// <summary>Serves /field/ from a publish of the field app, ahead of the build output's static assets.</summary>
internal static partial class PublishedFieldApp
{
    private const string Immutable = "public, max-age=31536000, immutable";

    private static readonly FileExtensionContentTypeProvider Types = ContentTypes();

    // Brotli first: some 20% smaller than gzip on the app's WebAssembly files.
    private static readonly (string Encoding, string Suffix)[] Encodings = [("br", ".br"), ("gzip", ".gz")];

    public static WebApplication UsePublishedFieldApp(this WebApplication app)
    {
        var configured = app.Configuration.GetSection(FieldAppOptions.Section).Get<FieldAppOptions>()?.PublishedPath;
        if (string.IsNullOrWhiteSpace(configured))
        {
            return app;
        }

        var root = Root(Path.GetFullPath(configured))
            ?? throw new InvalidOperationException(
                $"{FieldAppOptions.Section}:{nameof(FieldAppOptions.PublishedPath)} is {configured}, which holds no published field app (index.html and " +
                "_framework/); publish it with: dotnet publish src/FieldApp -c Release -o DIR");
        app.Use((http, next) =>
        {
            // "/field" alone goes on to its redirect to "/field/" (the app's relative addresses need the slash).
            if (!(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
                || !http.Request.Path.StartsWithSegments("/field", StringComparison.OrdinalIgnoreCase, out var rest) || !rest.HasValue)
            {
                return next(http);
            }

            // Any address without a file name is a page of the app: its shell answers, and the app routes.
            var name = rest.Value!.TrimStart('/');
            return ServeAsync(http, root, name.Length == 0 || !Path.HasExtension(name) ? "index.html" : name);
        });
        return app;
    }

    /// <summary>The folder with index.html: the publish's own, its wwwroot, or the field/ under that.</summary>
    private static string? Root(string path) =>
        new[] { path, Path.Combine(path, "wwwroot"), Path.Combine(path, "field"), Path.Combine(path, "wwwroot", "field") }
            .FirstOrDefault(p => File.Exists(Path.Combine(p, "index.html")) && Directory.Exists(Path.Combine(p, "_framework")));

    private static async Task ServeAsync(HttpContext http, string root, string name)
    {
        var file = new FileInfo(Path.GetFullPath(Path.Combine(root, name)));
        if (!file.FullName.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !file.Exists)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!Types.TryGetContentType(name, out var contentType))
        {
            contentType = "application/octet-stream";
        }

        var served = file;
        var accepted = http.Request.GetTypedHeaders().AcceptEncoding;
        foreach (var (encoding, suffix) in Encodings)
        {
            if (accepted.Any(a => a.Value.Equals(encoding, StringComparison.OrdinalIgnoreCase) && a.Quality is not 0)
                && new FileInfo(file.FullName + suffix) is { Exists: true } compressed)
            {
                served = compressed;
                http.Response.Headers.ContentEncoding = encoding;
                break;
            }
        }

        var headers = http.Response.Headers;
        headers.Vary = HeaderNames.AcceptEncoding;
        // A fingerprinted name changes with its content, so it is never asked for again; the rest is checked each time.
        headers.CacheControl = Fingerprinted().IsMatch(name) ? Immutable : "no-cache";
        var tag = new EntityTagHeaderValue($"\"{served.Length:x}-{served.LastWriteTimeUtc.Ticks:x}\"");
        await TypedResults.PhysicalFile(served.FullName, contentType, lastModified: served.LastWriteTimeUtc, entityTag: tag).ExecuteAsync(http);
    }

    private static FileExtensionContentTypeProvider ContentTypes()
    {
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".wasm"] = "application/wasm";
        types.Mappings[".dat"] = "application/octet-stream";
        types.Mappings[".webmanifest"] = "application/manifest+json";
        types.Mappings[".json"] = "application/json";
        types.Mappings[".pdb"] = "application/octet-stream";
        return types;
    }

    // _framework/System.Runtime.odq454d6j9.wasm, _framework/dotnet.native.u7x2kq0c3b.js: the SDK's content fingerprint.
    [GeneratedRegex(@"^_framework/.+\.[0-9a-z]{10}\.[a-z]+$")]
    private static partial Regex Fingerprinted();
}
