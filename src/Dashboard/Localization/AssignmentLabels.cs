using WorkOrders.Ticketing.Assignment;

namespace WorkOrders.Dashboard.Localization;

public static partial class Labels
{
    public static string Of(this Text T, AssignmentStrategy strategy) => strategy switch
    {
        AssignmentStrategy.LeastLoaded => T["Least loaded"],
        AssignmentStrategy.RoundRobin => T["Round robin"],
        AssignmentStrategy.NamedPerson => T["Named person"],
        _ => strategy.ToString(),
    };
}
