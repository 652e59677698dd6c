using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.WorkOrders;

public sealed record CollaboratorRequest(long? UserId);

public sealed record Collaborator(long UserId, string DisplayName, Role Role, string? DepartmentName, string AddedByName, DateTime AddedAt);

/// <summary>The collaborators of a work order, and whether the reader may add or remove them.</summary>
public sealed record CollaboratorList(long WorkOrderId, IReadOnlyList<Collaborator> Items, bool MayManage);

/// <summary>Someone who could be asked to help: any active user, found by name.</summary>
public sealed record CollaboratorCandidate(long UserId, string DisplayName, Role Role, string? DepartmentName);

/// <summary>
/// People asked to help on a work order besides its assignee. They see it and may comment; they take no lifecycle
/// actions. The assignee or a manager of the department adds and removes them; a collaborator may also leave.
/// </summary>
public sealed class Collaborators(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxCandidates = 50;

    private const string SelectWorkOrder = $"""
        SELECT w.number, w.title, w.status, w.requester_id, w.assignee_id, w.department_id, {Visibility.IsCollaboratorSql} AS is_collaborator
        FROM work_orders w WHERE w.id = @id
        """;

    private const string LockWorkOrder = SelectWorkOrder + " FOR UPDATE";

    private const string SelectList = """
        SELECT c.user_id AS UserId, u.display_name AS DisplayName, u.role AS Role, d.name AS DepartmentName,
               a.display_name AS AddedByName, c.added_at AS AddedAt
        FROM work_order_collaborators c
        JOIN users u ON u.id = c.user_id
        JOIN users a ON a.id = c.added_by
        LEFT JOIN departments d ON d.id = u.department_id
        WHERE c.work_order_id = @id
        ORDER BY c.added_at, c.user_id
        """;

    private const string LoadUser = "SELECT id, display_name, active FROM users WHERE id = @id";

    private const string Insert = """
        INSERT INTO work_order_collaborators (work_order_id, user_id, added_by, added_at) VALUES (@id, @userId, @addedBy, @now)
        ON CONFLICT DO NOTHING
        """;

    private const string Delete = """
        DELETE FROM work_order_collaborators WHERE work_order_id = @id AND user_id = @userId
        RETURNING (SELECT display_name FROM users WHERE id = @userId)
        """;

    private const string SelectCandidates = """
        SELECT u.id AS UserId, u.display_name AS DisplayName, u.role AS Role, d.name AS DepartmentName
        FROM users u LEFT JOIN departments d ON d.id = u.department_id
        WHERE u.active AND (@text = '' OR u.display_name ILIKE @pattern OR u.user_name ILIKE @pattern)
          AND NOT EXISTS (SELECT 1 FROM work_order_collaborators c WHERE c.work_order_id = @id AND c.user_id = u.id)
        ORDER BY u.display_name, u.id
        LIMIT @take
        """;

    /// <summary>The assignee and the department's managers (and administrators) manage who collaborates.</summary>
    public static bool MayManage(Actor actor, long departmentId, long? assigneeId) =>
        actor.ManagesDepartment(departmentId) || (assigneeId is { } assignee && assignee == actor.UserId);

    /// <summary>The refusal of adding a collaborator to one who may not manage them; also the endpoint's <c>AccessFirst</c> check.</summary>
    public static Failure? AddRefusal(Actor actor, long departmentId, long? assigneeId, string number) =>
        MayManage(actor, departmentId, assigneeId) ? null : Failure.Forbidden("collaborator.add_not_allowed", number);

    public async Task<Outcome<CollaboratorList>> ListAsync(long workOrderId, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await LoadAsync(connection, null, workOrderId, actor, cancellationToken);
        if (row.Failure is { } failure)
        {
            return failure;
        }

        var items = await connection.QueryAsync<CollaboratorRow>(new CommandDefinition(SelectList, new { id = workOrderId }, cancellationToken: cancellationToken));
        return new CollaboratorList(workOrderId, [.. items.Select(r => r.ToCollaborator())], MayManage(actor, row.Value!.DepartmentId, row.Value.AssigneeId));
    }

    /// <summary>Active users whose name contains the text, not yet collaborating, for the picker.</summary>
    public async Task<Outcome<IReadOnlyList<CollaboratorCandidate>>> CandidatesAsync(long workOrderId, string? text, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await LoadAsync(connection, null, workOrderId, actor, cancellationToken);
        if (row.Failure is { } failure)
        {
            return failure;
        }

        if (!MayManage(actor, row.Value!.DepartmentId, row.Value.AssigneeId))
        {
            return Failure.Forbidden("collaborator.add_not_allowed", row.Value.Number);
        }

        var trimmed = text?.Trim() ?? "";
        var pattern = "%" + trimmed.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal) + "%";
        var items = await connection.QueryAsync<CandidateRow>(new CommandDefinition(
            SelectCandidates, new { id = workOrderId, text = trimmed, pattern, take = MaxCandidates }, cancellationToken: cancellationToken));
        return items.Select(r => new CollaboratorCandidate(r.UserId, r.DisplayName, WireNames.Parse<Role>(r.Role), r.DepartmentName)).ToList();
    }

    public async Task<Outcome<Collaborator>> AddAsync(long workOrderId, CollaboratorRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (request.UserId is not { } userId)
        {
            return await WorkOrderAccess.ResourceFirstAsync(dataSource, workOrderId, actor, Failure.Invalid("userId", "field.required"), cancellationToken);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var loaded = await LoadAsync(connection, transaction, workOrderId, actor, cancellationToken);
        if (loaded.Failure is { } failure)
        {
            return failure;
        }

        var row = loaded.Value!;
        if (!MayManage(actor, row.DepartmentId, row.AssigneeId))
        {
            return Failure.Forbidden("collaborator.add_not_allowed", row.Number);
        }

        if (WireNames.Parse<WorkOrderStatus>(row.Status) is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled)
        {
            return Failure.Illegal("collaborator.work_order_finished", row.Number, row.Status);
        }

        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(LoadUser, new { id = userId }, transaction, cancellationToken: cancellationToken));
        var problem = user switch
        {
            null => new Refusal("user.missing", userId),
            { Active: false } => new Refusal("user.inactive", user.DisplayName),
            _ when userId == row.AssigneeId => new Refusal("collaborator.is_assignee", user.DisplayName, row.Number),
            _ => null,
        };
        if (problem is not null)
        {
            return Failure.Invalid("userId", problem);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var added = await connection.ExecuteAsync(new CommandDefinition(
            Insert, new { id = workOrderId, userId, addedBy = actor.UserId, now }, transaction, cancellationToken: cancellationToken));
        if (added == 0)
        {
            return Failure.Invalid("userId", "collaborator.already", user!.DisplayName, row.Number);
        }

        await History.AppendAsync(
            connection, transaction, workOrderId, now, actor.UserId, EventKinds.CollaboratorAdded, null, null, user!.DisplayName,
            new { userId, user = user.DisplayName }, cancellationToken);
        await Notifications.Notifications.AddAsync(
            connection, transaction, [userId], workOrderId, "collaborator",
            $"You were asked to help on {row.Number} “{row.Title}”: you can follow it and comment.", now, cancellationToken);
        var collaborator = (await connection.QueryAsync<CollaboratorRow>(new CommandDefinition(
            SelectList, new { id = workOrderId }, transaction, cancellationToken: cancellationToken))).Single(c => c.UserId == userId).ToCollaborator();
        await transaction.CommitAsync(cancellationToken);
        return collaborator;
    }

    public async Task<Outcome<long>> RemoveAsync(long workOrderId, long userId, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var loaded = await LoadAsync(connection, transaction, workOrderId, actor, cancellationToken);
        if (loaded.Failure is { } failure)
        {
            return failure;
        }

        var row = loaded.Value!;
        if (!MayManage(actor, row.DepartmentId, row.AssigneeId) && userId != actor.UserId)
        {
            return Failure.Forbidden("collaborator.remove_not_allowed", row.Number);
        }

        var name = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
            Delete, new { id = workOrderId, userId }, transaction, cancellationToken: cancellationToken));
        if (name is null)
        {
            return Failure.NotFound("collaborator.not_found", userId, row.Number);
        }

        await History.AppendAsync(
            connection, transaction, workOrderId, clock.GetUtcNow().UtcDateTime, actor.UserId, EventKinds.CollaboratorRemoved, null, null, name,
            new { userId, user = name }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return userId;
    }

    private static Task<Outcome<WorkOrderRow>> LoadAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, Actor actor, CancellationToken cancellationToken) =>
        WorkOrderAccess.LoadAsync<WorkOrderRow>(connection, transaction, transaction is null ? SelectWorkOrder : LockWorkOrder, id, actor, cancellationToken);

    private sealed class WorkOrderRow : IVisibleWorkOrder
    {
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public string Status { get; init; } = "";
        public long RequesterId { get; init; }
        public long? AssigneeId { get; init; }
        public long DepartmentId { get; init; }
        public bool IsCollaborator { get; init; }
    }

    private sealed class UserRow
    {
        public long Id { get; init; }
        public string DisplayName { get; init; } = "";
        public bool Active { get; init; }
    }

    private sealed class CollaboratorRow
    {
        public long UserId { get; init; }
        public string DisplayName { get; init; } = "";
        public string Role { get; init; } = "";
        public string? DepartmentName { get; init; }
        public string AddedByName { get; init; } = "";
        public DateTime AddedAt { get; init; }

        public Collaborator ToCollaborator() => new(UserId, DisplayName, WireNames.Parse<Role>(Role), DepartmentName, AddedByName, AddedAt);
    }

    private sealed class CandidateRow
    {
        public long UserId { get; init; }
        public string DisplayName { get; init; } = "";
        public string Role { get; init; } = "";
        public string? DepartmentName { get; init; }
    }
}
