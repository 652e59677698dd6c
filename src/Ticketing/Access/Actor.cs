using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace WorkOrders.Ticketing.Access;

public enum Role
{
    Admin,
    Executive,
    ReliabilityEngineer,
    Manager,
    Planner,
    Technician,
    Requester,
}

/// <summary>Who is acting: enough of the signed-in user for every permission rule.</summary>
public sealed record Actor(long UserId, string UserName, Role Role, long? DepartmentId)
{
    public const string DepartmentClaim = "department";

    /// <summary>Roles that read every work order (they do not act on them unless another rule says so).</summary>
    public bool SeesEverything => Role is Role.Admin or Role.Executive or Role.ReliabilityEngineer or Role.Planner;

    /// <summary>Who writes the asset register (create, edit, move, lifecycle, import): administrators and maintenance planners; everyone else reads it.</summary>
    public bool WritesAssets => Role is Role.Admin or Role.Planner;

    public bool ManagesDepartment(long departmentId) =>
        Role == Role.Admin || (Role == Role.Manager && DepartmentId == departmentId);

    public IEnumerable<Claim> ToClaims()
    {
        yield return new Claim(ClaimTypes.NameIdentifier, UserId.ToString(CultureInfo.InvariantCulture));
        yield return new Claim(ClaimTypes.Name, UserName);
        yield return new Claim(ClaimTypes.Role, Roles.ToName(Role));
        if (DepartmentId is { } department)
        {
            yield return new Claim(DepartmentClaim, department.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Lets endpoints take the signed-in actor as a parameter.</summary>
    public static ValueTask<Actor?> BindAsync(HttpContext context) => ValueTask.FromResult(From(context.User));

    /// <summary>The actor behind a signed-in principal, or null when the principal is anonymous or malformed.</summary>
    public static Actor? From(ClaimsPrincipal principal)
    {
        if (principal.Identity?.IsAuthenticated != true
            || !long.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), CultureInfo.InvariantCulture, out var id)
            || !Roles.TryParse(principal.FindFirstValue(ClaimTypes.Role), out var role))
        {
            return null;
        }

        long? department = long.TryParse(principal.FindFirstValue(DepartmentClaim), CultureInfo.InvariantCulture, out var d) ? d : null;
        return new Actor(id, principal.Identity.Name ?? "", role, department);
    }
}

/// <summary>The wire and database names of roles (snake_case).</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Executive = "executive";
    public const string ReliabilityEngineer = "reliability_engineer";
    public const string Manager = "manager";
    public const string Planner = "planner";
    public const string Technician = "technician";
    public const string Requester = "requester";

    public static IReadOnlyList<Role> All { get; } = Enum.GetValues<Role>();

    public static string ToName(Role role) => WireNames.Of(role);

    public static bool TryParse(string? name, out Role role) => WireNames.TryParse(name, out role);
}
