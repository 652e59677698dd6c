using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Localization;
using Microsoft.OpenApi;
using Radzen;
using WorkOrders.Dashboard.Api;
using WorkOrders.Dashboard.Components;
using WorkOrders.Dashboard.Security;
using WorkOrders.Ingest;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Dashboard;

public static class DashboardExtensions
{
    /// <summary>Registers the Blazor Server UI, Radzen, localization and the OpenAPI document.</summary>
    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        // Serves the package assets (Radzen, blazor.web.js) from a build output in any environment, as ./run.sh runs it
        // (Production, not published); a published app has no static web assets manifest and this does nothing.
        builder.WebHost.UseStaticWebAssets();
        // From a build output MapStaticAssets would otherwise watch for edited files: it drops the assets' caching headers,
        // answers a compressed asset with a copy made uncompressed on every request and no 304, so each page load sent the
        // 818 KB theme stylesheet again. The build's own compressed files, ETags and immutable fingerprints serve instead.
        builder.Configuration["ReloadStaticAssetsAtRuntime"] ??= "false";
        // Kestrel's own 414 has no body: it lets longer lines through to the input guard, which answers with a problem.
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestLineSize = 4 * InputGuard.MaxUrlLength);
        var services = builder.Services;
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddScoped<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider, SessionRevalidation>();
        services.AddRadzenComponents();
        services.AddUiText();
        services.AddOptions<QrLabels.LabelOptions>().BindConfiguration(QrLabels.LabelOptions.Section);
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "WorkOrders API";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The accessToken from POST /api/v1/auth/login.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] }];
            return Task.CompletedTask;
        }));
        services.AddHealthChecks();
        services.AddAntiforgery(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        services.AddReverseProxy(builder.Configuration);
        services.AddSingleton<Exports.ExportWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<Exports.ExportWorker>());
        services.AddSingleton<Exports.WorkOrderExportStarter>();
        services.AddSingleton<Ingest.IWarehouseRefreshed, Components.Pages.Analytics.DefaultViews>();
        return builder;
    }

    public static WebApplication UseDashboard(this WebApplication app)
    {
        app.UseReverseProxy();
        app.UseSecurityHeaders();
        // First, so that the problems the handlers below write are in the request's language too.
        app.UseRequestLocalization();
        app.UseExceptionHandler();
        app.UseStatusCodePages(async context =>
        {
            // Empty API errors (401 from a missing or expired token, 403, 404) get a problem body that says why.
            var http = context.HttpContext;
            if (!http.Request.IsApi() || http.Response.HasStarted || http.Response.ContentLength is > 0)
            {
                return;
            }

            var (title, detail) = http.Response.StatusCode switch
            {
                StatusCodes.Status401Unauthorized => ("status.unauthorized_title", "status.unauthorized"),
                StatusCodes.Status403Forbidden => ("status.forbidden_title", "status.forbidden"),
                StatusCodes.Status404NotFound => ("status.not_found_title", "status.not_found"),
                StatusCodes.Status415UnsupportedMediaType => ("status.unsupported_media_type_title", "status.unsupported_media_type"),
                _ => ("problem.refused", "problem.refused"),
            };
            await Problems.Problem(http.Response.StatusCode, new Refusal(title), new Refusal(detail)).ExecuteAsync(http);
        });
        // Inside the exception handler: a read that still fails after its retries is answered as before (503 for the API).
        app.UseMiddleware<ReadRetry>();
        // A publish of the field app, when configured (./run.sh), answers /field/ before the build output's static assets.
        app.UsePublishedFieldApp();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.UseMiddleware<InputGuard>();
        app.MapStaticAssets();
        MapFieldApp(app);
        // The security headers carry frame-ancestors in the one policy, instead of a second header of its own.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o => o.ContentSecurityFrameAncestorsPolicy = null);
        app.MapTicketingApi();
        app.MapIngestApi();
        app.MapDashboardApi();
        app.MapStocktakeExportApi();
        app.MapOpenApi();
        // Liveness answers while the process runs; readiness also needs PostgreSQL, so a balancer stops sending work.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        MapAccount(app);
        return app;
    }

    /// <summary>
    /// The offline field app (src/FieldApp): its files are static assets under /field/ (from the build output or a
    /// publish); any other address under /field/ is a page of the app and answers its shell, which the app routes.
    /// </summary>
    private static void MapFieldApp(WebApplication app)
    {
        // The app's relative addresses need the trailing slash (routing would take /field and /field/ as one).
        app.MapGet("/field", (HttpContext http) => http.Request.Path.Value!.EndsWith('/')
                ? Results.Stream(app.Environment.WebRootFileProvider.GetFileInfo("field/index.html").CreateReadStream(), "text/html; charset=utf-8")
                : Results.Redirect("/field/"))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapFallbackToFile("/field/{*path:nonfile}", "field/index.html").AllowAnonymous();
    }

    private static void MapAccount(WebApplication app)
    {
        // The browser signs in with a plain form post, so the cookie is set outside the Blazor circuit.
        app.MapPost("/account/login", async (HttpContext http, Users users, SignInThrottle throttle, IAntiforgery antiforgery, CancellationToken ct) =>
        {
            // The form carries an antiforgery token, so another site cannot sign a browser in as someone else.
            if (!await antiforgery.IsRequestValidAsync(http))
            {
                return Problems.Problem(StatusCodes.Status400BadRequest, new Refusal("auth.sign_in_failed"), new Refusal("auth.antiforgery"));
            }

            var form = await http.Request.ReadFormAsync(ct);
            var returnUrl = LocalUrl(form["returnUrl"]);
            if (throttle.Refuse(http, form["userName"]) is { } wait)
            {
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                return Results.LocalRedirect($"/login?wait={seconds}&returnUrl={Uri.EscapeDataString(returnUrl)}");
            }

            var result = await users.SignInAsync(new LoginRequest(form["userName"], form["password"]), ct);
            switch (result.Refusal)
            {
                case SignInRefusal.WrongPassword:
                    throttle.Failed(http, form["userName"]);
                    return Results.LocalRedirect($"/login?failed=1&returnUrl={Uri.EscapeDataString(returnUrl)}");
                case SignInRefusal.Deactivated:
                    return Results.LocalRedirect($"/login?deactivated=1&returnUrl={Uri.EscapeDataString(returnUrl)}");
                case SignInRefusal.MustChangePassword:
                    return Results.LocalRedirect($"/account/password?temporary=1&userName={Uri.EscapeDataString(form["userName"].ToString())}&returnUrl={Uri.EscapeDataString(returnUrl)}");
            }

            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, result.Session!.Principal(CookieAuthenticationDefaults.AuthenticationScheme));
            return Results.LocalRedirect(returnUrl);
        }).AllowAnonymous().ExcludeFromDescription();

        // Signing out replaces the user's security stamp, so a copy of this cookie (or any other session of theirs) stops working too.
        app.MapPost("/account/logout", async (HttpContext http, Accounts accounts, CancellationToken ct) =>
        {
            if (Actor.From(http.User) is { } actor)
            {
                await accounts.SignOutAsync(actor.UserId, ct);
            }

            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect("/login");
        }).ExcludeFromDescription();

        // A new password: after signing in with a temporary one, or a signed-in user changing theirs.
        app.MapPost("/account/change-password", async (HttpContext http, Accounts accounts, SignInThrottle throttle, IAntiforgery antiforgery, CancellationToken ct) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
            {
                return Problems.Problem(StatusCodes.Status400BadRequest, new Refusal("auth.sign_in_failed"), new Refusal("auth.antiforgery"));
            }

            var form = await http.Request.ReadFormAsync(ct);
            var returnUrl = LocalUrl(form["returnUrl"]);
            var signedIn = Actor.From(http.User);
            var userName = signedIn?.UserName ?? form["userName"].ToString();
            string Again(string error) =>
                $"/account/password?error={Uri.EscapeDataString(error)}&userName={Uri.EscapeDataString(userName)}&returnUrl={Uri.EscapeDataString(returnUrl)}";
            if (throttle.Refuse(http, userName) is not null)
            {
                return Results.LocalRedirect(Again("auth.too_many_attempts_title"));
            }

            if (form["newPassword"] != form["confirmPassword"])
            {
                return Results.LocalRedirect(Again("auth.passwords_differ"));
            }

            var changed = await accounts.ChangePasswordAsync(new ChangePasswordRequest(userName, form["currentPassword"], form["newPassword"]), signedIn, ct);
            if (changed.Failure is { } failure)
            {
                if (failure.Errors?.ContainsKey("currentPassword") == true)
                {
                    throttle.Failed(http, userName);
                }

                return Results.LocalRedirect(Again(failure.Main.Code));
            }

            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, changed.Value!.Principal(CookieAuthenticationDefaults.AuthenticationScheme));
            return Results.LocalRedirect(returnUrl);
        }).AllowAnonymous().ExcludeFromDescription();

        app.MapGet("/culture", (HttpContext http, OfferedCultures cultures, string culture, string? returnUrl) =>
        {
            if (cultures.Offers(culture))
            {
                http.Response.Cookies.Append(
                    CookieRequestCultureProvider.DefaultCookieName,
                    CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                    new CookieOptions { MaxAge = TimeSpan.FromDays(365), SameSite = SameSiteMode.Lax, IsEssential = true, Secure = http.Request.IsHttps });
            }

            return Results.LocalRedirect(LocalUrl(returnUrl));
        }).AllowAnonymous().ExcludeFromDescription();
    }

    private static string LocalUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";
}
