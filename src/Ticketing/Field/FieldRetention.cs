using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ticketing.Field;

/// <summary>What one pass of the field retention job did: whether this instance did the period's work, and the rows it deleted.</summary>
public sealed record FieldRetentionPass(bool Ran, int ChangesDeleted, int CommandsDeleted);

/// <summary>
/// Keeps the field sync tables from growing without end, on the job runner. A pass claims the one row of
/// field_sync_retention (a second instance asking at the same moment waits on it, then finds the period's work done),
/// deletes the field_changes rows older than <see cref="FieldOptions.ChangeRetention"/> and records the newest
/// transaction among them (cursors that had not seen it are expired), and deletes the stored command results older
/// than <see cref="FieldOptions.CommandRetention"/>, marking their devices so an old command of theirs is refused
/// rather than applied again. All of it in one transaction: the deletions and what they imply commit together.
/// </summary>
public sealed partial class FieldRetention(
    NpgsqlDataSource dataSource, TimeProvider clock, IOptions<FieldOptions> field, IOptions<FieldRetentionOptions> options, ILogger<FieldRetention> logger)
    : BackgroundService
{
    // Once per half interval across every instance: an instance whose timer fires just after another's run has nothing to do.
    private const string Claim = """
        UPDATE field_sync_retention SET last_run_at = @now, runs = runs + 1
        WHERE last_run_at IS NULL OR last_run_at <= @since
        """;

    // changed_at is stamped by PostgreSQL, so its age is measured on PostgreSQL's clock.
    private const string PurgeChanges = """
        WITH gone AS (DELETE FROM field_changes WHERE changed_at < now() - @keep RETURNING xid),
        noted AS (
            UPDATE field_sync_retention SET purged_xid = greatest(purged_xid, (SELECT max(xid) FROM gone))
            WHERE EXISTS (SELECT 1 FROM gone))
        SELECT count(*)::int FROM gone
        """;

    // A command is kept while either its sync or its device time is recent, so a retry of any deleted one carries a
    // device time before its device's mark and is refused by that.
    private const string PurgeCommands = """
        WITH gone AS (
            DELETE FROM sync_commands WHERE synced_at < @cutoff AND (device_time IS NULL OR device_time < @cutoff)
            RETURNING device_id),
        marked AS (
            UPDATE field_devices SET commands_purged_before = greatest(commands_purged_before, @cutoff)
            WHERE id IN (SELECT device_id FROM gone))
        SELECT count(*)::int FROM gone
        """;

    private readonly JobRunner _runner = new("Field retention", clock, logger, e => e is NpgsqlException or TimeoutException);

    public JobRunner Runner => _runner;

    /// <summary>One pass; <see cref="FieldRetentionPass.Ran"/> is false when another instance did this period's work.</summary>
    public async Task<FieldRetentionPass> RunPassAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var claimed = await connection.ExecuteAsync(new CommandDefinition(
            Claim, new { now, since = now - (options.Value.Interval / 2) }, transaction, cancellationToken: cancellationToken));
        if (claimed == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return new FieldRetentionPass(false, 0, 0);
        }

        var changes = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            PurgeChanges, new { keep = field.Value.ChangeRetention }, transaction, cancellationToken: cancellationToken));
        var commands = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            PurgeCommands, new { cutoff = now - field.Value.CommandRetention }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return new FieldRetentionPass(true, changes, commands);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.Enabled
        ? _runner.RunAsync(options.Value.Schedule, RunAndLogAsync, stoppingToken)
        : Task.CompletedTask;

    private async Task RunAndLogAsync(CancellationToken cancellationToken)
    {
        var pass = await RunPassAsync(cancellationToken);
        if (pass.ChangesDeleted + pass.CommandsDeleted > 0)
        {
            LogDeleted(pass.ChangesDeleted, pass.CommandsDeleted);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Field retention deleted {Changes} change-log rows and {Commands} stored command results")]
    private partial void LogDeleted(int changes, int commands);
}
