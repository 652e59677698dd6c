using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Sla;

/// <summary>An open work order at risk of missing, or past, its SLA.</summary>
public sealed record AtRiskWorkOrder(
    long Id,
    string Number,
    string Title,
    int Priority,
    WorkOrderStatus Status,
    long DepartmentId,
    string DepartmentName,
    long? AssigneeId,
    string? AssigneeName,
    SlaView Sla);

/// <summary>Reading SLA standing: the time left on given work orders, and the at-risk list for managers.</summary>
public sealed class SlaBoard(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxTake = 200;

    private const string Clocks = """
        SELECT c.work_order_id AS id, c.calendar_id, c.response_warn_at, c.response_due_at, c.resolution_warn_at, c.resolution_due_at,
               c.paused_since, w.status, w.acknowledged_at, w.resolved_at
        FROM sla_clocks c JOIN work_orders w ON w.id = c.work_order_id
        WHERE c.work_order_id = ANY(@ids)
        """;

    // Running clocks whose pending target is past its warning share, earliest pending due first.
    private const string AtRisk = """
        SELECT w.id, w.number, w.title, w.priority, w.status, w.department_id, d.name AS department_name, w.assignee_id,
               u.display_name AS assignee_name, c.calendar_id, c.response_warn_at, c.response_due_at, c.resolution_warn_at,
               c.resolution_due_at, c.paused_since, w.acknowledged_at, w.resolved_at
        FROM sla_clocks c
        JOIN work_orders w ON w.id = c.work_order_id
        JOIN departments d ON d.id = w.department_id
        LEFT JOIN users u ON u.id = w.assignee_id
        WHERE c.paused_since IS NULL
          AND w.status IN ('new', 'assigned', 'in_progress', 'needs_collaboration')
          AND ((w.acknowledged_at IS NULL AND c.response_warn_at <= @now) OR c.resolution_warn_at <= @now)
          AND (@all OR w.department_id = @department)
        ORDER BY LEAST(CASE WHEN w.acknowledged_at IS NULL THEN c.response_due_at END, c.resolution_due_at), w.id
        LIMIT @take
        """;

    /// <summary>The time left on each of the work orders that has an SLA clock.</summary>
    public async Task<IReadOnlyDictionary<long, SlaView>> ViewsAsync(IReadOnlyCollection<long> workOrderIds, CancellationToken cancellationToken)
    {
        var views = new Dictionary<long, SlaView>();
        if (workOrderIds.Count == 0)
        {
            return views;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ClockRow>(new CommandDefinition(Clocks, new { ids = workOrderIds.ToArray() }, cancellationToken: cancellationToken));
        var calendars = new Dictionary<long, BusinessCalendar>();
        foreach (var row in rows)
        {
            var calendar = await CalendarAsync(connection, calendars, row.CalendarId, cancellationToken);
            if (SlaRules.View(row.ToState(), calendar, now) is { } view)
            {
                views[row.Id] = view;
            }
        }

        return views;
    }

    /// <summary>
    /// Open work at risk or breached, most urgent first: a manager's own department; administrators and executives see every
    /// department. Paused work is left out: its clock is not running.
    /// </summary>
    public async Task<Outcome<IReadOnlyList<AtRiskWorkOrder>>> AtRiskAsync(Actor actor, int take, CancellationToken cancellationToken)
    {
        if (actor.Role is not (Role.Manager or Role.Admin or Role.Executive))
        {
            return Failure.Forbidden("sla_board.not_allowed");
        }

        if (take is < 1 or > MaxTake)
        {
            return Failure.Invalid("take", "field.from_to", 1, MaxTake);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AtRiskRow>(new CommandDefinition(
            AtRisk,
            new { now, all = actor.Role != Role.Manager, department = actor.DepartmentId ?? 0, take },
            cancellationToken: cancellationToken));
        var calendars = new Dictionary<long, BusinessCalendar>();
        var items = new List<AtRiskWorkOrder>();
        foreach (var row in rows)
        {
            var calendar = await CalendarAsync(connection, calendars, row.CalendarId, cancellationToken);
            if (SlaRules.View(row.ToState(), calendar, now) is { } view)
            {
                items.Add(new AtRiskWorkOrder(
                    row.Id, row.Number, row.Title, row.Priority, WireNames.Parse<WorkOrderStatus>(row.Status), row.DepartmentId, row.DepartmentName,
                    row.AssigneeId, row.AssigneeName, view));
            }
        }

        return items;
    }

    private static async Task<BusinessCalendar> CalendarAsync(NpgsqlConnection connection, Dictionary<long, BusinessCalendar> cache, long? id, CancellationToken cancellationToken)
    {
        var key = id ?? 0;
        if (!cache.TryGetValue(key, out var calendar))
        {
            calendar = await CalendarStore.LoadAsync(connection, null, id, cancellationToken);
            cache[key] = calendar;
        }

        return calendar;
    }

    // The view needs no sent alerts: it reads the instants, not the history of alerts.
    private class ClockRow : SlaClockRow
    {
        public long Id { get; init; }
        public long? CalendarId { get; init; }
    }

    private sealed class AtRiskRow : ClockRow
    {
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public short Priority { get; init; }
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public long? AssigneeId { get; init; }
        public string? AssigneeName { get; init; }
    }
}
