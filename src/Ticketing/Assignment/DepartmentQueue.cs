using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>An unassigned work order waiting in a department's queue, with why auto-assignment left it there.</summary>
public sealed record QueuedWorkOrder(
    long Id,
    string Number,
    string Title,
    int Priority,
    string TemplateName,
    string? AssetCode,
    DateTime CreatedAt,
    string? QueuedReason,
    int RowVersion);

/// <summary>The work of the signed-in user's department that nobody has yet: most urgent first, then oldest.</summary>
public sealed class DepartmentQueue(NpgsqlDataSource dataSource)
{
    public const int MaxItems = 200;

    private const string Select = """
        SELECT w.id, w.number, w.title, w.priority::int AS priority, t.name AS template_name, a.code AS asset_code, w.created_at,
               (SELECT e.note FROM work_order_events e WHERE e.work_order_id = w.id AND e.kind = 'queued' ORDER BY e.id DESC LIMIT 1) AS queued_reason,
               w.row_version
        FROM work_orders w
        JOIN templates t ON t.id = w.template_id
        LEFT JOIN assets a ON a.id = w.asset_id
        WHERE w.department_id = @departmentId AND w.status = 'new' AND w.assignee_id IS NULL
        ORDER BY w.priority, w.created_at, w.id
        LIMIT @take
        """;

    public async Task<Outcome<List<QueuedWorkOrder>>> ListAsync(Actor actor, int take, CancellationToken cancellationToken)
    {
        if (actor.Role is not (Role.Technician or Role.Manager) || actor.DepartmentId is not { } departmentId)
        {
            return Failure.Forbidden("queue.not_allowed");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<QueuedWorkOrder>(new CommandDefinition(
            Select, new { departmentId, take = Math.Clamp(take, 1, MaxItems) }, cancellationToken: cancellationToken));
        return rows.AsList();
    }
}
