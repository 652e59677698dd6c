using System.ComponentModel.DataAnnotations;
using DuckDB.NET.Data;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;

namespace WorkOrders.Ingest;

/// <summary>How the hosted ingest runs, bound from the "Ingest" section.</summary>
public sealed class IngestOptions
{
    public const string Section = "Ingest";

    /// <summary>Time between scheduled runs.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Run once as soon as the app starts.</summary>
    public bool RunOnStart { get; set; } = true;
}

public sealed record IngestStatus(
    bool Running,
    DateTime? LastStartedAt,
    IngestResult? LastResult,
    string? LastError,
    DateTime? NextRunAt,
    TimeSpan? Lag,
    string WarehousePath);

/// <summary>
/// The dashboard's ingest: the only writer of the warehouse file while the app runs (DuckDB allows one writing
/// process per file), on a schedule and on demand. Runs never overlap; a request during a run is served by the next.
/// </summary>
public sealed partial class IngestService(
    WarehouseIngest ingest,
    IOptions<WarehouseOptions> warehouseOptions,
    IOptions<IngestOptions> options,
    TimeProvider clock,
    ILogger<IngestService> logger) : BackgroundService
{
    private readonly SemaphoreSlim _requested = new(0, 1);
    private readonly Lock _gate = new();
    private TaskCompletionSource<IngestStatus> _nextRun = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DuckDBConnection? _warehouse;
    private bool _running;
    private DateTime? _lastStartedAt;
    private IngestResult? _lastResult;
    private string? _lastError;
    private DateTime? _nextRunAt;

    public IngestStatus Status
    {
        get
        {
            lock (_gate)
            {
                var lag = _lastResult is null ? (TimeSpan?)null : clock.GetUtcNow().UtcDateTime - _lastStartedAt;
                return new IngestStatus(_running, _lastStartedAt, _lastResult, _lastError, _nextRunAt, lag, warehouseOptions.Value.Path);
            }
        }
    }

    /// <summary>Asks for a run now; the task completes with the status after that run.</summary>
    public Task<IngestStatus> RequestRunAsync()
    {
        Task<IngestStatus> next;
        lock (_gate)
        {
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
        if (options.Value.RunOnStart)
        {
            await RunOnceAsync(stoppingToken);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            lock (_gate)
            {
                _nextRunAt = clock.GetUtcNow().UtcDateTime + options.Value.Interval;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var timer = Task.Delay(options.Value.Interval, clock, wait.Token);
            var request = _requested.WaitAsync(wait.Token);
            await Task.WhenAny(timer, request);
            await wait.CancelAsync();
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            await RunOnceAsync(stoppingToken);
        }
    }

    private async Task RunOnceAsync(CancellationToken stoppingToken)
    {
        TaskCompletionSource<IngestStatus> finished;
        lock (_gate)
        {
            _running = true;
            _lastStartedAt = clock.GetUtcNow().UtcDateTime;
            finished = _nextRun;
            _nextRun = new TaskCompletionSource<IngestStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        try
        {
            _warehouse ??= WarehouseFile.Open(warehouseOptions.Value.Path);
            var result = await ingest.RunAsync(_warehouse, null, stoppingToken);
            WarehouseSnapshot.Publish(_warehouse, WarehouseSnapshot.PathFor(warehouseOptions.Value.Path));
            lock (_gate)
            {
                _lastResult = result;
                _lastError = null;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The run rolled back; the warehouse is as it was. The next run tries again.
            LogFailed(e);
            lock (_gate)
            {
                _lastError = e.Message;
            }
        }
        finally
        {
            lock (_gate)
            {
                _running = false;
            }

            finished.TrySetResult(Status);
        }
    }

    public override void Dispose()
    {
        _warehouse?.Dispose();
        _requested.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Ingest run failed")]
    private partial void LogFailed(Exception exception);
}
