using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Jobs;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Maintenance;

/// <summary>Settings of the PM generator, bound from the "Pm" section.</summary>
public sealed class PmOptions : JobOptions
{
    public const string Section = "Pm";

    public PmOptions() => Interval = TimeSpan.FromMinutes(1);

    /// <summary>Run the generator in this process; several processes may run it, each occurrence is still made once.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How many schedules one transaction of a pass claims. Kept small: each create auto-assigns, and the cursor of the
    /// assignment rule it matched stays locked until the batch commits, so other creates under that rule wait for it.
    /// </summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 20;

    /// <summary>
    /// An occurrence found this long after its due date was missed (the generator was down): the plan's catch-up policy
    /// decides what becomes of it. Less than this late is an ordinary pass.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan MissedAfter { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a schedule waits before it is tried again after its work order could not be made.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>What one pass did.</summary>
public sealed record PmPassResult(int Schedules, int Generated, int Skipped, int Missed);

/// <summary>
/// Makes the work orders of due PM occurrences. A pass claims the schedules whose next check has come with FOR UPDATE SKIP
/// LOCKED (so generators in several processes share the work), asks <see cref="PmCalendar"/> what is due, and for each
/// occurrence first claims its key in pm_occurrences (unique per plan, asset and due key) and then creates the work order
/// through the work-order core in the same transaction: however many generators run and however often a pass is
/// retried, one occurrence makes at most one work order.
/// </summary>
public sealed partial class PmGenerator(
    NpgsqlDataSource dataSource, CreateWorkOrder create, TimeProvider clock, IOptions<PmOptions> options, ILogger<PmGenerator> logger)
    : BackgroundService
{
    private readonly JobRunner _runner = new("PM generator", clock, logger, e => e is NpgsqlException or TimeoutException);

    private const string Claim = """
        SELECT plan_id, asset_id, starts_at, last_completed_at, last_due_key, last_meter_lifetime, meter_reading_id
        FROM pm_schedules
        WHERE next_check_at <= @now
        ORDER BY next_check_at
        LIMIT @take
        FOR UPDATE SKIP LOCKED
        """;

    private const string Assets = "SELECT id, code, name, lifecycle FROM assets WHERE id = ANY(@ids)";

    private const string Moved = """
        SELECT id, plan_id, asset_id, trigger_id, due_key, due_at, moved_to
        FROM pm_occurrences
        WHERE status = 'planned' AND (plan_id, asset_id) IN (SELECT * FROM unnest(@plans, @assets))
        """;

    private const string MeterReadings = """
        SELECT r.id AS Id, r.read_at AS ReadAt, r.value AS Value, r.lifetime AS Lifetime, r.is_reset AS IsReset
        FROM meter_readings r JOIN meters m ON m.id = r.meter_id
        WHERE m.asset_id = @assetId AND m.name = @meterName
          AND (CASE WHEN @after::bigint IS NULL THEN r.read_at >= @startsAt ELSE r.id > @after END)
        ORDER BY r.read_at, r.id
        LIMIT 10000
        """;

    private const string MeterPrevious = """
        SELECT r.id AS Id, r.read_at AS ReadAt, r.value AS Value, r.lifetime AS Lifetime, r.is_reset AS IsReset
        FROM meter_readings r JOIN meters m ON m.id = r.meter_id
        WHERE m.asset_id = @assetId AND m.name = @meterName
          AND (CASE WHEN @after::bigint IS NULL THEN r.read_at < @startsAt ELSE r.id = @after END)
        ORDER BY r.read_at DESC, r.id DESC
        LIMIT 1
        """;

    private const string ClaimKey = """
        INSERT INTO pm_occurrences (plan_id, asset_id, trigger_id, due_key, due_at, status, recorded_at, note)
        VALUES (@planId, @assetId, @triggerId, @key, @dueAt, @status, @now, @note)
        ON CONFLICT (plan_id, asset_id, due_key) DO NOTHING
        RETURNING id
        """;

    private const string OpenOccurrence = """
        SELECT EXISTS (
            SELECT 1 FROM pm_occurrences o JOIN work_orders w ON w.id = o.work_order_id
            WHERE o.plan_id = @planId AND o.asset_id = @assetId AND o.status = 'generated' AND w.status NOT IN ('resolved', 'closed', 'cancelled'))
        """;

    private const string SaveSchedule = """
        UPDATE pm_schedules
        SET starts_at = @startsAt, last_due_key = @lastDueKey, last_meter_lifetime = @lifetime, meter_reading_id = @readingId, next_check_at = @next
        WHERE plan_id = @planId AND asset_id = @assetId
        """;

    /// <summary>Whether an asset in this lifecycle state (its wire name) takes new PM occurrences: the register's rule.</summary>
    public static bool TakesWork(string lifecycle) => AssetLifecycle.TakesPreventiveWork(WireNames.Parse<AssetState>(lifecycle));

    public JobRunner Runner => _runner;

    /// <summary>One pass: every occurrence due now. Batches are transactions; a failed batch is retried by the next pass.</summary>
    public async Task<PmPassResult> RunPassAsync(CancellationToken cancellationToken)
    {
        var total = new PmPassResult(0, 0, 0, 0);
        var take = options.Value.BatchSize;
        while (true)
        {
            var (claimed, result) = await RunBatchAsync(take, cancellationToken);
            total = new PmPassResult(total.Schedules + claimed, total.Generated + result.Generated, total.Skipped + result.Skipped, total.Missed + result.Missed);
            if (claimed < take)
            {
                return total;
            }
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.Enabled
        ? _runner.RunAsync(options.Value.Schedule, RunAndLogAsync, stoppingToken)
        : Task.CompletedTask;

    private async Task RunAndLogAsync(CancellationToken cancellationToken)
    {
        var result = await RunPassAsync(cancellationToken);
        if (result.Generated + result.Skipped + result.Missed > 0)
        {
            LogPass(result.Generated, result.Skipped, result.Missed);
        }
    }

    private async Task<(int Claimed, PmPassResult Result)> RunBatchAsync(int take, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var schedules = (await connection.QueryAsync<ScheduleRow>(new CommandDefinition(
            Claim, new { now, take }, transaction, cancellationToken: cancellationToken))).ToList();
        if (schedules.Count == 0)
        {
            return (0, new PmPassResult(0, 0, 0, 0));
        }

        var plans = await PmStore.PlansAsync(connection, transaction, [.. schedules.Select(s => s.PlanId).Distinct()], cancellationToken);
        long[] assetIds = [.. schedules.Select(s => s.AssetId).Distinct()];
        var zones = await PmStore.ZonesAsync(connection, transaction, assetIds, cancellationToken);
        var assets = (await connection.QueryAsync<AssetRow>(new CommandDefinition(Assets, new { ids = assetIds }, transaction, cancellationToken: cancellationToken)))
            .ToDictionary(a => a.Id);
        var moved = (await connection.QueryAsync<MovedRow>(new CommandDefinition(
                Moved, new { plans = schedules.Select(s => s.PlanId).ToArray(), assets = schedules.Select(s => s.AssetId).ToArray() }, transaction, cancellationToken: cancellationToken)))
            .ToLookup(m => (m.PlanId, m.AssetId));
        var requesters = new Dictionary<long, Actor>();

        int generated = 0, skipped = 0, missed = 0;
        foreach (var schedule in schedules)
        {
            await connection.ExecuteAsync(new CommandDefinition("SAVEPOINT pm_schedule", transaction: transaction, cancellationToken: cancellationToken));
            try
            {
                var counts = await RunScheduleAsync(
                    connection, transaction, schedule, plans[schedule.PlanId], zones[schedule.AssetId], assets[schedule.AssetId],
                    moved[(schedule.PlanId, schedule.AssetId)], requesters, now, cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition("RELEASE SAVEPOINT pm_schedule", transaction: transaction, cancellationToken: cancellationToken));
                generated += counts.Generated;
                skipped += counts.Skipped;
                missed += counts.Missed;
            }
            catch (PostgresException e) when (e.SqlState is not (PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected))
            {
                // One broken schedule must not hold up the others: undo its part and look at it again later.
                await connection.ExecuteAsync(new CommandDefinition("ROLLBACK TO SAVEPOINT pm_schedule", transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE pm_schedules SET next_check_at = @next WHERE plan_id = @planId AND asset_id = @assetId",
                    new { next = now + options.Value.RetryAfter, schedule.PlanId, schedule.AssetId },
                    transaction,
                    cancellationToken: cancellationToken));
                LogScheduleFailed(e, schedule.PlanId, schedule.AssetId);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return (schedules.Count, new PmPassResult(schedules.Count, generated, skipped, missed));
    }

    private async Task<PmPassResult> RunScheduleAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        ScheduleRow schedule,
        PmPlanRule plan,
        NodaTime.DateTimeZone zone,
        AssetRow asset,
        IEnumerable<MovedRow> movedRows,
        Dictionary<long, Actor> requesters,
        DateTime now,
        CancellationToken cancellationToken)
    {
        var startsAt = schedule.StartsAt ?? now;
        if (!plan.Active || !TakesWork(asset.Lifecycle))
        {
            // Nothing is owed for the time a plan is off or an asset is out of service: the count starts again from
            // when it comes back. A retired asset is looked at daily in case its state was a mistake and is corrected.
            await SaveAsync(connection, transaction, schedule, now, schedule.LastDueKey, schedule.LastMeterLifetime, schedule.MeterReadingId,
                plan.Active ? now.AddDays(1) : PmCalendar.Never, cancellationToken);
            return new PmPassResult(1, 0, 0, 0);
        }

        IReadOnlyList<PmMeterReading> readings = [];
        PmMeterReading? previous = null;
        if (plan.MeterName is { } meterName)
        {
            var args = new { assetId = schedule.AssetId, meterName, after = schedule.MeterReadingId, startsAt };
            readings = [.. await connection.QueryAsync<PmMeterReading>(new CommandDefinition(MeterReadings, args, transaction, cancellationToken: cancellationToken))];
            previous = await connection.QuerySingleOrDefaultAsync<PmMeterReading>(new CommandDefinition(MeterPrevious, args, transaction, cancellationToken: cancellationToken));
        }

        var state = new PmScheduleState(startsAt, schedule.LastCompletedAt, schedule.LastDueKey, schedule.LastMeterLifetime, schedule.MeterReadingId);
        var step = PmCalendar.Step(plan.Rule, zone, state, now, readings, previous);

        // A planner's move rules over the calendar: the moved occurrence is made at its new date, not at the old one.
        var moved = movedRows.ToList();
        var movedKeys = moved.Select(m => m.DueKey).ToHashSet(StringComparer.Ordinal);
        var natural = step.Due.Where(d => !movedKeys.Contains(d.Key)).ToList();
        var next = step.NextCheckAt;
        var work = new List<(PmDue Due, string Action, long? MovedId)>();
        foreach (var m in moved)
        {
            var createAt = MovedCreateAt(plan, zone, m.MovedTo);
            if (createAt <= now)
            {
                work.Add((new PmDue(m.TriggerId, PmTriggerKind.Calendar, m.DueKey, m.MovedTo, createAt), "create", m.Id));
            }
            else if (createAt < next)
            {
                next = createAt;
            }
        }

        var late = now - options.Value.MissedAfter;
        var calendar = natural.Where(d => d.Kind == PmTriggerKind.Calendar).ToList();
        var overdue = calendar.Where(d => d.DueAt < late).ToList();
        var fresh = calendar.Where(d => d.DueAt >= late).ToList();
        foreach (var due in calendar)
        {
            var isOverdue = due.DueAt < late;
            var action = plan.CatchUp switch
            {
                CatchUpPolicy.All => "create",
                CatchUpPolicy.MarkMissed => isOverdue ? "miss" : "create",
                _ => !isOverdue || (fresh.Count == 0 && ReferenceEquals(due, overdue[^1])) ? "create" : "miss",
            };
            work.Add((due, action, null));
        }

        work.AddRange(natural.Where(d => d.Kind == PmTriggerKind.Meter).Select(d => (d, "create", (long?)null)));
        work.Sort((a, b) => a.Due.DueAt.CompareTo(b.Due.DueAt));

        int generated = 0, skipped = 0, missed = 0;
        foreach (var (due, action, movedId) in work)
        {
            if (action == "miss")
            {
                missed += await RecordAsync(connection, transaction, plan, schedule, due, "missed", "the generator did not run when it fell due", now, cancellationToken);
                continue;
            }

            if (plan.Overlap == OverlapPolicy.Skip
                && await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    OpenOccurrence, new { planId = plan.Id, assetId = schedule.AssetId }, transaction, cancellationToken: cancellationToken)))
            {
                skipped += movedId is { } skippedMove
                    ? await ResolveMovedAsync(connection, transaction, skippedMove, "skipped", null, "the previous occurrence was still open", cancellationToken)
                    : await RecordAsync(connection, transaction, plan, schedule, due, "skipped", "the previous occurrence was still open", now, cancellationToken);
                continue;
            }

            generated += await GenerateAsync(connection, transaction, plan, schedule, asset, due, movedId, requesters, now, cancellationToken);
        }

        await SaveAsync(connection, transaction, schedule, startsAt, step.LastDueKey, step.MeterLifetime, step.MeterReadingId,
            plan.MeterName is null ? next : Min(next, now.AddDays(1)), cancellationToken);
        return new PmPassResult(1, generated, skipped, missed);
    }

    private async Task<int> GenerateAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        PmPlanRule plan,
        ScheduleRow schedule,
        AssetRow asset,
        PmDue due,
        long? movedId,
        Dictionary<long, Actor> requesters,
        DateTime now,
        CancellationToken cancellationToken)
    {
        // The key first: whoever claims it makes the work order, in this transaction; anyone else finds it taken.
        long occurrenceId;
        if (movedId is { } id)
        {
            occurrenceId = id;
        }
        else if (await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                     ClaimKey,
                     new { planId = plan.Id, assetId = schedule.AssetId, triggerId = due.TriggerId, key = due.Key, dueAt = due.DueAt, status = "missed", now, note = (string?)null },
                     transaction,
                     cancellationToken: cancellationToken)) is { } claimed)
        {
            occurrenceId = claimed;
        }
        else
        {
            return 0;
        }

        var requester = await RequesterAsync(connection, transaction, plan, requesters, cancellationToken);
        var hours = plan.EstimatedHours.ToString("0.##", CultureInfo.InvariantCulture);
        var request = new CreateWorkOrderRequest(
            plan.TemplateId,
            Truncate($"PM: {plan.Name} - {asset.Code} {asset.Name}", CreateWorkOrder.MaxTitleLength),
            $"Preventive maintenance plan '{plan.Name}' on {asset.Code} {asset.Name}, due {due.DueAt:yyyy-MM-dd HH:mm} UTC ({Describe(due)}).\n"
            + $"Estimated work: {hours} h.",
            AssetId: schedule.AssetId,
            Reference: $"pm-{occurrenceId}",
            DueAt: due.DueAt);
        Outcome<CreatedWorkOrder> made = requester is null
            ? Failure.NotFound("user.missing", plan.CreatedBy)
            : await create.InsertAsync(connection, transaction, request, requester, WorkOrderSource.Pm, null, cancellationToken);
        if (made.Failure is { } failure)
        {
            // The template changed since the plan was saved (a required field now) or nobody can raise work: the
            // occurrence is kept as missed with the reason, for the planner to see, instead of retried for ever.
            var reason = failure.Message;
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE pm_occurrences SET status = 'missed', note = @note, recorded_at = @now WHERE id = @occurrenceId",
                new { occurrenceId, note = Truncate("the work order was refused: " + reason, 500), now },
                transaction,
                cancellationToken: cancellationToken));
            LogRefused(plan.Id, schedule.AssetId, due.Key, reason);
            return 0;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE pm_occurrences SET status = 'generated', work_order_id = @workOrderId, recorded_at = @now, note = NULL WHERE id = @occurrenceId",
            new { occurrenceId, workOrderId = made.Value!.Id, now },
            transaction,
            cancellationToken: cancellationToken));
        return 1;
    }

    private static async Task<int> RecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PmPlanRule plan, ScheduleRow schedule, PmDue due, string status, string note, DateTime now,
        CancellationToken cancellationToken)
    {
        var id = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            ClaimKey,
            new { planId = plan.Id, assetId = schedule.AssetId, triggerId = due.TriggerId, key = due.Key, dueAt = due.DueAt, status, now, note },
            transaction,
            cancellationToken: cancellationToken));
        return id is null ? 0 : 1;
    }

    private static async Task<int> ResolveMovedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, string status, long? workOrderId, string? note, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE pm_occurrences SET status = @status, work_order_id = @workOrderId, note = @note WHERE id = @id AND status = 'planned'",
            new { id, status, workOrderId, note },
            transaction,
            cancellationToken: cancellationToken));

    private static async Task<Actor?> RequesterAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PmPlanRule plan, Dictionary<long, Actor> cache, CancellationToken cancellationToken)
    {
        var key = plan.CreatedBy ?? 0;
        if (cache.TryGetValue(key, out var known))
        {
            return known;
        }

        // The planner who made the plan raises its work; an administrator when that user is gone.
        var row = await connection.QueryFirstOrDefaultAsync<UserRow>(new CommandDefinition(
            """
            SELECT id, user_name, role, department_id FROM users
            WHERE active AND (id = @createdBy OR role = 'admin')
            ORDER BY (id = @createdBy) DESC, id
            LIMIT 1
            """,
            new { createdBy = plan.CreatedBy },
            transaction,
            cancellationToken: cancellationToken));
        Actor? actor = row is not null && Roles.TryParse(row.Role, out var role) ? new Actor(row.Id, row.UserName, role, row.DepartmentId) : null;
        if (actor is not null)
        {
            cache[key] = actor;
        }

        return actor;
    }

    private static DateTime MovedCreateAt(PmPlanRule plan, NodaTime.DateTimeZone zone, DateTime movedTo)
    {
        if (plan.Rule.LeadDays == 0)
        {
            return movedTo;
        }

        var local = NodaTime.Instant.FromDateTimeUtc(DateTime.SpecifyKind(movedTo, DateTimeKind.Utc)).InZone(zone).LocalDateTime;
        return local.PlusDays(-plan.Rule.LeadDays).InZoneLeniently(zone).ToDateTimeUtc();
    }

    private static string Describe(PmDue due) => due.Kind == PmTriggerKind.Calendar ? "calendar" : "meter reading";

    private static async Task SaveAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, ScheduleRow schedule, DateTime startsAt, string? lastDueKey, decimal? lifetime, long? readingId,
        DateTime next, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            SaveSchedule,
            new { schedule.PlanId, schedule.AssetId, startsAt, lastDueKey, lifetime, readingId, next },
            transaction,
            cancellationToken: cancellationToken));

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    [LoggerMessage(Level = LogLevel.Information, Message = "PM generator made {Generated} work orders, skipped {Skipped} and marked {Missed} missed")]
    private partial void LogPass(int generated, int skipped, int missed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PM plan {PlanId} on asset {AssetId}: occurrence {Key} was refused by the work-order core: {Reason}")]
    private partial void LogRefused(long planId, long assetId, string key, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "PM plan {PlanId} on asset {AssetId} failed; it is tried again later")]
    private partial void LogScheduleFailed(Exception exception, long planId, long assetId);

    private sealed class ScheduleRow
    {
        public long PlanId { get; init; }
        public long AssetId { get; init; }
        public DateTime? StartsAt { get; init; }
        public DateTime? LastCompletedAt { get; init; }
        public string? LastDueKey { get; init; }
        public decimal? LastMeterLifetime { get; init; }
        public long? MeterReadingId { get; init; }
    }

    private sealed class UserRow
    {
        public long Id { get; init; }
        public string UserName { get; init; } = "";
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
    }

    private sealed class AssetRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string Lifecycle { get; init; } = "";
    }

    private sealed class MovedRow
    {
        public long Id { get; init; }
        public long PlanId { get; init; }
        public long AssetId { get; init; }
        public long? TriggerId { get; init; }
        public string DueKey { get; init; } = "";
        public DateTime DueAt { get; init; }
        public DateTime MovedTo { get; init; }
    }
}
