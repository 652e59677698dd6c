using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Sub-tasks and collaborators against a real PostgreSQL database. Each test makes its own organisation.</summary>
public class CollaborationTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly Actor Reader = new(0, "reader", Role.Admin, null);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private CreateWorkOrder Create => new(Data, _clock);

    private WorkOrderQueries Queries => new(Data);

    private ApplyTransition Transitions => new(Data, _clock);

    private SubTasks SubTasks => new(Data, Create, _clock);

    private Collaborators Collaborators => new(Data, _clock);

    private async Task<long> NewWorkOrderAsync(TestOrg org, string title = "Replace the pump")
    {
        var created = await Create.HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, title, "Pump 3 is worn out.", 2, "ext. 12", org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("bearing") }),
            org[Role.Requester],
            WorkOrderSource.Web,
            null,
            CancellationToken.None);
        Assert.True(created.Succeeded, created.Failure?.Message);
        return created.Value!.Id;
    }

    private async Task<Outcome<TransitionResult>> TryStepAsync(long id, Actor actor, WorkOrderAction action, string? note = null, long? assigneeId = null, bool? overrideOpen = null)
    {
        var version = (await Queries.GetAsync(id, Reader, CancellationToken.None)).Value!.RowVersion;
        _clock.Advance(TimeSpan.FromMinutes(10));
        return await Transitions.HandleAsync(id, new TransitionRequest(WireNames.Of(action), note, assigneeId, null, version, overrideOpen), actor, CancellationToken.None);
    }

    private async Task StepAsync(long id, Actor actor, WorkOrderAction action, string? note = null, long? assigneeId = null)
    {
        var outcome = await TryStepAsync(id, actor, action, note, assigneeId);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
    }

    /// <summary>A parent given to the organisation's technician and started, so that it could be resolved.</summary>
    private async Task<long> StartedParentAsync(TestOrg org)
    {
        var id = await NewWorkOrderAsync(org);
        await StepAsync(id, org[Role.Manager], WorkOrderAction.Assign, assigneeId: org[Role.Technician].UserId);
        await StepAsync(id, org[Role.Technician], WorkOrderAction.Start);
        return id;
    }

    private async Task<CreatedWorkOrder> AddSubTaskAsync(long parentId, Actor actor, string title = "Order a new seal", long? assigneeId = null)
    {
        var outcome = await SubTasks.AddAsync(parentId, new SubTaskRequest(title, "Seal kit 40 mm.", AssigneeId: assigneeId), actor, WorkOrderSource.Web, CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    private async Task<List<string>> KindsAsync(long id)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return (await connection.QueryAsync<string>("SELECT kind FROM work_order_events WHERE work_order_id = @id ORDER BY id", new { id })).AsList();
    }

    [Fact]
    public async Task a_sub_task_inherits_the_parents_asset_and_department_and_gets_its_own_assignee_from_the_rules_and_its_own_sla_clock()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);
        var policy = await SlaStoreTests.PolicyAsync(Data, org, priority: 2, response: 60, resolution: 480);
        var rule = await new AssignmentRules(Data).CreateAsync(
            new AssignmentRuleRequest($"Seals {org.Suffix}", org.DepartmentId, AssignmentStrategy.NamedPerson, org.OtherTechnician.UserId, org.TemplateId),
            org[Role.Admin],
            CancellationToken.None);
        Assert.True(rule.Succeeded, rule.Failure?.Message);

        var child = await AddSubTaskAsync(parent, org[Role.Technician]);

        var detail = (await Queries.GetAsync(child.Id, org[Role.Admin], CancellationToken.None)).Value!;
        Assert.Equal((org.MachineId, org.DepartmentId), (detail.AssetId, detail.DepartmentId));
        Assert.Equal((WorkOrderStatus.Assigned, org.OtherTechnician.UserId), (detail.Status, detail.AssigneeId));
        Assert.Equal("bearing", detail.CustomFields["fault_code"].GetString());
        Assert.NotNull(detail.ResolutionDueAt);
        await using (var connection = await Data.OpenConnectionAsync())
        {
            var clock = await connection.QuerySingleAsync<(long? PolicyId, DateTime StartedAt)>(
                "SELECT policy_id, started_at FROM sla_clocks WHERE work_order_id = @id", new { id = child.Id });
            Assert.Equal(policy.Id, clock.PolicyId);
            Assert.Equal(_clock.GetUtcNow().UtcDateTime, clock.StartedAt);
        }

        Assert.Contains("subtask_added", await KindsAsync(parent));
        Assert.Contains("subtask_of", await KindsAsync(child.Id));
        var board = (await SubTasks.ListAsync(parent, org[Role.Requester], CancellationToken.None)).Value!;
        var item = Assert.Single(board.Items);
        Assert.Equal((child.Number, WorkOrderStatus.Assigned, org.OtherTechnician.UserId), (item.Number, item.Status, item.AssigneeId));
        Assert.Equal((0, 1), (board.Done, board.Counted));
        Assert.False(board.MayAdd);
    }

    [Fact]
    public async Task a_named_assignee_outside_the_department_is_refused_and_nothing_is_stored()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);

        var outcome = await SubTasks.AddAsync(
            parent, new SubTaskRequest("Order a seal", "Kit", AssigneeId: org.OutsideManager.UserId), org[Role.Manager], WorkOrderSource.Web, CancellationToken.None);

        Assert.Equal(FailureKind.Validation, outcome.Failure?.Kind);
        Assert.Contains("assigneeId", outcome.Failure!.Errors!.Keys);
        Assert.Empty((await SubTasks.ListAsync(parent, org[Role.Manager], CancellationToken.None)).Value!.Items);
        Assert.DoesNotContain("subtask_added", await KindsAsync(parent));
    }

    [Fact]
    public async Task a_named_assignee_takes_the_sub_task_and_is_notified()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);

        var child = await AddSubTaskAsync(parent, org[Role.Manager], assigneeId: org.OtherTechnician.UserId);

        var detail = (await Queries.GetAsync(child.Id, org.OtherTechnician, CancellationToken.None)).Value!;
        Assert.Equal((WorkOrderStatus.Assigned, org.OtherTechnician.UserId), (detail.Status, detail.AssigneeId));
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM notifications WHERE user_id = @UserId AND work_order_id = @Id AND kind = 'assigned'", new { org.OtherTechnician.UserId, child.Id }));
    }

    [Fact]
    public async Task only_the_assignee_or_a_manager_of_the_department_may_split_a_work_order()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);

        foreach (var actor in new[] { org[Role.Requester], org.OtherTechnician, org.OutsideManager })
        {
            var outcome = await SubTasks.AddAsync(parent, new SubTaskRequest("Seal", "Kit"), actor, WorkOrderSource.Web, CancellationToken.None);
            Assert.Equal(FailureKind.Forbidden, outcome.Failure?.Kind);
        }
    }

    [Fact]
    public async Task a_sub_task_of_a_sub_task_or_of_a_cancelled_work_order_is_refused_with_the_reason()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);
        var child = await AddSubTaskAsync(parent, org[Role.Manager]);

        var nested = await SubTasks.AddAsync(child.Id, new SubTaskRequest("Deeper", "No"), org[Role.Manager], WorkOrderSource.Web, CancellationToken.None);
        Assert.Equal(FailureKind.IllegalTransition, nested.Failure?.Kind);
        Assert.Contains("one level deep", nested.Failure!.Message, StringComparison.Ordinal);

        await StepAsync(parent, org[Role.Manager], WorkOrderAction.Cancel, "Pump is scrapped.");
        var late = await SubTasks.AddAsync(parent, new SubTaskRequest("Late", "No"), org[Role.Manager], WorkOrderSource.Web, CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, late.Failure?.Kind);
        Assert.Contains("cancelled", late.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_parent_cannot_be_resolved_while_a_sub_task_is_open_and_can_be_once_it_is_done()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);
        var child = await AddSubTaskAsync(parent, org[Role.Technician], assigneeId: org.OtherTechnician.UserId);

        var refused = await TryStepAsync(parent, org[Role.Technician], WorkOrderAction.Resolve);

        Assert.Equal(FailureKind.IllegalTransition, refused.Failure?.Kind);
        Assert.Contains(child.Number, refused.Failure!.Message, StringComparison.Ordinal);
        Assert.Equal(WorkOrderStatus.InProgress, (await Queries.GetAsync(parent, org[Role.Admin], CancellationToken.None)).Value!.Status);

        await StepAsync(child.Id, org.OtherTechnician, WorkOrderAction.Start);
        await StepAsync(child.Id, org.OtherTechnician, WorkOrderAction.Resolve);
        var board = (await SubTasks.ListAsync(parent, org[Role.Technician], CancellationToken.None)).Value!;
        Assert.Equal((1, 1), (board.Done, board.Counted));

        await StepAsync(parent, org[Role.Technician], WorkOrderAction.Resolve);
        Assert.DoesNotContain("subtask_override", await KindsAsync(parent));
    }

    [Fact]
    public async Task a_manager_may_resolve_over_open_sub_tasks_with_a_reason_that_is_recorded()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);
        var child = await AddSubTaskAsync(parent, org[Role.Manager]);

        var withoutReason = await TryStepAsync(parent, org[Role.Manager], WorkOrderAction.Resolve, overrideOpen: true);
        Assert.Equal(FailureKind.Validation, withoutReason.Failure?.Kind);
        Assert.Contains("note", withoutReason.Failure!.Errors!.Keys);

        var resolved = await TryStepAsync(parent, org[Role.Manager], WorkOrderAction.Resolve, "Seal can wait for the next stop.", overrideOpen: true);

        Assert.True(resolved.Succeeded, resolved.Failure?.Message);
        var history = (await Queries.GetAsync(parent, org[Role.Manager], CancellationToken.None)).Value!.History;
        var overrideEvent = Assert.Single(history, e => e.Kind == "subtask_override");
        Assert.Equal("Seal can wait for the next stop.", overrideEvent.Note);
        Assert.Equal(child.Number, overrideEvent.Payload.GetProperty("openSubTasks")[0].GetString());
        Assert.Equal(org[Role.Manager].UserId, overrideEvent.ActorId);
    }

    [Fact]
    public async Task the_assignee_who_is_not_a_manager_cannot_override_open_sub_tasks()
    {
        var org = await TestOrg.CreateAsync(Data);
        var parent = await StartedParentAsync(org);
        await AddSubTaskAsync(parent, org[Role.Technician]);

        var outcome = await TryStepAsync(parent, org[Role.Technician], WorkOrderAction.Resolve, "I say so.", overrideOpen: true);

        Assert.Equal(FailureKind.Forbidden, outcome.Failure?.Kind);
        Assert.Equal(WorkOrderStatus.InProgress, (await Queries.GetAsync(parent, org[Role.Admin], CancellationToken.None)).Value!.Status);
    }

    [Fact]
    public async Task a_collaborator_sees_the_work_order_in_lists_and_detail_and_may_comment_until_removed()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = await StartedParentAsync(org);
        var helper = org.OutsideManager;
        var comments = new AddComment(Data, _clock);
        var list = new WorkOrderQuery(Take: 200);

        Assert.Equal(FailureKind.Forbidden, (await Queries.GetAsync(id, helper, CancellationToken.None)).Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, (await comments.HandleAsync(id, new CommentRequest("Can I help?"), helper, CancellationToken.None)).Failure?.Kind);

        var added = await Collaborators.AddAsync(id, new CollaboratorRequest(helper.UserId), org[Role.Technician], CancellationToken.None);
        Assert.True(added.Succeeded, added.Failure?.Message);

        Assert.True((await Queries.GetAsync(id, helper, CancellationToken.None)).Succeeded);
        Assert.Contains((await Queries.ListAsync(list, helper, CancellationToken.None)).Value!.Items, w => w.Id == id);
        var comment = await comments.HandleAsync(id, new CommentRequest("Spare seal on shelf B."), helper, CancellationToken.None);
        Assert.True(comment.Succeeded, comment.Failure?.Message);
        var start = await TryStepAsync(id, helper, WorkOrderAction.Hold, "no");
        Assert.Equal(FailureKind.Forbidden, start.Failure?.Kind);
        var listed = Assert.Single((await Collaborators.ListAsync(id, org[Role.Requester], CancellationToken.None)).Value!.Items);
        Assert.Equal(helper.UserId, listed.UserId);
        await using (var connection = await Data.OpenConnectionAsync())
        {
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>(
                "SELECT count(*) FROM notifications WHERE user_id = @UserId AND work_order_id = @id AND kind = 'collaborator'", new { helper.UserId, id }));
        }

        var removed = await Collaborators.RemoveAsync(id, helper.UserId, org[Role.Manager], CancellationToken.None);
        Assert.True(removed.Succeeded, removed.Failure?.Message);

        Assert.Equal(FailureKind.Forbidden, (await Queries.GetAsync(id, helper, CancellationToken.None)).Failure?.Kind);
        Assert.DoesNotContain((await Queries.ListAsync(list, helper, CancellationToken.None)).Value!.Items, w => w.Id == id);
        Assert.Equal(FailureKind.Forbidden, (await comments.HandleAsync(id, new CommentRequest("Still there?"), helper, CancellationToken.None)).Failure?.Kind);
        var kinds = await KindsAsync(id);
        Assert.True(kinds.IndexOf("collaborator_added") < kinds.IndexOf("collaborator_removed"));
    }

    [Fact]
    public async Task an_inactive_user_a_repeat_and_an_unknown_user_are_refused_naming_the_user_field()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = await StartedParentAsync(org);
        await using (var connection = await Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE users SET active = false WHERE id = @UserId", new { org.OutsideManager.UserId });
        }

        var inactive = await Collaborators.AddAsync(id, new CollaboratorRequest(org.OutsideManager.UserId), org[Role.Manager], CancellationToken.None);
        Assert.Contains("inactive", Assert.Single(inactive.Failure!.Texts(CultureInfo.InvariantCulture)["userId"]), StringComparison.Ordinal);

        var unknown = await Collaborators.AddAsync(id, new CollaboratorRequest(99_999_999), org[Role.Manager], CancellationToken.None);
        Assert.Contains("does not exist", Assert.Single(unknown.Failure!.Texts(CultureInfo.InvariantCulture)["userId"]), StringComparison.Ordinal);

        Assert.True((await Collaborators.AddAsync(id, new CollaboratorRequest(org[Role.Planner].UserId), org[Role.Manager], CancellationToken.None)).Succeeded);
        var repeat = await Collaborators.AddAsync(id, new CollaboratorRequest(org[Role.Planner].UserId), org[Role.Manager], CancellationToken.None);
        Assert.Contains("already", Assert.Single(repeat.Failure!.Texts(CultureInfo.InvariantCulture)["userId"]), StringComparison.Ordinal);
        Assert.Single((await Collaborators.ListAsync(id, org[Role.Manager], CancellationToken.None)).Value!.Items);
    }

    [Fact]
    public async Task a_requester_cannot_add_collaborators_but_a_collaborator_may_leave()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = await StartedParentAsync(org);

        var refused = await Collaborators.AddAsync(id, new CollaboratorRequest(org.OutsideManager.UserId), org[Role.Requester], CancellationToken.None);
        Assert.Equal(FailureKind.Forbidden, refused.Failure?.Kind);

        Assert.True((await Collaborators.AddAsync(id, new CollaboratorRequest(org.OutsideManager.UserId), org[Role.Manager], CancellationToken.None)).Succeeded);
        Assert.Equal(FailureKind.Forbidden, (await Collaborators.RemoveAsync(id, org.OutsideManager.UserId, org[Role.Requester], CancellationToken.None)).Failure?.Kind);
        Assert.True((await Collaborators.RemoveAsync(id, org.OutsideManager.UserId, org.OutsideManager, CancellationToken.None)).Succeeded);
        Assert.Equal(FailureKind.NotFound, (await Collaborators.RemoveAsync(id, org.OutsideManager.UserId, org[Role.Manager], CancellationToken.None)).Failure?.Kind);
    }
}
