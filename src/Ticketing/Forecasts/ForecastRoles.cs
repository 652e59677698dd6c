using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Forecasts;

/// <summary>Who sees forecasts, in the pages and the API. Planners and administrators decide on proposals.</summary>
public static class ForecastRoles
{
    public const string Readers = Roles.Admin + "," + Roles.Planner + "," + Roles.ReliabilityEngineer + "," + Roles.Manager + "," + Roles.Executive;
}
