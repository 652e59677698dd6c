using System.Globalization;
using System.Security.Claims;
using Bunit;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>Components under test rendered as a signed-in user on an interactive server circuit, as the app runs them.</summary>
internal static class ComponentSignIn
{
    public static void SignIn(this BunitContext context, Actor user)
    {
        var auth = context.AddAuthorization();
        auth.SetAuthorized(user.UserName);
        auth.SetRoles(Roles.ToName(user.Role));
        auth.SetClaims(new Claim(ClaimTypes.NameIdentifier, user.UserId.ToString(CultureInfo.InvariantCulture)));
        context.SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true));
    }
}
