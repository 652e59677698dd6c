using System.ComponentModel.DataAnnotations;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>How the failure-risk model is trained, bound from the "Forecast" section.</summary>
public sealed class ForecastOptions
{
    public const string Section = "Forecast";

    /// <summary>How far ahead a failure counts: the label horizon and the window of a proposal.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "365.00:00:00")]
    public TimeSpan Horizon { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The time between two training cut-offs.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "90.00:00:00")]
    public TimeSpan CutoffStep { get; set; } = TimeSpan.FromDays(14);

    /// <summary>The latest stretch of history held back from training to measure the model and backtest it (whole months).</summary>
    [Range(typeof(TimeSpan), "30.00:00:00", "730.00:00:00")]
    public TimeSpan HeldBack { get; set; } = TimeSpan.FromDays(183);

    public int Seed { get; set; } = 1;

    /// <summary>The horizons tried when the horizon and method are chosen by backtest (null: 7, 14 and 30 days).</summary>
    public TimeSpan[]? Horizons { get; set; }

    /// <summary>The horizons tried, in whole days.</summary>
    public IReadOnlyList<int> HorizonDays() =>
        Horizons is { Length: > 0 } horizons ? [.. horizons.Select(h => (int)h.TotalDays)] : ForecastSelection.DefaultHorizons;

    public TrainingRequest Request(IReadOnlySet<long>? degradingAssets = null) => new(
        HorizonDays: (int)Horizon.TotalDays,
        CutoffStepDays: (int)CutoffStep.TotalDays,
        HeldBackMonths: Math.Max(1, (int)Math.Round(HeldBack.TotalDays / 30.44)),
        Seed: Seed,
        DegradingAssets: degradingAssets);
}

/// <summary>
/// What the dashboard calls for forecasts: each method opens a warehouse connection, does one thing and returns records.
/// Throws <see cref="WarehouseEmptyException"/> until the first ingest.
/// </summary>
public sealed class Forecasts(WarehouseReader reader, IOptions<ForecastOptions> options)
{
    /// <summary>Trains and stores a model version with the configured options (see <see cref="ForecastTraining"/>).</summary>
    public TrainingResult Train(IReadOnlySet<long>? degradingAssets, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) =>
        Run(w => ForecastTraining.Train(w, options.Value.Request(degradingAssets), progress, cancellationToken));

    /// <summary>Trains a version per configured horizon and chooses the horizon and method by backtest (see <see cref="ForecastSelection"/>).</summary>
    public ForecastChoice Choose(IReadOnlySet<long>? degradingAssets, DateTime now, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) =>
        Run(w => ForecastSelection.Run(w, options.Value.Request(degradingAssets), options.Value.HorizonDays(), now, progress, cancellationToken));

    /// <summary>The newest choice of horizon and method with every row it compared; null before the first.</summary>
    public ForecastChoice? Choice() => Run(w => new ForecastStore(w).NewestChoice());

    /// <summary>Proposals by the newest choice (see <see cref="RiskScoring.ScoreChoice"/>).</summary>
    public ScoringResult ScoreChoice(double threshold, CancellationToken cancellationToken) => Run(w => RiskScoring.ScoreChoice(w, threshold, cancellationToken));

    /// <summary>Proposals at or above the threshold from the newest good model (see <see cref="RiskScoring"/>).</summary>
    public ScoringResult Score(double threshold, CancellationToken cancellationToken) => Run(w => RiskScoring.Score(w, threshold, cancellationToken));

    public IReadOnlyList<ForecastModelInfo> Models() => Run(w => new ForecastStore(w).Models());

    public IReadOnlyList<BacktestRow> Backtest(long version) => Run(w => new ForecastStore(w).Backtest(version));

    public IReadOnlyList<CalibrationBin> Calibration(long version) => Run(w => new ForecastStore(w).Calibration(version));

    public IReadOnlyList<TrainingCutoff> Cutoffs(long version) => Run(w => new ForecastStore(w).Cutoffs(version));

    /// <summary>Weekly work orders per department for the coming weeks (see <see cref="VolumeForecast.Forecast"/>).</summary>
    public IReadOnlyList<VolumeWeek> Volume(int weeks = 8, double coverage = 0.8, double hoursPerTechnician = 40) =>
        Run(w => VolumeForecast.Forecast(w, weeks, coverage, hoursPerTechnician));

    private T Run<T>(Func<DuckDBConnection, T> work)
    {
        using var warehouse = reader.Open();
        return work(warehouse);
    }
}
