using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// Measures, in one run: the raw binary COPY OUT rate of the fact queries (bytes read and thrown away), a full
/// ingest into a fresh warehouse file, a second ingest with nothing new, and optionally one after more history was
/// generated (a new organisation, as a plant joining). Prints a table; asserts nothing.
/// </summary>
internal static class IngestBenchmark
{
    public static Command Verb()
    {
        var warehouse = Cli.WarehouseOption("the DuckDB file to ingest into; it is deleted and made anew");
        var more = Cli.Whole(
            "--then-generate", "after the no-op re-run, generate this many more work orders (a new organisation, archived) and measure the run that takes them; 0: none",
            0, 0, 1_000_000);
        var existing = new Option<bool>("--from-existing")
        {
            Description = "keep the warehouse file as it is and measure only the runs after it (no raw copy, no full ingest): at ten million work orders a full ingest takes about 20 minutes",
        };
        var command = new Command("bench-ingest", "measure ingest rows/s against the raw COPY OUT rate, peak memory, a no-op re-run and an incremental one") { warehouse, more, existing };
        command.SetRun((parsed, cancellationToken) => RunAsync(parsed.GetRequiredValue(warehouse), parsed.GetValue(more), parsed.GetValue(existing), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string path, int more, bool fromExisting, CancellationToken cancellationToken)
    {
        await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
        if (fromExisting)
        {
            using var kept = WarehouseFile.Open(path);
            var after = new Table().AddColumns("measure", "value");
            await AfterAsync(data, kept, more, after, cancellationToken);
            AnsiConsole.Write(after);
            return 0;
        }

        foreach (var file in new[] { path, path + ".wal" }.Where(File.Exists))
        {
            File.Delete(file);
        }

        var (rawRows, rawSeconds) = await RawCopyAsync(data, cancellationToken);

        using var warehouse = WarehouseFile.Open(path);
        var (full, stages) = await TimedRunAsync(data, warehouse, cancellationToken);
        var ingestRows = full.WorkOrders + full.Events;

        var table = new Table().AddColumns("measure", "value");
        table.AddRow("archived work orders + events", $"{ingestRows:N0}");
        table.AddRow("raw COPY OUT (same queries, discarded)", $"{rawSeconds:F2} s, {rawRows / rawSeconds:N0} rows/s");
        table.AddRow("full ingest (incl. dimensions, intervals, snapshot)", $"{full.Duration.TotalSeconds:F2} s, {ingestRows / full.Duration.TotalSeconds:N0} rows/s");
        table.AddRow("ingest rate / raw rate", $"{ingestRows / full.Duration.TotalSeconds / (rawRows / rawSeconds):P0}");
        AddStages(table, "full ingest by stage", full, stages);
        await AfterAsync(data, warehouse, more, table, cancellationToken);
        AnsiConsole.Write(table);
        return 0;
    }

    // Two runs with nothing new (the first in this process also pays for its first connection and compiling its code,
    // which a dashboard that ingests every few minutes paid long before), then, when asked, one after more work orders
    // were generated; and the peak memory.
    private static async Task AfterAsync(NpgsqlDataSource data, DuckDB.NET.Data.DuckDBConnection warehouse, int more, Table table, CancellationToken cancellationToken)
    {
        var (again, noOpStages) = await TimedRunAsync(data, warehouse, cancellationToken);
        AddStages(table, "re-run with nothing new, the first in this process", again, noOpStages);
        var (warm, warmStages) = await TimedRunAsync(data, warehouse, cancellationToken);
        AddStages(table, "re-run with nothing new, again", warm, warmStages);
        if (more > 0)
        {
            var made = await new HistoryGenerator(data).RunAsync(
                new GenerateOptions(more, 12, Environment.TickCount & int.MaxValue, DateOnly.FromDateTime(DateTime.UtcNow)), null, cancellationToken);
            var (next, nextStages) = await TimedRunAsync(data, warehouse, cancellationToken);
            AddStages(table, $"run after {made.WorkOrders:N0} more work orders generated ({next.WorkOrders:N0} archived, {next.Events:N0} events)", next, nextStages);
        }

        table.AddRow("peak working set of this process", $"{Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):N0} MiB");
    }

    /// <summary>One more run, with its time by stage: each named point of the run (see <see cref="WarehouseIngest.AtStage"/>) ends one.</summary>
    private static async Task<(IngestResult Run, List<(string Stage, TimeSpan Took)> Stages)> TimedRunAsync(
        NpgsqlDataSource data, DuckDB.NET.Data.DuckDBConnection warehouse, CancellationToken cancellationToken)
    {
        var stages = new List<(string Stage, TimeSpan Took)>();
        var since = Stopwatch.StartNew();
        var ingest = new WarehouseIngest(data, TimeProvider.System, NullLogger<WarehouseIngest>.Instance, WarehouseCommands.BusinessHours())
        {
            AtStage = stage =>
            {
                if (!stage.StartsWith("first batch of ", StringComparison.Ordinal))
                {
                    stages.Add((stage, since.Elapsed));
                    since.Restart();
                }
            },
        };
        since.Restart();
        return (await ingest.RunAsync(warehouse, null, cancellationToken), stages);
    }

    // The run's total, then each stage that took a millisecond or more (a table kept as it was takes less).
    private static void AddStages(Table table, string what, IngestResult run, List<(string Stage, TimeSpan Took)> stages)
    {
        table.AddRow(what, $"{run.Duration.TotalMilliseconds:F0} ms");
        foreach (var (stage, took) in stages.Where(s => s.Took.TotalMilliseconds >= 1))
        {
            table.AddRow($"  until {stage}", $"{took.TotalMilliseconds:F0} ms");
        }

        var staged = stages.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Took);
        table.AddRow("  the commits", $"{(run.Duration - staged).TotalMilliseconds:F0} ms");
    }

    private static async Task<(long Rows, double Seconds)> RawCopyAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        var scope = new SourceScope(0, WarehouseIngest.ArchivedAfter(WarehouseIngest.NothingSeen), DateTime.UtcNow);
        var stopwatch = Stopwatch.StartNew();
        long rows = 0;
        foreach (var table in new[] { WarehouseSchema.WorkOrders, WarehouseSchema.Events })
        {
            using var exporter = await connection.BeginBinaryExportAsync($"COPY ({table.SourceQuery(scope)}) TO STDOUT (FORMAT BINARY)", cancellationToken);
            while (exporter.StartRow() != -1)
            {
                for (var i = 0; i < table.Columns.Count; i++)
                {
                    exporter.Skip();
                }

                rows++;
            }
        }

        return (rows, stopwatch.Elapsed.TotalSeconds);
    }
}
