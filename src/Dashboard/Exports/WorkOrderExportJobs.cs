using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Exports;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Exports;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Dashboard.Exports;

/// <summary>What a work-order export job lists: the work orders behind a KPI under a filter (the manager's department already applied).</summary>
public sealed record WorkOrderExportParameters(string Kpi, KpiFilter Filter);

/// <summary>Starts exports of the list behind a KPI as jobs, for the page and the API alike.</summary>
public sealed class WorkOrderExportStarter(WarehouseAnalytics analytics, ExportJobs jobs, ExportWorker worker)
{
    public const string Kind = "work_orders";

    public static IReadOnlyList<string> Formats { get; } = ["xlsx", "csv", "parquet"];

    public int Threshold => jobs.Options.JobThresholdRows;

    /// <summary>How many rows the file would hold (at most the export's maximum).</summary>
    public Task<long> CountAsync(KpiFilter filter, string kpi, CancellationToken cancellationToken) =>
        analytics.CountWorkOrderLinesAsync(filter, kpi, WorkOrderExport.MaxRows, cancellationToken);

    /// <summary>Queues the export and wakes this instance's worker; the job says where it stands.</summary>
    public Task<Outcome<ExportJob>> StartAsync(Actor actor, KpiFilter filter, string kpi, string format, CancellationToken cancellationToken) =>
        StartAsync(actor, filter, kpi, format, null, cancellationToken);

    /// <summary>As the other overload; a retry with the same <paramref name="idempotencyKey"/> gets the job the first request started.</summary>
    public async Task<Outcome<ExportJob>> StartAsync(Actor actor, KpiFilter filter, string kpi, string format, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (!Formats.Contains(format))
        {
            return Failure.Invalid("format", "export.format");
        }

        if (!DrillDown.Kpis.Contains(kpi))
        {
            return Failure.Invalid("kpi", "field.one_of", string.Join(", ", DrillDown.Kpis));
        }

        var rows = await CountAsync(filter, kpi, cancellationToken);
        var title = $"Work orders behind the KPI '{kpi}'";
        var job = await jobs.StartAsync(
            actor,
            new ExportJobRequest(
                Kind, format, JsonSerializer.Serialize(new WorkOrderExportParameters(kpi, filter)), $"{title}, {filter.Describe()}",
                $"work-orders-{kpi}-{filter.From:yyyy-MM-dd}.{format}", rows),
            idempotencyKey,
            cancellationToken);
        worker.Wake();
        return job;
    }
}

/// <summary>
/// Runs export jobs: claims what the fair share allows (see <see cref="ExportJobs.ClaimAsync"/>), writes each file into
/// the export folder as the rows stream from the warehouse, reports progress and renews the lease as it goes, and marks
/// the job ready (which notifies its owner) or failed. Each instance runs one; several instances share the queue.
/// </summary>
public sealed partial class ExportWorker(
    ExportJobs jobs, WarehouseAnalytics analytics, TimeProvider clock, IOptions<ExportOptions> options, ILogger<ExportWorker> logger) : BackgroundService
{
    private readonly JobRunner _runner = new("Export worker", clock, logger, e => e is Npgsql.NpgsqlException or TimeoutException);
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private CancellationToken _stopping;

    /// <summary>This worker's name in the jobs it claims: unique per worker, also among workers of one process.</summary>
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>Looks for queued jobs now (a job was started, or one finished and freed its slot).</summary>
    public void Wake() => _runner.RequestRun();

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await Task.WhenAll(_running.Values).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        return _runner.RunAsync(new JobSchedule(options.Value.PollInterval), ClaimAllAsync, stoppingToken);
    }

    /// <summary>Claims jobs until none may start; each runs on its own, and wakes the worker when it ends.</summary>
    private async Task ClaimAllAsync(CancellationToken cancellationToken)
    {
        while (_running.Count < options.Value.MaxRunning && await jobs.ClaimAsync(Name, cancellationToken) is { } job)
        {
            LogClaimed(job.Id, job.Format, job.RowsTotal, job.Slot);
            _running[job.Id] = Task.Run(() => RunAsync(job, _stopping), CancellationToken.None);
        }
    }

    private async Task RunAsync(ClaimedExport job, CancellationToken stoppingToken)
    {
        var folder = options.Value.FileDirectory;
        var path = Path.Combine(folder, $"{job.Id}-{Guid.NewGuid():N}.{job.Format}");
        var partial = path + ".part";
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var written = new RowCount();
        var reporting = ReportAsync(job, written, lost);
        try
        {
            Directory.CreateDirectory(folder);
            var parameters = JsonSerializer.Deserialize<WorkOrderExportParameters>(job.Parameters)
                ?? throw new InvalidOperationException($"Export job {job.Id} has no parameters.");
            var rows = await WriteAsync(job, parameters, partial, written, lost.Token);
            await lost.CancelAsync();
            await reporting;
            File.Move(partial, path);
            if (!await jobs.CompleteAsync(job.Id, Name, path, rows, job.Title, CancellationToken.None))
            {
                File.Delete(path);
            }
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            // Stopping, or the job is no longer this worker's. When stopping, the job goes back to the queue at once
            // (if that fails too, its lease brings it back later).
            Delete(partial);
            if (stoppingToken.IsCancellationRequested)
            {
                await ReleaseAsync(job);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailed(e, job.Id);
            Delete(partial);
            await lost.CancelAsync();
            await reporting;
            await jobs.FailAsync(job.Id, Name, e.Message, job.Title, CancellationToken.None);
        }
        finally
        {
            _running.TryRemove(job.Id, out _);
            Wake();
        }
    }

    private async Task<long> WriteAsync(ClaimedExport job, WorkOrderExportParameters parameters, string path, RowCount written, CancellationToken cancellationToken)
    {
        var (kpi, filter) = (parameters.Kpi, parameters.Filter);
        if (job.Format == "parquet")
        {
            // Progress comes slice by slice as DuckDB writes them (the rows do not pass through here).
            var rows = await analytics.WriteWorkOrderParquetAsync(filter, kpi, WorkOrderExport.MaxRows, path, written.Set, cancellationToken);
            written.Set(rows);
            return rows;
        }

        using var lines = await analytics.WorkOrderLinesAsync(filter, kpi, WorkOrderExport.MaxRows, cancellationToken);
        var counted = written.Count(lines.Rows);
        if (job.Format == "xlsx")
        {
            return await Task.Run(
                () =>
                {
                    using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024);
                    return WorkOrderExport.WriteWorkbook(file, $"Work orders behind the KPI '{kpi}'", filter.Describe(), counted, clock.GetUtcNow().UtcDateTime);
                },
                cancellationToken);
        }

        await using (var writer = new StreamWriter(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true), new UTF8Encoding(true)))
        {
            await WorkOrderExport.WriteCsvAsync(writer, counted, cancellationToken);
        }

        return written.Value;
    }

    /// <summary>Every progress interval: the rows written so far, which renews the lease; stops the writing if the job is no longer this worker's.</summary>
    private async Task ReportAsync(ClaimedExport job, RowCount written, CancellationTokenSource lost)
    {
        try
        {
            using var timer = new PeriodicTimer(options.Value.ProgressInterval, clock);
            while (await timer.WaitForNextTickAsync(lost.Token))
            {
                if (!await jobs.ReportAsync(job.Id, Name, written.Value, lost.Token))
                {
                    await lost.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            // A missed report is made up by the next one; the lease is long enough for several.
            LogReportFailed(job.Id, e.Message);
        }
    }

    private async Task ReleaseAsync(ClaimedExport job)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await jobs.ReleaseAsync(job.Id, Name, timeout.Token);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
        {
            LogReportFailed(job.Id, e.Message);
        }
    }

    private static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Rows written so far, read by the reporting loop while the writer counts.</summary>
    private sealed class RowCount
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Set(long value) => Interlocked.Exchange(ref _value, value);

        public IEnumerable<T> Count<T>(IEnumerable<T> rows)
        {
            foreach (var row in rows)
            {
                yield return row;
                Interlocked.Increment(ref _value);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Export job {Id} claimed: {Format}, {Rows} rows, slot {Slot}")]
    private partial void LogClaimed(long id, string format, long rows, int slot);

    [LoggerMessage(Level = LogLevel.Error, Message = "Export job {Id} failed")]
    private partial void LogFailed(Exception exception, long id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Export job {Id} could not report its progress: {Reason}")]
    private partial void LogReportFailed(long id, string reason);
}
