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
using WorkOrders.Ticketing.Field;
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

                var result = await users.SignInAsync(request, ct);
                if (result.Session is { } session)
                {
                    return Results.SignIn(session.Principal(BearerTokenDefaults.AuthenticationScheme), authenticationScheme: BearerTokenDefaults.AuthenticationScheme);
                }

                if (result.Refusal == SignInRefusal.WrongPassword)
                {
                    throttle.Failed(http, request.UserName);
                    return Problems.Problem(StatusCodes.Status401Unauthorized, new Refusal("auth.sign_in_failed"), new Refusal(result.Code!));
                }

                // The password was right: a deactivated account, or a temporary password to change first.
                return Problems.Problem(StatusCodes.Status403Forbidden, new Refusal("auth.sign_in_failed"), new Refusal(result.Code!));
            })
            .AllowAnonymous()
            .Produces<AccessTokenResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithTags("Auth");

        // A new access token for a refresh token that is genuine, unexpired, of a user still active and of a session
        // not ended since (same security stamp); the new token carries the user's role and department as they are now.
        api.MapPost("/auth/refresh", async (RefreshRequest request, Users users, IOptionsMonitor<BearerTokenOptions> options, TimeProvider clock, CancellationToken ct) =>
            {
                var ticket = string.IsNullOrEmpty(request.RefreshToken)
                    ? null
                    : options.Get(BearerTokenDefaults.AuthenticationScheme).RefreshTokenProtector.Unprotect(request.RefreshToken);
                if (ticket?.Properties.ExpiresUtc is not { } expires || expires <= clock.GetUtcNow()
                    || Actor.From(ticket.Principal) is not { } signedIn || await users.CurrentAsync(signedIn.UserId, ct) is not { } session
                    || ticket.Principal.FindFirst(SessionStamps.Claim)?.Value != SessionStamps.ClaimOf(session.Stamp).Value)
                {
                    return Problems.Problem(StatusCodes.Status401Unauthorized, new Refusal("auth.sign_in_failed"), new Refusal("auth.refresh_invalid"));
                }

                return Results.SignIn(session.Principal(BearerTokenDefaults.AuthenticationScheme), authenticationScheme: BearerTokenDefaults.AuthenticationScheme);
            })
            .AllowAnonymous()
            .Produces<AccessTokenResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithTags("Auth");

        // Ends every session of the caller: tokens, refresh tokens and cookies (copies included) stop working at once.
        api.MapPost("/auth/sign-out", async (Actor actor, Accounts accounts, CancellationToken ct) =>
            {
                await accounts.SignOutAsync(actor.UserId, ct);
                return Results.NoContent();
            })
            .Produces(StatusCodes.Status204NoContent)
            .WithTags("Auth");

        // The caller's own password: signed in, or with a temporary password and the user name. Other sessions end;
        // the answer is a new access token. Wrong current passwords count against sign-in throttling.
        api.MapPost("/auth/change-password", async (ChangePasswordRequest request, Accounts accounts, SignInThrottle throttle, HttpContext http, CancellationToken ct) =>
            {
                var signedIn = Actor.From(http.User);
                var userName = signedIn?.UserName ?? request.UserName;
                if (throttle.Refuse(http, userName) is { } wait)
                {
                    return Problems.TooManyAttempts(http, wait);
                }

                var changed = await accounts.ChangePasswordAsync(request, signedIn, ct);
                if (changed.Failure?.Errors?.ContainsKey("currentPassword") == true)
                {
                    throttle.Failed(http, userName);
                }

                return changed.Map(session => Results.SignIn(session.Principal(BearerTokenDefaults.AuthenticationScheme), authenticationScheme: BearerTokenDefaults.AuthenticationScheme));
            })
            .AllowAnonymous()
            .Produces<AccessTokenResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
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
        api.MapFieldApi();
        return app;
    }
}
