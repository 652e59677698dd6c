using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ticketing.Notifications;

/// <summary>A claimed outbox row: its id and the attempts made before this one.</summary>
internal interface IOutboxRow
{
    long Id { get; }

    int Attempts { get; }
}

/// <summary>How one attempt ended: no error when it went through; permanent when another try cannot help.</summary>
internal interface IOutboxAttempt
{
    string? Error { get; }

    bool Permanent { get; }
}

/// <summary>What becomes of an outbox row after an attempt.</summary>
internal enum OutboxState
{
    Done,
    Pending,
    Failed,
}

/// <summary>An attempt and what it settles: the row's state, its attempt number and when it is tried next.</summary>
internal readonly record struct Settlement<TRow, TAttempt>(TRow Row, TAttempt Attempt, OutboxState State, int AttemptNumber, DateTime At, DateTime NextAttemptAt);

/// <summary>How often an outbox sender looks, how much it takes at once and how it retries.</summary>
internal sealed record OutboxSettings(TimeSpan PollInterval, int BatchSize, RetryPolicy Retry);

/// <summary>
/// Sends an outbox table's due rows: woken by the table's channel and every poll interval through a <see cref="JobRunner"/>,
/// it claims a batch with FOR UPDATE SKIP LOCKED and keeps it locked in one transaction while it is sent, so two
/// instances never send a row at once, and settles each row in that transaction (sent, retried with backoff, or failed).
/// A crash before the commit leaves the rows pending: they are sent again, at least once in all.
/// </summary>
internal abstract class OutboxSender<TRow, TAttempt>(
    string name, string channel, NpgsqlDataSource dataSource, ChannelListener listener, TimeProvider clock, ILogger logger) : BackgroundService
    where TRow : IOutboxRow
    where TAttempt : IOutboxAttempt
{
    /// <summary>
    /// The end of every claim, after the WHERE of a query whose outbox table is aliased <c>o</c>: the rows due now,
    /// the longest due first, locked so that a second sender skips them.
    /// </summary>
    protected const string DuePending = """
        o.status = 'pending' AND o.next_attempt_at <= @now
        ORDER BY o.next_attempt_at, o.id
        LIMIT @batch
        FOR UPDATE OF o SKIP LOCKED
        """;

    // Database trouble is expected now and then; the rows stay pending for the next round.
    private readonly JobRunner _runner = new(name, clock, logger, e => e is NpgsqlException or IOException or TimeoutException);

    protected NpgsqlDataSource DataSource => dataSource;

    protected TimeProvider Clock => clock;

    /// <summary>The sender's own logger, for its source-generated messages.</summary>
    protected ILogger Logger => logger;

    /// <summary>The claim: a SELECT of <typeparamref name="TRow"/> columns ending in <see cref="DuePending"/>.</summary>
    protected abstract string Claim { get; }

    protected abstract OutboxSettings Settings { get; }

    /// <summary>Sends the claimed rows; one attempt for each, in their order.</summary>
    protected abstract Task<TAttempt[]> SendAsync(IReadOnlyList<TRow> due, CancellationToken cancellationToken);

    /// <summary>Records one attempt and the row's new state in the claim's transaction.</summary>
    protected abstract Task SettleAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Settlement<TRow, TAttempt> settlement, CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var wake = listener.Subscribe(channel, _ => _runner.RequestRun());
        await _runner.RunAsync(new JobSchedule(Settings.PollInterval), SendAllDueAsync, stoppingToken);
    }

    /// <summary>Sends batches until one comes back short.</summary>
    protected async Task SendAllDueAsync(CancellationToken cancellationToken)
    {
        while (await SendBatchAsync(cancellationToken) >= Settings.BatchSize)
        {
        }
    }

    /// <summary>Claims one batch of due rows, sends them, and settles each; returns how many it tried.</summary>
    protected async Task<int> SendBatchAsync(CancellationToken cancellationToken)
    {
        var settings = Settings;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = (await connection.QueryAsync<TRow>(new CommandDefinition(
            Claim, new { now = clock.GetUtcNow().UtcDateTime, batch = settings.BatchSize }, transaction, cancellationToken: cancellationToken))).AsList();
        if (due.Count > 0)
        {
            var attempts = await SendAsync(due, cancellationToken);
            foreach (var (row, attempt) in due.Zip(attempts))
            {
                var now = clock.GetUtcNow().UtcDateTime;
                var number = row.Attempts + 1;
                var (state, next) = attempt switch
                {
                    { Error: null } => (OutboxState.Done, now),
                    { Permanent: true } => (OutboxState.Failed, now),
                    _ when Retry.AfterFailure(number, now, settings.Retry) is { GiveUp: false } retry => (OutboxState.Pending, retry.NextAttemptAt),
                    _ => (OutboxState.Failed, now),
                };
                await SettleAsync(connection, transaction, new Settlement<TRow, TAttempt>(row, attempt, state, number, now, next), cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return due.Count;
    }
}
