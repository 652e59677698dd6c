using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Components.Pages.Forecasts;

/// <summary>Who sees forecasts: the same roles as the forecast API. Planners and administrators decide on proposals.</summary>
public static class ForecastRoles
{
    public const string Readers = Roles.Admin + "," + Roles.Planner + "," + Roles.ReliabilityEngineer + "," + Roles.Manager + "," + Roles.Executive;
}
