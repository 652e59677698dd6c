using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Assignment;

public sealed record ReassignRequest(long? AssigneeId, string? Reason, int? RowVersion);

/// <summary>Someone a work order may be reassigned to, with their open work and, if they cannot take it, why.</summary>
public sealed record AssigneeOption(long UserId, string Name, Role Role, int OpenCount, int Load, Refusal? Refusal);

/// <summary>
/// A manager of the department hands a work order to someone else, with a reason. The new assignee must be active, of
/// the department, and have the skills of the rule that routed the work order. Both the former and the new assignee
/// are notified; the new one can open the work order with its whole history, as its assignee.
/// </summary>
public sealed class ReassignWorkOrder(NpgsqlDataSource dataSource, TimeProvider clock)
{
    /// <summary>Only a manager of the work order's department (or an administrator) reassigns it; also the endpoint's <c>AccessFirst</c> check.</summary>
    public static Failure? Refusal(Actor actor, long departmentId, string number) =>
        actor.ManagesDepartment(departmentId) ? null : Failure.Forbidden("reassign.not_allowed", number);

    private const string Lock = $"""
        SELECT {LifecycleRow.Columns}, w.title, w.assignment_rule_id, u.display_name AS assignee_name
        FROM work_orders w LEFT JOIN users u ON u.id = w.assignee_id
        WHERE w.id = @id FOR UPDATE OF w
        """;

    private const string UserColumns = $"u.id AS user_id, u.display_name AS name, u.role, u.department_id, u.active, {AutoAssign.SkillsColumn}";

    private const string LoadUser = $"SELECT {UserColumns} FROM users u WHERE u.id = @id";

    private const string Options = $"""
        SELECT {UserColumns}, {AutoAssign.OpenCount} AS open_count, {AutoAssign.Load} AS load
        FROM users u
        {AutoAssign.LoadJoin}
        WHERE u.department_id = @departmentId AND u.active AND u.role IN ('technician', 'manager')
        ORDER BY load, u.display_name
        """;

    private const string Update = """
        UPDATE work_orders SET status = @to, assignee_id = @assigneeId, row_version = row_version + 1, updated_at = @now
        WHERE id = @id RETURNING row_version
        """;

    public const int MaxReasonLength = Lifecycle.MaxNoteLength;

    public async Task<Outcome<TransitionResult>> HandleAsync(long id, ReassignRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (request.AssigneeId is null)
        {
            errors.Add("assigneeId", "reassign.assignee_required");
        }

        var reason = request.Reason?.Trim();
        if (string.IsNullOrEmpty(reason))
        {
            errors.Add("reason", "reassign.reason_required");
        }
        else if (reason.Length > MaxReasonLength)
        {
            errors.Add("reason", "field.too_long", MaxReasonLength);
        }

        if (request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required");
        }

        if (errors.Any)
        {
            return await WorkOrderAccess.ResourceFirstAsync(dataSource, id, actor, errors.ToFailure(), cancellationToken);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var opened = await WorkOrderAccess.LoadAsync<LockedRow>(
            connection,
            transaction,
            Lock,
            id,
            actor,
            r => Refusal(actor, r.DepartmentId, r.Number) ?? WorkOrderAccess.Stale(r, request.RowVersion),
            cancellationToken);
        if (opened.Failure is { } refused)
        {
            return refused;
        }

        var row = opened.Value!;

        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
            LoadUser, new { id = request.AssigneeId }, transaction, cancellationToken: cancellationToken));
        if (user is null)
        {
            return Failure.Invalid("assigneeId", "user.missing", request.AssigneeId);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var state = row.ToState();
        var candidate = new Candidate(user.UserId, user.Name, WireNames.Parse<Role>(user.Role), user.DepartmentId, user.Active);
        var decision = Lifecycle.Decide(state, new TransitionCommand(WorkOrderAction.Assign, reason, candidate), actor, now);
        if (decision.Failure is { } failure)
        {
            return failure;
        }

        var rule = row.AssignmentRuleId is { } ruleId ? await AssignmentRules.FindAsync(connection, transaction, ruleId, cancellationToken) : null;
        if (rule is not null && Assign.MissingSkill(rule.RequiredSkills, AutoAssign.ParseSkills(user.Skills)) is { } missing)
        {
            return Failure.Invalid("assigneeId", "reassign.unqualified", user.Name, rule.Name, missing);
        }

        var change = decision.Value!;
        var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            Update, new { id, to = WireNames.Of(change.To), assigneeId = user.UserId, now }, transaction, cancellationToken: cancellationToken));
        await History.AppendAsync(
            connection, transaction, id, now, actor.UserId, EventKinds.Reassign, change.From, change.To, reason,
            new { assigneeId = user.UserId, assignee = user.Name, previousAssigneeId = row.AssigneeId, previousAssignee = row.AssigneeName },
            cancellationToken);
        await Notifications.Notifications.AddAsync(
            connection, transaction, [user.UserId], id, "assigned", $"{row.Number} “{row.Title}” was reassigned to you: {reason}", now, cancellationToken);
        if (row.AssigneeId is { } former && former != user.UserId)
        {
            await Notifications.Notifications.AddAsync(
                connection, transaction, [former], id, "reassigned", $"{row.Number} “{row.Title}” was reassigned to {user.Name}: {reason}", now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new TransitionResult(id, change.To, user.UserId, version);
    }

    /// <summary>The active technicians and managers of the work order's department, least loaded first, each with why they cannot take it (if so).</summary>
    public async Task<Outcome<List<AssigneeOption>>> OptionsAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var work = await connection.QuerySingleOrDefaultAsync<(long DepartmentId, long? RuleId, long? AssigneeId)>(new CommandDefinition(
            "SELECT department_id, assignment_rule_id, assignee_id FROM work_orders WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        if (work == default)
        {
            return Failure.NotFound("work_order.not_found", id);
        }

        if (!actor.ManagesDepartment(work.DepartmentId))
        {
            return Failure.Forbidden("reassign.options_not_allowed");
        }

        var rule = work.RuleId is { } ruleId ? await AssignmentRules.FindAsync(connection, null, ruleId, cancellationToken) : null;
        var rows = await connection.QueryAsync<UserRow>(new CommandDefinition(Options, new { departmentId = work.DepartmentId }, cancellationToken: cancellationToken));
        List<AssigneeOption> options = [.. rows.Select(u => new AssigneeOption(
            u.UserId,
            u.Name,
            WireNames.Parse<Role>(u.Role),
            u.OpenCount,
            u.Load,
            u.UserId == work.AssigneeId ? new Refusal("reassign.current_assignee")
            : rule is not null && Assign.MissingSkill(rule.RequiredSkills, AutoAssign.ParseSkills(u.Skills)) is { } missing ? missing
            : null))];
        return options;
    }

    private sealed class LockedRow : LifecycleRow
    {
        public string Title { get; init; } = "";
        public long? AssignmentRuleId { get; init; }
        public string? AssigneeName { get; init; }
    }

    private sealed class UserRow
    {
        public long UserId { get; init; }
        public string Name { get; init; } = "";
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
        public bool Active { get; init; }
        public string Skills { get; init; } = "";
        public int OpenCount { get; init; }
        public int Load { get; init; }
    }
}
