using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ingest.Generate;

/// <summary>The <c>generate</c> command: a realistic maintenance history written straight into PostgreSQL.</summary>
public static class GenerateCommand
{
    public const string Help =
        "write a generated maintenance history into PostgreSQL: --work-orders N (100000) --months M (36) --seed S (1) " +
        "--end yyyy-MM-dd (today; history stops at 00:00 UTC that day) [--machines N] [--migrate]. Each run adds its own " +
        "organisation tagged G<seed>R<run> (names, codes, users <tag>.op0001 with password 'demo'), so runs never clash; " +
        "the same options into an empty database give the same rows";

    public static async Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        var options = GenerateOptions.Parse(args, DateOnly.FromDateTime(DateTime.UtcNow));
        await using var data = NpgsqlDataSource.Create(CliArgs.ConnectionString());
        var migrator = new Migrator(data, NullLogger<Migrator>.Instance);
        if (args.Has("migrate"))
        {
            await migrator.ApplyAsync(cancellationToken);
        }
        else if (await migrator.PendingAsync(cancellationToken) is { Count: > 0 } pending)
        {
            throw new CliException($"the database schema is behind ({pending.Count} migration(s) pending); add --migrate or start the app once (./run.sh)");
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
