using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.WorkOrders;

/// <summary>
/// A sub-task split from a work order. The template defaults to the parent's, and so do the custom fields when the
/// template is the parent's; the priority defaults to the parent's. The assignee is chosen by the assignment rules
/// unless one is named here.
/// </summary>
public sealed record SubTaskRequest(
    string? Title,
    string? Description,
    long? TemplateId = null,
    int? Priority = null,
    long? AssigneeId = null,
    Dictionary<string, JsonElement>? CustomFields = null);

public sealed record SubTask(
    long Id,
    string Number,
    string Title,
    WorkOrderStatus Status,
    int Priority,
    long? AssigneeId,
    string? AssigneeName,
    DateTime? ResolutionDueAt,
    DateTime CreatedAt)
{
    /// <summary>Done counts towards the parent's progress; cancelled work is left out of it altogether.</summary>
    public bool Done => Status is WorkOrderStatus.Resolved or WorkOrderStatus.Closed;

    public bool Open => !Done && Status != WorkOrderStatus.Cancelled;
}

/// <summary>A work order's sub-tasks with its progress, or the parent it was split from when it is a sub-task itself.</summary>
public sealed record SubTaskBoard(long WorkOrderId, long? ParentId, string? ParentNumber, IReadOnlyList<SubTask> Items, bool MayAdd)
{
    public int Done => Items.Count(s => s.Done);

    /// <summary>The sub-tasks that count: all but the cancelled ones.</summary>
    public int Counted => Items.Count(s => s.Status != WorkOrderStatus.Cancelled);

    public IReadOnlyList<SubTask> Open => [.. Items.Where(s => s.Open)];
}

/// <summary>What the sub-task decisions need to know about the parent.</summary>
public sealed record SubTaskParent(long Id, string Number, WorkOrderStatus Status, long DepartmentId, long? AssigneeId, long? ParentId, string? ParentNumber);

/// <summary>The sub-task rules as pure decisions.</summary>
public static class SubTaskRules
{
    /// <summary>
    /// Who may split a work order: a manager of its department (or an administrator) and its assignee, the people who
    /// plan its work. Sub-tasks are one level deep, so a parent's progress is a count of its own children; a closed or
    /// cancelled work order takes no new work.
    /// </summary>
    public static Failure? CheckAdd(SubTaskParent parent, Actor actor)
    {
        if (!MayAdd(parent, actor))
        {
            return Failure.Forbidden("subtask.add_not_allowed", parent.Number);
        }

        if (parent.Status is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled)
        {
            return Failure.Conflict("subtask.parent_finished", parent.Number, WireNames.Of(parent.Status));
        }

        return parent.ParentId is not null
            ? Failure.Illegal("subtask.one_level", parent.Number, parent.ParentNumber)
            : null;
    }

    public static bool MayAdd(SubTaskParent parent, Actor actor) => MayAdd(actor, parent.DepartmentId, parent.AssigneeId);

    /// <summary>Whether the actor may split a work order of the department with the assignee (see <see cref="CheckAdd"/>).</summary>
    public static bool MayAdd(Actor actor, long departmentId, long? assigneeId) =>
        actor.ManagesDepartment(departmentId) || (assigneeId is { } assignee && assignee == actor.UserId);

    /// <summary>The refusal of <see cref="CheckAdd"/> that depends on who asks; also the endpoint's <c>AccessFirst</c> check.</summary>
    public static Failure? AddRefusal(Actor actor, long departmentId, long? assigneeId, string number) =>
        MayAdd(actor, departmentId, assigneeId) ? null : Failure.Forbidden("subtask.add_not_allowed", number);

    /// <summary>
    /// Resolving a work order whose sub-tasks are still open is refused, naming them, unless a manager of its department
    /// overrides with a reason. The value is the list of open sub-tasks the override passed over (empty when none were open).
    /// </summary>
    public static Outcome<string[]> CheckResolve(
        WorkOrderState state, IReadOnlyList<string> openSubTasks, bool overrideOpen, string? reason, Actor actor)
    {
        if (openSubTasks.Count == 0)
        {
            return Array.Empty<string>();
        }

        var names = string.Join(", ", openSubTasks);
        if (!overrideOpen)
        {
            return Failure.Illegal("subtask.still_open", names);
        }

        if (!actor.ManagesDepartment(state.DepartmentId))
        {
            return Failure.Forbidden("subtask.override_not_allowed", names);
        }

        return string.IsNullOrWhiteSpace(reason)
            ? Failure.Invalid("note", "subtask.override_reason_required", names)
            : openSubTasks.ToArray();
    }
}

/// <summary>Splitting work orders into sub-tasks and reading a parent's progress.</summary>
public sealed class SubTasks(NpgsqlDataSource dataSource, CreateWorkOrder create, TimeProvider clock)
{
    private const string SelectParent = $"""
        SELECT w.id, w.number, w.title, w.status, w.priority, w.requester_id, w.department_id, w.assignee_id, w.asset_id,
               w.template_id, w.parent_id, p.number AS parent_number, w.custom_fields::text AS custom_fields,
               {Visibility.IsCollaboratorSql} AS is_collaborator
        FROM work_orders w LEFT JOIN work_orders p ON p.id = w.parent_id
        WHERE w.id = @id
        """;

    // Locked while adding, so that a concurrent resolve of the parent either sees the new sub-task or runs first.
    private const string LockParent = SelectParent + " FOR UPDATE OF w";

    private const string SelectChildren = """
        SELECT w.id AS Id, w.number AS Number, w.title AS Title, w.status AS Status, w.priority AS Priority,
               w.assignee_id AS AssigneeId, u.display_name AS AssigneeName, w.resolution_due_at AS ResolutionDueAt, w.created_at AS CreatedAt
        FROM work_orders w LEFT JOIN users u ON u.id = w.assignee_id
        WHERE w.parent_id = @id ORDER BY w.id
        """;

    private const string Attach = """
        UPDATE work_orders SET parent_id = @parentId, department_id = @departmentId WHERE id = @id
        RETURNING status
        """;

    private const string AssignChild = """
        UPDATE work_orders SET status = 'assigned', assignee_id = @assigneeId WHERE id = @id
        """;

    public async Task<Outcome<SubTaskBoard>> ListAsync(long workOrderId, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var parent = await LoadAsync(connection, null, workOrderId, actor, cancellationToken);
        if (parent.Failure is { } failure)
        {
            return failure;
        }

        var row = parent.Value!;
        var items = (await connection.QueryAsync<SubTaskRow>(new CommandDefinition(SelectChildren, new { id = workOrderId }, cancellationToken: cancellationToken)))
            .Select(r => r.ToSubTask()).ToList();
        var facts = row.ToParent();
        return new SubTaskBoard(workOrderId, row.ParentId, row.ParentNumber, items, SubTaskRules.CheckAdd(facts, actor) is null);
    }

    public async Task<Outcome<CreatedWorkOrder>> AddAsync(
        long parentId, SubTaskRequest request, Actor actor, WorkOrderSource source, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var loaded = await LoadAsync(connection, transaction, parentId, actor, cancellationToken);
        if (loaded.Failure is { } failure)
        {
            return failure;
        }

        var parent = loaded.Value!;
        if (SubTaskRules.CheckAdd(parent.ToParent(), actor) is { } refusal)
        {
            return refusal;
        }

        Candidate? assignee = null;
        if (request.AssigneeId is { } assigneeId)
        {
            var found = await WorkOrderAccess.CandidateAsync(connection, transaction, assigneeId, cancellationToken);
            var problem = found switch
            {
                null => new Refusal("user.missing", assigneeId),
                { Active: false } => new Refusal("user.inactive", found.UserName),
                _ when found.Role is not (Role.Technician or Role.Manager) => new Refusal("user.not_technician_or_manager", found.UserName),
                _ when found.DepartmentId != parent.DepartmentId => new Refusal("subtask.assignee_other_department", found.UserName, parent.Number),
                _ => null,
            };
            if (problem is not null)
            {
                return Failure.Invalid("assigneeId", problem);
            }

            assignee = found;
        }

        var templateId = request.TemplateId ?? parent.TemplateId;
        var customFields = request.CustomFields
            ?? (templateId == parent.TemplateId ? JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(parent.CustomFields, TemplateSchema.Json) : null);
        var childRequest = new CreateWorkOrderRequest(
            templateId, request.Title, request.Description, request.Priority ?? parent.Priority, null, parent.AssetId, parent.Number, null, customFields);
        var created = await create.InsertAsync(connection, transaction, childRequest, actor, source, null, cancellationToken);
        if (created.Failure is not null)
        {
            return created;
        }

        var child = created.Value!;
        var now = clock.GetUtcNow().UtcDateTime;
        var status = WireNames.Parse<WorkOrderStatus>(await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            Attach, new { id = child.Id, parentId, parent.DepartmentId }, transaction, cancellationToken: cancellationToken)) ?? "");
        await History.AppendAsync(
            connection, transaction, child.Id, now, actor.UserId, EventKinds.SubTaskOf, null, null, null, new { parentId, parent = parent.Number }, cancellationToken);
        if (assignee is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(AssignChild, new { id = child.Id, assigneeId = assignee.UserId }, transaction, cancellationToken: cancellationToken));
            await History.AppendAsync(
                connection, transaction, child.Id, now, actor.UserId, EventKinds.Of(WorkOrderAction.Assign), status, WorkOrderStatus.Assigned,
                $"Named when {parent.Number} was split.", new { assigneeId = assignee.UserId, assignee = assignee.UserName }, cancellationToken);
            await SlaClocks.FollowAsync(connection, transaction, child.Id, status, WorkOrderStatus.Assigned, actor.UserId, now, cancellationToken);
            await Notifications.Notifications.AddAsync(
                connection, transaction, [assignee.UserId], child.Id, "assigned",
                $"{child.Number} “{request.Title!.Trim()}”, a sub-task of {parent.Number}, was assigned to you.", now, cancellationToken);
        }

        await History.AppendAsync(
            connection, transaction, parentId, now, actor.UserId, EventKinds.SubTaskAdded, null, null, request.Title!.Trim(),
            new { subTaskId = child.Id, number = child.Number, assigneeId = assignee?.UserId }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return child;
    }

    private static Task<Outcome<ParentRow>> LoadAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, Actor actor, CancellationToken cancellationToken) =>
        WorkOrderAccess.LoadAsync<ParentRow>(connection, transaction, transaction is null ? SelectParent : LockParent, id, actor, cancellationToken);

    private sealed class ParentRow : IVisibleWorkOrder
    {
        public long Id { get; init; }
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public string Status { get; init; } = "";
        public short Priority { get; init; }
        public long RequesterId { get; init; }
        public long DepartmentId { get; init; }
        public long? AssigneeId { get; init; }
        public long? AssetId { get; init; }
        public long TemplateId { get; init; }
        public long? ParentId { get; init; }
        public string? ParentNumber { get; init; }
        public string CustomFields { get; init; } = "{}";
        public bool IsCollaborator { get; init; }

        public SubTaskParent ToParent() =>
            new(Id, Number, WireNames.Parse<WorkOrderStatus>(Status), DepartmentId, AssigneeId, ParentId, ParentNumber);
    }

    private sealed class SubTaskRow
    {
        public long Id { get; init; }
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public string Status { get; init; } = "";
        public short Priority { get; init; }
        public long? AssigneeId { get; init; }
        public string? AssigneeName { get; init; }
        public DateTime? ResolutionDueAt { get; init; }
        public DateTime CreatedAt { get; init; }

        public SubTask ToSubTask() =>
            new(Id, Number, Title, WireNames.Parse<WorkOrderStatus>(Status), Priority, AssigneeId, AssigneeName, ResolutionDueAt, CreatedAt);
    }
}

/// <summary>The reads of sub-tasks that other use cases make inside their own transaction.</summary>
internal static class SubTaskStore
{
    private const string OpenNumbers = """
        SELECT number FROM work_orders
        WHERE parent_id = @id AND status NOT IN ('resolved', 'closed', 'cancelled')
        ORDER BY id
        """;

    public static async Task<IReadOnlyList<string>> OpenNumbersAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long parentId, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<string>(new CommandDefinition(OpenNumbers, new { id = parentId }, transaction, cancellationToken: cancellationToken))).AsList();
}
