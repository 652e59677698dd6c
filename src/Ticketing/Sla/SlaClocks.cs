using Dapper;
using Npgsql;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Sla;

/// <summary>
/// The SLA clock of a work order, written in the caller's transaction: started when the work order is created,
/// paused and resumed by its transitions. The caller holds the work order's row lock, so the clock row is never
/// raced.
/// </summary>
public static class SlaClocks
{
    /// <summary>The policy of @templateId at @priority, or at the template's default priority when @priority is null.</summary>
    internal const string FindPolicy = """
        SELECT id, response_minutes, resolution_minutes, warning_percent
        FROM sla_policies
        WHERE priority = coalesce(@priority::integer, (SELECT default_priority FROM templates WHERE id = @templateId))
          AND (template_id = @templateId OR template_id IS NULL)
        ORDER BY template_id NULLS LAST
        LIMIT 1
        """;

    /// <summary>
    /// The calendar a new work order's clock counts in, when a policy applies to it (as <see cref="FindPolicy"/> finds
    /// one): that of the site of @assetId (the top of its tree), else the default; with its time zone, working spans and
    /// holidays as arrays, for <see cref="CalendarStore.Of"/>. No row without a policy; a null id without any calendar.
    /// </summary>
    internal const string FindCalendar = $"""
        WITH RECURSIVE up AS (
            SELECT id, parent_id FROM assets WHERE id = @assetId
            UNION ALL SELECT a.id, a.parent_id FROM assets a JOIN up ON a.id = up.parent_id),
        found AS (
            SELECT COALESCE(
                (SELECT sc.calendar_id FROM up JOIN site_calendars sc ON sc.site_asset_id = up.id WHERE up.parent_id IS NULL),
                (SELECT id FROM business_calendars WHERE is_default)) AS id)
        SELECT c.id, c.time_zone,
               ARRAY(SELECT h.weekday FROM calendar_hours h WHERE h.calendar_id = c.id ORDER BY h.weekday, h.start_minute) AS hour_weekdays,
               ARRAY(SELECT h.start_minute FROM calendar_hours h WHERE h.calendar_id = c.id ORDER BY h.weekday, h.start_minute) AS hour_starts,
               ARRAY(SELECT h.end_minute FROM calendar_hours h WHERE h.calendar_id = c.id ORDER BY h.weekday, h.start_minute) AS hour_ends,
               ARRAY(SELECT d.day::timestamp FROM calendar_holidays d WHERE d.calendar_id = c.id ORDER BY d.day) AS holidays
        FROM found LEFT JOIN business_calendars c ON c.id = found.id
        WHERE EXISTS ({FindPolicy})
        """;

    /// <summary>
    /// The clock of the work order w written in the same statement, when <see cref="Start"/> gave one (@policyId not
    /// null). The work order's own due times are written with its row, from the same parameters.
    /// </summary>
    internal const string StartClock = """
        INSERT INTO sla_clocks (work_order_id, policy_id, calendar_id, started_at, response_minutes, resolution_minutes, warning_percent,
            response_warn_at, response_due_at, resolution_warn_at, resolution_due_at, next_alert_at)
        SELECT w.id, @policyId, @calendarId, @now, @responseMinutes, @resolutionMinutes, @warningPercent,
            @responseWarnAt, @responseDueAt, @resolutionWarnAt, @resolutionDueAt, @responseWarnAt
        FROM w WHERE @policyId::bigint IS NOT NULL
        """;

    private const string LoadClock = """
        SELECT c.calendar_id, c.response_warn_at, c.response_due_at, c.resolution_warn_at, c.resolution_due_at, c.paused_since,
               w.status, w.acknowledged_at, w.resolved_at,
               ARRAY(SELECT a.target || ':' || a.level FROM sla_alerts a WHERE a.work_order_id = w.id) AS sent
        FROM sla_clocks c JOIN work_orders w ON w.id = c.work_order_id
        WHERE c.work_order_id = @workOrderId
        """;

    private const string Pause = """
        INSERT INTO sla_pauses (work_order_id, status, started_at) VALUES (@workOrderId, @status, @now);
        UPDATE sla_clocks SET paused_since = @now, next_alert_at = NULL WHERE work_order_id = @workOrderId;
        """;

    private const string Resume = """
        UPDATE sla_pauses SET ended_at = @now, business_minutes = @businessMinutes WHERE work_order_id = @workOrderId AND ended_at IS NULL;
        UPDATE sla_clocks
        SET paused_since = NULL, response_warn_at = @ResponseWarnAt, response_due_at = @ResponseDueAt,
            resolution_warn_at = @ResolutionWarnAt, resolution_due_at = @ResolutionDueAt
        WHERE work_order_id = @workOrderId;
        UPDATE work_orders SET response_due_at = @ResponseDueAt, resolution_due_at = @ResolutionDueAt WHERE id = @workOrderId;
        """;

    private const string SetNextAlert = "UPDATE sla_clocks SET next_alert_at = @next WHERE work_order_id = @workOrderId";

    /// <summary>
    /// The clock of a new work order when a policy applies (the template's policy for its priority, else the
    /// priority's), counted in the calendar <see cref="FindCalendar"/> read; null without a policy. Its values are the
    /// parameters of <see cref="StartClock"/> and of the work order's due times.
    /// </summary>
    internal static ClockStart? Start(PolicyRow? policy, CalendarRow? calendar, DateTime now)
    {
        if (policy is null)
        {
            return null;
        }

        var instants = SlaRules.Start(calendar?.ToCalendar() ?? BusinessCalendar.AroundTheClock, now, policy.ResponseMinutes, policy.ResolutionMinutes, policy.WarningPercent);
        return new ClockStart(
            policy.Id, calendar?.Id, policy.ResponseMinutes, policy.ResolutionMinutes, policy.WarningPercent,
            instants.ResponseWarnAt, instants.ResponseDueAt, instants.ResolutionWarnAt, instants.ResolutionDueAt);
    }

    /// <summary>A clock about to start, by the names of <see cref="StartClock"/>'s parameters.</summary>
    internal sealed record ClockStart(
        long PolicyId,
        long? CalendarId,
        int ResponseMinutes,
        int ResolutionMinutes,
        short WarningPercent,
        DateTime ResponseWarnAt,
        DateTime ResponseDueAt,
        DateTime ResolutionWarnAt,
        DateTime ResolutionDueAt);

    /// <summary>A calendar as <see cref="FindCalendar"/> reads it.</summary>
    internal sealed class CalendarRow
    {
        public long? Id { get; init; }
        public string? TimeZone { get; init; }
        public short[] HourWeekdays { get; init; } = [];
        public short[] HourStarts { get; init; } = [];
        public short[] HourEnds { get; init; } = [];
        public DateTime[] Holidays { get; init; } = [];

        public BusinessCalendar ToCalendar() =>
            CalendarStore.Of(TimeZone, HourWeekdays.Select((d, i) => (d, HourStarts[i], HourEnds[i])), Holidays);
    }

    /// <summary>
    /// Follows a transition already written to the work order: entering On hold or Awaiting feedback pauses the clock, leaving it
    /// resumes the clock and pushes the due times out by the business time paused; each is a history event and a pause interval.
    /// Then the next alert is recomputed (acknowledging ends the response target, resolving the resolution target).
    /// </summary>
    public static async Task FollowAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        long workOrderId,
        WorkOrderStatus from,
        WorkOrderStatus to,
        long? actorId,
        DateTime now,
        CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ClockRow>(new CommandDefinition(
            LoadClock, new { workOrderId }, transaction, cancellationToken: cancellationToken));
        if (row is null)
        {
            return;
        }

        var state = row.ToState();
        if (SlaRules.Pauses(to) && !SlaRules.Pauses(from) && state.PausedSince is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                Pause, new { workOrderId, status = WireNames.Of(to), now }, transaction, cancellationToken: cancellationToken));
            await History.AppendAsync(
                connection, transaction, workOrderId, now, actorId, SlaEvents.Paused, null, null, null,
                new { status = WireNames.Of(to) }, cancellationToken);
            return;
        }

        if (!SlaRules.Pauses(to) && state.PausedSince is { } pausedSince)
        {
            var calendar = await CalendarStore.LoadAsync(connection, transaction, row.CalendarId, cancellationToken);
            var paused = calendar.Between(pausedSince, now);
            var pushed = SlaRules.Push(state.Instants, calendar, pausedSince, paused);
            await connection.ExecuteAsync(new CommandDefinition(
                Resume,
                new
                {
                    workOrderId,
                    now,
                    businessMinutes = Math.Round((decimal)paused.TotalMinutes, 2),
                    pushed.ResponseWarnAt,
                    pushed.ResponseDueAt,
                    pushed.ResolutionWarnAt,
                    pushed.ResolutionDueAt,
                },
                transaction,
                cancellationToken: cancellationToken));
            await History.AppendAsync(
                connection, transaction, workOrderId, now, actorId, SlaEvents.Resumed, null, null, null,
                new
                {
                    pausedBusinessMinutes = Math.Round(paused.TotalMinutes, 2),
                    responseDueAt = pushed.ResponseDueAt,
                    resolutionDueAt = pushed.ResolutionDueAt,
                },
                cancellationToken);
            state = state with { Instants = pushed, PausedSince = null };
        }

        await connection.ExecuteAsync(new CommandDefinition(
            SetNextAlert, new { workOrderId, next = SlaRules.NextAlertAt(state) }, transaction, cancellationToken: cancellationToken));
    }

    internal sealed class PolicyRow
    {
        public long Id { get; init; }
        public int ResponseMinutes { get; init; }
        public int ResolutionMinutes { get; init; }
        public short WarningPercent { get; init; }
    }

    internal sealed class ClockRow : SlaClockRow
    {
        public long? CalendarId { get; init; }
    }
}

/// <summary>The kinds of the SLA's history events and notifications.</summary>
public static class SlaEvents
{
    public const string Paused = "sla_paused";
    public const string Resumed = "sla_resumed";
    public const string Warning = "sla_warning";
    public const string Breach = "sla_breach";
    public const string PriorityRaised = "sla_priority_raised";
}
