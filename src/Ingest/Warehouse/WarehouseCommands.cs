using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>The warehouse verbs of the command line: ingest, and export-parquet.</summary>
internal static class WarehouseCommands
{
    public static Command IngestVerb()
    {
        var warehouse = Cli.WarehouseOption("the DuckDB warehouse file to bring up to date");
        var command = new Command("ingest", "copy archived work orders, their history and the dimensions into the DuckDB warehouse") { warehouse };
        command.SetRun((parsed, cancellationToken) => IngestAsync(parsed.GetRequiredValue(warehouse), cancellationToken));
        return command;
    }

    public static Command ExportParquetVerb()
    {
        var to = new Option<string>("--to") { Description = "the folder to write into", HelpName = "DIR", Required = true };
        var warehouse = Cli.WarehouseOption("the DuckDB warehouse file to export");
        var command = new Command("export-parquet", "write the warehouse as Hive-partitioned Parquet (year=/month=)") { to, warehouse };
        command.SetRun((parsed, cancellationToken) => ExportParquetAsync(parsed.GetRequiredValue(to), parsed.GetRequiredValue(warehouse), cancellationToken));
        return command;
    }

    /// <summary>The business hours from the same Warehouse__* settings the dashboard reads.</summary>
    public static BusinessHours BusinessHours()
    {
        var options = new WarehouseOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(WarehouseOptions.Section).Bind(options);
        return options.BusinessHours().Problems() is [_, ..] problems
            ? throw new CliException(string.Join(" ", problems), Cli.Failed)
            : options.BusinessHours();
    }

    private static async Task<int> IngestAsync(string path, CancellationToken cancellationToken)
    {
        await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
        await Cli.RequireMigratedAsync(data, cancellationToken);

        using var warehouse = WarehouseFile.Open(path);
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
        WarehouseSnapshot.Publish(warehouse, path);
        AnsiConsole.MarkupLine(
            $"run {result!.RunId}: [green]{result.WorkOrders:N0}[/] archived work orders, {result.Events:N0} events, {result.OpenWorkOrders:N0} open, " +
            $"in {result.Duration.TotalSeconds:F1} s ({(result.WorkOrders + result.Events) / Math.Max(result.Duration.TotalSeconds, 0.001):N0} rows/s)");
        return 0;
    }

    private static Task<int> ExportParquetAsync(string to, string path, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(to);
        using var warehouse = WarehouseFile.Open(path);
        var written = ParquetExport.Write(warehouse, target, cancellationToken);
        foreach (var (table, rows) in written)
        {
            AnsiConsole.MarkupLine($"{table}: {rows:N0} rows");
        }

        AnsiConsole.MarkupLine($"written to [blue]{Markup.Escape(target)}[/]");
        return Task.FromResult(0);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its handler on the reporting thread.</summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
