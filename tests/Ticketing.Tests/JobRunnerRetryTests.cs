using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Ticketing.Jobs;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>A job's run against the real PostgreSQL through a relay that drops the link for a moment.</summary>
public sealed class JobRunnerRetryTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task a_run_that_meets_a_connection_drop_shorter_than_a_second_is_tried_again_and_succeeds()
    {
        var server = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var relay = new TcpRelay(server.Host!, server.Port);
        await using var data = NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = relay.Port, Timeout = 2 }.ConnectionString);
        var runner = new JobRunner("drop", TimeProvider.System, NullLogger.Instance);
        var tries = 0;
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(
            new JobSchedule(TimeSpan.FromHours(1), RunOnStart: false),
            async ct =>
            {
                Interlocked.Increment(ref tries);
                await using var connection = await data.OpenConnectionAsync(ct);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(ct);
            },
            stop.Token);

        relay.Cut();
        var run = runner.RequestRunAsync(CancellationToken.None);
        await Task.Delay(400);
        relay.Restore();
        var status = await run.WaitAsync(TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await running.ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.Null(status.LastError);
        Assert.True(tries > 1, $"the run was tried {tries} time(s)");
    }
}
