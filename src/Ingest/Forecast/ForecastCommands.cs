using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Npgsql;
using Spectre.Console;
using WorkOrders.Analytics.Forecasting;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing;

namespace WorkOrders.Ingest.Forecast;

/// <summary>The forecast verbs of the command line: train a failure-risk model version, print the backtest of the newest one, and score.</summary>
internal static class ForecastCommands
{
    public static Command TrainVerb()
    {
        var warehouse = Cli.WarehouseOption("the DuckDB warehouse file to learn from and store the model in");
        var horizon = Cli.Whole("--horizon-days", "predict failures within this many days of a cut-off", 30, 1, 365);
        var step = Cli.Whole("--step-days", "days between the rolling cut-off dates", 14, 1, 90);
        var heldBack = Cli.Whole("--held-back-months", "the latest months kept out of training for the backtest", 6, 1, 24);
        var seed = Cli.Whole("--seed", "the trainer's random seed", 1, 0, int.MaxValue);
        var horizons = new Option<int[]>("--horizons")
        {
            Description = "train one version per horizon (days, comma-separated, e.g. 7,14,30) and choose the horizon and method by backtest, as the dashboard's job does",
            HelpName = "DAYS",
            CustomParser = Horizons,
        };
        var command = new Command(
            "train",
            "train a failure-risk model on the warehouse and store it with its backtest; with ConnectionStrings__WorkOrders set, the generator's degrading assets are scored too")
        {
            warehouse, horizon, step, heldBack, seed, horizons,
        };
        command.SetRun((parsed, cancellationToken) => TrainAsync(
            Screen(parsed.InvocationConfiguration.Output), parsed.GetRequiredValue(warehouse), parsed.GetValue(horizon), parsed.GetValue(step), parsed.GetValue(heldBack), parsed.GetValue(seed),
            parsed.GetValue(horizons), cancellationToken));
        return command;
    }

    public static Command BacktestVerb()
    {
        var warehouse = Cli.WarehouseOption("the DuckDB warehouse file holding the models");
        var command = new Command("backtest", "print the stored backtest of the newest model version") { warehouse };
        command.SetRun((parsed, cancellationToken) => BacktestAsync(Screen(parsed.InvocationConfiguration.Output), parsed.GetRequiredValue(warehouse), cancellationToken));
        return command;
    }

    public static Command ScoreVerb()
    {
        var warehouse = Cli.WarehouseOption("the DuckDB warehouse file holding the models");
        var threshold = new Option<double>("--threshold")
        {
            Description = "the lowest failure probability proposed, from 0 to 1",
            HelpName = "P",
            DefaultValueFactory = _ => 0.5,
            CustomParser = Probability,
        };
        var top = Cli.Whole("--top", "how many proposals to print", 20, 1, 10_000);
        var command = new Command("score", "score every in-service asset and fault mode with the newest good model and print the proposals at or above the threshold")
        {
            warehouse, threshold, top,
        };
        command.SetRun((parsed, cancellationToken) => ScoreAsync(Screen(parsed.InvocationConfiguration.Output), parsed.GetRequiredValue(warehouse), parsed.GetValue(threshold), parsed.GetValue(top), cancellationToken));
        return command;
    }

    private static async Task<int> TrainAsync(
        IAnsiConsole console, string path, int horizonDays, int stepDays, int heldBackMonths, int seed, int[]? horizons, CancellationToken cancellationToken)
    {
        var request = new TrainingRequest(
            HorizonDays: horizonDays,
            CutoffStepDays: stepDays,
            HeldBackMonths: heldBackMonths,
            Seed: seed,
            DegradingAssets: await DegradingAssetsAsync(cancellationToken));
        using var warehouse = WarehouseFile.Open(path);
        TrainingResult? result = null;
        ForecastChoice? choice = null;
        await console.Progress()
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
                if (horizons is { Length: > 0 })
                {
                    choice = ForecastSelection.Run(warehouse, request, horizons, DateTime.UtcNow, progress, cancellationToken);
                }
                else
                {
                    result = ForecastTraining.Train(warehouse, request, progress, cancellationToken);
                }

                foreach (var task in tasks.Values)
                {
                    task.Value = task.MaxValue;
                    task.StopTask();
                }

                return Task.CompletedTask;
            });

        if (choice is not null)
        {
            foreach (var version in choice.Rows.Select(r => r.ModelVersion).OfType<long>().Distinct())
            {
                var store = new ForecastStore(warehouse);
                PrintModel(console, store.Models().First(m => m.Version == version));
                PrintBacktest(console, store.Backtest(version));
            }

            PrintChoice(console, choice);
            return choice.Usable ? 0 : throw new CliException(new Refusal(choice.Refusal!.Code, choice.Refusal.Args).ToString(), Cli.Failed);
        }

        if (result!.Refusal is { } refusal)
        {
            var reason = new Refusal(refusal.Code, refusal.Args);
            throw refusal.Field == "history"
                ? new CliException(reason.ToString(), Cli.Failed)
                : new CliException($"--{Option(refusal.Field)} {reason}");
        }

        PrintModel(console, result.Model!);
        PrintBacktest(console, result.Backtest);
        return 0;
    }

    private static Task<int> BacktestAsync(IAnsiConsole console, string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var warehouse = WarehouseFile.Open(path);
        var store = new ForecastStore(warehouse);
        var newest = store.Models().FirstOrDefault()
            ?? throw new CliException("no model has been trained on this warehouse yet; run the train command first", Cli.Failed);
        PrintModel(console, newest);
        PrintBacktest(console, store.Backtest(newest.Version));
        if (store.NewestChoice() is { } choice)
        {
            PrintChoice(console, choice);
        }

        return Task.FromResult(0);
    }

    private static Task<int> ScoreAsync(IAnsiConsole console, string path, double threshold, int top, CancellationToken cancellationToken)
    {
        using var warehouse = WarehouseFile.Open(path);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = RiskScoring.Score(warehouse, threshold, cancellationToken);
        if (result.Refusal is { } refusal)
        {
            var reason = new Refusal(refusal.Code, refusal.Args);
            throw refusal.Field == "threshold"
                ? new CliException($"--threshold {reason}")
                : new CliException(reason.ToString(), Cli.Failed);
        }

        var table = new Table().AddColumns("asset", "type", "crit.", "mode", "risk", "window", "reasons", "template", "hours", "covered by");
        foreach (var p in result.Proposals.Take(top))
        {
            table.AddRow(
                Markup.Escape(p.AssetCode), Markup.Escape(p.AssetType), $"{p.Criticality}", Markup.Escape(p.FaultMode), $"{p.Probability:P0}",
                $"{p.WindowFrom:MM-dd} .. {p.WindowTo:MM-dd}", Markup.Escape(string.Join("; ", p.Reasons)), Markup.Escape(p.SuggestedTemplateName ?? "-"),
                p.EstimatedHours is { } hours ? $"{hours:F1}" : "-", Markup.Escape(p.CoveredBy ?? ""));
        }

        console.Write(table);
        console.MarkupLine(
            $"model version {result.Model!.Version} at {result.Now:yyyy-MM-dd HH:mm}: {result.Scored:N0} (asset, mode) pairs scored in {clock.Elapsed.TotalSeconds:F1} s, " +
            $"{result.Proposals.Count:N0} at or above {threshold:P0}");
        return Task.FromResult(0);
    }

    private static void PrintModel(IAnsiConsole console, ForecastModelInfo model)
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
        console.Write(table);
    }

    private static void PrintBacktest(IAnsiConsole console, IReadOnlyList<BacktestRow> rows)
    {
        var table = new Table().AddColumns("method", "K / cut-off", "cut-offs", "proposals", "hits", "failing assets", "precision", "recall", "mean lead (days)", "on degrading assets");
        foreach (var row in rows)
        {
            table.AddRow(
                row.Method, $"{row.ProposalsPerCutoff}", $"{row.Cutoffs}", $"{row.Proposals:N0}", $"{row.Hits:N0}", $"{row.FailingAssets:N0}",
                $"{row.Precision:P1}", $"{row.Recall:P1}", row.MeanLeadDays is { } lead ? $"{lead:F1}" : "-",
                row.DegradingShare is { } share ? $"{share:P1} ({row.DegradingProposals:N0})" : "");
        }

        console.Write(table);
    }

    private static void PrintChoice(IAnsiConsole console, ForecastChoice choice)
    {
        var table = new Table().AddColumns("horizon (days)", "method", "model version", "K / cut-off", "proposals", "hits", "precision", "recall", "random pick", "usable", "chosen");
        foreach (var row in choice.Rows)
        {
            table.AddRow(
                $"{row.HorizonDays}", row.Refusal is { } why ? Markup.Escape($"{row.Method} (not trained: {new Refusal(why.Code, why.Args)})") : row.Method,
                row.ModelVersion?.ToString(CultureInfo.InvariantCulture) ?? "", $"{row.ProposalsPerCutoff}", $"{row.Proposals:N0}", $"{row.Hits:N0}",
                $"{row.Precision:P1}", $"{row.Recall:P1}", row.BaseRate is { } rate ? $"{rate:P1}" : "", row.Usable ? "yes" : "no", row.Chosen ? "[green]chosen[/]" : "");
        }

        console.Write(table);
        console.WriteLine(choice.Usable
            ? string.Create(CultureInfo.InvariantCulture,
                $"chosen: {choice.Method} at {choice.HorizonDays} days, precision {choice.Precision:P1}; last failure + MTBF {choice.MtbfPrecision:P1} at the same number of proposals; ratio {(choice.GainOverMtbf is { } gain ? gain.ToString("F2", CultureInfo.InvariantCulture) : "-")}")
            : $"no usable method: {new Refusal(choice.Refusal!.Code, choice.Refusal.Args)}");
        if (choice.Sites.Count == 0)
        {
            return;
        }

        var sites = new Table().AddColumns("site", "held-back failures", "choice", "horizon (days)", "method", "precision", "MTBF precision", "ratio");
        foreach (var site in choice.Sites)
        {
            sites.AddRow(
                Markup.Escape(site.SiteCode ?? $"#{site.SiteId}"), $"{site.SiteFailures:N0}",
                site.UsesPlant ? (site.SiteFailures < ForecastSelection.MinSiteFailures ? "plant's (too few failures)" : "plant's (no usable method alone)") : "[green]own[/]",
                $"{site.HorizonDays}", site.Method ?? "-", site.Precision is { } p ? $"{p:P1}" : "-", site.MtbfPrecision is { } m ? $"{m:P1}" : "-",
                site.GainOverMtbf is { } ratio ? ratio.ToString("F2", CultureInfo.InvariantCulture) : "-");
        }

        console.Write(sites);
    }

    private static int[] Horizons(ArgumentResult result)
    {
        var days = new List<int>();
        foreach (var part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var day) || day is < 1 or > 365)
            {
                result.AddError($"--horizons must be whole days from 1 to 365, comma-separated, not '{part}'");
                return [];
            }

            days.Add(day);
        }

        return [.. days];
    }

    /// <summary>Wider than any table the verbs print: a table sent to a file or a pipe is never cut to fit a screen.</summary>
    internal const int RedirectedWidth = 1000;

    /// <summary>
    /// The console the verb writes to: the invocation's output, as wide as the terminal when it is one, and
    /// <see cref="RedirectedWidth"/> wide when it goes to a file or a pipe (where Spectre would assume 80 columns).
    /// </summary>
    internal static IAnsiConsole Screen(TextWriter output)
    {
        var terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }

    private static async Task<IReadOnlySet<long>?> DegradingAssetsAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable("ConnectionStrings__WorkOrders") is not { Length: > 0 } connectionString)
        {
            return null;
        }

        // The generator's truly degrading assets, for the backtest's ground-truth column.
        await using var data = NpgsqlDataSource.Create(connectionString);
        var degrading = await new GeneratorTruth(data).DegradingAssetsAsync(cancellationToken);
        return degrading.Count == 0 ? null : degrading;
    }

    private static string Option(string field) => field switch
    {
        "cutoffStepDays" => "step-days",
        _ => string.Concat(field.Select(c => char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : c.ToString())),
    };

    private static double Probability(ArgumentResult result)
    {
        if (result.Tokens is [var token] && double.TryParse(token.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1)
        {
            return value;
        }

        result.AddError($"--threshold must be a probability from 0 to 1, not '{string.Join(' ', result.Tokens.Select(t => t.Value))}'");
        return 0;
    }
}
