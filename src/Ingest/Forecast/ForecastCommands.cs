using System.Globalization;
using DuckDB.NET.Data;
using Npgsql;
using Spectre.Console;
using WorkOrders.Analytics.Forecasting;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing;

namespace WorkOrders.Ingest.Forecast;

/// <summary>The forecast commands of the CLI: train a failure-risk model version, and print the backtest of the newest one.</summary>
internal static class ForecastCommands
{
    public const string TrainHelp =
        "train a failure-risk model on the warehouse (--warehouse FILE) and store it with its backtest: --horizon-days N (30) " +
        "--step-days N (14) --held-back-months N (6) --seed N (1); with ConnectionStrings__WorkOrders set, the generator's degrading assets are scored too";

    public const string BacktestHelp = "print the stored backtest of the newest model version (--warehouse FILE)";

    public const string ScoreHelp =
        "score every in-service asset and fault mode with the newest good model and print the proposals at or above --threshold P (0.5), --top N (20)";

    public static async Task<int> TrainAsync(CliArgs args, CancellationToken cancellationToken)
    {
        var request = new TrainingRequest(
            HorizonDays: Whole(args, "horizon-days", 30, 1, 365),
            CutoffStepDays: Whole(args, "step-days", 14, 1, 90),
            HeldBackMonths: Whole(args, "held-back-months", 6, 1, 24),
            Seed: Whole(args, "seed", 1, 0, int.MaxValue),
            DegradingAssets: await DegradingAssetsAsync(cancellationToken));
        using var warehouse = Open(WarehouseCommands.WarehousePath(args));
        TrainingResult? result = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new InlineProgress<TrainingProgress>(p =>
                {
                    foreach (var other in tasks.Values.Where(t => !t.IsFinished && t.Description != p.Stage))
                    {
                        other.Value = other.MaxValue;
                        other.StopTask();
                    }

                    if (!tasks.TryGetValue(p.Stage, out var task))
                    {
                        task = tasks[p.Stage] = context.AddTask(p.Stage, maxValue: Math.Max(p.Total, 1));
                    }

                    task.Value = p.Done;
                });
                result = ForecastTraining.Train(warehouse, request, progress, cancellationToken);
                foreach (var task in tasks.Values)
                {
                    task.Value = task.MaxValue;
                    task.StopTask();
                }

                return Task.CompletedTask;
            });

        if (result!.Refusal is { } refusal)
        {
            var reason = new Refusal(refusal.Code, refusal.Args);
            throw new CliException(refusal.Field == "history" ? reason.ToString() : $"--{Option(refusal.Field)} {reason}");
        }

        PrintModel(result.Model!);
        PrintBacktest(result.Backtest);
        return 0;
    }

    public static Task<int> BacktestAsync(CliArgs args, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var warehouse = Open(WarehouseCommands.WarehousePath(args));
        var store = new ForecastStore(warehouse);
        var newest = store.Models().FirstOrDefault() ?? throw new CliException("no model has been trained on this warehouse yet; run the train command first");
        PrintModel(newest);
        PrintBacktest(store.Backtest(newest.Version));
        return Task.FromResult(0);
    }

    public static Task<int> ScoreAsync(CliArgs args, CancellationToken cancellationToken)
    {
        var text = args.Text("threshold") ?? "0.5";
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold))
        {
            throw new CliException($"--threshold must be a probability from 0 to 1, not '{text}'");
        }

        var top = Whole(args, "top", 20, 1, 10_000);
        using var warehouse = Open(WarehouseCommands.WarehousePath(args));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = RiskScoring.Score(warehouse, threshold, cancellationToken);
        if (result.Refusal is { } refusal)
        {
            var reason = new Refusal(refusal.Code, refusal.Args);
            throw new CliException(refusal.Field == "threshold" ? $"--threshold {reason}" : reason.ToString());
        }

        var table = new Table().AddColumns("asset", "type", "crit.", "mode", "risk", "window", "reasons", "template", "hours", "covered by");
        foreach (var p in result.Proposals.Take(top))
        {
            table.AddRow(
                Markup.Escape(p.AssetCode), Markup.Escape(p.AssetType), $"{p.Criticality}", Markup.Escape(p.FaultMode), $"{p.Probability:P0}",
                $"{p.WindowFrom:MM-dd} .. {p.WindowTo:MM-dd}", Markup.Escape(string.Join("; ", p.Reasons)), Markup.Escape(p.SuggestedTemplateName ?? "-"),
                p.EstimatedHours is { } hours ? $"{hours:F1}" : "-", Markup.Escape(p.CoveredBy ?? ""));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(
            $"model version {result.Model!.Version} at {result.Now:yyyy-MM-dd HH:mm}: {result.Scored:N0} (asset, mode) pairs scored in {clock.Elapsed.TotalSeconds:F1} s, " +
            $"{result.Proposals.Count:N0} at or above {threshold:P0}");
        return Task.FromResult(0);
    }

    private static void PrintModel(ForecastModelInfo model)
    {
        var table = new Table().AddColumns("model", $"version {model.Version}");
        table.AddRow("trainer", Markup.Escape(model.Trainer));
        table.AddRow("trained", $"{model.TrainedAt:yyyy-MM-dd HH:mm} UTC in {model.Duration.TotalSeconds:F1} s");
        table.AddRow("data", $"{model.DataFrom:yyyy-MM-dd} .. {model.DataTo:yyyy-MM-dd}, horizon {model.HorizonDays} days, {model.Cutoffs} cut-offs");
        table.AddRow("training cut-offs", $"{model.TrainFrom:yyyy-MM-dd} .. {model.TrainTo:yyyy-MM-dd}: {model.TrainExamples:N0} examples, {model.TrainPositives:N0} failures");
        table.AddRow("held back", $"{model.TestFrom:yyyy-MM-dd} .. {model.TestTo:yyyy-MM-dd}: {model.TestExamples:N0} examples, {model.TestPositives:N0} failures");
        table.AddRow("AUC", model.Auc.ToString("F3", CultureInfo.InvariantCulture));
        table.AddRow("log-loss (base rate)", $"{model.LogLoss:F4} ({model.BaseLogLoss:F4})");
        table.AddRow("precision / recall at 0.5", $"{model.Precision:P1} / {model.Recall:P1}");
        table.AddRow("good", (model.Good ? "[green]yes[/]" : "[red]no[/]") + $" ({Markup.Escape(model.GoodRule)})");
        AnsiConsole.Write(table);
    }

    private static void PrintBacktest(IReadOnlyList<BacktestRow> rows)
    {
        var table = new Table().AddColumns("method", "K / cut-off", "cut-offs", "proposals", "hits", "failing assets", "precision", "recall", "mean lead (days)", "on degrading assets");
        foreach (var row in rows)
        {
            table.AddRow(
                row.Method, $"{row.ProposalsPerCutoff}", $"{row.Cutoffs}", $"{row.Proposals:N0}", $"{row.Hits:N0}", $"{row.FailingAssets:N0}",
                $"{row.Precision:P1}", $"{row.Recall:P1}", row.MeanLeadDays is { } lead ? $"{lead:F1}" : "-",
                row.DegradingShare is { } share ? $"{share:P1} ({row.DegradingProposals:N0})" : "-");
        }

        AnsiConsole.Write(table);
    }

    private static async Task<IReadOnlySet<long>?> DegradingAssetsAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable("ConnectionStrings__WorkOrders") is not { Length: > 0 } connectionString)
        {
            return null;
        }

        // The generator's truly degrading assets, for the backtest's ground-truth column.
        await using var data = NpgsqlDataSource.Create(connectionString);
        return await new GeneratorTruth(data).DegradingAssetsAsync(cancellationToken);
    }

    private static string Option(string field) => field switch
    {
        "cutoffStepDays" => "step-days",
        _ => string.Concat(field.Select(c => char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : c.ToString())),
    };

    private static DuckDBConnection Open(string path)
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

    private static int Whole(CliArgs args, string name, int fallback, int min, int max)
    {
        var value = args.Number(name, fallback);
        return value < min || value > max ? throw new CliException($"--{name} must be from {min} to {max} (it was {value})") : (int)value;
    }
}
