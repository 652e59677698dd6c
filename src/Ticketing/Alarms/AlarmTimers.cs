using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>
/// The alarm state timers: a condition that went pending and has held for its rule's time raises even when the source
/// sends nothing more (sensors that report on change), and a clear that has held ends its episode. Each pass locks the
/// (asset, fault code) pairs it works on like the ingestion does, so timers in several processes and batches arriving
/// at the same moment step each machine once.
/// </summary>
public sealed partial class AlarmTimers(
    NpgsqlDataSource dataSource, AlarmEngine engine, TimeProvider clock, IOptions<AlarmOptions> options, ILogger<AlarmTimers> logger) : BackgroundService
{
    private const int Take = 200;

    private const string Due = """
        SELECT s.asset_id, s.rule_id
        FROM alarm_states s JOIN alarm_rules r ON r.id = s.rule_id
        WHERE (s.state = 'pending' AND s.since + r.for_seconds * interval '1 second' <= @now)
           OR (s.state = 'clearing' AND s.since + r.clear_seconds * interval '1 second' <= @now)
        ORDER BY s.since
        LIMIT @take
        """;

    private const string Rules = """
        SELECT id, asset_id, asset_type, signal, comparison, threshold, deadband, for_seconds, clear_seconds, severity, fault_code, template_id, inhibits_site, created_by
        FROM alarm_rules WHERE id = ANY(@ids)
        """;

    private const string Assets = """
        WITH RECURSIVE up AS (
            SELECT id AS asset_id, id AS node, parent_id FROM assets WHERE id = ANY(@ids)
            UNION ALL
            SELECT up.asset_id, p.id, p.parent_id FROM up JOIN assets p ON p.id = up.parent_id)
        SELECT a.id, a.code, a.serial_number, a.asset_type, u.node AS site_id
        FROM assets a LEFT JOIN up u ON u.asset_id = a.id AND u.parent_id IS NULL
        WHERE a.id = ANY(@ids)
        """;

    private readonly JobRunner _runner = new("Alarm timers", clock, logger, e => e is NpgsqlException or TimeoutException);

    public JobRunner Runner => _runner;

    /// <summary>One pass over every machine whose time has come; returns how many raised and cleared.</summary>
    public async Task<(int Raised, int Cleared)> RunPassAsync(CancellationToken cancellationToken)
    {
        int raised = 0, cleared = 0;
        while (true)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            var due = (await connection.QueryAsync<(long AssetId, long RuleId)>(new CommandDefinition(Due, new { now, take = Take }, cancellationToken: cancellationToken))).ToList();
            if (due.Count == 0)
            {
                return (raised, cleared);
            }

            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var rules = (await connection.QueryAsync<AlarmRule>(new CommandDefinition(
                Rules, new { ids = due.Select(d => d.RuleId).Distinct().ToArray() }, transaction, cancellationToken: cancellationToken))).ToDictionary(r => r.Id);
            var assets = (await connection.QueryAsync<AlarmAsset>(new CommandDefinition(
                Assets, new { ids = due.Select(d => d.AssetId).Distinct().ToArray() }, transaction, cancellationToken: cancellationToken))).ToDictionary(a => a.Id);
            var keys = due.Select(d => (Asset: assets[d.AssetId], Rule: rules[d.RuleId])).ToList();
            await AlarmEngine.LockAsync(connection, transaction, keys.Select(k => (k.Asset.Id, k.Rule.FaultCode)), cancellationToken);
            var (r, c) = await engine.ElapseAsync(connection, transaction, keys, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            raised += r;
            cleared += c;
            if (due.Count < Take || r + c == 0)
            {
                return (raised, cleared);
            }
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.TimersEnabled
        ? _runner.RunAsync(options.Value.Schedule, RunAndLogAsync, stoppingToken)
        : Task.CompletedTask;

    private async Task RunAndLogAsync(CancellationToken cancellationToken)
    {
        var (raised, cleared) = await RunPassAsync(cancellationToken);
        if (raised + cleared > 0)
        {
            LogPass(raised, cleared);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm timers raised {Raised} and cleared {Cleared} alarms")]
    private partial void LogPass(int raised, int cleared);
}
