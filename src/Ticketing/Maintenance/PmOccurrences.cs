using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Maintenance;

/// <summary>Forecast: what the calendar says will be made; the others are the pm_occurrences statuses.</summary>
public enum PmOccurrenceStatus
{
    Forecast,
    Planned,
    Generated,
    Skipped,
    Missed,
}

/// <summary>
/// One occurrence on the PM calendar: made already (generated, skipped, missed), moved by a planner (planned), or
/// forecast by the calculator. <see cref="DueAt"/> is the date it is due on, after any move.
/// </summary>
public sealed record PmOccurrence(
    long PlanId,
    string PlanName,
    long AssetId,
    string AssetCode,
    string AssetName,
    long DepartmentId,
    string DepartmentName,
    decimal EstimatedHours,
    string DueKey,
    DateTime DueAt,
    PmOccurrenceStatus Status,
    DateTime? OriginalDueAt,
    string? MoveReason,
    long? WorkOrderId,
    string? WorkOrderNumber,
    string? Note);

/// <summary>Which occurrences: due in [From, Until), optionally one department's or one plan's.</summary>
public sealed record PmForecastQuery(DateTime From, DateTime Until, long? DepartmentId = null, long? PlanId = null, long? AssetId = null);

/// <summary>A planner moves one occurrence (named by plan, asset and due key) to another date, with a reason.</summary>
public sealed record PmMoveRequest(long? PlanId, long? AssetId, string? DueKey, DateTime? MoveTo, string? Reason);

/// <summary>
/// The PM calendar: the forecast of occurrences in a window from the one calculator beside those already made, and a
/// planner's move of one occurrence (the plan stays as it is; the generator makes it at the new date).
/// </summary>
public sealed class PmOccurrences(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxReasonLength = 500;
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(400);

    private const string Schedules = """
        SELECT s.plan_id AS PlanId, p.name AS PlanName, s.asset_id AS AssetId, a.code AS AssetCode, a.name AS AssetName, a.lifecycle AS Lifecycle,
               t.department_id AS DepartmentId, d.name AS DepartmentName, p.estimated_hours AS EstimatedHours,
               s.starts_at AS StartsAt, s.last_completed_at AS LastCompletedAt, s.last_due_key AS LastDueKey
        FROM pm_schedules s
        JOIN pm_plans p ON p.id = s.plan_id
        JOIN templates t ON t.id = p.template_id
        JOIN departments d ON d.id = t.department_id
        JOIN assets a ON a.id = s.asset_id
        WHERE p.active AND (@departmentId::bigint IS NULL OR t.department_id = @departmentId)
          AND (@planId::bigint IS NULL OR s.plan_id = @planId) AND (@assetId::bigint IS NULL OR s.asset_id = @assetId)
        """;

    private const string Recorded = """
        SELECT o.plan_id AS PlanId, p.name AS PlanName, o.asset_id AS AssetId, a.code AS AssetCode, a.name AS AssetName,
               t.department_id AS DepartmentId, d.name AS DepartmentName, p.estimated_hours AS EstimatedHours, o.due_key AS DueKey,
               coalesce(o.moved_to, o.due_at) AS DueAt, o.status AS Status, o.due_at AS NaturalDueAt, o.moved_to AS MovedTo, o.move_reason AS MoveReason,
               o.work_order_id AS WorkOrderId, w.number AS WorkOrderNumber, o.note AS Note
        FROM pm_occurrences o
        JOIN pm_plans p ON p.id = o.plan_id
        JOIN templates t ON t.id = p.template_id
        JOIN departments d ON d.id = t.department_id
        JOIN assets a ON a.id = o.asset_id
        LEFT JOIN work_orders w ON w.id = o.work_order_id
        WHERE (@departmentId::bigint IS NULL OR t.department_id = @departmentId)
          AND (@planId::bigint IS NULL OR o.plan_id = @planId) AND (@assetId::bigint IS NULL OR o.asset_id = @assetId)
          AND ((coalesce(o.moved_to, o.due_at) >= @from AND coalesce(o.moved_to, o.due_at) < @until)
               OR (o.due_at >= @from AND o.due_at < @until))
        """;

    /// <summary>
    /// Every occurrence due in the window: those recorded, and the calculator's forecast of those not made yet (a
    /// forecast occurrence whose key is recorded, moved for instance, shows once, as recorded).
    /// </summary>
    public async Task<Outcome<IReadOnlyList<PmOccurrence>>> ForecastAsync(PmForecastQuery query, CancellationToken cancellationToken)
    {
        if (query.Until <= query.From)
        {
            return Failure.Invalid("until", "period.backwards");
        }

        if (query.Until - query.From > MaxWindow)
        {
            return Failure.Invalid("until", "pm.window_too_long", (int)MaxWindow.TotalDays);
        }

        var from = DateTime.SpecifyKind(query.From, DateTimeKind.Utc);
        var until = DateTime.SpecifyKind(query.Until, DateTimeKind.Utc);
        var now = clock.GetUtcNow().UtcDateTime;
        var filter = new { departmentId = query.DepartmentId, planId = query.PlanId, assetId = query.AssetId, from, until };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var recorded = (await connection.QueryAsync<RecordedRow>(new CommandDefinition(Recorded, filter, cancellationToken: cancellationToken))).ToList();
        var keys = recorded.Select(r => (r.PlanId, r.AssetId, r.DueKey)).ToHashSet();
        var result = recorded
            .Where(r => r.DueAt >= from && r.DueAt < until)
            .Select(r => new PmOccurrence(
                r.PlanId, r.PlanName, r.AssetId, r.AssetCode, r.AssetName, r.DepartmentId, r.DepartmentName, r.EstimatedHours, r.DueKey, r.DueAt,
                WireNames.Parse<PmOccurrenceStatus>(r.Status), r.MovedTo is null ? null : r.NaturalDueAt, r.MoveReason, r.WorkOrderId, r.WorkOrderNumber, r.Note))
            .ToList();

        var schedules = (await connection.QueryAsync<ScheduleRow>(new CommandDefinition(Schedules, filter, cancellationToken: cancellationToken)))
            .Where(s => PmGenerator.TakesWork(s.Lifecycle))
            .ToList();
        var plans = await PmStore.PlansAsync(connection, null, [.. schedules.Select(s => s.PlanId).Distinct()], cancellationToken);
        var zones = await PmStore.ZonesAsync(connection, null, [.. schedules.Select(s => s.AssetId).Distinct()], cancellationToken);
        foreach (var s in schedules)
        {
            var state = new PmScheduleState(s.StartsAt ?? now, s.LastCompletedAt, s.LastDueKey);
            foreach (var due in PmCalendar.Forecast(plans[s.PlanId].Rule, zones[s.AssetId], state, from, until))
            {
                if (!keys.Contains((s.PlanId, s.AssetId, due.Key)))
                {
                    result.Add(new PmOccurrence(
                        s.PlanId, s.PlanName, s.AssetId, s.AssetCode, s.AssetName, s.DepartmentId, s.DepartmentName, s.EstimatedHours, due.Key, due.DueAt,
                        PmOccurrenceStatus.Forecast, null, null, null, null, null));
                }
            }
        }

        return result.OrderBy(o => o.DueAt).ThenBy(o => o.PlanName, StringComparer.Ordinal).ThenBy(o => o.AssetCode, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Moves one occurrence not made yet to another date, recording who moved it and why; the plan does not change.
    /// An occurrence already made (its work order exists, or it was skipped or missed) is not moved: its work order's
    /// due date is the one to change.
    /// </summary>
    public async Task<Outcome<PmOccurrence>> MoveAsync(PmMoveRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!PmPlans.CanPlan(actor))
        {
            return Failure.Forbidden("pm.planner_only");
        }

        var errors = new FieldErrors();
        if (request.PlanId is null)
        {
            errors.Add("planId", "field.required");
        }

        if (request.AssetId is null)
        {
            errors.Add("assetId", "field.required");
        }

        if (string.IsNullOrWhiteSpace(request.DueKey))
        {
            errors.Add("dueKey", "field.required");
        }

        if (request.MoveTo is null)
        {
            errors.Add("moveTo", "field.required");
        }

        var reason = request.Reason?.Trim();
        if (string.IsNullOrEmpty(reason) || reason.Length > MaxReasonLength)
        {
            errors.Add("reason", "field.required_short", MaxReasonLength);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var moveTo = request.MoveTo!.Value.ToUniversalTime();
        if (moveTo <= now)
        {
            return Failure.Invalid("moveTo", "pm.move_to_past");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The schedule's row lock orders the move with the generator's pass over the same schedule.
        var schedule = await connection.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(
            $"{Schedules} FOR UPDATE OF s",
            new { departmentId = (long?)null, planId = request.PlanId, assetId = request.AssetId },
            transaction,
            cancellationToken: cancellationToken));
        if (schedule is null)
        {
            return Failure.NotFound("pm.schedule_not_found", request.PlanId, request.AssetId);
        }

        var existing = await connection.QuerySingleOrDefaultAsync<(long Id, string Status)>(new CommandDefinition(
            "SELECT id, status FROM pm_occurrences WHERE plan_id = @planId AND asset_id = @assetId AND due_key = @dueKey",
            new { planId = request.PlanId, assetId = request.AssetId, dueKey = request.DueKey },
            transaction,
            cancellationToken: cancellationToken));
        if (existing.Id != 0 && existing.Status != "planned")
        {
            return Failure.Conflict("pm.occurrence_made", request.DueKey, existing.Status);
        }

        var plans = await PmStore.PlansAsync(connection, transaction, [schedule.PlanId], cancellationToken);
        var zones = await PmStore.ZonesAsync(connection, transaction, [schedule.AssetId], cancellationToken);
        var rule = plans[schedule.PlanId].Rule;
        DateTime naturalDue;
        if (existing.Id == 0)
        {
            // Only an occurrence the calendar will make can be moved: the key must be one of its coming due dates.
            var state = new PmScheduleState(schedule.StartsAt ?? now, schedule.LastCompletedAt, schedule.LastDueKey);
            var coming = PmCalendar.Forecast(rule, zones[schedule.AssetId], state, now.AddDays(-rule.LeadDays - 1), now.AddYears(2))
                .FirstOrDefault(d => d.Key == request.DueKey);
            if (coming is null)
            {
                return Failure.Invalid("dueKey", "pm.occurrence_unknown", request.DueKey);
            }

            naturalDue = coming.DueAt;
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO pm_occurrences (plan_id, asset_id, trigger_id, due_key, due_at, status, moved_to, move_reason, moved_by, recorded_at)
                VALUES (@planId, @assetId, @triggerId, @key, @dueAt, 'planned', @moveTo, @reason, @me, @now)
                """,
                new { planId = schedule.PlanId, assetId = schedule.AssetId, triggerId = coming.TriggerId, key = coming.Key, dueAt = coming.DueAt, moveTo, reason, me = actor.UserId, now },
                transaction,
                cancellationToken: cancellationToken));
        }
        else
        {
            naturalDue = await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(
                "UPDATE pm_occurrences SET moved_to = @moveTo, move_reason = @reason, moved_by = @me, recorded_at = @now WHERE id = @id RETURNING due_at",
                new { id = existing.Id, moveTo, reason, me = actor.UserId, now },
                transaction,
                cancellationToken: cancellationToken));
        }

        // Looked at again now, so a move earlier than the next check is not waited for.
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE pm_schedules SET next_check_at = least(next_check_at, @now) WHERE plan_id = @planId AND asset_id = @assetId",
            new { now, planId = schedule.PlanId, assetId = schedule.AssetId },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return new PmOccurrence(
            schedule.PlanId, schedule.PlanName, schedule.AssetId, schedule.AssetCode, schedule.AssetName, schedule.DepartmentId, schedule.DepartmentName,
            schedule.EstimatedHours, request.DueKey!, moveTo, PmOccurrenceStatus.Planned, naturalDue, reason, null, null, null);
    }

    /// <summary>
    /// Called in the transaction of a work-order transition: when a PM work order is resolved or closed, its schedule
    /// records the completion (floating plans count from it) and is looked at again.
    /// </summary>
    public static Task RecordCompletionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long workOrderId, DateTime now, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE pm_schedules s
            SET last_completed_at = greatest(s.last_completed_at, coalesce(w.resolved_at, w.closed_at, @now)),
                next_check_at = least(s.next_check_at, @now)
            FROM pm_occurrences o JOIN work_orders w ON w.id = o.work_order_id
            WHERE o.work_order_id = @workOrderId AND s.plan_id = o.plan_id AND s.asset_id = o.asset_id
            """,
            new { workOrderId, now },
            transaction,
            cancellationToken: cancellationToken));

    /// <summary>
    /// For the meters: readings arrived for an asset, so its plans with a meter trigger are looked at at the next pass.
    /// Call it in the transaction that stores the readings.
    /// </summary>
    public static Task NudgeForReadingsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long assetId, DateTime now, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE pm_schedules s SET next_check_at = @now
            WHERE s.asset_id = @assetId AND s.next_check_at > @now
              AND EXISTS (SELECT 1 FROM pm_triggers t WHERE t.plan_id = s.plan_id AND t.kind = 'meter')
              AND EXISTS (SELECT 1 FROM pm_plans p WHERE p.id = s.plan_id AND p.active)
            """,
            new { assetId, now },
            transaction,
            cancellationToken: cancellationToken));

    private sealed class ScheduleRow
    {
        public long PlanId { get; init; }
        public string PlanName { get; init; } = "";
        public long AssetId { get; init; }
        public string AssetCode { get; init; } = "";
        public string AssetName { get; init; } = "";
        public string Lifecycle { get; init; } = "";
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public decimal EstimatedHours { get; init; }
        public DateTime? StartsAt { get; init; }
        public DateTime? LastCompletedAt { get; init; }
        public string? LastDueKey { get; init; }
    }

    private sealed class RecordedRow
    {
        public long PlanId { get; init; }
        public string PlanName { get; init; } = "";
        public long AssetId { get; init; }
        public string AssetCode { get; init; } = "";
        public string AssetName { get; init; } = "";
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public decimal EstimatedHours { get; init; }
        public string DueKey { get; init; } = "";
        public DateTime DueAt { get; init; }
        public string Status { get; init; } = "";
        public DateTime NaturalDueAt { get; init; }
        public DateTime? MovedTo { get; init; }
        public string? MoveReason { get; init; }
        public long? WorkOrderId { get; init; }
        public string? WorkOrderNumber { get; init; }
        public string? Note { get; init; }
    }
}
