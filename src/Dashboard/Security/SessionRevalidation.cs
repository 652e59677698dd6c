using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Security;

/// <summary>
/// An open page whose user does nothing still learns that their session has ended: the circuit re-checks the security
/// stamp every minute and, once it is stale, becomes signed out, which sends the page to the sign-in page. (Navigation
/// checks at once, in <c>SessionGuard</c>.)
/// </summary>
internal sealed class SessionRevalidation(ILoggerFactory loggerFactory, SessionStamps stamps) : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromMinutes(1);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken) =>
        authenticationState.User.Identity?.IsAuthenticated != true || await stamps.IsCurrentAsync(authenticationState.User, cancellationToken);
}
