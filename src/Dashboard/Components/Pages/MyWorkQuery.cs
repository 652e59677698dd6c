using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Components.Pages;

/// <summary>What "my work" means for each role.</summary>
public static class MyWorkQuery
{
    public enum Scope
    {
        AssignedToMe,
        MyDepartment,
        MyRequests,
        Everything,
    }

    public static Scope ScopeOf(Actor actor) => actor.Role switch
    {
        Role.Technician => Scope.AssignedToMe,
        Role.Manager when actor.DepartmentId is not null => Scope.MyDepartment,
        Role.Admin => Scope.Everything,
        _ => Scope.MyRequests,
    };

    public static WorkOrderQuery For(Actor actor, bool includeClosed)
    {
        var statuses = includeClosed ? null : Lifecycle.OpenStatuses.ToList();
        return ScopeOf(actor) switch
        {
            Scope.AssignedToMe => new WorkOrderQuery(statuses, AssigneeId: actor.UserId),
            Scope.MyDepartment => new WorkOrderQuery(statuses, DepartmentId: actor.DepartmentId),
            Scope.Everything => new WorkOrderQuery(statuses),
            _ => new WorkOrderQuery(statuses, RequesterId: actor.UserId),
        };
    }
}
