using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>Who may open the analytics pages: the same roles the analytics API lets in.</summary>
public static class AnalyticsRoles
{
    /// <summary>The KPI dashboard and the reliability page (a manager sees their own department only).</summary>
    public const string Readers = Roles.Admin + "," + Roles.Executive + "," + Roles.ReliabilityEngineer + "," + Roles.Planner + "," + Roles.Manager;

    /// <summary>Staff performance, per person or per department, and its exports.</summary>
    public const string StaffReaders = Roles.Admin + "," + Roles.Executive + "," + Roles.Manager;

    public static bool SeesStaff(Role role) => role is Role.Admin or Role.Executive or Role.Manager;
}
