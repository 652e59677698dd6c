using WorkOrders.Dashboard.Components.Pages;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class MyWorkQueryTests
{
    [Fact]
    public void a_technicians_work_is_the_open_work_assigned_to_them()
    {
        var query = MyWorkQuery.For(new Actor(5, "tech", Role.Technician, 2), includeClosed: false);

        Assert.Equal(5, query.AssigneeId);
        Assert.Null(query.DepartmentId);
        Assert.Null(query.RequesterId);
        Assert.Equal(Lifecycle.OpenStatuses.Order(), query.Statuses!.Order());
    }

    [Fact]
    public void a_managers_work_is_the_open_work_of_their_department()
    {
        var query = MyWorkQuery.For(new Actor(6, "boss", Role.Manager, 2), includeClosed: false);

        Assert.Equal(2, query.DepartmentId);
        Assert.Null(query.AssigneeId);
        Assert.DoesNotContain(WorkOrderStatus.Closed, query.Statuses!);
    }

    [Fact]
    public void a_requesters_work_is_what_they_asked_for_and_may_include_closed_work()
    {
        var query = MyWorkQuery.For(new Actor(7, "asker", Role.Requester, null), includeClosed: true);

        Assert.Equal(7, query.RequesterId);
        Assert.Null(query.Statuses);
    }
}
