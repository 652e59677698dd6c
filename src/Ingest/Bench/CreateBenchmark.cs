using System.CommandLine;
using System.Diagnostics;
using Dapper;
using Spectre.Console;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// Measures how creates with auto-assignment scale with clients, in a throwaway database on the configured cluster:
/// the department and open work of bench-assign, then creates through the real create (number, history, SLA clock and
/// assignment in one transaction) from 1, 2, 4 ... clients for a fixed time each, and beside them, in the same run
/// and on the same cluster, pgbench's built-in TPC-B-like transaction and a raw one-row INSERT at the highest client
/// count. Prints creates/s, the rise over one client, p50/p95 create->assigned and the ratios; asserts nothing.
/// </summary>
internal static class CreateBenchmark
{
    public static Command Verb()
    {
        var technicians = Cli.Whole("--technicians", "technicians in the department", 200, 1, 100_000);
        var open = Cli.Whole("--open", "open work orders at the start", 20_000, 0, 10_000_000);
        var clients = Cli.Whole("--clients", "the highest client count: creates run at 1, 2, 4 ... up to it; pgbench runs at it", 8, 1, 256);
        var seconds = Cli.Whole("--seconds", "how long each client count creates, and each pgbench run lasts", 10, 1, 3_600);
        var keep = new Option<bool>("--keep") { Description = "leave the throwaway database for a look afterwards" };
        var withoutSla = new Option<bool>("--without-sla")
        {
            Description = "no SLA policy, so creates start no clock (as this benchmark measured before 2026-12-06)",
        };
        var command = new Command(
            "bench-creates",
            "measure creates/s and p95 create->assigned with auto-assignment at 1, 2, 4, 8 clients, beside pgbench's TPC-B-like and raw INSERT rates, in a throwaway database")
        {
            technicians, open, clients, seconds, keep, withoutSla,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            parsed.GetValue(technicians), parsed.GetValue(open), parsed.GetValue(clients), parsed.GetValue(seconds), parsed.GetValue(keep),
            !parsed.GetValue(withoutSla), cancellationToken));
        return command;
    }

    /// <summary>
    /// One client count's creates with their latencies, the CPU time of this process (the clients) over them, and the CPU
    /// time of the whole machine, PostgreSQL's among it (null off Linux).
    /// </summary>
    private sealed record Level(int Clients, long Creates, TimeSpan Elapsed, double[] Latencies, TimeSpan ClientCpu, TimeSpan? MachineCpu)
    {
        public double PerSecond => Creates / Elapsed.TotalSeconds;

        public string CpuPerCreate => MachineCpu is { } machine
            ? $"CPU per create: clients {ClientCpu.TotalMilliseconds / Creates:F1} ms, the rest of the machine (PostgreSQL) {(machine - ClientCpu).TotalMilliseconds / Creates:F1} ms"
            : $"CPU per create: clients {ClientCpu.TotalMilliseconds / Creates:F1} ms";
    }

    private static async Task<int> RunAsync(int technicians, int open, int maxClients, int seconds, bool keep, bool sla, CancellationToken cancellationToken)
    {
        var loadBefore = LoadAverage();
        await using var database = await BenchDatabase.CreateAsync("bench_creates", Math.Max(20, maxClients * 2), keep, cancellationToken);
        var data = database.Data;
        var create = await BenchCreate.SetUpAsync(data, technicians, open, sla, cancellationToken);

        // The loads' changes folded as the application's job folds them, on its default schedule.
        using var stopFolding = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var folding = BenchCreate.FoldAsync(data, stopFolding.Token);
        await create.WarmUpAsync(maxClients, cancellationToken);

        var levels = new List<Level>();
        for (var count = 1; ; count = Math.Min(count * 2, maxClients))
        {
            levels.Add(await MeasureAsync(count));
            if (count == maxClients)
            {
                break;
            }
        }

        async Task<Level> MeasureAsync(int count)
        {
            var (clientBefore, machineBefore) = (Process.GetCurrentProcess().TotalProcessorTime, MachineCpu());
            var window = Stopwatch.StartNew();
            var deadline = TimeSpan.FromSeconds(seconds);
            var perClient = await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                var mine = new List<double>();
                while (window.Elapsed < deadline)
                {
                    mine.Add(await create.OneAsync(cancellationToken));
                }

                return mine;
            }));
            window.Stop();
            var (clientAfter, machineAfter) = (Process.GetCurrentProcess().TotalProcessorTime, MachineCpu());
            var latencies = perClient.SelectMany(l => l).Order().ToArray();
            return new Level(count, latencies.Length, window.Elapsed, latencies, clientAfter - clientBefore, machineAfter - machineBefore);
        }

        await stopFolding.CancelAsync();
        await folding;
        await using var read = await data.OpenConnectionAsync(cancellationToken);
        var (assigned, queued, duplicates) = await read.QuerySingleAsync<(long, long, long)>(new CommandDefinition(
            """
            SELECT (SELECT count(*) FROM work_order_events WHERE kind = 'auto_assigned'),
                   (SELECT count(*) FROM work_order_events WHERE kind = 'queued'),
                   (SELECT count(*) - count(DISTINCT number) FROM work_orders)
            """,
            commandTimeout: 600,
            cancellationToken: cancellationToken));
        var tpcb = await Pgbench.TpcbAsync(database.Connection, maxClients, seconds, cancellationToken);
        var insert = await Pgbench.RawInsertAsync(database.Connection, maxClients, seconds, cancellationToken);
        var loadAfter = LoadAverage();

        var one = levels[0].PerSecond;
        var top = levels[^1];
        var table = new Table().AddColumns("measure", "value");
        table.AddRow(
            "technicians / open work orders at start",
            $"{technicians:N0} / {open:N0}; {seconds} s per client count; {Environment.ProcessorCount} cores; {(sla ? "SLA clock started in office hours" : "no SLA policy")}");
        foreach (var level in levels)
        {
            table.AddRow(
                $"creates/s with assignment, {level.Clients} client(s)",
                $"{level.PerSecond:N0} ({level.PerSecond / one:F2}x one client, {level.PerSecond / one / level.Clients:P0} of linear); create->assigned p50 {AssignmentBenchmark.Percentile(level.Latencies, 0.50):F1} ms, p95 {AssignmentBenchmark.Percentile(level.Latencies, 0.95):F1} ms ({level.Creates:N0} creates); {level.CpuPerCreate}");
        }

        table.AddRow($"pgbench TPC-B-like, {maxClients} clients", tpcb.Describe("tps"));
        table.AddRow($"pgbench raw INSERT, {maxClients} clients", insert.Describe("inserts/s"));
        table.AddRow($"creates/s at {maxClients} clients / TPC-B-like tps", tpcb.Tps is { } t ? $"{top.PerSecond / t:F2}" : "-");
        table.AddRow($"creates/s at {maxClients} clients / raw INSERT/s", insert.Tps is { } r ? $"{top.PerSecond / r:F3}" : "-");
        table.AddRow("bench work orders assigned / queued / duplicate numbers", $"{assigned:N0} / {queued:N0} / {duplicates:N0}");
        table.AddRow("load average (1, 5, 15 min) before / after", $"{loadBefore} / {loadAfter}");
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>
    /// CPU time spent by the whole machine since boot (user, nice, system, irq and softirq of the "cpu" line of
    /// /proc/stat, in USER_HZ ticks of 10 ms); null where there is no /proc/stat.
    /// </summary>
    private static TimeSpan? MachineCpu()
    {
        if (!File.Exists("/proc/stat"))
        {
            return null;
        }

        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var busy = new[] { 1, 2, 3, 6, 7 }.Sum(i => long.Parse(fields[i], System.Globalization.CultureInfo.InvariantCulture));
        return TimeSpan.FromMilliseconds(busy * 10);
    }

    /// <summary>The machine's load averages as /proc/loadavg gives them, since other work on the cores moves every figure.</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg")
            ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))
            : "unknown";
}
