using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Localization;
using Microsoft.OpenApi;
using Radzen;
using WorkOrders.Dashboard.Api;
using WorkOrders.Dashboard.Components;
using WorkOrders.Ingest;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Dashboard;

public static class DashboardExtensions
{
    /// <summary>Registers the Blazor Server UI, Radzen, localization and the OpenAPI document.</summary>
    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        // Serves the package assets (Radzen, blazor.web.js) from a build output in any environment, as ./run.sh runs it
        // (Production, not published); a published app has no static web assets manifest and this does nothing.
        builder.WebHost.UseStaticWebAssets();
        var services = builder.Services;
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
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
        services.AddSingleton<Exports.ExportWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<Exports.ExportWorker>());
        services.AddSingleton<Exports.WorkOrderExportStarter>();
        return builder;
    }

    public static WebApplication UseDashboard(this WebApplication app)
    {
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
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        app.MapTicketingApi();
        app.MapIngestApi();
        app.MapDashboardApi();
        app.MapStocktakeExportApi();
        app.MapOpenApi();
        app.MapHealthChecks("/healthz");
        MapAccount(app);
        return app;
    }

    private static void MapAccount(WebApplication app)
    {
        // The browser signs in with a plain form post, so the cookie is set outside the Blazor circuit.
        app.MapPost("/account/login", async (HttpContext http, Users users, CancellationToken ct) =>
        {
            var form = await http.Request.ReadFormAsync(ct);
            var returnUrl = LocalUrl(form["returnUrl"]);
            var actor = await users.SignInAsync(new LoginRequest(form["userName"], form["password"]), ct);
            if (actor is null)
            {
                return Results.LocalRedirect($"/login?failed=1&returnUrl={Uri.EscapeDataString(returnUrl)}");
            }

            var identity = new ClaimsIdentity(actor.ToClaims(), CookieAuthenticationDefaults.AuthenticationScheme);
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
            return Results.LocalRedirect(returnUrl);
        }).AllowAnonymous().ExcludeFromDescription();

        app.MapPost("/account/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect("/login");
        }).ExcludeFromDescription();

        app.MapGet("/culture", (HttpContext http, OfferedCultures cultures, string culture, string? returnUrl) =>
        {
            if (cultures.Offers(culture))
            {
                http.Response.Cookies.Append(
                    CookieRequestCultureProvider.DefaultCookieName,
                    CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                    new CookieOptions { MaxAge = TimeSpan.FromDays(365), SameSite = SameSiteMode.Lax, IsEssential = true });
            }

            return Results.LocalRedirect(LocalUrl(returnUrl));
        }).AllowAnonymous().ExcludeFromDescription();
    }

    private static string LocalUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";
}
