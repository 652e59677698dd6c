using System.CommandLine;
using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// Measures the PM generator in a throwaway database on the configured cluster: plans for asset types, each covering
/// assets of its type (by default 10,000 plans over 100,000 assets, so 100,000 schedules). First the pass that finds
/// nothing due, many times (median and p95: the cost every instance pays every interval); then a share of the
/// schedules made due and generated through the real work-order create, by one generator and by two at once.
/// Prints a table; asserts nothing.
/// </summary>
internal static class PmBenchmark
{
    private static readonly DateTime Start = new(2027, 3, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Now = new(2027, 3, 1, 8, 30, 0, DateTimeKind.Utc);

    private const string Setup = """
        INSERT INTO departments (name) VALUES ('PM crew');
        INSERT INTO users (user_name, display_name, password_hash, role, department_id)
        VALUES ('bench-planner', 'Bench planner', 'x', 'planner', (SELECT id FROM departments WHERE name = 'PM crew'));
        INSERT INTO templates (name, work_type, default_priority, department_id, asset_required)
        VALUES ('Bench PM', 'preventive', 3, (SELECT id FROM departments WHERE name = 'PM crew'), true);
        INSERT INTO assets (code, name, kind) VALUES ('PM', 'Bench site', 'site');
        INSERT INTO assets (code, name, kind, parent_id)
        SELECT 'PM-L' || i, 'Line ' || i, 'line', (SELECT id FROM assets WHERE code = 'PM') FROM generate_series(1, 100) i;
        INSERT INTO assets (code, name, kind, parent_id, asset_type)
        SELECT 'PM-M' || i, 'Machine ' || i, 'machine', (SELECT id FROM assets WHERE code = 'PM-L' || (1 + i % 100)), 'type-' || (i % @plans)
        FROM generate_series(1, @assets) i;
        INSERT INTO pm_plans (name, template_id, asset_type, location_asset_id, estimated_hours, lead_days, overlap_policy, catch_up_policy,
            created_by, created_at, updated_at)
        SELECT 'Plan ' || i, (SELECT id FROM templates WHERE name = 'Bench PM'), 'type-' || i, (SELECT id FROM assets WHERE code = 'PM'), 1.5, 0,
               'allow', 'latest', (SELECT id FROM users WHERE user_name = 'bench-planner'), @start, @start
        FROM generate_series(0, @plans - 1) i;
        INSERT INTO pm_triggers (plan_id, kind, every_n, unit, anchor, at_time, schedule)
        SELECT id, 'calendar', 1, 'day', DATE '2027-01-01', TIME '08:00', 'fixed' FROM pm_plans;
        INSERT INTO pm_schedules (plan_id, asset_id, next_check_at, starts_at)
        SELECT p.id, a.id, @tomorrow, @start FROM pm_plans p JOIN assets a ON a.asset_type = p.asset_type;
        """;

    public static Command Verb()
    {
        var plans = Cli.Whole("--plans", "plans, one per asset type", 10_000, 1, 1_000_000);
        var assets = Cli.Whole("--assets", "machines, spread over the plans' types", 100_000, 1, 10_000_000);
        var idle = Cli.Whole("--idle-passes", "passes timed while nothing is due", 300, 1, 100_000);
        var due = Cli.Whole("--due", "schedules made due for each generation run (one generator, then two)", 5_000, 1, 10_000_000);
        var batch = Cli.Whole("--batch", "schedules per generator transaction (Pm:BatchSize)", 20, 1, 10_000);
        var creates = Cli.Whole("--creates", "work orders created one by one through the core, the peer of the generation rate", 500, 1, 1_000_000);
        var keep = new Option<bool>("--keep") { Description = "leave the throwaway database for a look afterwards" };
        var command = new Command(
            "bench-pm",
            "measure the PM generator: an idle pass (median, p95) and occurrences generated per second, over many plans and assets in a throwaway database")
        {
            plans, assets, idle, due, batch, creates, keep,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            new Settings(parsed.GetValue(plans), parsed.GetValue(assets), parsed.GetValue(idle), parsed.GetValue(due), parsed.GetValue(batch), parsed.GetValue(creates), parsed.GetValue(keep)),
            cancellationToken));
        return command;
    }

    private sealed record Settings(int Plans, int Assets, int IdlePasses, int Due, int Batch, int Creates, bool Keep);

    private static async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken)
    {
        var (plans, assets, idlePasses, due, batch, creates, keep) = settings;
        await using var database = await BenchDatabase.CreateAsync("bench_pm", 20, keep, cancellationToken);
        var data = database.Data;
        var setup = Stopwatch.StartNew();
        long schedules;
        await using (var connection = await data.OpenConnectionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                Setup, new { plans, assets, start = Start, tomorrow = Now.AddDays(1) }, commandTimeout: 1200, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition("VACUUM ANALYZE", commandTimeout: 1200, cancellationToken: cancellationToken));
            schedules = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM pm_schedules", cancellationToken: cancellationToken));
        }

        setup.Stop();
        var clock = new FixedClock(Now);
        PmGenerator Generator() => new(
            data, new CreateWorkOrder(data, clock), clock, Options.Create(new PmOptions { BatchSize = batch }), NullLogger<PmGenerator>.Instance);

        // Idle: nothing due anywhere. Warm-up first (JIT, pool, plan cache).
        using var idleGenerator = Generator();
        using var second = Generator();
        for (var i = 0; i < 20; i++)
        {
            await idleGenerator.RunPassAsync(cancellationToken);
        }

        var idleTimes = new double[idlePasses];
        for (var i = 0; i < idlePasses; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await idleGenerator.RunPassAsync(cancellationToken);
            idleTimes[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (result.Schedules != 0)
            {
                throw new InvalidOperationException("The idle pass found due schedules.");
            }
        }

        Array.Sort(idleTimes);

        var one = await GenerateAsync(data, [idleGenerator], due, cancellationToken);
        var two = await GenerateAsync(data, [idleGenerator, second], due, cancellationToken);
        var (workOrders, occurrences) = await CountsAsync(data, cancellationToken);
        var core = await CreatesAsync(data, clock, creates, cancellationToken);

        var table = new Table().AddColumns("measure", "value");
        table.AddRow("plans / assets / schedules", $"{plans:N0} / {assets:N0} / {schedules:N0} (set up in {setup.Elapsed.TotalSeconds:F1} s)");
        table.AddRow("idle pass (nothing due)", $"median {Percentile(idleTimes, 0.50):F2} ms, p95 {Percentile(idleTimes, 0.95):F2} ms, max {idleTimes[^1]:F2} ms ({idlePasses:N0} passes)");
        table.AddRow("occurrences generated/s, one generator", $"{one.Generated / one.Elapsed.TotalSeconds:N0} ({one.Generated:N0} in {one.Elapsed.TotalSeconds:F1} s)");
        table.AddRow("occurrences generated/s, two generators at once", $"{two.Generated / two.Elapsed.TotalSeconds:N0} ({two.Generated:N0} in {two.Elapsed.TotalSeconds:F1} s)");
        table.AddRow("PM work orders / generated occurrences", $"{workOrders:N0} / {occurrences:N0}");
        table.AddRow("peer: work-order creates/s through the core, one client", $"{creates / core.TotalSeconds:N0} ({creates:N0} in {core.TotalSeconds:F1} s)");
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>Makes <paramref name="due"/> untouched schedules due (their 08:00 occurrence) and runs the generators until none is left.</summary>
    private static async Task<(long Generated, TimeSpan Elapsed)> GenerateAsync(
        NpgsqlDataSource data, PmGenerator[] generators, int due, CancellationToken cancellationToken)
    {
        await using (var connection = await data.OpenConnectionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE pm_schedules SET next_check_at = @start
                WHERE (plan_id, asset_id) IN (SELECT plan_id, asset_id FROM pm_schedules WHERE last_due_key IS NULL AND next_check_at > @now LIMIT @due)
                """,
                new { start = Start, now = Now, due },
                commandTimeout: 600,
                cancellationToken: cancellationToken));
        }

        var watch = Stopwatch.StartNew();
        var results = await Task.WhenAll(generators.Select(g => Task.Run(() => g.RunPassAsync(cancellationToken), cancellationToken)));
        watch.Stop();
        return (results.Sum(r => (long)r.Generated), watch.Elapsed);
    }

    /// <summary>The same create the generator makes, one transaction each, from one client: what a generator pass is built on.</summary>
    private static async Task<TimeSpan> CreatesAsync(NpgsqlDataSource data, TimeProvider clock, int creates, CancellationToken cancellationToken)
    {
        (long Template, long Asset, long Planner) ids;
        await using (var connection = await data.OpenConnectionAsync(cancellationToken))
        {
            ids = await connection.QuerySingleAsync<(long, long, long)>(new CommandDefinition(
                """
                SELECT (SELECT id FROM templates WHERE name = 'Bench PM'), (SELECT id FROM assets WHERE code = 'PM-M1'),
                       (SELECT id FROM users WHERE user_name = 'bench-planner')
                """,
                cancellationToken: cancellationToken));
        }

        var create = new CreateWorkOrder(data, clock);
        var planner = new Ticketing.Access.Actor(ids.Planner, "bench-planner", Ticketing.Access.Role.Planner, null);
        var request = new CreateWorkOrderRequest(ids.Template, "PM: bench", "Made by the benchmark.", AssetId: ids.Asset, DueAt: Now);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < creates; i++)
        {
            var outcome = await create.HandleAsync(request, planner, WorkOrderSource.Pm, null, cancellationToken);
            if (outcome.Failure is { } failure)
            {
                throw new InvalidOperationException($"A benchmark create was refused: {failure.Message}");
            }
        }

        return watch.Elapsed;
    }

    private static async Task<(long WorkOrders, long Occurrences)> CountsAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(
            "SELECT (SELECT count(*) FROM work_orders WHERE source = 'pm'), (SELECT count(*) FROM pm_occurrences WHERE status = 'generated')",
            cancellationToken: cancellationToken));
    }

    private static double Percentile(double[] sorted, double share) =>
        sorted[Math.Clamp((int)Math.Ceiling(share * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>A clock that stays at one moment, so every pass sees the same due set.</summary>
    private sealed class FixedClock(DateTime now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(now);
    }
}
