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
/// Parquet of the same rows (its peers in the same run). For each: time, bytes allocated, and the peak working set
/// above the process's idle working set (sampled while the file is written, after a full collection before it).
/// Prints a table; asserts nothing.
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
        var command = new Command(
            "bench-export",
            "measure a streamed .xlsx export of up to 1,000,000 rows (time, allocated bytes, peak working set above idle) beside CSV and Parquet, over a generated history in a throwaway database")
        {
            workOrders, rows, months, copies, keep,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            parsed.GetValue(workOrders), parsed.GetValue(rows), parsed.GetValue(months), parsed.GetValue(copies), parsed.GetValue(keep), cancellationToken));
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

        var table = new Table().AddColumns("export", "rows", "time", "allocated", "peak working set above idle", "idle working set", "file");
        try
        {
            foreach (var format in new[] { "xlsx", "csv", "parquet" })
            {
                var file = Path.Combine(folder, $"work-orders.{format}");
                var measured = Measure(() =>
                {
                    using var warehouse = WarehouseFile.Open(warehousePath);
                    var drill = new DrillDown(warehouse, cancellationToken);
                    if (format == "parquet")
                    {
                        return drill.CopyLinesToParquet(filter, "volume", rows, WorkOrderExport.Headers, file);
                    }

                    using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
                    var lines = drill.Lines(filter, "volume", rows);
                    if (format == "xlsx")
                    {
                        return WorkOrderExport.WriteWorkbook(stream, "Work orders behind the KPI 'volume'", filter.Describe(), lines, DateTime.UtcNow);
                    }

                    using var writer = new StreamWriter(stream, new UTF8Encoding(true));
                    var count = 0L;
                    WorkOrderExport.WriteCsvAsync(writer, lines.Select(l => { count++; return l; }), cancellationToken).GetAwaiter().GetResult();
                    return count;
                });
                table.AddRow(
                    format, $"{measured.Rows:N0}", $"{measured.Time.TotalSeconds:F1} s", Mib(measured.Allocated), Mib(measured.PeakAboveIdle), Mib(measured.Idle),
                    Mib(new FileInfo(file).Length));
            }
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

        AnsiConsole.Write(setup);
        AnsiConsole.Write(table);
        return 0;
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
