using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Logging;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ticketing.Jobs;

/// <summary>
/// When a job runs: every <see cref="Interval"/> after the end of the run before. The first run comes
/// <see cref="StartDelay"/> after start (at once when zero), or a whole interval after start when
/// <see cref="RunOnStart"/> is off.
/// </summary>
public sealed record JobSchedule(TimeSpan Interval, bool RunOnStart = true, TimeSpan StartDelay = default)
{
    internal TimeSpan FirstWait => RunOnStart ? StartDelay : Interval;
}

/// <summary>
/// The schedule settings of a job whose options section sets them; a job's options class derives from this and sets
/// its own default interval.
/// </summary>
public abstract class JobOptions
{
    /// <summary>Time between the end of one run and the start of the next.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Run once soon after start (after <see cref="StartDelay"/>) instead of a whole interval after it.</summary>
    public bool RunOnStart { get; set; } = true;

    /// <summary>How long the first run waits after start when <see cref="RunOnStart"/> is on.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StartDelay { get; set; }

    public JobSchedule Schedule => new(Interval, RunOnStart, StartDelay);
}

/// <summary>
/// Where a job stands. <see cref="LastError"/> is the failure of the last finished run (null when it succeeded);
/// <see cref="NextRunAt"/> is the next scheduled run, unknown while one runs.
/// </summary>
public sealed record JobStatus(bool Running, DateTime? LastStartedAt, DateTime? LastFinishedAt, string? LastError, DateTime? NextRunAt)
{
    public static JobStatus NotStarted { get; } = new(false, null, null, null, null);
}

/// <summary>
/// Runs one background job on a schedule and on demand, never two runs at a time. A request while the job waits starts
/// a run at once; a request during a run is served by the run after it, and requests before a run starts share it.
/// A failed run is logged and recorded in the status, and the schedule goes on: the next run tries again.
/// The host's <see cref="Microsoft.Extensions.Hosting.BackgroundService"/> calls <see cref="RunAsync"/>.
/// </summary>
public sealed partial class JobRunner
{
    private readonly string _name;
    private readonly Func<Exception, bool> _expected;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private TaskCompletionSource<JobStatus> _nextRun = NewRun();
    private TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private JobStatus _status = JobStatus.NotStarted;

    /// <param name="name">The job's name in the log.</param>
    /// <param name="clock">Drives the schedule, so tests move it.</param>
    /// <param name="logger">The job's logger.</param>
    /// <param name="expected">
    /// Failures the job expects now and then (a database restart, nothing to work on yet): logged as a warning without
    /// the stack. Any other failure is logged as an error.
    /// </param>
    public JobRunner(string name, TimeProvider clock, ILogger logger, Func<Exception, bool>? expected = null)
    {
        _name = name;
        _clock = clock;
        _logger = logger;
        _expected = expected ?? (_ => false);
    }

    public JobStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>Asks for a run now; the task completes with the status after that run.</summary>
    public Task<JobStatus> RequestRunAsync(CancellationToken cancellationToken)
    {
        Task<JobStatus> next;
        lock (_gate)
        {
            next = _nextRun.Task;
        }

        RequestRun();
        return next.WaitAsync(cancellationToken);
    }

    /// <summary>Asks for a run now without waiting for it, as a signal that there is work does.</summary>
    public void RequestRun()
    {
        lock (_gate)
        {
            _requested.TrySetResult();
        }
    }

    /// <summary>Runs <paramref name="run"/> as <paramref name="schedule"/> says and when asked, until <paramref name="stoppingToken"/> is cancelled.</summary>
    public async Task RunAsync(JobSchedule schedule, Func<CancellationToken, Task> run, CancellationToken stoppingToken)
    {
        var first = schedule.FirstWait;
        using var timer = new PeriodicTimer(first > TimeSpan.Zero ? first : schedule.Interval, _clock);
        if (first > TimeSpan.Zero)
        {
            lock (_gate)
            {
                _status = _status with { NextRunAt = Now + first };
            }
        }
        else
        {
            RequestRun();
        }

        try
        {
            var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
            while (true)
            {
                await Task.WhenAny(tick, Requested());
                stoppingToken.ThrowIfCancellationRequested();
                if (tick.IsCompleted)
                {
                    if (!await tick)
                    {
                        return;
                    }

                    tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
                }

                tick = await RunOnceAsync(run, timer, schedule.Interval, tick, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One run, then the timer restarted from its end; returns the wait for the next tick.</summary>
    private async Task<Task<bool>> RunOnceAsync(Func<CancellationToken, Task> run, PeriodicTimer timer, TimeSpan interval, Task<bool> tick, CancellationToken stoppingToken)
    {
        TaskCompletionSource<JobStatus> finished;
        lock (_gate)
        {
            // Requests until now are served by this run, later ones by the run after it.
            finished = _nextRun;
            _nextRun = NewRun();
            if (_requested.Task.IsCompleted)
            {
                _requested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _status = _status with { Running = true, LastStartedAt = Now, NextRunAt = null };
        }

        string? error = null;
        try
        {
            LogStarted(_name);
            // A run is built to be run again, so a transient database failure is retried within the run (a few times,
            // over seconds) before the run counts as failed and waits for the next one.
            await DatabaseRetry.Pipeline.ExecuteAsync(static async (run, token) => await run(token), run, stoppingToken);
            LogFinished(_name);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            finished.TrySetCanceled(stoppingToken);
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever the run left undone is left to the next run; the job keeps its schedule.
            error = e.Message;
            if (_expected(e))
            {
                LogFailedAsExpected(_name, e.Message);
            }
            else
            {
                LogFailed(e, _name);
            }
        }

        timer.Period = interval;
        while (tick.IsCompletedSuccessfully && tick.Result)
        {
            // A tick that fell during the run is the run just made; the timer now counts from its end.
            tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        }

        JobStatus status;
        lock (_gate)
        {
            var now = Now;
            status = _status = _status with { Running = false, LastFinishedAt = now, LastError = error, NextRunAt = now + interval };
        }

        finished.TrySetResult(status);
        return tick;
    }

    private DateTime Now => _clock.GetUtcNow().UtcDateTime;

    private static TaskCompletionSource<JobStatus> NewRun() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task Requested()
    {
        lock (_gate)
        {
            return _requested.Task;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Job} started")]
    private partial void LogStarted(string job);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Job} finished")]
    private partial void LogFinished(string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} did not finish: {Reason}; the next run tries again")]
    private partial void LogFailedAsExpected(string job, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job} failed; the next run tries again")]
    private partial void LogFailed(Exception exception, string job);
}
