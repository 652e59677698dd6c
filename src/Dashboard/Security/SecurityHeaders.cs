namespace WorkOrders.Dashboard.Security;

/// <summary>
/// The headers every answer carries. The policy lets Blazor Server and Radzen work (their scripts are files from this
/// origin; Radzen sets inline styles; the circuit is a same-origin WebSocket) and nothing else: no inline or
/// evaluated script, no plugin, no framing by another site, forms posted only here.
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
        "connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'; object-src 'none'";

    /// <summary>
    /// The field app (under /field) is .NET compiled to WebAssembly, which the browser runs only with 'wasm-unsafe-eval'
    /// (WebAssembly compilation, not script eval); everything else as above.
    /// </summary>
    public const string FieldAppPolicy =
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
        "connect-src 'self'; media-src 'self' blob: mediastream:; worker-src 'self'; manifest-src 'self'; frame-ancestors 'self'; base-uri 'self'; " +
        "form-action 'self'; object-src 'none'";

    // The field app needs the camera (QR labels, photos); nothing here needs the rest.
    public const string PermissionsPolicy = "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = context.Request.Path.StartsWithSegments("/field", StringComparison.OrdinalIgnoreCase)
                ? FieldAppPolicy
                : ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "SAMEORIGIN";
            headers["Referrer-Policy"] = "strict-origin-when-cross-origin";
            headers["Permissions-Policy"] = PermissionsPolicy;
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            return Task.CompletedTask;
        });
        return next(context);
    });
}
