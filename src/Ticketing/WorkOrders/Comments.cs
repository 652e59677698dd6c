using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.WorkOrders;

public sealed record CommentRequest(string? Body);

/// <summary>Comments between the requester, the assignee and collaborators; each is also a history event.</summary>
public sealed class AddComment(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxBodyLength = 10_000;

    private const string Insert = """
        INSERT INTO comments (work_order_id, author_id, body, created_at) VALUES (@id, @authorId, @body, @now)
        RETURNING id AS Id, author_id AS AuthorId, (SELECT display_name FROM users WHERE id = @authorId) AS AuthorName, body AS Body, created_at AS CreatedAt
        """;

    public async Task<Outcome<Comment>> HandleAsync(long workOrderId, CommentRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var body = request.Body?.Trim();
        if (string.IsNullOrEmpty(body) || body.Length > MaxBodyLength)
        {
            return await WorkOrderAccess.ResourceFirstAsync(dataSource, workOrderId, actor, Failure.Invalid("body", "field.required_short", MaxBodyLength), cancellationToken);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await WorkOrderAccess.CheckAsync(connection, transaction, workOrderId, actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var comment = await InsertAsync(connection, transaction, workOrderId, body, actor, clock.GetUtcNow().UtcDateTime, null, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return comment;
    }

    /// <summary>
    /// Stores a checked comment and its history event inside the caller's transaction, after the caller checked the
    /// work order is the actor's to see; <paramref name="origin"/> names a field device in the event.
    /// </summary>
    internal static async Task<Comment> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long workOrderId, string body, Actor actor, DateTime now, object? origin, CancellationToken cancellationToken)
    {
        var comment = await connection.QuerySingleAsync<Comment>(new CommandDefinition(
            Insert, new { id = workOrderId, authorId = actor.UserId, body, now }, transaction, cancellationToken: cancellationToken));
        await History.AppendAsync(
            connection, transaction, workOrderId, now, actor.UserId, EventKinds.Comment, null, null, body, new { commentId = comment.Id, via = origin }, cancellationToken);
        return comment;
    }
}

/// <summary>What the visibility check needs of a work order row.</summary>
internal interface IVisibleWorkOrder
{
    string Number { get; }

    long RequesterId { get; }

    long? AssigneeId { get; }

    long DepartmentId { get; }

    bool IsCollaborator { get; }
}

/// <summary>The visibility check that every action on a work order's sub-resources starts with.</summary>
internal static class WorkOrderAccess
{
    /// <summary>
    /// Reads a work order row with <paramref name="sql"/> (taking @id and @me; locking it when the caller passes its
    /// transaction and the SQL says FOR UPDATE) and refuses one that is missing, then what <paramref name="refuse"/> says
    /// of the row.
    /// </summary>
    public static async Task<Outcome<T>> LoadAsync<T>(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, long id, Actor actor, Func<T, Failure?> refuse, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<T>(new CommandDefinition(
            sql, new { id, me = actor.UserId }, transaction, cancellationToken: cancellationToken));
        if (row is null)
        {
            return Failure.NotFound("work_order.not_found", id);
        }

        return refuse(row) is { } refusal ? refusal : row;
    }

    /// <summary>Reads a work order row as <see cref="LoadAsync{T}(NpgsqlConnection, NpgsqlTransaction?, string, long, Actor, Func{T, Failure?}, CancellationToken)"/> and refuses one the actor may not see.</summary>
    public static Task<Outcome<T>> LoadAsync<T>(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, long id, Actor actor, CancellationToken cancellationToken)
        where T : IVisibleWorkOrder =>
        LoadAsync<T>(connection, transaction, sql, id, actor, row => Unseen(row, actor), cancellationToken);

    /// <summary>
    /// The answer to a request about a work order whose body is wrong: the work order's own refusal when there is one
    /// (missing, or not the actor's to see: 404 or 403), else <paramref name="invalid"/>. Authorization on the resource
    /// comes before the body, so nobody learns how to shape a request they may not make.
    /// </summary>
    public static async Task<Failure> ResourceFirstAsync(NpgsqlDataSource dataSource, long workOrderId, Actor actor, Failure invalid, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await CheckAsync(connection, null, workOrderId, actor, cancellationToken) ?? invalid;
    }

    /// <summary>The refusal of a work order the actor may not see; null when they may.</summary>
    public static Failure? Unseen(IVisibleWorkOrder row, Actor actor) =>
        Visibility.CanSee(actor, row.RequesterId, row.AssigneeId, row.DepartmentId, row.IsCollaborator)
            ? null
            : Failure.Forbidden("work_order.not_visible", row.Number);

    /// <summary>The refusal of a change sent from a page that read another row version; null when it is current.</summary>
    public static Failure? Stale(LifecycleRow row, int? sent) =>
        row.RowVersion == sent ? null : Failure.Conflict("work_order.stale", row.Number, row.RowVersion, sent);

    /// <summary>The facts the lifecycle needs of a user proposed as assignee; null when there is no such user.</summary>
    public static async Task<Candidate?> CandidateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long userId, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<CandidateRow>(new CommandDefinition(
            LoadCandidate, new { id = userId }, transaction, cancellationToken: cancellationToken));
        return row is null ? null : new Candidate(row.UserId, row.UserName, WireNames.Parse<Role>(row.Role), row.DepartmentId, row.Active);
    }

    public static async Task<Failure?> CheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long workOrderId, Actor actor, CancellationToken cancellationToken) =>
        (await LoadAsync<Row>(connection, transaction, Check, workOrderId, actor, cancellationToken)).Failure;

    /// <summary>The <see cref="AccessFirst"/> check of the endpoints under /work-orders/{id}: missing (404) or not the actor's to see (403).</summary>
    public static async Task<Failure?> AccessFirstAsync(AccessFirst.Request request)
    {
        if (request.Id() is not { } id)
        {
            return null;
        }

        await using var connection = await request.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync(request.Aborted);
        return await CheckAsync(connection, null, id, request.Actor, request.Aborted);
    }

    /// <summary>
    /// The <see cref="AccessFirst"/> check of an endpoint under /work-orders/{id} that also refuses by the work order's
    /// department and assignee: missing (404) or not the actor's to see (403), then <paramref name="rule"/>, the
    /// service's own decision on (actor, department, assignee, number).
    /// </summary>
    public static Func<AccessFirst.Request, Task<Failure?>> AccessFirstBy(Func<Actor, long, long?, string, Failure?> rule) => async request =>
    {
        if (request.Id() is not { } id)
        {
            return null;
        }

        await using var connection = await request.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync(request.Aborted);
        var loaded = await LoadAsync<Row>(connection, null, Check, id, request.Actor, request.Aborted);
        return loaded.Failure ?? rule(request.Actor, loaded.Value!.DepartmentId, loaded.Value.AssigneeId, loaded.Value.Number);
    };

    private const string Check =
        $"SELECT number, requester_id, assignee_id, department_id, {Visibility.IsCollaboratorSql} AS is_collaborator FROM work_orders w WHERE id = @id";

    private const string LoadCandidate = """
        SELECT id AS UserId, display_name AS UserName, role AS Role, department_id AS DepartmentId, active AS Active
        FROM users WHERE id = @id
        """;

    private sealed class CandidateRow
    {
        public long UserId { get; init; }
        public string UserName { get; init; } = "";
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
        public bool Active { get; init; }
    }

    private sealed class Row : IVisibleWorkOrder
    {
        public string Number { get; init; } = "";
        public long RequesterId { get; init; }
        public long? AssigneeId { get; init; }
        public long DepartmentId { get; init; }
        public bool IsCollaborator { get; init; }
    }
}

/// <summary>
/// The columns of a work order that its lifecycle decides on, as a use case reads them FOR UPDATE before it changes
/// the work order; select <see cref="Columns"/> from work_orders aliased w.
/// </summary>
internal class LifecycleRow
{
    public const string Columns = "w.status, w.requester_id, w.department_id, w.assignee_id, w.acknowledged_at, w.started_at, w.row_version, w.number";

    public string Status { get; init; } = "";
    public long RequesterId { get; init; }
    public long DepartmentId { get; init; }
    public long? AssigneeId { get; init; }
    public DateTime? AcknowledgedAt { get; init; }
    public DateTime? StartedAt { get; init; }
    public int RowVersion { get; init; }
    public string Number { get; init; } = "";

    public WorkOrderState ToState() =>
        new(WireNames.Parse<WorkOrderStatus>(Status), RequesterId, DepartmentId, AssigneeId, AcknowledgedAt, StartedAt);
}
