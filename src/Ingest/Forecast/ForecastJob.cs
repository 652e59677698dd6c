using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Forecasting;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Forecasts;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ingest.Forecast;

/// <summary>
/// How the forecast job runs, bound from the "ForecastJob" section: scoring every hour, each run publishing fresh
/// proposals; the first run waits 20 seconds so that the start-up ingest comes first.
/// </summary>
public sealed class ForecastJobOptions : JobOptions
{
    public const string Section = "ForecastJob";

    public ForecastJobOptions() => StartDelay = TimeSpan.FromSeconds(20);

    /// <summary>A model older than this is trained again before scoring.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan RetrainAfter { get; set; } = TimeSpan.FromDays(7);
}

public sealed record ForecastJobStatus(
    bool Running,
    string? Stage,
    int Done,
    int Total,
    DateTime? LastStartedAt,
    DateTime? LastFinishedAt,
    ForecastModelInfo? TrainedModel,
    ForecastRefusal? Refusal,
    int? Scored,
    PublishResult? Published,
    string? LastError,
    DateTime? NextRunAt);

/// <summary>
/// The forecast job of the process that owns the warehouse (the dashboard): trains a model version when there is none or it is old (or on request), scores every
/// asset with the newest good one and publishes the proposals to PostgreSQL for planners, through the <see cref="JobRunner"/>.
/// </summary>
public sealed partial class ForecastJob(
    Forecasts forecasts,
    Proposals proposals,
    GeneratorTruth truth,
    IOptions<ForecastJobOptions> options,
    TimeProvider clock,
    ILogger<ForecastJob> logger) : BackgroundService
{
    // Until the first ingest there is nothing to train on: the next run looks again.
    private readonly JobRunner _runner = new("forecast", clock, logger, e => e is WarehouseEmptyException);
    private readonly Lock _gate = new();
    private bool _retrainRequested;
    private Outcome _outcome = new(null, 0, 0, null, null, null, null);

    public ForecastJobStatus Status => StatusAfter(_runner.Status);

    /// <summary>Asks for a run now (training first when <paramref name="retrain"/>); completes with the status after it.</summary>
    public async Task<ForecastJobStatus> RequestRunAsync(bool retrain, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _retrainRequested |= retrain;
        }

        return StatusAfter(await _runner.RequestRunAsync(cancellationToken));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _runner.RunAsync(
        options.Value.Schedule,
        // Training and scoring are CPU work in DuckDB and ML.NET: off the host's threads.
        ct => Task.Run(() => RunOnceAsync(ct), ct),
        stoppingToken);

    private async Task RunOnceAsync(CancellationToken stoppingToken)
    {
        bool retrain;
        lock (_gate)
        {
            retrain = _retrainRequested;
            _retrainRequested = false;
            _outcome = _outcome with { Stage = "starting", Done = 0, Total = 0, Refusal = null };
        }

        try
        {
            var newest = forecasts.Models().FirstOrDefault(m => m.Good);
            if (retrain || newest is null || clock.GetUtcNow().UtcDateTime - newest.TrainedAt > options.Value.RetrainAfter)
            {
                var degrading = await truth.DegradingAssetsAsync(stoppingToken);
                var trained = forecasts.Train(
                    degrading.Count == 0 ? null : degrading,
                    new Progress(p => Update(s => s with { Stage = p.Stage, Done = p.Done, Total = p.Total })),
                    stoppingToken);
                Update(s => s with { TrainedModel = trained.Model, Refusal = trained.Refusal });
                if (trained.Refusal is { } refusal)
                {
                    LogRefused(refusal.Field, new Refusal(refusal.Code, refusal.Args).ToString());
                }
                else
                {
                    LogTrained(trained.Model!.Version, trained.Model.Duration);
                }
            }

            Update(s => s with { Stage = "scoring", Done = 0, Total = 0 });
            var scored = forecasts.Score(await proposals.ThresholdAsync(stoppingToken), stoppingToken);
            if (scored.Refusal is { } none)
            {
                Update(s => s with { Refusal = s.Refusal ?? none });
                return;
            }

            var published = await proposals.PublishAsync([.. scored.Proposals.Select(Candidate(scored.Model!))], stoppingToken);
            Update(s => s with { Scored = scored.Scored, Published = published });
            LogPublished(scored.Scored, published.Created, published.Updated, published.Expired);
        }
        finally
        {
            Update(s => s with { Stage = null });
        }
    }

    /// <summary>A scored asset and mode as a proposal candidate for PostgreSQL.</summary>
    public static Func<RiskProposal, ProposalCandidate> Candidate(ForecastModelInfo model) => p => new(
        p.AssetId, p.FaultMode, p.Probability, p.WindowFrom, p.WindowTo, p.Reasons, p.SuggestedTemplateId, p.EstimatedHours, p.EvidenceKey,
        model.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private void Update(Func<Outcome, Outcome> change)
    {
        lock (_gate)
        {
            _outcome = change(_outcome);
        }
    }

    private ForecastJobStatus StatusAfter(JobStatus job)
    {
        Outcome o;
        lock (_gate)
        {
            o = _outcome;
        }

        return new ForecastJobStatus(
            job.Running, o.Stage, o.Done, o.Total, job.LastStartedAt, job.LastFinishedAt, o.TrainedModel, o.Refusal, o.Scored, o.Published, job.LastError, job.NextRunAt);
    }

    /// <summary>What the runs found so far: the stage of the one going on, and the last training and publishing.</summary>
    private sealed record Outcome(
        string? Stage, int Done, int Total, ForecastModelInfo? TrainedModel, ForecastRefusal? Refusal, int? Scored, PublishResult? Published);

    // Reports progress as it happens (Progress<T> would post it later, out of order).
    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Forecast model version {Version} trained in {Duration}")]
    private partial void LogTrained(long version, TimeSpan duration);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forecast training refused ({Field}): {Reason}")]
    private partial void LogRefused(string field, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Forecast scored {Scored} asset modes: {Created} new proposals, {Updated} refreshed, {Expired} expired")]
    private partial void LogPublished(int scored, int created, int updated, int expired);
}
