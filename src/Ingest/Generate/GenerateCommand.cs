using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ingest.Generate;

/// <summary>The <c>generate</c> verb: a realistic maintenance history written straight into PostgreSQL.</summary>
public static class GenerateCommand
{
    public static Command Verb() => Verb(DateOnly.FromDateTime(DateTime.UtcNow), RunAsync);

    /// <summary>The verb with its run given: tests read what the options bind to without a database.</summary>
    internal static Command Verb(DateOnly today, Func<GenerateOptions, bool, CancellationToken, Task<int>> run)
    {
        var workOrders = Cli.Whole("--work-orders", "work orders to write", 100_000, 1, GenerateOptions.MaxWorkOrders);
        var months = Cli.Whole("--months", "calendar months of history", 36, 1, GenerateOptions.MaxMonths);
        var seed = Cli.Whole("--seed", "the random seed: the same options into an empty database give the same rows", 1, 0, int.MaxValue);
        var end = new Option<DateOnly?>("--end") { Description = "the history stops at 00:00 UTC of this day (default: today)", HelpName = "yyyy-MM-dd", CustomParser = Day };
        var machines = Cli.OptionalWhole(
            "--machines", "the number of machines; without it the plant is sized so that machine work is about 85 % of the work orders", 1, GenerateOptions.MaxMachines);
        var migrate = new Option<bool>("--migrate") { Description = "apply pending migrations to the database first" };
        var command = new Command(
            "generate",
            "write a generated maintenance history into PostgreSQL. Each run adds its own organisation tagged G<seed>R<run> (names, codes, " +
            "users <tag>.op0001 with password 'demo'), so runs never clash")
        {
            workOrders, months, seed, end, machines, migrate,
        };
        command.SetRun((parsed, cancellationToken) => run(
            new GenerateOptions(parsed.GetValue(workOrders), parsed.GetValue(months), parsed.GetValue(seed), parsed.GetValue(end) ?? today, parsed.GetValue(machines)),
            parsed.GetValue(migrate),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GenerateOptions options, bool migrate, CancellationToken cancellationToken)
    {
        await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
        var migrator = new Migrator(data, NullLogger<Migrator>.Instance);
        if (migrate)
        {
            await migrator.ApplyAsync(cancellationToken);
        }
        else if (await migrator.PendingAsync(cancellationToken) is { Count: > 0 } pending)
        {
            throw new CliException($"the database schema is behind ({pending.Count} migration(s) pending); add --migrate or start the app once (./run.sh)", Cli.Failed);
        }

        GenerationResult? result = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var progress = new SpectreProgress(
                    context.AddTask("planning", maxValue: 1).IsIndeterminate(),
                    context.AddTask("work orders", autoStart: false, maxValue: options.WorkOrders));
                result = await new HistoryGenerator(data).RunAsync(options, progress, cancellationToken);
                progress.Finish();
            });

        var seconds = Math.Max(result!.Elapsed.TotalSeconds, 0.001);
        var table = new Table().AddColumns("generated", "");
        table.AddRow("run", $"{result.RunId} ({result.Tag})");
        table.AddRow("window", $"{result.WindowStart:yyyy-MM-dd} .. {result.WindowEnd:yyyy-MM-dd}");
        table.AddRow("machines / assets / users", $"{result.Machines:N0} / {result.Assets:N0} / {result.Users:N0}");
        table.AddRow("work orders", $"{result.WorkOrders:N0}");
        table.AddRow("events", $"{result.Events:N0}");
        table.AddRow("true failures", $"{result.Failures:N0}");
        table.AddRow("time", $"{seconds:F1} s");
        foreach (var stage in result.Stages)
        {
            table.AddRow($"  {stage.Stage}", $"{stage.Took.TotalSeconds:F1} s");
        }

        table.AddRow("rows/s (work orders + events)", $"{(result.WorkOrders + result.Events) / seconds:N0}");
        AnsiConsole.Write(table);
        return 0;
    }

    private static DateOnly? Day(ArgumentResult result)
    {
        if (result.Tokens is [var token]
            && DateOnly.TryParseExact(token.Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day;
        }

        result.AddError($"--end must be a date written yyyy-MM-dd, not '{string.Join(' ', result.Tokens.Select(t => t.Value))}'");
        return null;
    }

    private sealed class SpectreProgress(ProgressTask planning, ProgressTask writing) : IGenerationProgress
    {
        public void Planning(string stage)
        {
            planning.Description = $"planning: {stage}";
        }

        public void Writing(long workOrders, long total)
        {
            if (!writing.IsStarted)
            {
                writing.StartTask();
            }

            writing.Value = workOrders;
        }

        public void Finish()
        {
            planning.Description = "planning: done";
            planning.IsIndeterminate = false;
            planning.Value = planning.MaxValue;
            planning.StopTask();
            writing.StopTask();
        }
    }
}
