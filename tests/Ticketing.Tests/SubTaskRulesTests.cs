using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The sub-task decisions, without a database.</summary>
public class SubTaskRulesTests
{
    private const long Department = 10;
    private static readonly Actor Manager = new(1, "manager", Role.Manager, Department);
    private static readonly Actor Assignee = new(3, "technician", Role.Technician, Department);
    private static readonly Actor OtherTechnician = new(4, "other", Role.Technician, Department);
    private static readonly Actor OutsideManager = new(5, "outside", Role.Manager, 99);
    private static readonly WorkOrderState InProgress = new(WorkOrderStatus.InProgress, 2, Department, Assignee.UserId, null, null);

    private static SubTaskParent Parent(WorkOrderStatus status = WorkOrderStatus.InProgress, long? parentId = null) =>
        new(7, "WO-2026-000007", status, Department, Assignee.UserId, parentId, parentId is null ? null : "WO-2026-000001");

    [Fact]
    public void nothing_open_lets_anyone_allowed_to_resolve_do_so_without_an_override()
    {
        var outcome = SubTaskRules.CheckResolve(InProgress, [], overrideOpen: false, null, Assignee);

        Assert.True(outcome.Succeeded);
        Assert.Empty(outcome.Value!);
    }

    [Fact]
    public void open_sub_tasks_refuse_the_resolve_naming_each_of_them()
    {
        var outcome = SubTaskRules.CheckResolve(InProgress, ["WO-2026-000008", "WO-2026-000009"], overrideOpen: false, "done", Manager);

        Assert.Equal(FailureKind.IllegalTransition, outcome.Failure?.Kind);
        Assert.Contains("WO-2026-000008, WO-2026-000009", outcome.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void only_a_manager_of_the_department_may_override_and_only_with_a_reason()
    {
        string[] open = ["WO-2026-000008"];

        Assert.Equal(FailureKind.Forbidden, SubTaskRules.CheckResolve(InProgress, open, true, "reason", Assignee).Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, SubTaskRules.CheckResolve(InProgress, open, true, "reason", OutsideManager).Failure?.Kind);
        Assert.Equal("note", Assert.Single(SubTaskRules.CheckResolve(InProgress, open, true, "  ", Manager).Failure!.Errors!.Keys));
        Assert.Equal(open, SubTaskRules.CheckResolve(InProgress, open, true, "Parts late; tracked separately.", Manager).Value);
    }

    [Fact]
    public void the_assignee_and_the_departments_managers_may_split_a_work_order_and_nobody_else()
    {
        Assert.Null(SubTaskRules.CheckAdd(Parent(), Assignee));
        Assert.Null(SubTaskRules.CheckAdd(Parent(), Manager));
        Assert.Null(SubTaskRules.CheckAdd(Parent(), new Actor(6, "admin", Role.Admin, null)));
        Assert.Equal(FailureKind.Forbidden, SubTaskRules.CheckAdd(Parent(), OtherTechnician)?.Kind);
        Assert.Equal(FailureKind.Forbidden, SubTaskRules.CheckAdd(Parent(), OutsideManager)?.Kind);
    }

    [Theory]
    [InlineData(WorkOrderStatus.Closed)]
    [InlineData(WorkOrderStatus.Cancelled)]
    public void a_finished_work_order_takes_no_sub_task(WorkOrderStatus status) =>
        Assert.Equal(FailureKind.Conflict, SubTaskRules.CheckAdd(Parent(status), Manager)?.Kind);

    [Fact]
    public void sub_tasks_are_one_level_deep_and_the_refusal_names_the_top_parent()
    {
        var failure = SubTaskRules.CheckAdd(Parent(parentId: 1), Manager);

        Assert.Equal(FailureKind.IllegalTransition, failure?.Kind);
        Assert.Contains("add this one to WO-2026-000001", failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void progress_counts_done_sub_tasks_and_leaves_cancelled_ones_out()
    {
        SubTask Item(WorkOrderStatus status) => new(1, "WO", "t", status, 3, null, null, null, DateTime.UnixEpoch);
        var board = new SubTaskBoard(7, null, null, [Item(WorkOrderStatus.Closed), Item(WorkOrderStatus.Resolved), Item(WorkOrderStatus.Cancelled), Item(WorkOrderStatus.OnHold)], true);

        Assert.Equal((2, 3), (board.Done, board.Counted));
        Assert.Equal(WorkOrderStatus.OnHold, Assert.Single(board.Open).Status);
    }
}
