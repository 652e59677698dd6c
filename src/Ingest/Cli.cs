using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ingest;

/// <summary>
/// The command line: <c>dotnet run --project src/Ingest -- VERB [options]</c>. <c>--help</c> lists the verbs and
/// <c>VERB --help</c> the options of one; each verb is defined in the file of the work it does. The database comes
/// from ConnectionStrings__WorkOrders (./run.sh sets it); the warehouse file from --warehouse or WORKORDERS_WAREHOUSE
/// (default .data/warehouse.duckdb).
/// </summary>
public static class Cli
{
    /// <summary>An expected failure: a setting, a file or the database is not as the verb needs it.</summary>
    public const int Failed = 1;

    /// <summary>The command line itself is wrong: an unknown verb or option, a missing option, a bad value.</summary>
    public const int UsageError = 2;

    /// <summary>Stopped with Ctrl-C (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;

    public static RootCommand Root() => new("WorkOrders: the warehouse ingest, importers, history generator, forecasts and whole-system benchmarks")
    {
        Warehouse.WarehouseCommands.IngestVerb(),
        Warehouse.WarehouseCommands.ExportParquetVerb(),
        Import.ImportCommand.Verb(),
        Import.AssetImportCommand.Verb(),
        Import.ReadingImport.Verb(),
        Import.AlarmImport.Verb(),
        Warehouse.IngestBenchmark.Verb(),
        Warehouse.AnalyticsBenchmark.Verb(),
        Bench.AssignmentBenchmark.Verb(),
        Bench.CreateBenchmark.Verb(),
        Bench.PmBenchmark.Verb(),
        Bench.AlarmBenchmark.Verb(),
        Bench.ExportBenchmark.Verb(),
        Bench.ImportBenchmark.Verb(),
        Generate.GenerateCommand.Verb(),
        Forecast.ForecastCommands.TrainVerb(),
        Forecast.ForecastCommands.BacktestVerb(),
        Forecast.ForecastCommands.ScoreVerb(),
    };

    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null) => InvokeAsync(Root(), args, output, error);

    /// <summary>
    /// Parses and runs. A usage error is one line on standard error and exit code 2, where System.CommandLine would
    /// print every error followed by the whole help.
    /// </summary>
    public static Task<int> InvokeAsync(RootCommand root, string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var configuration = new InvocationConfiguration { Output = output ?? Console.Out, Error = error ?? Console.Error };
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            var command = parsed.CommandResult.Command == root ? root.Name : $"{root.Name} {parsed.CommandResult.Command.Name}";
            // A verb missing is reported first; when something else was written, that says more.
            var first = parsed.Errors.Count > 1 && parsed.CommandResult.Command == root ? parsed.Errors[1] : parsed.Errors[0];
            var message = string.Join(' ', first.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            configuration.Error.WriteLine($"error: {message} ('{command} --help' lists what it takes)");
            return Task.FromResult(UsageError);
        }

        return parsed.InvokeAsync(configuration);
    }

    /// <summary>
    /// Makes <paramref name="run"/> the verb's work. What a user can mend (a <see cref="CliException"/>, a warehouse
    /// another process holds, a database that cannot be reached) is printed as one line without a stack trace.
    /// </summary>
    public static void SetRun(this Command command, Func<ParseResult, CancellationToken, Task<int>> run) =>
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var error = parsed.InvocationConfiguration.Error;
            try
            {
                return await run(parsed, cancellationToken);
            }
            catch (CliException e)
            {
                await error.WriteLineAsync($"error: {e.Message}");
                return e.ExitCode;
            }
            catch (WarehouseLockedException e)
            {
                await error.WriteLineAsync($"error: {e.Message}");
                return Failed;
            }
            catch (NpgsqlException e) when (CannotConnect(e))
            {
                await error.WriteLineAsync($"error: PostgreSQL cannot be reached with ConnectionStrings__WorkOrders: {e.Message}");
                return Failed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await error.WriteLineAsync("cancelled");
                return Cancelled;
            }
        });

    /// <summary>The full path of the <c>--file</c> to read, or a failure that names it when it does not exist.</summary>
    public static string ExistingFile(string name)
    {
        var path = Path.GetFullPath(name);
        return File.Exists(path) ? path : throw new CliException($"--file {path} does not exist", Failed);
    }

    /// <summary>The connection string of the work-order database, or a failure that says how to set it.</summary>
    public static string ConnectionString() =>
        Environment.GetEnvironmentVariable("ConnectionStrings__WorkOrders") is { Length: > 0 } value
            ? value
            : throw new CliException("ConnectionStrings__WorkOrders is not set; ./run.sh prints how, or set it to your PostgreSQL connection string", Failed);

    /// <summary>Refuses to work on a database whose schema is behind the migrations of this build.</summary>
    public static async Task RequireMigratedAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        if (await new Migrator(data, NullLogger<Migrator>.Instance).PendingAsync(cancellationToken) is { Count: > 0 } pending)
        {
            throw new CliException($"the database schema is behind ({pending.Count} migration(s) pending); start the app once (./run.sh) to migrate it", Failed);
        }
    }

    /// <summary><c>--warehouse FILE</c>, defaulting to WORKORDERS_WAREHOUSE or .data/warehouse.duckdb.</summary>
    public static Option<string> WarehouseOption(string description) => new("--warehouse")
    {
        Description = description,
        HelpName = "FILE",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WORKORDERS_WAREHOUSE") ?? Path.Combine(".data", "warehouse.duckdb"),
    };

    /// <summary>A whole-number option from <paramref name="min"/> to <paramref name="max"/>; a value outside is refused naming the option.</summary>
    public static Option<int> Whole(string name, string description, int fallback, int min, int max) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => fallback,
        CustomParser = result => Whole(result, name, min, max) ?? fallback,
    };

    /// <summary>As <see cref="Whole(string, string, int, int, int)"/>, with no value when it is not given.</summary>
    public static Option<int?> OptionalWhole(string name, string description, int min, int max) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = result => Whole(result, name, min, max),
    };

    private static int? Whole(ArgumentResult result, string name, int min, int max)
    {
        if (result.Tokens is not [var token])
        {
            return null;
        }

        if (!long.TryParse(token.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            result.AddError($"{name} must be a whole number from {min} to {max}, not '{token.Value}'");
            return null;
        }

        if (value < min || value > max)
        {
            result.AddError($"{name} must be from {min} to {max} (it was {value})");
            return null;
        }

        return (int)value;
    }

    private static bool CannotConnect(NpgsqlException e) =>
        e.InnerException is SocketException or TimeoutException
        || e is PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification or PostgresErrorCodes.InvalidCatalogName };
}

/// <summary>
/// What the user asked for cannot be done, said in one line without a stack trace: exit code 2 (<see cref="Cli.UsageError"/>)
/// when the command line is wrong, 1 (<see cref="Cli.Failed"/>) when a setting, a file or the database is.
/// </summary>
public sealed class CliException(string message, int exitCode = Cli.UsageError) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
