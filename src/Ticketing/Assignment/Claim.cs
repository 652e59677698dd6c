using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>A technician takes an unassigned work order from their department's queue. The first claim wins.</summary>
public sealed class ClaimWorkOrder(NpgsqlDataSource dataSource, TimeProvider clock)
{
    // The row lock makes a second, simultaneous claim wait and then see the first one's assignee.
    private const string Lock = $"""
        SELECT {LifecycleRow.Columns}, w.title, u.display_name AS assignee_name, (SELECT display_name FROM users WHERE id = @me) AS my_name
        FROM work_orders w LEFT JOIN users u ON u.id = w.assignee_id
        WHERE w.id = @id FOR UPDATE OF w
        """;

    private const string Update = """
        UPDATE work_orders SET status = @to, assignee_id = @me, row_version = row_version + 1, updated_at = @now
        WHERE id = @id RETURNING row_version
        """;

    public async Task<Outcome<TransitionResult>> HandleAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Technician)
        {
            return Failure.Forbidden("claim.technicians_only");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var opened = await WorkOrderAccess.LoadAsync<Row>(connection, transaction, Lock, id, actor, r => Refusal(r, actor), cancellationToken);
        if (opened.Failure is { } refused)
        {
            return refused;
        }

        var row = opened.Value!;

        var now = clock.GetUtcNow().UtcDateTime;
        var state = row.ToState();
        var me = new Candidate(actor.UserId, actor.UserName, actor.Role, actor.DepartmentId, Active: true);
        var decision = Lifecycle.Decide(state, new TransitionCommand(WorkOrderAction.Assign, null, me), actor, now);
        if (decision.Failure is { } failure)
        {
            return failure;
        }

        var change = decision.Value!;
        var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            Update, new { id, to = WireNames.Of(change.To), me = actor.UserId, now }, transaction, cancellationToken: cancellationToken));
        await History.AppendAsync(
            connection, transaction, id, now, actor.UserId, EventKinds.Claim, change.From, change.To, null,
            new { assigneeId = actor.UserId, assignee = row.MyName }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new TransitionResult(id, change.To, actor.UserId, version);
    }

    private static Failure? Refusal(Row row, Actor actor)
    {
        if (row.DepartmentId != actor.DepartmentId)
        {
            return Failure.Forbidden("claim.other_department", row.Number);
        }

        if (row.AssigneeId is not null)
        {
            return row.AssigneeId == actor.UserId
                ? Failure.Conflict("claim.yours_already", row.Number)
                : Failure.Conflict("claim.taken", row.Number, row.AssigneeName);
        }

        return null;
    }

    private sealed class Row : LifecycleRow
    {
        public string Title { get; init; } = "";
        public string? AssigneeName { get; init; }
        public string MyName { get; init; } = "";
    }
}
