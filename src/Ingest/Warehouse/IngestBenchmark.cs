using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// Measures, in one run: the raw binary COPY OUT rate of the fact queries (bytes read and thrown away), a full
/// ingest into a fresh warehouse file, and a second ingest with nothing new. Prints a table; asserts nothing.
/// </summary>
internal static class IngestBenchmark
{
    public static Command Verb()
    {
        var warehouse = Cli.WarehouseOption("the DuckDB file to ingest into; it is deleted and made anew");
        var command = new Command("bench-ingest", "measure ingest rows/s against the raw COPY OUT rate, peak memory, and a no-op re-run") { warehouse };
        command.SetRun((parsed, cancellationToken) => RunAsync(parsed.GetRequiredValue(warehouse), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string path, CancellationToken cancellationToken)
    {
        foreach (var file in new[] { path, path + ".wal" }.Where(File.Exists))
        {
            File.Delete(file);
        }

        await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
        var (rawRows, rawSeconds) = await RawCopyAsync(data, cancellationToken);

        var ingest = new WarehouseIngest(data, TimeProvider.System, NullLogger<WarehouseIngest>.Instance, WarehouseCommands.BusinessHours());
        using var warehouse = WarehouseFile.Open(path);
        var stages = new List<(string Table, long Rows, TimeSpan At)>();
        var clock = Stopwatch.StartNew();
        var full = await ingest.RunAsync(
            warehouse,
            new InlineProgress<IngestProgress>(p =>
            {
                if (stages.Count > 0 && stages[^1].Table == p.Table)
                {
                    stages[^1] = (p.Table, p.Rows, clock.Elapsed);
                }
                else
                {
                    stages.Add((p.Table, p.Rows, clock.Elapsed));
                }
            }),
            cancellationToken);
        var again = await ingest.RunAsync(warehouse, null, cancellationToken);
        var ingestRows = full.WorkOrders + full.Events;

        var table = new Table().AddColumns("measure", "value");
        table.AddRow("archived work orders + events", $"{ingestRows:N0}");
        table.AddRow("raw COPY OUT (same queries, discarded)", $"{rawSeconds:F2} s, {rawRows / rawSeconds:N0} rows/s");
        table.AddRow("full ingest (incl. dimensions, intervals, snapshot)", $"{full.Duration.TotalSeconds:F2} s, {ingestRows / full.Duration.TotalSeconds:N0} rows/s");
        table.AddRow("ingest rate / raw rate", $"{ingestRows / full.Duration.TotalSeconds / (rawRows / rawSeconds):P0}");
        var previous = TimeSpan.Zero;
        foreach (var (name, rows, at) in stages)
        {
            table.AddRow($"  {name} (until its last batch)", $"{rows:N0} rows, {(at - previous).TotalSeconds:F2} s");
            previous = at;
        }

        table.AddRow("  derived intervals, dates, commit", $"{(full.Duration - previous).TotalSeconds:F2} s");
        table.AddRow("re-run with nothing new", $"{again.Duration.TotalMilliseconds:F0} ms");
        table.AddRow("peak working set of this process", $"{Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):N0} MiB");
        AnsiConsole.Write(table);
        return 0;
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
