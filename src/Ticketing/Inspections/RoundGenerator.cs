using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NodaTime;
using Npgsql;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Jobs;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.Inspections;

/// <summary>Settings of the round generator and closing job, bound from the "Inspections" section.</summary>
public sealed class InspectionOptions : JobOptions
{
    public const string Section = "Inspections";

    public InspectionOptions() => Interval = TimeSpan.FromMinutes(1);

    /// <summary>Run the generator and closing job in this process; several processes may, each round is still made (and missed) once.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How many schedules one transaction of a pass claims.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 50;

    /// <summary>The longest a schedule with nothing due waits before the generator looks at it again.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan IdleCheck { get; set; } = TimeSpan.FromHours(6);
}

/// <summary>What one pass did: rounds made (of them, made missed because their grace had passed), and rounds closed as missed.</summary>
public sealed record RoundPassResult(int Created, int CreatedMissed, int Missed);

/// <summary>
/// Makes the rounds of due schedule slots and closes the rounds whose grace has passed. A pass claims the schedules whose
/// next check has come with FOR UPDATE SKIP LOCKED; each slot's round is an INSERT … ON CONFLICT (route, slot) DO NOTHING,
/// so however many generators run each round exists once. The closing UPDATE only takes rounds still open, so each is
/// marked missed once and its unvisited stops are written as missed with it.
/// </summary>
public sealed partial class RoundGenerator(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<InspectionOptions> options, ILogger<RoundGenerator> logger)
    : BackgroundService
{
    private readonly JobRunner _runner = new("Inspection rounds", clock, logger, e => e is NpgsqlException or TimeoutException);

    private const string Claim = $"""
        SELECT {ScheduleRow.Columns}
        FROM inspection_schedules
        WHERE active AND next_check_at <= @now
        ORDER BY next_check_at
        LIMIT @take
        FOR UPDATE SKIP LOCKED
        """;

    private const string RouteFacts = """
        SELECT r.id, r.active, r.current_version, r.template_id, t.work_type, t.default_priority, t.department_id,
               (SELECT s.asset_id FROM inspection_stops s WHERE s.route_id = r.id AND s.version = r.current_version ORDER BY s.position LIMIT 1) AS first_asset_id
        FROM inspection_routes r JOIN templates t ON t.id = r.template_id
        WHERE r.id = @routeId
        """;

    private const string InsertRound = """
        INSERT INTO inspection_rounds (route_id, route_version, schedule_id, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id,
            created_at, missed_at)
        VALUES (@routeId, @version, @scheduleId, @slotKey, @slotAt, @windowEndsAt, @graceEndsAt, @status, @departmentId, @now,
            CASE WHEN @status = 'missed' THEN @now END)
        ON CONFLICT (route_id, slot_key) DO NOTHING
        RETURNING id
        """;

    private const string CloseMissed = """
        WITH missed AS (
            UPDATE inspection_rounds SET status = 'missed', missed_at = @now
            WHERE status IN ('open', 'in_progress') AND grace_ends_at <= @now
            RETURNING id, route_id, route_version),
        stops AS (
            INSERT INTO inspection_round_stops (round_id, stop_id, status, recorded_at)
            SELECT m.id, s.id, 'missed', @now
            FROM missed m JOIN inspection_stops s ON s.route_id = m.route_id AND s.version = m.route_version
            ON CONFLICT (round_id, stop_id) DO NOTHING)
        SELECT count(*)::int FROM missed
        """;

    private const string MissStopsOfCreated = """
        INSERT INTO inspection_round_stops (round_id, stop_id, status, recorded_at)
        SELECT @roundId, s.id, 'missed', @now FROM inspection_stops s WHERE s.route_id = @routeId AND s.version = @version
        """;

    public JobRunner Runner => _runner;

    /// <summary>One pass: the rounds of every slot due now, then the closing of rounds past their grace.</summary>
    public async Task<RoundPassResult> RunPassAsync(CancellationToken cancellationToken)
    {
        var created = await GenerateAsync(cancellationToken);
        var missed = await CloseMissedAsync(cancellationToken);
        return created with { Missed = missed };
    }

    /// <summary>Makes the rounds of every slot due now (batch by batch).</summary>
    public async Task<RoundPassResult> GenerateAsync(CancellationToken cancellationToken)
    {
        int created = 0, createdMissed = 0;
        while (true)
        {
            var (claimed, made, madeMissed) = await RunBatchAsync(options.Value.BatchSize, cancellationToken);
            created += made;
            createdMissed += madeMissed;
            if (claimed < options.Value.BatchSize)
            {
                return new RoundPassResult(created, createdMissed, 0);
            }
        }
    }

    /// <summary>Marks missed every round not completed by the end of its grace; returns how many this call marked.</summary>
    public async Task<int> CloseMissedAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(CloseMissed, new { now }, cancellationToken: cancellationToken));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.Enabled
        ? _runner.RunAsync(options.Value.Schedule, RunAndLogAsync, stoppingToken)
        : Task.CompletedTask;

    private async Task RunAndLogAsync(CancellationToken cancellationToken)
    {
        var result = await RunPassAsync(cancellationToken);
        if (result.Created + result.Missed > 0)
        {
            LogPass(result.Created, result.Missed);
        }
    }

    private async Task<(int Claimed, int Created, int CreatedMissed)> RunBatchAsync(int take, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var schedules = (await connection.QueryAsync<ScheduleRow>(new CommandDefinition(Claim, new { now, take }, transaction, cancellationToken: cancellationToken))).ToList();
        int created = 0, createdMissed = 0;
        foreach (var schedule in schedules)
        {
            var route = await connection.QuerySingleAsync<RouteFactsRow>(new CommandDefinition(RouteFacts, new { routeId = schedule.RouteId }, transaction, cancellationToken: cancellationToken));
            var zones = route.FirstAssetId is { } first
                ? await PmStore.ZonesAsync(connection, transaction, [first], cancellationToken)
                : [];
            var zone = route.FirstAssetId is { } a && zones.TryGetValue(a, out var z) ? z : DateTimeZone.Utc;
            var recurrence = InspectionRules.ToRecurrence(schedule, zone);
            var lead = TimeSpan.FromMinutes(schedule.LeadMinutes);
            var from = schedule.LastSlotAt is { } last ? last.AddTicks(1) : schedule.StartsAt;
            var until = now + lead;
            var lastSlot = schedule.LastSlotAt;
            if (route.Active && from <= until)
            {
                foreach (var slot in recurrence.Between(Instant.FromDateTimeUtc(Utc(from)), Instant.FromDateTimeUtc(Utc(until)).PlusTicks(1)))
                {
                    var slotAt = slot.At.ToDateTimeUtc();
                    var windowEnds = slotAt.AddMinutes(schedule.WindowMinutes);
                    var graceEnds = windowEnds.AddMinutes(schedule.GraceMinutes);
                    // A slot whose grace passed while no generator ran is recorded missed: compliance counts it.
                    var status = graceEnds <= now ? "missed" : "open";
                    var roundId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                        InsertRound,
                        new
                        {
                            routeId = route.Id, version = route.CurrentVersion, scheduleId = schedule.Id, slotKey = slot.Key, slotAt, windowEndsAt = windowEnds,
                            graceEndsAt = graceEnds, status, departmentId = route.DepartmentId, now,
                        },
                        transaction,
                        cancellationToken: cancellationToken));
                    lastSlot = slotAt;
                    if (roundId is not { } id)
                    {
                        continue;
                    }

                    if (status == "missed")
                    {
                        await connection.ExecuteAsync(new CommandDefinition(
                            MissStopsOfCreated, new { roundId = id, routeId = route.Id, version = route.CurrentVersion, now }, transaction, cancellationToken: cancellationToken));
                        createdMissed++;
                    }
                    else
                    {
                        await AssignAsync(connection, transaction, id, route, now, cancellationToken);
                    }

                    created++;
                }
            }

            var next = recurrence.Next(Instant.FromDateTimeUtc(Utc(lastSlot is { } l ? l.AddTicks(1) : from)));
            var nextCheck = next is { } n ? n.At.ToDateTimeUtc() - lead : now + options.Value.IdleCheck;
            if (nextCheck > now + options.Value.IdleCheck || !route.Active)
            {
                nextCheck = now + options.Value.IdleCheck;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE inspection_schedules SET last_slot_at = @lastSlot, next_check_at = @nextCheck WHERE id = @id",
                new { id = schedule.Id, lastSlot, nextCheck },
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return (schedules.Count, created, createdMissed);
    }

    /// <summary>
    /// Chooses the inspector of a round with the assignment rules, as a work order of the route's template on its first
    /// stop would be: the first matching rule, its skills, working hours and round-robin cursor.
    /// </summary>
    internal static async Task AssignAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long roundId, RouteFactsRow route, DateTime now, CancellationToken cancellationToken)
    {
        var lineage = route.FirstAssetId is { } assetId
            ? (await connection.QueryAsync<long>(new CommandDefinition(
                "WITH RECURSIVE up AS (SELECT id, parent_id FROM assets WHERE id = @assetId UNION ALL SELECT p.id, p.parent_id FROM assets p JOIN up ON p.id = up.parent_id) SELECT id FROM up",
                new { assetId }, transaction, cancellationToken: cancellationToken))).ToList()
            : [];
        var assetType = route.FirstAssetId is { } id
            ? await connection.ExecuteScalarAsync<string?>(new CommandDefinition("SELECT asset_type FROM assets WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken))
            : null;
        var facts = new WorkOrderFacts(route.TemplateId, WireNames.Parse<WorkType>(route.WorkType), route.DefaultPriority, assetType, lineage, new Dictionary<string, JsonElement>());
        var rules = await AssignmentRules.ListAsync(connection, transaction, includeInactive: false, cancellationToken);
        var rule = Assign.Match(rules, facts);
        AssignmentDecision decision;
        if (rule is null)
        {
            decision = Assign.Decide(null, route.DefaultPriority, [], null, now);
        }
        else
        {
            var cursor = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                INSERT INTO assignment_rule_cursors (rule_id) VALUES (@ruleId) ON CONFLICT DO NOTHING;
                SELECT last_user_id FROM assignment_rule_cursors WHERE rule_id = @ruleId FOR UPDATE;
                """,
                new { ruleId = rule.Id },
                transaction,
                cancellationToken: cancellationToken));
            var people = await AutoAssign.PeopleAsync(connection, transaction, rule.DepartmentId, rule.NamedUserId, now, cancellationToken);
            decision = Assign.Decide(rule, route.DefaultPriority, people, cursor, now);
            if (decision.AssigneeId is { } chosen)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE assignment_rule_cursors SET last_user_id = @chosen WHERE rule_id = @ruleId", new { chosen, ruleId = rule.Id }, transaction, cancellationToken: cancellationToken));
            }
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE inspection_rounds SET assignee_id = @assigneeId, assignment_rule_id = @ruleId, assignment_reason = @reason,
                department_id = coalesce(@departmentId, department_id), assignment = assignment + CASE WHEN @assigneeId::bigint IS NULL THEN 0 ELSE 1 END
            WHERE id = @roundId
            """,
            new { roundId, assigneeId = decision.AssigneeId, ruleId = decision.RuleId, reason = decision.Reason, departmentId = rule?.DepartmentId },
            transaction,
            cancellationToken: cancellationToken));
        if (decision.AssigneeId is not null)
        {
            // In the transaction that made the round (its INSERT … ON CONFLICT let one generator through): told once.
            await RoundAssignment.NotifyAsync(connection, transaction, roundId, now, cancellationToken);
        }
    }

    private static DateTime Utc(DateTime time) => DateTime.SpecifyKind(time, DateTimeKind.Utc);

    [LoggerMessage(Level = LogLevel.Information, Message = "Inspection rounds: {Created} made, {Missed} marked missed")]
    private partial void LogPass(int created, int missed);

    internal sealed class RouteFactsRow
    {
        public long Id { get; init; }
        public bool Active { get; init; }
        public int CurrentVersion { get; init; }
        public long TemplateId { get; init; }
        public string WorkType { get; init; } = "inspection";
        public int DefaultPriority { get; init; }
        public long DepartmentId { get; init; }
        public long? FirstAssetId { get; init; }
    }
}
