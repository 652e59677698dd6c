using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Exports;
using WorkOrders.Ticketing.Forecasts;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.Notifications;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.Stocktaking;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.Webhooks;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Api;

/// <summary>
/// The REST surface of the work-order core under /api/v1: sign-in here, and each feature's endpoints from the
/// <c>&lt;Feature&gt;Api.cs</c> file beside its use cases.
/// </summary>
public static class TicketingApi
{
    public static IEndpointRouteBuilder MapTicketingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").RequireAuthorization();

        api.MapPost("/auth/login", async (LoginRequest request, Users users, SignInThrottle throttle, HttpContext http, CancellationToken ct) =>
            {
                if (throttle.Refuse(http, request.UserName) is { } wait)
                {
                    return Problems.TooManyAttempts(http, wait);
                }

                if (await users.SignInAsync(request, ct) is { } actor)
                {
                    return Results.SignIn(new ClaimsPrincipal(new ClaimsIdentity(actor.ToClaims(), BearerTokenDefaults.AuthenticationScheme)), authenticationScheme: BearerTokenDefaults.AuthenticationScheme);
                }

                throttle.Failed(http, request.UserName);
                return Problems.Problem(StatusCodes.Status401Unauthorized, new Refusal("auth.sign_in_failed"), new Refusal("auth.wrong_password"));
            })
            .AllowAnonymous()
            .Produces<AccessTokenResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithTags("Auth");

        // A new access token for a refresh token that is genuine, unexpired and of a user still active; the new token
        // carries the user's role and department as they are now.
        api.MapPost("/auth/refresh", async (RefreshRequest request, Users users, IOptionsMonitor<BearerTokenOptions> options, TimeProvider clock, CancellationToken ct) =>
            {
                var ticket = string.IsNullOrEmpty(request.RefreshToken)
                    ? null
                    : options.Get(BearerTokenDefaults.AuthenticationScheme).RefreshTokenProtector.Unprotect(request.RefreshToken);
                if (ticket?.Properties.ExpiresUtc is not { } expires || expires <= clock.GetUtcNow()
                    || Actor.From(ticket.Principal) is not { } signedIn || await users.CurrentAsync(signedIn.UserId, ct) is not { } actor)
                {
                    return Problems.Problem(StatusCodes.Status401Unauthorized, new Refusal("auth.sign_in_failed"), new Refusal("auth.refresh_invalid"));
                }

                return Results.SignIn(new ClaimsPrincipal(new ClaimsIdentity(actor.ToClaims(), BearerTokenDefaults.AuthenticationScheme)), authenticationScheme: BearerTokenDefaults.AuthenticationScheme);
            })
            .AllowAnonymous()
            .Produces<AccessTokenResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithTags("Auth");

        api.MapGet("/me", (Actor actor) => TypedResults.Ok(actor)).WithTags("Auth");

        api.MapTemplateApi();
        api.MapWorkOrderApi();
        api.MapAssetApi();
        api.MapMeterApi();
        api.MapUserApi();
        api.MapNotificationApi();
        app.MapProposalApi();
        api.MapWebhookApi();
        api.MapSlaApi();
        api.MapAssignmentApi();
        api.MapCollaborationApi();
        api.MapPmApi();
        Inspections.InspectionApi.MapInspectionApi(api);
        api.MapStocktakeApi();
        api.MapAlarmApi();
        api.MapExportApi();
        return app;
    }
}
