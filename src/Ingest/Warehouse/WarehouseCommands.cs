using DuckDB.NET.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>The warehouse commands of the CLI: ingest, and export-parquet.</summary>
internal static class WarehouseCommands
{
    public const string IngestHelp = "copy archived work orders, their history and the dimensions into the DuckDB warehouse (--warehouse FILE)";
    public const string ExportHelp = "write the warehouse as Hive-partitioned Parquet (year=/month=) into --to DIR";

    /// <summary>The business hours from the same Warehouse__* settings the dashboard reads.</summary>
    public static BusinessHours BusinessHours()
    {
        var options = new WarehouseOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(WarehouseOptions.Section).Bind(options);
        return options.BusinessHours().Problems() is [_, ..] problems ? throw new CliException(string.Join(" ", problems)) : options.BusinessHours();
    }

    public static string WarehousePath(CliArgs args) =>
        args.Text("warehouse") ?? Environment.GetEnvironmentVariable("WORKORDERS_WAREHOUSE") ?? Path.Combine(".data", "warehouse.duckdb");

    public static async Task<int> IngestAsync(CliArgs args, CancellationToken cancellationToken)
    {
        await using var data = NpgsqlDataSource.Create(CliArgs.ConnectionString());
        if (await new Migrator(data, NullLogger<Migrator>.Instance).PendingAsync(cancellationToken) is { Count: > 0 } pending)
        {
            throw new CliException($"the database schema is behind ({pending.Count} migration(s) pending); start the app once (./run.sh) to migrate it");
        }

        var path = WarehousePath(args);
        using var warehouse = OpenOrExplain(path);
        var ingest = new WarehouseIngest(data, TimeProvider.System, NullLogger<WarehouseIngest>.Instance, BusinessHours());
        IngestResult? result = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new SpinnerColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                // Reported inline by the writer loop, one at a time: Progress<T> would run these concurrently on the pool.
                var progress = new InlineProgress<IngestProgress>(p =>
                {
                    foreach (var other in tasks.Values.Where(t => !t.IsFinished && t.Description != p.Table))
                    {
                        other.StopTask();
                    }

                    if (!tasks.TryGetValue(p.Table, out var task))
                    {
                        task = tasks[p.Table] = context.AddTask(p.Table).IsIndeterminate();
                    }

                    task.Description = $"{p.Table}: {p.Rows:N0} rows";
                });
                result = await ingest.RunAsync(warehouse, progress, cancellationToken);
                foreach (var task in tasks.Values)
                {
                    task.StopTask();
                }
            });
        WarehouseSnapshot.Publish(warehouse, WarehouseSnapshot.PathFor(path));
        AnsiConsole.MarkupLine(
            $"run {result!.RunId}: [green]{result.WorkOrders:N0}[/] archived work orders, {result.Events:N0} events, {result.OpenWorkOrders:N0} open, " +
            $"in {result.Duration.TotalSeconds:F1} s ({(result.WorkOrders + result.Events) / Math.Max(result.Duration.TotalSeconds, 0.001):N0} rows/s)");
        return 0;
    }

    public static Task<int> ExportParquetAsync(CliArgs args, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(args.Required("to"));
        using var warehouse = OpenOrExplain(WarehousePath(args));
        var written = ParquetExport.Write(warehouse, target, cancellationToken);
        foreach (var (table, rows) in written)
        {
            AnsiConsole.MarkupLine($"{table}: {rows:N0} rows");
        }

        AnsiConsole.MarkupLine($"written to [blue]{Markup.Escape(target)}[/]");
        return Task.FromResult(0);
    }

    private static DuckDBConnection OpenOrExplain(string path)
    {
        try
        {
            return WarehouseFile.Open(path);
        }
        catch (WarehouseLockedException e)
        {
            throw new CliException(e.Message);
        }
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its handler on the reporting thread.</summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
