using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Forecasting;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Forecasts;

namespace WorkOrders.Dashboard.Forecasting;

/// <summary>How the forecast job runs, bound from the "ForecastJob" section.</summary>
public sealed class ForecastJobOptions
{
    public const string Section = "ForecastJob";

    /// <summary>Time between scoring runs; each publishes fresh proposals.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A model older than this is trained again before scoring.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan RetrainAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Wait this long after start before the first run, so the start-up ingest comes first.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StartDelay { get; set; } = TimeSpan.FromSeconds(20);

    public bool RunOnStart { get; set; } = true;
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
/// The dashboard's forecast job: trains a model version when there is none or it is old (or on request), scores every
/// asset with the newest good one and publishes the proposals to PostgreSQL for planners. Runs never overlap.
/// </summary>
public sealed partial class ForecastJob(
    Forecasts forecasts,
    Proposals proposals,
    GeneratorTruth truth,
    IOptions<ForecastJobOptions> options,
    TimeProvider clock,
    ILogger<ForecastJob> logger) : BackgroundService
{
    private readonly SemaphoreSlim _requested = new(0, 1);
    private readonly Lock _gate = new();
    private TaskCompletionSource<ForecastJobStatus> _nextRun = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _retrainRequested;
    private ForecastJobStatus _status = new(false, null, 0, 0, null, null, null, null, null, null, null, null);

    public ForecastJobStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>Asks for a run now (training first when <paramref name="retrain"/>); completes with the status after it.</summary>
    public Task<ForecastJobStatus> RequestRunAsync(bool retrain)
    {
        Task<ForecastJobStatus> next;
        lock (_gate)
        {
            _retrainRequested |= retrain;
            next = _nextRun.Task;
        }

        if (_requested.CurrentCount == 0)
        {
            try
            {
                _requested.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another request got there first; the same run serves both.
            }
        }

        return next;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var first = options.Value.RunOnStart ? options.Value.StartDelay : options.Value.Interval;
        var wait = first;
        while (!stoppingToken.IsCancellationRequested)
        {
            Update(s => s with { NextRunAt = clock.GetUtcNow().UtcDateTime + wait });
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            await Task.WhenAny(Task.Delay(wait, clock, waiting.Token), _requested.WaitAsync(waiting.Token));
            await waiting.CancelAsync();
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            // Training and scoring are CPU work in DuckDB and ML.NET: off the host's threads.
            await Task.Run(() => RunOnceAsync(stoppingToken), stoppingToken);
            wait = options.Value.Interval;
        }
    }

    private async Task RunOnceAsync(CancellationToken stoppingToken)
    {
        TaskCompletionSource<ForecastJobStatus> finished;
        bool retrain;
        lock (_gate)
        {
            finished = _nextRun;
            _nextRun = new TaskCompletionSource<ForecastJobStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
            retrain = _retrainRequested;
            _retrainRequested = false;
            _status = _status with { Running = true, Stage = "starting", Done = 0, Total = 0, LastStartedAt = clock.GetUtcNow().UtcDateTime, LastError = null, Refusal = null };
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
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (WarehouseEmptyException e)
        {
            Update(s => s with { LastError = e.Message });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailed(e);
            Update(s => s with { LastError = e.Message });
        }
        finally
        {
            Update(s => s with { Running = false, Stage = null, LastFinishedAt = clock.GetUtcNow().UtcDateTime });
            finished.TrySetResult(Status);
        }
    }

    /// <summary>A scored asset and mode as a proposal candidate for PostgreSQL.</summary>
    public static Func<RiskProposal, ProposalCandidate> Candidate(ForecastModelInfo model) => p => new(
        p.AssetId, p.FaultMode, p.Probability, p.WindowFrom, p.WindowTo, p.Reasons, p.SuggestedTemplateId, p.EstimatedHours, p.EvidenceKey,
        model.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private void Update(Func<ForecastJobStatus, ForecastJobStatus> change)
    {
        lock (_gate)
        {
            _status = change(_status);
        }
    }

    public override void Dispose()
    {
        _requested.Dispose();
        base.Dispose();
    }

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

    [LoggerMessage(Level = LogLevel.Error, Message = "The forecast run failed")]
    private partial void LogFailed(Exception exception);
}
