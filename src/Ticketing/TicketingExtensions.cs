using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Demo;
using WorkOrders.Ticketing.Exports;
using WorkOrders.Ticketing.Field;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Notifications;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing;

public static class TicketingExtensions
{
    /// <summary>The authentication scheme that picks the bearer token for API clients and the cookie for the browser.</summary>
    public const string CookieOrBearer = "CookieOrBearer";

    public const string ConnectionName = "WorkOrders";

    /// <summary>Registers the work-order core: PostgreSQL, the feature services, sign-in and the start-up migration.</summary>
    public static IHostApplicationBuilder AddTicketing(this IHostApplicationBuilder builder)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var services = builder.Services;
        services.AddOptions<TicketingOptions>().BindConfiguration(TicketingOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionName} is not set. Start the database with ./run.sh, or set ConnectionStrings__{ConnectionName}.");
        }

        services.AddNpgsqlDataSource(PostgresConnections.ForApplication(connectionString));
        services.TryAddSingletonTimeProvider();
        services.AddSingleton<IPasswordHasher<Users>, PasswordHasher<Users>>();
        services.AddSingleton<Migrator>();
        services.AddSingleton<DemoSeed>();
        services.AddSingleton<Users>();
        services.AddSingleton<Templates.Templates>();
        services.AddSingleton<AssetRegister>();
        services.AddSingleton<Meters.MeterRegister>();
        services.AddSingleton<Labels.AssetLabels>();
        services.AddSingleton<CreateWorkOrder>();
        services.AddSingleton<WorkOrderQueries>();
        services.AddSingleton<ApplyTransition>();
        services.AddSingleton<AddComment>();
        services.AddSingleton<SubTasks>();
        services.AddSingleton<Collaborators>();
        services.AddSingleton<Attachments>();
        services.AddSingleton<Notifications.Notifications>();
        services.AddSingleton<Forecasts.Proposals>();
        services.AddAssignment();
        services.AddHostedService<DatabaseStartup>();
        services.AddNotificationDelivery();
        services.AddSla();
        services.AddPreventiveMaintenance();
        services.AddSingleton<PmPlanning.PmPlannerCalendar>();
        Inspections.InspectionApi.AddInspections(services);
        services.AddSingleton<Stocktaking.Stocktakes>();
        services.AddAlarms();
        services.AddExportJobs();
        services.AddField();

        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestHandler>();
        services.AddExceptionHandler<DatabaseUnavailableHandler>();
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton(new ListenChannel(SessionStamps.Channel));
        services.AddSingleton<SessionStamps>();
        services.AddSingleton<Accounts>();
        services.AddHealthChecks().AddCheck<DatabaseReadiness>("database", tags: ["ready"]);

        // One key ring for every instance, whatever its folder or machine: in PostgreSQL, under one application name.
        services.AddDataProtection().SetApplicationName("WorkOrders");
        services.AddOptions<KeyManagementOptions>().Configure<NpgsqlDataSource>((o, data) => o.XmlRepository = new DataProtectionKeys(data));

        services.AddAuthentication(CookieOrBearer)
            .AddPolicyScheme(CookieOrBearer, "Cookie for the browser, bearer token for the API", o =>
                o.ForwardDefaultSelector = context =>
                    context.Request.Headers.Authorization.ToString() is var authorization
                    && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                        ? BearerTokenDefaults.AuthenticationScheme
                        : authorization.StartsWith(DeviceAuthenticationHandler.SchemeName + " ", StringComparison.OrdinalIgnoreCase)
                            ? DeviceAuthenticationHandler.SchemeName
                            : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.LoginPath = "/login";
                o.AccessDeniedPath = "/denied";
                o.Cookie.Name = "workorders.auth";
                o.Cookie.SameSite = SameSiteMode.Strict;
                // Secure whenever the request is HTTPS (behind a TLS proxy too, with ReverseProxy:Enabled).
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                // The API answers 401/403 with a problem body instead of redirecting to the sign-in page.
                o.Events.OnRedirectToLogin = context => RedirectOrStatus(context.HttpContext, context.RedirectUri, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = context => RedirectOrStatus(context.HttpContext, context.RedirectUri, StatusCodes.Status403Forbidden);
                o.Events.OnValidatePrincipal = RejectEndedCookieAsync;
            })
            .AddBearerToken(o => o.Events.OnMessageReceived = RejectEndedTokenAsync)
            .AddScheme<AuthenticationSchemeOptions, DeviceAuthenticationHandler>(DeviceAuthenticationHandler.SchemeName, null);
        services.AddOptions<BearerTokenOptions>(BearerTokenDefaults.AuthenticationScheme)
            .Configure<IOptions<TicketingOptions>>((o, ticketing) => o.BearerTokenExpiration = ticketing.Value.TokenLifetime);
        services.AddAuthorization();
        return builder;
    }

    public static bool IsApi(this HttpRequest request) => request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);

    // A cookie whose security stamp is no longer its user's (signed out, deactivated, role or password changed) is
    // dropped on the request that brings it, so the browser is sent to the sign-in page.
    private static async Task RejectEndedCookieAsync(CookieValidatePrincipalContext context)
    {
        var stamps = context.HttpContext.RequestServices.GetRequiredService<SessionStamps>();
        if (context.Principal is null || !await stamps.IsCurrentAsync(context.Principal, context.HttpContext.RequestAborted))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }

    // The bearer handler has no event after it reads its token, so the stamp is checked here, on the token it is about
    // to read: an unreadable or expired one is left for the handler to refuse as it always has.
    private static async Task RejectEndedTokenAsync(Microsoft.AspNetCore.Authentication.BearerToken.MessageReceivedContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            || context.Options.BearerTokenProtector.Unprotect(header["Bearer ".Length..].Trim()) is not { } ticket)
        {
            return;
        }

        var stamps = context.HttpContext.RequestServices.GetRequiredService<SessionStamps>();
        if (!await stamps.IsCurrentAsync(ticket.Principal, context.HttpContext.RequestAborted))
        {
            context.Fail("The session of this token has ended.");
        }
    }

    private static Task RedirectOrStatus(HttpContext context, string redirectUri, int status)
    {
        if (context.Request.IsApi())
        {
            context.Response.StatusCode = status;
        }
        else
        {
            context.Response.Redirect(redirectUri);
        }

        return Task.CompletedTask;
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
