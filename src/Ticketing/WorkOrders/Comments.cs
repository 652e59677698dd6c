using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

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
            return Failure.Invalid("body", "field.required_short", MaxBodyLength);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await WorkOrderAccess.CheckAsync(connection, transaction, workOrderId, actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var comment = await connection.QuerySingleAsync<Comment>(new CommandDefinition(
            Insert, new { id = workOrderId, authorId = actor.UserId, body, now }, transaction, cancellationToken: cancellationToken));
        await History.AppendAsync(connection, transaction, workOrderId, now, actor.UserId, "comment", null, null, body, new { commentId = comment.Id }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
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
    /// transaction) and refuses one that is missing or that the actor may not see.
    /// </summary>
    public static async Task<Outcome<T>> LoadAsync<T>(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, long id, Actor actor, CancellationToken cancellationToken)
        where T : IVisibleWorkOrder
    {
        var row = await connection.QuerySingleOrDefaultAsync<T>(new CommandDefinition(
            sql, new { id, me = actor.UserId }, transaction, cancellationToken: cancellationToken));
        if (row is null)
        {
            return Failure.NotFound("work_order.not_found", id);
        }

        return Visibility.CanSee(actor, row.RequesterId, row.AssigneeId, row.DepartmentId, row.IsCollaborator)
            ? row
            : Failure.Forbidden("work_order.not_visible", row.Number);
    }

    public static async Task<Failure?> CheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long workOrderId, Actor actor, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT number, requester_id, assignee_id, department_id, {Visibility.IsCollaboratorSql} AS is_collaborator FROM work_orders w WHERE id = @workOrderId",
            new { workOrderId, me = actor.UserId },
            transaction,
            cancellationToken: cancellationToken));
        return row switch
        {
            null => Failure.NotFound("work_order.not_found", workOrderId),
            _ when !Visibility.CanSee(actor, row.RequesterId, row.AssigneeId, row.DepartmentId, row.IsCollaborator) =>
                Failure.Forbidden("work_order.not_visible", row.Number),
            _ => null,
        };
    }

    private sealed class Row
    {
        public string Number { get; init; } = "";
        public long RequesterId { get; init; }
        public long? AssigneeId { get; init; }
        public long DepartmentId { get; init; }
        public bool IsCollaborator { get; init; }
    }
}
