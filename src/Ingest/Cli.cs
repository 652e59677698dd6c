using Spectre.Console;

namespace WorkOrders.Ingest;

/// <summary>
/// The command line: <c>dotnet run --project src/Ingest -- COMMAND [options]</c>.
/// The database comes from ConnectionStrings__WorkOrders (./run.sh sets it); the warehouse file from --warehouse
/// or WORKORDERS_WAREHOUSE (default .data/warehouse.duckdb).
/// </summary>
public static class Cli
{
    private static readonly Dictionary<string, (string Help, Func<CliArgs, CancellationToken, Task<int>> Run)> Commands = new(StringComparer.Ordinal)
    {
        ["ingest"] = (Warehouse.WarehouseCommands.IngestHelp, Warehouse.WarehouseCommands.IngestAsync),
        ["export-parquet"] = (Warehouse.WarehouseCommands.ExportHelp, Warehouse.WarehouseCommands.ExportParquetAsync),
        ["import"] = (Import.ImportCommand.Help, Import.ImportCommand.RunAsync),
        ["bench-ingest"] = (Warehouse.IngestBenchmark.Help, Warehouse.IngestBenchmark.RunAsync),
        ["bench-analytics"] = (Warehouse.AnalyticsBenchmark.Help, Warehouse.AnalyticsBenchmark.RunAsync),
        ["bench-assign"] = (Bench.AssignmentBenchmark.Help, Bench.AssignmentBenchmark.RunAsync),
        ["generate"] = (Generate.GenerateCommand.Help, Generate.GenerateCommand.RunAsync),
        ["train"] = (Forecast.ForecastCommands.TrainHelp, Forecast.ForecastCommands.TrainAsync),
        ["backtest"] = (Forecast.ForecastCommands.BacktestHelp, Forecast.ForecastCommands.BacktestAsync),
        ["score"] = (Forecast.ForecastCommands.ScoreHelp, Forecast.ForecastCommands.ScoreAsync),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || !Commands.TryGetValue(args[0], out var command))
        {
            AnsiConsole.MarkupLine("[bold]usage:[/] dotnet run --project src/Ingest -- COMMAND [[options]]");
            foreach (var (name, entry) in Commands)
            {
                AnsiConsole.MarkupLine($"  [blue]{name,-16}[/] {Markup.Escape(entry.Help)}");
            }

            return args.Length == 0 ? 0 : 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            return await command.Run(CliArgs.Parse(args[1..]), cancel.Token);
        }
        catch (CliException e)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 2;
        }
    }
}

/// <summary>A usage error: printed as it is, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);

/// <summary><c>--name value</c> options and <c>--flag</c> switches.</summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);

    public static CliArgs Parse(string[] args)
    {
        var parsed = new CliArgs();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new CliException($"unexpected argument '{args[i]}'; options are written --name value");
            }

            var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            parsed._options[args[i][2..]] = hasValue ? args[++i] : null;
        }

        return parsed;
    }

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Text(string name) => _options.TryGetValue(name, out var value) ? value : null;

    public string Required(string name) => Text(name) ?? throw new CliException($"--{name} is required");

    public long Number(string name, long fallback) => Text(name) switch
    {
        null => fallback,
        var text when long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) => n,
        var text => throw new CliException($"--{name} must be a whole number, not '{text}'"),
    };

    public static string ConnectionString() =>
        Environment.GetEnvironmentVariable("ConnectionStrings__WorkOrders") is { Length: > 0 } value
            ? value
            : throw new CliException("ConnectionStrings__WorkOrders is not set; ./run.sh prints how, or set it to your PostgreSQL connection string");
}
