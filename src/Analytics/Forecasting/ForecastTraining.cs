using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// What to train on. Cut-offs run every <see cref="CutoffStepDays"/> from <see cref="WarmupDays"/> after the first
/// work order to <see cref="HorizonDays"/> before the last (so every label saw its whole horizon); the cut-offs of the
/// last <see cref="HeldBackMonths"/> months are held back for the metrics and the backtest, and training only uses
/// cut-offs whose horizon ends before the first held-back one. <see cref="DegradingAssets"/>: the assets known to be
/// wearing out (the generator's ground truth), to report how many of each method's proposals were on them.
/// <see cref="MaxExamples"/> bounds memory and time on large plants: past it, the trees see every failure and a
/// sample of the other examples, while calibration and the held-back months use a sample of whole assets, so the
/// probabilities stay calibrated and the backtest still sees every cut-off of the assets it keeps.
/// </summary>
public sealed record TrainingRequest(
    int HorizonDays = 30,
    int CutoffStepDays = 14,
    int HeldBackMonths = 6,
    int WarmupDays = 90,
    int Seed = 1,
    double ProposalShare = 0.05,
    IReadOnlySet<long>? DegradingAssets = null,
    int MaxExamples = 1_000_000);

/// <summary>Where a training run is: the stage and how far into it.</summary>
public sealed record TrainingProgress(string Stage, int Done, int Total);

/// <summary>
/// Why a forecast request was refused, naming the field: a request field (horizonDays, threshold, ...), "history" when
/// the warehouse holds too little to train on, "model" when no good model has been trained yet. The code and its values
/// are worded per language by the work-order core's refusal texts (forecast.*).
/// </summary>
public sealed record ForecastRefusal(string Field, string Code, params object[] Args);

/// <summary>The stored model version and its backtest, or the refusal (and nothing stored).</summary>
public sealed record TrainingResult(ForecastModelInfo? Model, IReadOnlyList<BacktestRow> Backtest, IReadOnlyList<CalibrationBin> Calibration, ForecastRefusal? Refusal)
{
    public bool Trained => Model is not null;

    /// <summary>The same backtest on each site's assets alone (the site at the root of their tree), at that site's share of proposals.</summary>
    public IReadOnlyDictionary<long, IReadOnlyList<BacktestRow>> BySite { get; init; } = new Dictionary<long, IReadOnlyList<BacktestRow>>();

    internal static TrainingResult Refused(string field, string code, params object[] args) => new(null, [], [], new ForecastRefusal(field, code, args));
}

/// <summary>
/// Trains the failure-risk model: feature rows at rolling cut-offs (<see cref="ForecastFeatures"/>), a FastTree
/// binary classifier with a fixed seed, Platt-calibrated on the latest fifth of the training cut-offs (held out from
/// the trees), evaluated and backtested on the held-back months, stored as a new version in <see cref="ForecastStore"/>.
/// Cancellation is checked between cut-offs and stages (ML.NET's fit itself takes no token), and nothing is stored
/// unless the run completes.
/// </summary>
public static class ForecastTraining
{
    public const string Trainer = "FastTree binary (200 trees, 16 leaves, 90 % of the features per tree by seed) + Platt calibration";

    /// <summary>The share of the features each tree may split on, drawn with the request's seed.</summary>
    internal const double FeatureFraction = 0.9;

    public const double MinAuc = 0.65;

    /// <summary>When a version may be used for scoring.</summary>
    public static string GoodRule { get; } = string.Create(CultureInfo.InvariantCulture,
        $"good when, on the held-back months, AUC >= {MinAuc} and the log-loss is below that of always predicting the training base rate");

    public const int MinFailures = 100;

    /// <summary>
    /// The shortest history trained on, in calendar months: the history spans them when the day after its last work
    /// order is at least <see cref="MinMonths"/> months after the day of its first (1 January to 30 September does;
    /// a full calendar year does with room to spare).
    /// </summary>
    public const int MinMonths = 9;

    /// <summary>Trains, backtests and stores a model version; refuses (storing nothing) when the request or the history falls short.</summary>
    public static TrainingResult Train(
        DuckDBConnection warehouse, TrainingRequest request, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) =>
        Train(warehouse, request, [request.HorizonDays], progress, cancellationToken)[0].Result;

    /// <summary>
    /// Trains, backtests and stores one model version per horizon (each refused on its own when its cut-offs fall
    /// short), shortest first. The features are computed once per cut-off, with the outcome read over the longest
    /// horizon: a failure within a shorter horizon is one whose days to failure are fewer than it, so each horizon's
    /// labels come from the same rows (kept in memory up to <see cref="TrainingRequest.MaxExamples"/> rows; past that
    /// they are computed again for each horizon).
    /// </summary>
    public static IReadOnlyList<(int HorizonDays, TrainingResult Result)> Train(
        DuckDBConnection warehouse, TrainingRequest request, IReadOnlyList<int> horizons, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        List<int> sorted = [.. horizons.Distinct().Order()];
        if (sorted.Count == 0 || sorted[0] < 1 || sorted[^1] > 365)
        {
            return [(request.HorizonDays, TrainingResult.Refused("horizonDays", "forecast.days_range", 1, 365))];
        }

        if (Check(request with { HorizonDays = sorted[^1] }) is { } refusal)
        {
            return [.. sorted.Select(h => (h, refusal))];
        }

        progress?.Report(new TrainingProgress("reading the history", 0, 1));
        var (from, to, failures) = History(warehouse);
        var months = from is null ? 0 : (to!.Value - from.Value).TotalDays / 30.44;
        if (failures < MinFailures || !SpansMinMonths(from, to))
        {
            var tooShort = TrainingResult.Refused("history", "forecast.history_short", MinFailures, MinMonths, failures, months);
            return [.. sorted.Select(h => (h, tooShort))];
        }

        var fitted = FitToHistory(request, from!.Value, to!.Value);
        var features = new FeatureCache(warehouse, sorted[^1], sorted.Count > 1 ? request.MaxExamples : 0);
        return [.. sorted.Select(h => (h, TrainOne(warehouse, fitted with { HorizonDays = h }, from.Value, to.Value, features, progress, cancellationToken)))];
    }

    private static TrainingResult TrainOne(
        DuckDBConnection warehouse, TrainingRequest request, DateTime from, DateTime to, FeatureCache features,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var trainedAt = DateTime.UtcNow;
        var cutoffs = Cutoffs(from, to, request);
        var testFrom = to.AddDays(-request.HorizonDays).AddMonths(-request.HeldBackMonths);
        var test = cutoffs.Where(c => c >= testFrom).ToList();
        var train = cutoffs.Where(c => c.AddDays(request.HorizonDays) <= (test.Count > 0 ? test[0] : to)).ToList();
        if (train.Count < 8 || test.Count < 3)
        {
            return TrainingResult.Refused("history", "forecast.cutoffs_few", request.CutoffStepDays, request.HeldBackMonths, from, to, train.Count, test.Count);
        }

        var trainRows = new List<FeatureRow>();
        var testRows = new List<FeatureRow>();
        var used = new List<TrainingCutoff>();
        var all = train.Concat(test).ToList();
        var calibrateFrom = train[(int)(train.Count * 0.8)];
        var fitCutoffs = train.Count(c => c < calibrateFrom);
        double? negativeRate = null, assetRate = null;
        for (var i = 0; i < all.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new TrainingProgress("computing features", i, all.Count));
            var rows = features.At(all[i], request.HorizonDays);
            negativeRate ??= Math.Min(1, request.MaxExamples / Math.Max(1.0, rows.Count * (double)fitCutoffs));
            assetRate ??= Math.Min(1, request.MaxExamples / Math.Max(1.0, rows.Count * (double)(all.Count - fitCutoffs)));
            var heldBack = i >= train.Count;
            var kept = (all[i] < calibrateFrom
                ? rows.Where((r, n) => r.Label || Sampled(r.AssetId, i, n, negativeRate.Value))
                : rows.Where(r => Sampled(r.AssetId, -1, 0, assetRate.Value))).ToList();
            (heldBack ? testRows : trainRows).AddRange(kept);
            used.Add(new TrainingCutoff(all[i], heldBack, kept.Count, kept.Count(r => r.Label)));
        }

        progress?.Report(new TrainingProgress("computing features", all.Count, all.Count));
        var trainPositives = trainRows.LongCount(r => r.Label);
        var testPositives = testRows.LongCount(r => r.Label);
        if (trainPositives < 20 || testPositives < 5)
        {
            return TrainingResult.Refused("history", "forecast.failures_few", trainPositives, testPositives);
        }

        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new TrainingProgress("training", 0, 1));
        var ml = new MLContext(request.Seed);
        var fit = ml.Data.LoadFromEnumerable(Examples(trainRows.Where(r => r.Cutoff < calibrateFrom)));
        var calibrate = ml.Data.LoadFromEnumerable(Examples(trainRows.Where(r => r.Cutoff >= calibrateFrom).ToList()));
        var trees = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            NumberOfTrees = 200,
            NumberOfLeaves = 16,
            MinimumExampleCountPerLeaf = 40,
            LearningRate = 0.08,
            // One thread keeps a run repeatable; each tree sees a seeded 90 % of the features, so the seed picks the model.
            Seed = request.Seed,
            FeatureSelectionSeed = request.Seed,
            NumberOfThreads = 1,
            FeatureFraction = FeatureFraction,
        }).Fit(fit);
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new TrainingProgress("calibrating", 0, 1));
        var platt = ml.BinaryClassification.Calibrators.Platt().Fit(trees.Transform(calibrate));
        var contributions = ml.Transforms.CalculateFeatureContribution(trees, ForecastFeatures.Names.Count, ForecastFeatures.Names.Count, normalize: false).Fit(fit);
        using var model = new TransformerChain<ITransformer>(trees, platt, contributions);

        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new TrainingProgress("evaluating on the held-back months", 0, 1));
        var testView = ml.Data.LoadFromEnumerable(Examples(testRows));
        var scored = model.Transform(testView);
        var metrics = ml.BinaryClassification.Evaluate(scored);
        var probabilities = ml.Data.CreateEnumerable<Scored>(scored, reuseRowObject: false).Select(s => s.Probability).ToList();
        // The base rate from the calibration cut-offs: the earlier ones may have had their negatives sampled.
        var calibrationRows = trainRows.Where(r => r.Cutoff >= calibrateFrom).ToList();
        var baseRate = Math.Clamp((double)calibrationRows.Count(r => r.Label) / Math.Max(1, calibrationRows.Count), 1e-6, 1 - 1e-6);
        var testRate = (double)testPositives / testRows.Count;
        var baseLogLoss = -((testRate * Math.Log(baseRate)) + ((1 - testRate) * Math.Log(1 - baseRate)));
        var logLoss = LogLoss(testRows, probabilities);
        var good = metrics.AreaUnderRocCurve >= MinAuc && logLoss < baseLogLoss;

        progress?.Report(new TrainingProgress("backtesting", 0, 1));
        var backtest = ForecastBacktest.Run(testRows, probabilities, request.HorizonDays, request.ProposalShare, request.DegradingAssets);
        var sites = Sites(warehouse);
        var bySite = testRows.Select((row, index) => (row, index))
            .Where(x => sites.ContainsKey(x.row.AssetId))
            .GroupBy(x => sites[x.row.AssetId])
            .ToDictionary(
                g => g.Key,
                g => ForecastBacktest.Run([.. g.Select(x => x.row)], [.. g.Select(x => probabilities[x.index])], request.HorizonDays, request.ProposalShare, request.DegradingAssets));
        var calibration = Calibration(testRows, probabilities);

        byte[] bytes;
        using (var stream = new MemoryStream())
        {
            ml.Model.Save(model, fit.Schema, stream);
            bytes = stream.ToArray();
        }

        var info = new ForecastModelInfo(
            0, trainedAt, stopwatch.Elapsed, Trainer, request.HorizonDays, request.Seed, from, to,
            train[0], train[^1], test[0], test[^1], all.Count,
            trainRows.Count, trainPositives, testRows.Count, testPositives,
            metrics.AreaUnderRocCurve, logLoss, baseLogLoss, Finite(metrics.PositivePrecision), Finite(metrics.PositiveRecall), good, GoodRule);
        progress?.Report(new TrainingProgress("storing", 0, 1));
        var saved = new ForecastStore(warehouse).Save(info with { Duration = stopwatch.Elapsed }, bytes, used, backtest, calibration);
        progress?.Report(new TrainingProgress("done", 1, 1));
        return new TrainingResult(saved, backtest, calibration, null) { BySite = bySite };
    }

    /// <summary>The site of every asset that has one (the root of its tree, itself excepted).</summary>
    internal static Dictionary<long, long> Sites(DuckDBConnection warehouse)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = "SELECT asset_id, site_id FROM dim_asset WHERE site_id IS NOT NULL AND site_id <> asset_id";
        using var reader = command.ExecuteReader();
        var sites = new Dictionary<long, long>();
        while (reader.Read())
        {
            sites[reader.GetInt64(0)] = reader.GetInt64(1);
        }

        return sites;
    }

    /// <summary>The feature rows of each cut-off, read once with the outcome over the longest horizon and relabelled for shorter ones.</summary>
    private sealed class FeatureCache(DuckDBConnection warehouse, int outcomeHorizon, int keepRows)
    {
        private readonly Dictionary<DateTime, List<FeatureRow>> _rows = [];
        private long _kept;

        public List<FeatureRow> At(DateTime cutoff, int horizonDays)
        {
            if (!_rows.TryGetValue(cutoff, out var rows))
            {
                rows = ForecastFeatures.At(warehouse, cutoff, outcomeHorizon);
                if (_kept + rows.Count <= keepRows)
                {
                    _rows[cutoff] = rows;
                    _kept += rows.Count;
                }
            }

            return horizonDays == outcomeHorizon ? rows : [.. rows.Select(r => r.Within(horizonDays))];
        }
    }

    /// <summary>The first and last moments of the history and its failures with a failure code.</summary>
    internal static (DateTime? From, DateTime? To, long Failures) History(DuckDBConnection warehouse)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = """
            SELECT min(created_at), max(created_at), count(*) FILTER (WHERE work_type = 'corrective' AND failure_code IS NOT NULL AND asset_id IS NOT NULL)
            FROM (SELECT created_at, work_type, failure_code, asset_id FROM fact_work_order
                  UNION ALL SELECT created_at, work_type, failure_code, asset_id FROM open_work_order)
            """;
        using var reader = command.ExecuteReader();
        reader.Read();
        return reader.IsDBNull(0) ? (null, null, 0) : (reader.GetDateTime(0), reader.GetDateTime(1), reader.GetInt64(2));
    }

    /// <summary>Whether the history from <paramref name="from"/> to <paramref name="to"/> spans <see cref="MinMonths"/> calendar months.</summary>
    internal static bool SpansMinMonths(DateTime? from, DateTime? to) =>
        from is not null && to is not null && from.Value.Date.AddMonths(MinMonths) <= to.Value.Date.AddDays(1);

    /// <summary>
    /// A short history (under two years) could not hold the requested warm-up and held-back months and still leave cut-offs to
    /// train on: the warm-up is cut to a sixth of the history and the held-back months to a quarter of it (at least
    /// one), so 9 months train on about 5 and test on 2. Longer histories keep the request as it is.
    /// </summary>
    internal static TrainingRequest FitToHistory(TrainingRequest request, DateTime from, DateTime to)
    {
        var days = (to - from).TotalDays;
        return request with
        {
            WarmupDays = Math.Min(request.WarmupDays, (int)(days / 6)),
            HeldBackMonths = Math.Min(request.HeldBackMonths, Math.Max(1, (int)Math.Round(days / 30.44 / 4))),
        };
    }

    internal static List<DateTime> Cutoffs(DateTime from, DateTime to, TrainingRequest request)
    {
        var cutoffs = new List<DateTime>();
        for (var cutoff = from.Date.AddDays(request.WarmupDays); cutoff.AddDays(request.HorizonDays) <= to; cutoff = cutoff.AddDays(request.CutoffStepDays))
        {
            cutoffs.Add(cutoff);
        }

        return cutoffs;
    }

    /// <summary>A fixed pseudo-random choice per (asset, cut-off, row): the same rows on every run.</summary>
    private static bool Sampled(long assetId, int cutoff, int row, double rate)
    {
        if (rate >= 1)
        {
            return true;
        }

        var x = unchecked(((ulong)assetId * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)cutoff * 0xC2B2AE3D27D4EB4FUL) ^ ((ulong)(uint)row * 0x165667B19E3779F9UL));
        x ^= x >> 31;
        x = unchecked(x * 0xBF58476D1CE4E5B9UL);
        x ^= x >> 29;
        return (x >> 11) / (double)(1UL << 53) < rate;
    }

    private static TrainingResult? Check(TrainingRequest request) =>
        request.HorizonDays is < 1 or > 365 ? TrainingResult.Refused("horizonDays", "forecast.days_range", 1, 365)
        : request.CutoffStepDays is < 1 or > 90 ? TrainingResult.Refused("cutoffStepDays", "forecast.days_range", 1, 90)
        : request.HeldBackMonths is < 1 or > 24 ? TrainingResult.Refused("heldBackMonths", "forecast.months_range", 1, 24)
        : request.WarmupDays is < 0 or > 730 ? TrainingResult.Refused("warmupDays", "forecast.days_range", 0, 730)
        : request.ProposalShare is <= 0 or > 1 || double.IsNaN(request.ProposalShare) ? TrainingResult.Refused("proposalShare", "forecast.share")
        : request.MaxExamples is < 10_000 or > 50_000_000 ? TrainingResult.Refused("maxExamples", "forecast.max_examples")
        : null;

    /// <summary>Mean negative log-likelihood in nats, probabilities kept off 0 and 1.</summary>
    internal static double LogLoss(IReadOnlyList<FeatureRow> rows, IReadOnlyList<float> probabilities) =>
        rows.Select((row, i) => Math.Clamp(probabilities[i], 1e-7, 1 - 1e-7)).Zip(rows, (p, row) => -Math.Log(row.Label ? p : 1 - p)).Average();

    private static double Finite(double value) => double.IsFinite(value) ? value : 0;

    private static List<CalibrationBin> Calibration(IReadOnlyList<FeatureRow> rows, IReadOnlyList<float> probabilities)
    {
        const int Bins = 10;
        return rows.Select((row, i) => (row.Label, P: (double)probabilities[i]))
            .GroupBy(x => Math.Min((int)(x.P * Bins), Bins - 1))
            .OrderBy(g => g.Key)
            .Select(g => new CalibrationBin(g.Key, g.Average(x => x.P), g.Average(x => x.Label ? 1.0 : 0.0), g.LongCount()))
            .ToList();
    }

    internal static IEnumerable<Example> Examples(IEnumerable<FeatureRow> rows) =>
        rows.Select(r => new Example { Features = r.Features, Label = r.Label });

    internal sealed class Example
    {
        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    internal sealed class Scored
    {
        public float Probability { get; set; }

        [VectorType(FeatureCount)]
        public float[] FeatureContributions { get; set; } = [];
    }

    /// <summary>The length of <see cref="ForecastFeatures.Names"/>, as the constant the vector attributes need.</summary>
    internal const int FeatureCount = 32;
}
