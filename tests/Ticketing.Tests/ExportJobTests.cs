using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Exports;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>
/// The export job queue on PostgreSQL: the fair share and exactly-once claims under two workers, leases, retention and
/// who may download. Each test has a database of its own, because the queue is shared by everyone in one.
/// </summary>
public sealed class ExportJobTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("export-jobs-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));
    private TestOrg _org = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _org = await TestOrg.CreateAsync(_database.DataSource);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>A service as one app instance has it; two of these are two instances sharing the database.</summary>
    private ExportJobs Instance(int maxRunning = 2) => new(
        _database.DataSource, _clock, Options.Create(new ExportOptions { MaxRunning = maxRunning, Directory = _folder, KeepFor = TimeSpan.FromDays(7) }));

    private static ExportJobRequest Request(string title = "Work orders behind the KPI 'volume'") =>
        new("work_orders", "xlsx", """{"kpi":"volume"}""", title, "work-orders.xlsx", 120_000);

    private string File(string name)
    {
        var path = Path.Combine(_folder, name);
        System.IO.File.WriteAllText(path, "rows");
        return path;
    }

    [Fact]
    public async Task at_most_the_configured_number_run_at_once_and_one_per_user_however_two_workers_race()
    {
        var (a, b, c) = (_org[Role.Manager], _org[Role.Executive], _org[Role.Planner]);
        var first = Instance();
        var second = Instance();
        var a1 = await first.StartAsync(a, Request(), default);
        var a2 = await first.StartAsync(a, Request(), default);
        var b1 = await first.StartAsync(b, Request(), default);
        var c1 = await first.StartAsync(c, Request(), default);
        Assert.Equal([1, 2, 3, 4], new[] { a1, a2, b1, c1 }.Select(j => j.QueuePosition));

        // Both workers claim as fast as they can, at the same time.
        async Task<List<ClaimedExport>> Race(ExportJobs jobs, string worker)
        {
            var claimed = new List<ClaimedExport>();
            for (var i = 0; i < 20; i++)
            {
                if (await jobs.ClaimAsync(worker, default) is { } job)
                {
                    claimed.Add(job);
                }
            }

            return claimed;
        }

        var raced = await Task.WhenAll(Task.Run(() => Race(first, "worker-1")), Task.Run(() => Race(second, "worker-2")));
        var running = raced.SelectMany(r => r).ToList();

        // Two slots: a's first and b's; a's second waits for a's first, c waits for a slot.
        Assert.Equal([a1.Id, b1.Id], running.Select(j => j.Id).Order());
        Assert.Equal([1, 2], running.Select(j => j.Slot).Order());
        var waiting = await first.MineAsync(a, 10, default);
        Assert.Equal(ExportState.Queued, waiting.Single(j => j.Id == a2.Id).State);
        Assert.Equal(1, waiting.Single(j => j.Id == a2.Id).QueuePosition);
        Assert.Equal(2, (await first.GetAsync(c, c1.Id, default)).Value!.QueuePosition);

        // a's first finishes: its slot goes to the oldest job whose owner runs nothing, a's second.
        var byWorker = raced[0].Any(j => j.Id == a1.Id) ? "worker-1" : "worker-2";
        Assert.True(await first.CompleteAsync(a1.Id, byWorker, File("a1.xlsx"), 120_000, a1.Title, default));
        Assert.Equal(a2.Id, (await second.ClaimAsync("worker-2", default))!.Id);
        Assert.Null(await first.ClaimAsync("worker-1", default));
    }

    [Fact]
    public async Task every_job_is_claimed_by_exactly_one_of_two_workers()
    {
        var users = new[] { Role.Admin, Role.Executive, Role.ReliabilityEngineer, Role.Manager, Role.Planner, Role.Technician, Role.Requester };
        var first = Instance(maxRunning: 64);
        var second = Instance(maxRunning: 64);
        var started = new List<long>();
        foreach (var role in users)
        {
            started.Add((await first.StartAsync(_org[role], Request(), default)).Id);
        }

        async Task<List<long>> Drain(ExportJobs jobs, string worker)
        {
            var claimed = new List<long>();
            for (var misses = 0; misses < 5;)
            {
                if (await jobs.ClaimAsync(worker, default) is { } job)
                {
                    claimed.Add(job.Id);
                }
                else
                {
                    misses++;
                }
            }

            return claimed;
        }

        var claims = await Task.WhenAll(Task.Run(() => Drain(first, "worker-1")), Task.Run(() => Drain(second, "worker-2")));

        Assert.Equal(started.Order(), claims.SelectMany(c => c).Order());
    }

    [Fact]
    public async Task a_job_whose_worker_stopped_reporting_goes_back_to_the_queue_and_the_old_worker_cannot_finish_it()
    {
        var jobs = Instance();
        var job = await jobs.StartAsync(_org[Role.Manager], Request(), default);
        Assert.Equal(job.Id, (await jobs.ClaimAsync("gone", default))!.Id);
        Assert.True(await jobs.ReportAsync(job.Id, "gone", 5_000, default));
        Assert.Equal(5_000, (await jobs.GetAsync(_org[Role.Manager], job.Id, default)).Value!.RowsWritten);

        _clock.Advance(new ExportOptions().Lease + TimeSpan.FromSeconds(1));
        var again = await jobs.ClaimAsync("next", default);

        Assert.Equal(job.Id, again!.Id);
        Assert.False(await jobs.ReportAsync(job.Id, "gone", 6_000, default));
        Assert.False(await jobs.CompleteAsync(job.Id, "gone", File("late.xlsx"), 120_000, job.Title, default));
        Assert.Equal(ExportState.Running, (await jobs.GetAsync(_org[Role.Manager], job.Id, default)).Value!.State);
    }

    [Fact]
    public async Task a_job_released_by_a_stopping_worker_waits_at_its_place_for_another()
    {
        var jobs = Instance();
        var job = await jobs.StartAsync(_org[Role.Manager], Request(), default);
        await jobs.ClaimAsync("stopping", default);

        await jobs.ReleaseAsync(job.Id, "stopping", default);

        Assert.Equal(1, (await jobs.GetAsync(_org[Role.Manager], job.Id, default)).Value!.QueuePosition);
        Assert.Equal(job.Id, (await Instance().ClaimAsync("other", default))!.Id);
        await jobs.ReleaseAsync(job.Id, "stopping", default);
        Assert.Equal(ExportState.Running, (await jobs.GetAsync(_org[Role.Manager], job.Id, default)).Value!.State);
    }

    [Fact]
    public async Task a_ready_file_tells_its_owner_and_only_the_owner_and_administrators_may_take_it()
    {
        var jobs = Instance();
        var owner = _org[Role.Manager];
        var job = await jobs.StartAsync(owner, Request(), default);
        await jobs.ClaimAsync("w", default);
        var path = File("ready.xlsx");

        Assert.True(await jobs.CompleteAsync(job.Id, "w", path, 120_000, job.Title, default));

        Assert.Equal(path, (await jobs.FileAsync(owner, job.Id, default)).Value!.Path);
        Assert.Equal(path, (await jobs.FileAsync(_org[Role.Admin], job.Id, default)).Value!.Path);
        Assert.Equal(FailureKind.Forbidden, (await jobs.FileAsync(_org[Role.Executive], job.Id, default)).Failure!.Kind);
        Assert.Equal(FailureKind.Forbidden, (await jobs.GetAsync(_org.OutsideManager, job.Id, default)).Failure!.Kind);
        Assert.Equal(FailureKind.NotFound, (await jobs.GetAsync(owner, job.Id + 1000, default)).Failure!.Kind);
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        var notification = await connection.QuerySingleAsync<(string Kind, string Text, string Link)>(
            "SELECT kind, text, link FROM notifications WHERE user_id = @id", new { id = owner.UserId });
        Assert.Equal(ExportJobs.ReadyKind, notification.Kind);
        Assert.Equal($"/api/v1/exports/{job.Id}/file", notification.Link);
        Assert.Contains("120,000 rows", notification.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task retention_deletes_files_kept_past_their_time_and_leaves_younger_ones()
    {
        var jobs = Instance();
        var owner = _org[Role.Manager];
        var old = await jobs.StartAsync(owner, Request(), default);
        await jobs.ClaimAsync("w", default);
        var oldPath = File("old.xlsx");
        await jobs.CompleteAsync(old.Id, "w", oldPath, 1, old.Title, default);
        _clock.Advance(TimeSpan.FromDays(3));
        var young = await jobs.StartAsync(owner, Request(), default);
        await jobs.ClaimAsync("w", default);
        var youngPath = File("young.xlsx");
        await jobs.CompleteAsync(young.Id, "w", youngPath, 1, young.Title, default);

        _clock.Advance(TimeSpan.FromDays(4) + TimeSpan.FromMinutes(1));
        Assert.Equal(1, await jobs.ExpireAsync(default));
        Assert.Equal(0, await jobs.ExpireAsync(default));

        Assert.False(System.IO.File.Exists(oldPath));
        Assert.True(System.IO.File.Exists(youngPath));
        Assert.Equal(ExportState.Expired, (await jobs.GetAsync(owner, old.Id, default)).Value!.State);
        Assert.Equal(FailureKind.Conflict, (await jobs.FileAsync(owner, old.Id, default)).Failure!.Kind);
        Assert.Equal(youngPath, (await jobs.FileAsync(owner, young.Id, default)).Value!.Path);
    }

    private async Task<List<(string Kind, string Text, string? Code, string[]? Args, string? Link)>> NotificationsOf(Actor actor)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<(string Kind, string Text, string? Code, string[]? Args, string? Link)>(
            "SELECT kind, text, code, args, link FROM notifications WHERE user_id = @id ORDER BY id", new { id = actor.UserId })).AsList();
    }

    [Fact]
    public async Task a_job_that_stopped_each_time_fails_and_tells_its_owner_why_once_in_their_language_however_two_workers_race()
    {
        var owner = _org[Role.Manager];
        var first = Instance();
        var second = Instance();
        var job = await first.StartAsync(owner, Request(), default);
        for (var attempt = 1; attempt <= new ExportOptions().MaxAttempts; attempt++)
        {
            // Claimed, then its worker stops without a word; the lease runs out.
            Assert.Equal(job.Id, (await first.ClaimAsync($"gone-{attempt}", default))!.Id);
            _clock.Advance(new ExportOptions().Lease + TimeSpan.FromSeconds(1));
        }

        // Both workers look for work at the same moment, several times: the job fails once, and its owner hears once.
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).ClaimAsync($"w{i}", default))));

        var failed = (await first.GetAsync(owner, job.Id, default)).Value!;
        Assert.Equal(ExportState.Failed, failed.State);
        Assert.Equal(ExportJobs.StoppedCode, failed.ErrorCode);
        var told = Assert.Single(await NotificationsOf(owner));
        Assert.Equal(ExportJobs.FailedKind, told.Kind);
        Assert.Equal("/exports", told.Link);
        Assert.Equal("export.failed_stopped", told.Code);
        Assert.Equal([job.Title], told.Args!);
        Assert.Equal($"Your export could not be made: {job.Title}. It stopped each time it was tried.", told.Text);
        var notification = new Notifications.Notification(1, null, null, told.Kind, told.Text, default, null, told.Link, told.Code, told.Args);
        Assert.Equal($"您的匯出無法完成：{job.Title}。每次嘗試時都中斷了。", notification.TextIn(new CultureInfo("zh-TW")));
        Assert.Equal("每次嘗試時都中斷了。", failed.Reason()!.ToText(new CultureInfo("zh-TW")));
    }

    [Fact]
    public async Task a_job_whose_file_could_not_be_written_tells_its_owner_the_error_once()
    {
        var owner = _org[Role.Manager];
        var jobs = Instance();
        var job = await jobs.StartAsync(owner, Request(), default);
        await jobs.ClaimAsync("w", default);

        await jobs.FailAsync(job.Id, "w", "No space left on device", job.Title, default);
        await jobs.FailAsync(job.Id, "w", "No space left on device", job.Title, default);

        var told = Assert.Single(await NotificationsOf(owner));
        Assert.Equal("export.failed_error", told.Code);
        Assert.Equal($"Your export could not be made: {job.Title}. The file could not be written: No space left on device", told.Text);
        Assert.Equal("No space left on device", (await jobs.GetAsync(owner, job.Id, default)).Value!.Error);
    }

    [Fact]
    public async Task the_owner_cancels_a_waiting_job_which_leaves_the_queue_and_others_may_not_cancel_it()
    {
        var owner = _org[Role.Manager];
        var jobs = Instance();
        var first = await jobs.StartAsync(_org[Role.Executive], Request(), default);
        var waiting = await jobs.StartAsync(owner, Request(), default);

        Assert.Equal(FailureKind.Forbidden, (await jobs.CancelAsync(_org[Role.Planner], waiting.Id, default)).Failure!.Kind);
        Assert.Equal(FailureKind.NotFound, (await jobs.CancelAsync(owner, waiting.Id + 1000, default)).Failure!.Kind);
        var cancelled = (await jobs.CancelAsync(owner, waiting.Id, default)).Value!;

        Assert.Equal(ExportState.Cancelled, cancelled.State);
        Assert.Null(cancelled.QueuePosition);
        Assert.Equal(first.Id, (await jobs.ClaimAsync("w", default))!.Id);
        Assert.Null(await jobs.ClaimAsync("w", default));
        Assert.Equal("export.not_cancellable", (await jobs.CancelAsync(owner, waiting.Id, default)).Failure!.Reason.Code);
        Assert.Empty(await NotificationsOf(owner));
    }

    [Fact]
    public async Task an_administrator_cancels_a_running_job_whose_worker_can_then_neither_report_nor_finish_and_the_owner_is_told()
    {
        var owner = _org[Role.Manager];
        var jobs = Instance(maxRunning: 1);
        var job = await jobs.StartAsync(owner, Request(), default);
        var next = await jobs.StartAsync(_org[Role.Executive], Request(), default);
        await jobs.ClaimAsync("w", default);

        var cancelled = (await jobs.CancelAsync(_org[Role.Admin], job.Id, default)).Value!;

        Assert.Equal(ExportState.Cancelled, cancelled.State);
        Assert.False(await jobs.ReportAsync(job.Id, "w", 10, default));
        Assert.False(await jobs.CompleteAsync(job.Id, "w", File("cancelled.xlsx"), 10, job.Title, default));
        Assert.Equal(FailureKind.Conflict, (await jobs.FileAsync(owner, job.Id, default)).Failure!.Kind);

        // Its slot is free at once for the next.
        Assert.Equal(next.Id, (await jobs.ClaimAsync("w", default))!.Id);
        var told = Assert.Single(await NotificationsOf(owner));
        Assert.Equal(ExportJobs.CancelledKind, told.Kind);
        Assert.Equal($"An administrator cancelled your export: {job.Title}.", told.Text);
    }

    [Fact]
    public async Task only_administrators_list_everyones_exports_with_their_owners()
    {
        var jobs = Instance();
        var mine = await jobs.StartAsync(_org[Role.Manager], Request("Mine"), default);
        var theirs = await jobs.StartAsync(_org[Role.Executive], Request("Theirs"), default);
        await jobs.CancelAsync(_org[Role.Executive], theirs.Id, default);

        Assert.Equal(FailureKind.Forbidden, (await jobs.AllAsync(_org[Role.Manager], null, 0, 50, default)).Failure!.Kind);
        var all = (await jobs.AllAsync(_org[Role.Admin], null, 0, 50, default)).Value!;
        var cancelledOnly = (await jobs.AllAsync(_org[Role.Admin], ExportState.Cancelled, 0, 50, default)).Value!;

        Assert.Equal(2, all.Total);
        Assert.Equal([theirs.Id, mine.Id], all.Items.Select(j => j.Id));
        Assert.Equal(_org[Role.Executive].UserId, all.Items[0].OwnerId);
        Assert.False(string.IsNullOrWhiteSpace(all.Items[0].OwnerName));
        Assert.Equal(theirs.Id, Assert.Single(cancelledOnly.Items).Id);
        Assert.Equal(mine.Id, Assert.Single((await jobs.AllAsync(_org[Role.Admin], null, 1, 50, default)).Value!.Items).Id);
    }
}
