using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ticketing.Jobs;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The background job runner on a clock the tests move, without a host.</summary>
public sealed class JobRunnerTests : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));
    private readonly CancellationTokenSource _stop = new();
    private readonly List<DateTime> _starts = [];
    private readonly JobRunner _runner;
    private Task _running = Task.CompletedTask;
    private int _active;
    private int _mostActive;

    public JobRunnerTests() => _runner = new JobRunner("test", _clock, NullLogger.Instance, e => e is TimeoutException);

    /// <summary>What the next run does after it has counted itself; each run takes the next one.</summary>
    private Queue<Func<CancellationToken, Task>> Behaviours { get; } = new();

    private int Runs
    {
        get
        {
            lock (_starts)
            {
                return _starts.Count;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        _mostActive = Math.Max(_mostActive, Interlocked.Increment(ref _active));
        try
        {
            Func<CancellationToken, Task>? behaviour;
            lock (_starts)
            {
                _starts.Add(_clock.GetUtcNow().UtcDateTime);
                Behaviours.TryDequeue(out behaviour);
            }

            if (behaviour is not null)
            {
                await behaviour(cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private void Start(JobSchedule schedule) => _running = _runner.RunAsync(schedule, RunAsync, _stop.Token);

    private static Task WaitUntilAsync(Func<bool> condition, string what) => Eventually.Until(condition, holds => holds, what, TimeSpan.FromSeconds(10));

    // The runner waits for its timer once it has said when the next run is and is not running.
    private Task IdleAsync(string what) => WaitUntilAsync(() => _runner.Status is { Running: false, NextRunAt: not null }, what);

    [Fact]
    public async Task a_job_runs_on_start_and_then_an_interval_after_the_end_of_each_run()
    {
        var start = _clock.GetUtcNow().UtcDateTime;
        Behaviours.Enqueue(_ => { _clock.Advance(TimeSpan.FromMinutes(2)); return Task.CompletedTask; });
        Start(new JobSchedule(Interval));
        await WaitUntilAsync(() => Runs == 1, "the run on start");
        await IdleAsync("the wait after the first run");
        Assert.Equal(start.AddMinutes(2) + Interval, _runner.Status.NextRunAt);

        _clock.Advance(Interval - TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.Equal(1, Runs);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => Runs == 2, "the scheduled run");

        Assert.Equal([start, start.AddMinutes(2) + Interval], _starts);
    }

    [Fact]
    public async Task a_start_delay_puts_off_the_first_run_and_then_the_interval_applies()
    {
        var start = _clock.GetUtcNow().UtcDateTime;
        Start(new JobSchedule(Interval, StartDelay: TimeSpan.FromSeconds(20)));
        await IdleAsync("the start delay");
        Assert.Equal(0, Runs);
        Assert.Equal(start.AddSeconds(20), _runner.Status.NextRunAt);

        _clock.Advance(TimeSpan.FromSeconds(20));
        await WaitUntilAsync(() => Runs == 1, "the delayed first run");
        await IdleAsync("the wait after the first run");
        _clock.Advance(Interval);
        await WaitUntilAsync(() => Runs == 2, "the scheduled run");

        Assert.Equal([start.AddSeconds(20), start.AddSeconds(20) + Interval], _starts);
    }

    [Fact]
    public async Task without_a_run_on_start_the_first_run_waits_a_whole_interval()
    {
        Start(new JobSchedule(Interval, RunOnStart: false, StartDelay: TimeSpan.FromSeconds(20)));
        await IdleAsync("the first wait");
        _clock.Advance(TimeSpan.FromSeconds(20));
        await Task.Delay(50);
        Assert.Equal(0, Runs);

        _clock.Advance(Interval - TimeSpan.FromSeconds(20));
        await WaitUntilAsync(() => Runs == 1, "the first scheduled run");
    }

    [Fact]
    public async Task a_request_runs_at_once_and_completes_with_the_status_after_that_run()
    {
        Start(new JobSchedule(Interval, RunOnStart: false));
        await IdleAsync("the first wait");

        var status = await _runner.RequestRunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, Runs);
        Assert.False(status.Running);
        Assert.Equal(_clock.GetUtcNow().UtcDateTime, status.LastStartedAt);
        Assert.Equal(status.LastFinishedAt + Interval, status.NextRunAt);
        Assert.Null(status.LastError);
    }

    [Fact]
    public async Task a_request_during_a_run_is_served_by_the_next_run_and_runs_never_overlap()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Behaviours.Enqueue(ct => release.Task.WaitAsync(ct));
        Start(new JobSchedule(Interval));
        await WaitUntilAsync(() => _runner.Status.Running, "the run on start");

        var first = _runner.RequestRunAsync(CancellationToken.None);
        var second = _runner.RequestRunAsync(CancellationToken.None);
        _clock.Advance(Interval);
        await Task.Delay(50);
        Assert.False(first.IsCompleted);
        Assert.Equal(1, Runs);

        release.SetResult();
        var status = await first.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Same(status, await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, Runs);
        Assert.Equal(1, _mostActive);
    }

    [Fact]
    public async Task a_failed_run_is_recorded_and_the_schedule_goes_on()
    {
        Behaviours.Enqueue(_ => throw new TimeoutException("the database did not answer"));
        Behaviours.Enqueue(_ => throw new InvalidOperationException("a bug"));
        Start(new JobSchedule(Interval, RunOnStart: false));
        await IdleAsync("the first wait");

        Assert.Equal("the database did not answer", (await _runner.RequestRunAsync(CancellationToken.None)).LastError);
        Assert.Equal("a bug", (await _runner.RequestRunAsync(CancellationToken.None)).LastError);
        Assert.Null((await _runner.RequestRunAsync(CancellationToken.None)).LastError);
        await IdleAsync("the wait after the last run");
        _clock.Advance(Interval);
        await WaitUntilAsync(() => Runs == 4, "the scheduled run after the failures");
    }

    [Fact]
    public async Task stopping_cancels_the_run_in_progress_and_ends_the_runner()
    {
        var cancelled = false;
        Behaviours.Enqueue(async ct =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                throw;
            }
        });
        Start(new JobSchedule(Interval));
        await WaitUntilAsync(() => _runner.Status.Running, "the run on start");
        var waiting = _runner.RequestRunAsync(CancellationToken.None);

        await _stop.CancelAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(cancelled);
        Assert.False(waiting.IsCompletedSuccessfully);
    }
}
