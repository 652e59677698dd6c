using System.CommandLine;
using System.Diagnostics;
using System.Runtime;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;
using WorkOrders.Analytics.Exports;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ingest.Warehouse;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// Measures the big export: a generated history (the <c>generate</c> verb's generator) in a throwaway database,
/// ingested into a throwaway warehouse, then the newest work orders written as a streamed .xlsx, beside the CSV and
/// Parquet of the same rows (its peers in the same run), each read the way exports read (in slices of creation time) and,
/// for comparison in the same run, in one sorted read (as they did before). For each: time, bytes allocated, and the
/// peak working set above the process's idle working set (sampled while the file is written, after a full collection
/// before it). <c>--warehouse</c> measures a warehouse kept by an earlier run instead of generating one. Prints a table;
/// asserts nothing.
/// </summary>
internal static class ExportBenchmark
{
    public static Command Verb()
    {
        var workOrders = Cli.Whole("--work-orders", "work orders to generate", 1_000_000, 1, GenerateOptions.MaxWorkOrders);
        var rows = Cli.Whole("--rows", "rows to export (at most the work orders there are, and the export's maximum)", WorkOrderExport.MaxRows, 1, WorkOrderExport.MaxRows);
        var months = Cli.Whole("--months", "calendar months of generated history", 36, 1, GenerateOptions.MaxMonths);
        var copies = Cli.Whole(
            "--copies", "copies of the generated archive in the warehouse (new ids and numbers, same dates): reaches a million rows when generating them is too slow", 1, 1, 100);
        var keep = new Option<bool>("--keep") { Description = "leave the throwaway database, the warehouse and the files for a look afterwards" };
        var kept = new Option<string?>("--warehouse")
        {
            Description = "a warehouse kept by an earlier run (--keep): measure its whole history instead of generating one (it is left as it is)",
        };
        var command = new Command(
            "bench-export",
            "measure a streamed .xlsx export of up to 1,000,000 rows (time, allocated bytes, peak working set above idle) beside CSV and Parquet, over a generated history in a throwaway database")
        {
            workOrders, rows, months, copies, keep, kept,
        };
        command.SetRun((parsed, cancellationToken) => parsed.GetValue(kept) is { } path
            ? MeasureKeptAsync(path, parsed.GetValue(rows), cancellationToken)
            : RunAsync(parsed.GetValue(workOrders), parsed.GetValue(rows), parsed.GetValue(months), parsed.GetValue(copies), parsed.GetValue(keep), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int workOrders, int rows, int months, int copies, bool keep, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("workorders-bench-export-").FullName;
        var warehousePath = Path.Combine(folder, "warehouse.duckdb");
        var setup = new Table().AddColumns("setup", "value");
        KpiFilter filter;
        await using (var database = await BenchDatabase.CreateAsync("bench_export", 20, keep, cancellationToken))
        {
            var end = DateOnly.FromDateTime(DateTime.UtcNow);
            var generated = await new HistoryGenerator(database.Data).RunAsync(new GenerateOptions(workOrders, months, 1, end), null, cancellationToken);
            setup.AddRow("generated", $"{generated.WorkOrders:N0} work orders, {generated.Events:N0} events in {generated.Elapsed.TotalSeconds:F0} s");
            using var warehouse = WarehouseFile.Open(warehousePath);
            var ingest = await new WarehouseIngest(database.Data, TimeProvider.System, NullLogger<WarehouseIngest>.Instance, WarehouseCommands.BusinessHours())
                .RunAsync(warehouse, null, cancellationToken);
            setup.AddRow("ingested", $"{ingest.WorkOrders:N0} archived work orders in {ingest.Duration.TotalSeconds:F0} s");
            if (copies > 1)
            {
                using var copy = warehouse.CreateCommand();
                copy.CommandText = $"""
                    INSERT INTO fact_work_order
                    SELECT f.* REPLACE (f.work_order_id + c.k * m.top AS work_order_id, f.number || '-' || c.k AS number)
                    FROM fact_work_order f, range(1, {copies}) c(k), (SELECT max(work_order_id) AS top FROM fact_work_order) m
                    """;
                setup.AddRow("copied", $"{copy.ExecuteNonQuery():N0} more archived work orders ({copies} copies of the generated archive)");
            }
            filter = new KpiFilter(end.AddMonths(-months).AddDays(-1), end.AddDays(1));
        }

        try
        {
            AnsiConsole.Write(setup);
            AnsiConsole.Write(MeasureAll(warehousePath, folder, filter, rows, cancellationToken));
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(folder, recursive: true);
            }
            else
            {
                AnsiConsole.MarkupLine($"kept the warehouse and files in [blue]{Markup.Escape(folder)}[/]");
            }
        }

        return 0;
    }

    private static Task<int> MeasureKeptAsync(string warehousePath, int rows, CancellationToken cancellationToken)
    {
        if (!File.Exists(warehousePath))
        {
            throw new CliException($"--warehouse {warehousePath}: no such file", Cli.Failed);
        }

        KpiFilter filter;
        using (var warehouse = WarehouseFile.Open(warehousePath))
        using (var span = warehouse.CreateCommand())
        {
            span.CommandText = "SELECT min(created_at), max(created_at), count(*) FROM fact_work_order";
            using var reader = span.ExecuteReader();
            reader.Read();
            filter = new KpiFilter(DateOnly.FromDateTime(reader.GetDateTime(0)), DateOnly.FromDateTime(reader.GetDateTime(1)).AddDays(1));
            AnsiConsole.MarkupLine($"kept warehouse: {reader.GetInt64(2):N0} archived work orders, {Markup.Escape(filter.Describe())}");
        }

        var folder = Directory.CreateTempSubdirectory("workorders-bench-export-").FullName;
        try
        {
            AnsiConsole.Write(MeasureAll(warehousePath, folder, filter, rows, cancellationToken));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        return Task.FromResult(0);
    }

    /// <summary>
    /// Each format read in slices (as exports read) and then, for comparison, in one sorted read (as before): the sliced
    /// run goes first, so memory the process keeps from it counts in the idle of the other, not against the slices.
    /// </summary>
    private static Table MeasureAll(string warehousePath, string folder, KpiFilter filter, int rows, CancellationToken cancellationToken)
    {
        var table = new Table().AddColumns(
            "export", "read", "rows", "time", "allocated", "peak working set above idle", "idle working set", "file", "peak, slices / one read");
        foreach (var format in new[] { "xlsx", "csv", "parquet" })
        {
            Measured? sliced = null;
            foreach (var (read, sliceRows) in new[] { ($"slices of {DrillDown.SliceRows:N0}", DrillDown.SliceRows), ("one sorted read", int.MaxValue) })
            {
                var file = Path.Combine(folder, $"work-orders-{sliceRows}.{format}");
                var measured = Measure(() => Export(warehousePath, format, file, filter, rows, sliceRows, cancellationToken));
                var ratio = sliced is null ? "" : $"{sliced.PeakAboveIdle / (double)Math.Max(measured.PeakAboveIdle, 1):P0}";
                sliced ??= measured;
                table.AddRow(
                    format, read, $"{measured.Rows:N0}", $"{measured.Time.TotalSeconds:F1} s", Mib(measured.Allocated), Mib(measured.PeakAboveIdle), Mib(measured.Idle),
                    Mib(new FileInfo(file).Length), ratio);
                File.Delete(file);
            }
        }

        return table;
    }

    private static long Export(string warehousePath, string format, string file, KpiFilter filter, int rows, int sliceRows, CancellationToken cancellationToken)
    {
        using var warehouse = WarehouseFile.Open(warehousePath);
        var drill = new DrillDown(warehouse, cancellationToken);
        if (format == "parquet")
        {
            return drill.CopyLinesToParquet(filter, "volume", rows, WorkOrderExport.Headers, file, KpiQueries.DefaultRepeatDays, null, sliceRows);
        }

        using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
        var lines = drill.Lines(filter, "volume", rows, KpiQueries.DefaultRepeatDays, sliceRows);
        if (format == "xlsx")
        {
            return WorkOrderExport.WriteWorkbook(stream, "Work orders behind the KPI 'volume'", filter.Describe(), lines, DateTime.UtcNow);
        }

        using var writer = new StreamWriter(stream, new UTF8Encoding(true));
        var count = 0L;
        WorkOrderExport.WriteCsvAsync(writer, lines.Select(l => { count++; return l; }), cancellationToken).GetAwaiter().GetResult();
        return count;
    }

    private sealed record Measured(long Rows, TimeSpan Time, long Allocated, long PeakAboveIdle, long Idle);

    /// <summary>Runs <paramref name="export"/> after a full, compacting collection that returns free memory, sampling the working set as it runs.</summary>
    private static Measured Measure(Func<long> export)
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var idle = process.WorkingSet64;
        var peak = idle;
        using var stop = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            using var self = Process.GetCurrentProcess();
            while (!stop.IsCancellationRequested)
            {
                self.Refresh();
                peak = Math.Max(peak, self.WorkingSet64);
                Thread.Sleep(10);
            }
        })
        { IsBackground = true };
        sampler.Start();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var rows = export();
        var time = clock.Elapsed;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        stop.Cancel();
        sampler.Join();
        return new Measured(rows, time, allocated, peak - idle, idle);
    }

    private static string Mib(long bytes) => $"{bytes / 1048576.0:N0} MiB";
}
