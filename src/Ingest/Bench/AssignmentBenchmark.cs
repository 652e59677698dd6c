using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// Measures auto-assignment in a throwaway database on the configured cluster: a department of technicians with
/// tens of thousands of open work orders, then work orders created through the real create (assignment inside its
/// transaction) one after another for latency, and from several clients at once for throughput; beside it the raw
/// INSERT rate of pgbench on the same cluster. Prints a table; asserts nothing.
/// </summary>
internal static class AssignmentBenchmark
{
    private const string Setup = """
        INSERT INTO departments (name) VALUES ('Bench crew');
        INSERT INTO skills (name) VALUES ('pumps');
        INSERT INTO users (user_name, display_name, password_hash, role, department_id)
        SELECT 'tech-' || i, 'Technician ' || i, 'x', 'technician', (SELECT id FROM departments WHERE name = 'Bench crew')
        FROM generate_series(1, @technicians) i;
        INSERT INTO users (user_name, display_name, password_hash, role, department_id)
        VALUES ('bench-manager', 'Bench manager', 'x', 'manager', (SELECT id FROM departments WHERE name = 'Bench crew')),
               ('bench-requester', 'Bench requester', 'x', 'requester', NULL);
        -- Skill levels 1..5 spread over the crew, so a rule that needs level 2 leaves a fifth of them out.
        INSERT INTO user_skills (user_id, skill, level) SELECT id, 'pumps', 1 + id % 5 FROM users WHERE role = 'technician';
        -- Everyone works every day, so the schedule is read for each candidate and nobody is skipped for it.
        INSERT INTO user_working_hours (user_id, weekday, starts_at, ends_at)
        SELECT u.id, d, '00:00', '23:59' FROM users u CROSS JOIN generate_series(1, 7) d WHERE u.role = 'technician';
        INSERT INTO assets (code, name, kind) VALUES ('B', 'Bench site', 'site');
        INSERT INTO assets (code, name, kind, parent_id, asset_type) VALUES ('B-L', 'Line', 'line', (SELECT id FROM assets WHERE code = 'B'), NULL);
        INSERT INTO assets (code, name, kind, parent_id, asset_type) VALUES ('B-P', 'Pump', 'machine', (SELECT id FROM assets WHERE code = 'B-L'), 'pump');
        INSERT INTO templates (name, work_type, default_priority, department_id)
        VALUES ('Bench repair', 'corrective', 3, (SELECT id FROM departments WHERE name = 'Bench crew'));
        INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, department_id,
            assignee_id, created_at, source, updated_at)
        SELECT 'BENCH-' || i, t.id, 'corrective', 'Open work ' || i, 'Made by the benchmark.', 1 + i % 4,
               (ARRAY['assigned', 'in_progress', 'on_hold', 'awaiting_feedback'])[1 + i % 4],
               (SELECT id FROM users WHERE user_name = 'bench-requester'), t.department_id,
               (SELECT array_agg(id ORDER BY id) FROM users WHERE role = 'technician')[1 + i % @technicians],
               now() - interval '1 day', 'import', now()
        FROM generate_series(1, @open) i, templates t WHERE t.name = 'Bench repair';
        INSERT INTO assignment_rules (position, name, template_id, department_id, strategy)
        SELECT 1, 'Bench pumps', id, department_id, 'least_loaded' FROM templates WHERE name = 'Bench repair';
        INSERT INTO assignment_rule_skills (rule_id, skill, min_level) SELECT id, 'pumps', 2 FROM assignment_rules;
        INSERT INTO assignment_rule_cursors (rule_id) SELECT id FROM assignment_rules;
        """;

    public static Command Verb()
    {
        var technicians = Cli.Whole("--technicians", "technicians in the department", 200, 1, 100_000);
        var open = Cli.Whole("--open", "open work orders at the start", 50_000, 0, 10_000_000);
        var creates = Cli.Whole("--creates", "creates timed one after another for the latency", 2_000, 1, 1_000_000);
        var clients = Cli.Whole("--clients", "clients creating at once for the throughput, and pgbench's clients", 8, 1, 256);
        var seconds = Cli.Whole("--seconds", "how long the clients create, and pgbench runs", 10, 1, 3_600);
        var keep = new Option<bool>("--keep") { Description = "leave the throwaway database for a look afterwards" };
        var command = new Command(
            "bench-assign",
            "measure create->assigned latency p50/p95 and creates/s with assignment on, beside pgbench's raw INSERT rate, in a throwaway database")
        {
            technicians, open, creates, clients, seconds, keep,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            new Settings(parsed.GetValue(technicians), parsed.GetValue(open), parsed.GetValue(creates), parsed.GetValue(clients), parsed.GetValue(seconds), parsed.GetValue(keep)),
            cancellationToken));
        return command;
    }

    private sealed record Settings(int Technicians, int Open, int Creates, int Clients, int Seconds, bool Keep);

    private static async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken)
    {
        var (technicians, open, creates, clients, seconds, keep) = settings;
        await using var database = await BenchDatabase.CreateAsync("bench_assign", Math.Max(20, clients * 2), keep, cancellationToken);
        var data = database.Data;
        var setup = Stopwatch.StartNew();
        await SetUpAsync(data, technicians, open, cancellationToken);
        setup.Stop();
        var (template, asset, requester) = await FixturesAsync(data, cancellationToken);
        var create = new CreateWorkOrder(data, TimeProvider.System);
        var request = new CreateWorkOrderRequest(template, "Pump leaks", "Made by the benchmark.", 2, null, asset,
            CustomFields: new Dictionary<string, JsonElement>());

        // Warm-up: JIT, connection pool, plan caches.
        for (var i = 0; i < 20; i++)
        {
            await Created(create.HandleAsync(request, requester, WorkOrderSource.Api, null, cancellationToken));
        }

        var latencies = new double[creates];
        var sequential = Stopwatch.StartNew();
        for (var i = 0; i < creates; i++)
        {
            var one = Stopwatch.GetTimestamp();
            await Created(create.HandleAsync(request, requester, WorkOrderSource.Api, null, cancellationToken));
            latencies[i] = Stopwatch.GetElapsedTime(one).TotalMilliseconds;
        }

        sequential.Stop();
        Array.Sort(latencies);

        var concurrent = 0L;
        var window = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (window.Elapsed < deadline)
            {
                await Created(create.HandleAsync(request, requester, WorkOrderSource.Api, null, cancellationToken));
                Interlocked.Increment(ref concurrent);
            }
        }));
        window.Stop();

        var (assigned, queued) = await OutcomesAsync(data, cancellationToken);
        var pgbench = await PgbenchAsync(database.Connection, clients, seconds, cancellationToken);

        var table = new Table().AddColumns("measure", "value");
        table.AddRow("technicians / open work orders at start", $"{technicians:N0} / {open:N0} (set up in {setup.Elapsed.TotalSeconds:F1} s)");
        table.AddRow("create -> assigned latency, one client", $"p50 {Percentile(latencies, 0.50):F2} ms, p95 {Percentile(latencies, 0.95):F2} ms, max {latencies[^1]:F2} ms ({creates:N0} creates)");
        table.AddRow("creates/s with assignment, one client", $"{creates / sequential.Elapsed.TotalSeconds:N0}");
        table.AddRow($"creates/s with assignment, {clients} clients", $"{concurrent / window.Elapsed.TotalSeconds:N0} ({concurrent:N0} in {window.Elapsed.TotalSeconds:F1} s)");
        table.AddRow("benchmark work orders assigned / queued", $"{assigned:N0} / {queued:N0}");
        table.AddRow($"pgbench raw INSERT, {clients} clients", pgbench);
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>
    /// The department, its technicians with skills and working hours, the open work orders that make their loads, and
    /// one least-loaded rule that needs a skill level; then a settled table, as autovacuum would leave it.
    /// </summary>
    internal static async Task SetUpAsync(NpgsqlDataSource data, int technicians, int open, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(Setup, new { technicians, open }, commandTimeout: 600, cancellationToken: cancellationToken));
        // As autovacuum would leave a settled table: statistics, and a visibility map for index-only scans. A VACUUM
        // right after the load may not yet see it as visible to every transaction (an autovacuum ANALYZE can hold the
        // horizon back), so it is repeated until the table's pages are marked all-visible.
        await connection.ExecuteAsync(new CommandDefinition("VACUUM ANALYZE", commandTimeout: 600, cancellationToken: cancellationToken));
        for (var attempt = 0; attempt < 30; attempt++)
        {
            await connection.ExecuteAsync(new CommandDefinition("VACUUM work_orders", commandTimeout: 600, cancellationToken: cancellationToken));
            if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    "SELECT relallvisible >= 0.9 * relpages FROM pg_class WHERE relname = 'work_orders'", cancellationToken: cancellationToken)))
            {
                break;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    internal static async Task<(long Template, long Asset, Actor Requester)> FixturesAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        var template = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT id FROM templates WHERE name = 'Bench repair'", cancellationToken: cancellationToken));
        var asset = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT id FROM assets WHERE code = 'B-P'", cancellationToken: cancellationToken));
        var requester = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT id FROM users WHERE user_name = 'bench-requester'", cancellationToken: cancellationToken));
        return (template, asset, new Actor(requester, "bench-requester", Role.Requester, null));
    }

    private static async Task<(long Assigned, long Queued)> OutcomesAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(
            "SELECT count(*) FILTER (WHERE kind = 'auto_assigned'), count(*) FILTER (WHERE kind = 'queued') FROM work_order_events",
            cancellationToken: cancellationToken));
    }

    internal static async Task Created(Task<WorkOrders.Ticketing.Outcome<CreatedWorkOrder>> pending)
    {
        var outcome = await pending;
        if (outcome.Failure is { } failure)
        {
            throw new InvalidOperationException($"A benchmark create was refused: {failure.Message}");
        }
    }

    internal static double Percentile(double[] sorted, double share) =>
        sorted[Math.Clamp((int)Math.Ceiling(share * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>pgbench with a one-line INSERT script into a table of its own, same clients and duration.</summary>
    private static async Task<string> PgbenchAsync(NpgsqlConnectionStringBuilder bench, int clients, int seconds, CancellationToken cancellationToken) =>
        (await Pgbench.RawInsertAsync(bench, clients, seconds, cancellationToken)).Describe("inserts/s");
}
