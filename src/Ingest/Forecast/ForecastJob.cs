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

    /// <summary>A choice older than this is made again (every horizon trained and backtested) before scoring.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan RetrainAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>After a choice found no usable method, the wait before the next try; it doubles with each try that fails again.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest wait between two tries that find no usable method.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan MaxRetry { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Whether a run chooses again: on request, when there is no choice yet, when the usable one is older than
    /// <see cref="RetrainAfter"/>, or when the last found no usable method and its retry time has come.
    /// </summary>
    public bool DueToChoose(ForecastChoice? choice, DateTime now, DateTime? retryAt, bool requested) =>
        requested || choice is null || (choice.Usable ? now - choice.ChosenAt > RetrainAfter : now >= (retryAt ?? choice.ChosenAt + RetryAfter(1)));

    /// <summary>
    /// The wait after <paramref name="failedTries"/> tries in a row found no usable method: <see cref="FirstRetry"/>,
    /// doubled for each further one, at most <see cref="MaxRetry"/> (1 h, 2 h, 4 h, ... 1 day by default).
    /// </summary>
    public TimeSpan RetryAfter(int failedTries)
    {
        var wait = FirstRetry;
        for (var i = 1; i < failedTries && wait < MaxRetry; i++)
        {
            wait *= 2;
        }

        return wait > MaxRetry ? MaxRetry : wait;
    }
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
    DateTime? NextRunAt,
    ForecastChoice? Choice = null,
    DateTime? RetryTrainingAt = null);

/// <summary>
/// The forecast job of the process that owns the warehouse (the dashboard): chooses the horizon and method by backtest
/// (a model version per horizon, see <see cref="ForecastSelection"/>) when there is no choice or it is old (or on
/// request), then publishes the proposals of the chosen method (the model's, or a heuristic's that won) to PostgreSQL
/// for planners, through the <see cref="JobRunner"/>. When a choice finds no usable method, the job does not try again
/// every hour: it waits <see cref="ForecastJobOptions.RetryAfter"/> (1 h, 2 h, 4 h, ... at most 1 day), and its status says
/// why and until when. A warehouse reader (<c>Warehouse:Role = reader</c>) never runs it: its file is the owner's
/// snapshot, which brings the owner's choice and models, and the owner publishes the proposals for every dashboard.
/// </summary>
public sealed partial class ForecastJob(
    Forecasts forecasts,
    Proposals proposals,
    GeneratorTruth truth,
    IOptions<ForecastJobOptions> options,
    IOptions<WarehouseOptions> warehouse,
    TimeProvider clock,
    ILogger<ForecastJob> logger) : BackgroundService
{
    // Until the first ingest there is nothing to train on: the next run looks again.
    private readonly JobRunner _runner = new("forecast", clock, logger, e => e is WarehouseEmptyException);
    private readonly Lock _gate = new();
    private bool _retrainRequested;
    private int _failedTries;
    private DateTime? _retryAt;
    private Outcome _outcome = new(null, 0, 0, null, null, null, null);

    public ForecastJobStatus Status => StatusAfter(_runner.Status);

    /// <summary>Whether this process trains and publishes: only the warehouse's owner does.</summary>
    public bool Trains => warehouse.Value.Role == WarehouseRole.Owner;

    /// <summary>Asks for a run now (training first when <paramref name="retrain"/>); completes with the status after it.</summary>
    public async Task<ForecastJobStatus> RequestRunAsync(bool retrain, CancellationToken cancellationToken)
    {
        if (!Trains)
        {
            throw new InvalidOperationException("A warehouse reader does not train; ask the owner.");
        }

        lock (_gate)
        {
            _retrainRequested |= retrain;
        }

        return StatusAfter(await _runner.RequestRunAsync(cancellationToken));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => !Trains ? Task.CompletedTask : _runner.RunAsync(
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
            var now = clock.GetUtcNow().UtcDateTime;
            var choice = forecasts.Choice();
            if (choice is { Usable: false } && _failedTries == 0)
            {
                // A choice that found nothing, stored before this process started: count it as the first failed try.
                _failedTries = 1;
                _retryAt = choice.ChosenAt + options.Value.RetryAfter(1);
            }

            if (options.Value.DueToChoose(choice, now, _retryAt, retrain))
            {
                var degrading = await truth.DegradingAssetsAsync(stoppingToken);
                choice = forecasts.Choose(
                    degrading.Count == 0 ? null : degrading,
                    now,
                    new Progress(p => Update(s => s with { Stage = p.Stage, Done = p.Done, Total = p.Total })),
                    stoppingToken);
                var model = choice.ModelVersion is { } version ? forecasts.Models().FirstOrDefault(m => m.Version == version) : null;
                Update(s => s with { TrainedModel = model, Refusal = choice.Refusal });
                if (choice.Usable)
                {
                    _failedTries = 0;
                    _retryAt = null;
                    LogChosen(choice.Method!, choice.HorizonDays!.Value, choice.Precision!.Value, choice.MtbfPrecision);
                }
                else
                {
                    _failedTries++;
                    _retryAt = now + options.Value.RetryAfter(_failedTries);
                    LogRefused(choice.Refusal!.Field, new Refusal(choice.Refusal.Code, choice.Refusal.Args).ToString(), _retryAt.Value);
                }
            }

            Update(s => s with { Choice = choice, RetryAt = _retryAt, Refusal = choice?.Refusal ?? s.Refusal });
            if (choice is not { Usable: true })
            {
                return;
            }

            Update(s => s with { Stage = "scoring", Done = 0, Total = 0 });
            var scored = forecasts.ScoreChoice(await proposals.ThresholdAsync(stoppingToken), stoppingToken);
            if (scored.Refusal is { } none)
            {
                Update(s => s with { Refusal = s.Refusal ?? none });
                return;
            }

            var published = await proposals.PublishAsync(
                [.. scored.Proposals.Select(Candidate(scored))], applyThreshold: scored.Method == ForecastBacktest.Model, stoppingToken);
            Update(s => s with { Scored = scored.Scored, Published = published });
            LogPublished(scored.Method, scored.Scored, published.Created, published.Updated, published.Expired);
        }
        finally
        {
            Update(s => s with { Stage = null });
        }
    }

    /// <summary>A scored asset and mode as a proposal candidate for PostgreSQL, saying what made it (model version, or heuristic and horizon).</summary>
    public static Func<RiskProposal, ProposalCandidate> Candidate(ScoringResult scored) => p => new(
        p.AssetId, p.FaultMode, p.Probability, p.WindowFrom, p.WindowTo, p.Reasons, p.SuggestedTemplateId, p.EstimatedHours, p.EvidenceKey,
        scored.MadeBy);

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
            job.Running, o.Stage, o.Done, o.Total, job.LastStartedAt, job.LastFinishedAt, o.TrainedModel, o.Refusal, o.Scored, o.Published, job.LastError, job.NextRunAt,
            o.Choice, o.RetryAt);
    }

    /// <summary>What the runs found so far: the stage of the one going on, and the last training and publishing.</summary>
    private sealed record Outcome(
        string? Stage, int Done, int Total, ForecastModelInfo? TrainedModel, ForecastRefusal? Refusal, int? Scored, PublishResult? Published)
    {
        public ForecastChoice? Choice { get; init; }

        public DateTime? RetryAt { get; init; }
    }

    // Reports progress as it happens (Progress<T> would post it later, out of order).
    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Forecast chose {Method} at {Horizon} days by backtest: precision {Precision:P1} (last failure + MTBF {MtbfPrecision:P1})")]
    private partial void LogChosen(string method, int horizon, double precision, double? mtbfPrecision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forecast found no usable method ({Field}): {Reason}; next try at {RetryAt:u}")]
    private partial void LogRefused(string field, string reason, DateTime retryAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Forecast ({Method}) scored {Scored} asset modes: {Created} new proposals, {Updated} refreshed, {Expired} expired")]
    private partial void LogPublished(string method, int scored, int created, int updated, int expired);
}
