using DuckDB.NET.Data;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ingest;

/// <summary>How the hosted ingest runs, bound from the "Ingest" section: every 5 minutes, and at once on start.</summary>
public sealed class IngestOptions : JobOptions
{
    public const string Section = "Ingest";

    public IngestOptions() => Interval = TimeSpan.FromMinutes(5);
}

public sealed record IngestStatus(
    bool Running,
    DateTime? LastStartedAt,
    IngestResult? LastResult,
    string? LastError,
    DateTime? NextRunAt,
    TimeSpan? Lag,
    string WarehousePath,
    WarehouseRole Role = WarehouseRole.Owner,
    WarehouseReplicaState? Replica = null);

/// <summary>
/// Told after each ingest run (in a reader process, after each refresh from the owner's snapshot), in the run's job:
/// what a page will ask of the new figures can be asked now, before anyone opens it. A failure is logged and leaves
/// the run as it is.
/// </summary>
public interface IWarehouseRefreshed
{
    Task RefreshedAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The dashboard's ingest: the only writer of the warehouse file while the app runs (DuckDB allows one writing
/// process per file), on a schedule and on demand through the <see cref="JobRunner"/>. In a reader process
/// (Warehouse:Role = reader) each run takes the owner's published snapshot instead (<see cref="WarehouseReplica"/>).
/// </summary>
public sealed partial class IngestService(
    WarehouseIngest ingest,
    WarehouseReplica replica,
    IOptions<WarehouseOptions> warehouseOptions,
    IOptions<IngestOptions> options,
    IEnumerable<IWarehouseRefreshed> listeners,
    TimeProvider clock,
    ILogger<IngestService> logger) : BackgroundService
{
    private readonly JobRunner _runner = new("ingest", clock, logger);
    private DuckDBConnection? _warehouse;
    private volatile IngestResult? _lastResult;

    public IngestStatus Status => StatusAfter(_runner.Status);

    /// <summary>Asks for a run now; the task completes with the status after that run.</summary>
    public async Task<IngestStatus> RequestRunAsync(CancellationToken cancellationToken) =>
        StatusAfter(await _runner.RequestRunAsync(cancellationToken));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _runner.RunAsync(options.Value.Schedule, RunOnceAsync, stoppingToken);

    private async Task RunOnceAsync(CancellationToken stoppingToken)
    {
        if (warehouseOptions.Value.Role == WarehouseRole.Reader)
        {
            await replica.RefreshAsync(stoppingToken);
        }
        else
        {
            // A failed run rolled back: the warehouse is as it was, and the next run takes what is missing.
            _warehouse ??= WarehouseFile.Open(warehouseOptions.Value.Path);
            _lastResult = await ingest.RunAsync(_warehouse, null, stoppingToken);
            WarehouseSnapshot.Publish(_warehouse, warehouseOptions.Value.Path);
        }

        foreach (var listener in listeners)
        {
            try
            {
                await listener.RefreshedAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                ListenerFailed(logger, listener.GetType().Name, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "After the warehouse's refresh, {Listener} failed; the run stands")]
    private static partial void ListenerFailed(ILogger logger, string listener, Exception exception);

    private IngestStatus StatusAfter(JobStatus job)
    {
        var result = _lastResult;
        var lag = result is null ? null : clock.GetUtcNow().UtcDateTime - job.LastStartedAt;
        var settings = warehouseOptions.Value;
        return settings.Role == WarehouseRole.Reader
            ? new IngestStatus(job.Running, job.LastStartedAt, null, job.LastError, job.NextRunAt, clock.GetUtcNow().UtcDateTime - replica.State?.RunFinishedAt,
                replica.State?.File ?? settings.Path, settings.Role, replica.State)
            : new IngestStatus(job.Running, job.LastStartedAt, result, job.LastError, job.NextRunAt, lag, settings.Path, settings.Role);
    }

    public override void Dispose()
    {
        _warehouse?.Dispose();
        base.Dispose();
    }
}
