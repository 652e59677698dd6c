using Dapper;
using Npgsql;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>An alarm under way (active or clearing) on an asset, with its latest episode and work order.</summary>
public sealed record ActiveAlarm(
    long AssetId, string AssetCode, string AssetName, long? SiteId, string? SiteCode, long RuleId, string Signal, string Severity, string FaultCode,
    string State, DateTime? Since, decimal? LastValue, long? EpisodeId, string? EpisodeOutcome, long? WorkOrderId, string? WorkOrderNumber, long Occurrences);

/// <summary>One raise of an alarm and what it did.</summary>
public sealed record AlarmEpisode(
    long Id, long AssetId, string AssetCode, long RuleId, string Signal, string FaultCode, DateTime RaisedAt, DateTime? ClearedAt, string Outcome,
    long? WorkOrderId, string? WorkOrderNumber, string? WorkOrderStatus, long Occurrences, DateTime? FirstSeen, DateTime? LastSeen, string? Note, string Severity);

public sealed record AlarmEpisodePage(IReadOnlyList<AlarmEpisode> Items, long Count);

/// <summary>An event as stored, with what was done with it.</summary>
public sealed record StoredAlarmEvent(
    long Id, string SourceName, string EventId, string Signal, decimal? Value, string? State, DateTime OccurredAt, DateTime ReceivedAt, string Channel, string Outcome, long? WorkOrderId);

public sealed record AlarmEventPage(IReadOnlyList<StoredAlarmEvent> Items, long Count);

public sealed record AlarmSite(long Id, string Code, string Name);

/// <summary>What managers and reliability engineers read of alarms: the ones under way, an episode, its events.</summary>
public sealed class AlarmQueries(NpgsqlDataSource dataSource)
{
    public const int MaxTake = 200;

    private const string Active = """
        SELECT s.asset_id, a.code AS asset_code, a.name AS asset_name, s.site_id, site.code AS site_code, s.rule_id, r.signal, r.severity, r.fault_code,
               s.state, s.since, s.last_value, s.episode_id, e.outcome AS episode_outcome, e.work_order_id, w.number AS work_order_number,
               COALESCE(awo.occurrences, 0) AS occurrences
        FROM alarm_states s
        JOIN assets a ON a.id = s.asset_id
        JOIN alarm_rules r ON r.id = s.rule_id
        LEFT JOIN assets site ON site.id = s.site_id
        LEFT JOIN alarm_episodes e ON e.id = s.episode_id
        LEFT JOIN work_orders w ON w.id = e.work_order_id
        LEFT JOIN alarm_work_orders awo ON awo.work_order_id = e.work_order_id
        WHERE s.state IN ('active', 'clearing') AND (@siteId::bigint IS NULL OR s.site_id = @siteId)
        ORDER BY site.code, a.code, r.severity, s.since
        LIMIT 1000
        """;

    private const string Episodes = """
        SELECT e.id, e.asset_id, a.code AS asset_code, e.rule_id, r.signal, r.fault_code, e.raised_at, e.cleared_at, e.outcome,
               e.work_order_id, w.number AS work_order_number, w.status AS work_order_status, COALESCE(awo.occurrences, 0) AS occurrences,
               awo.first_seen, awo.last_seen, e.note, r.severity
        FROM alarm_episodes e
        JOIN assets a ON a.id = e.asset_id
        JOIN alarm_rules r ON r.id = e.rule_id
        LEFT JOIN work_orders w ON w.id = e.work_order_id
        LEFT JOIN alarm_work_orders awo ON awo.work_order_id = e.work_order_id
        """;

    private const string Events = """
        SELECT ev.id, src.name AS source_name, ev.event_id, ev.signal, ev.value, ev.state, ev.occurred_at, ev.received_at, ev.channel, ev.outcome, ev.work_order_id
        FROM alarm_events ev JOIN alarm_sources src ON src.id = ev.source_id
        WHERE ev.episode_id = @episodeId
        ORDER BY ev.occurred_at DESC, ev.id DESC
        OFFSET @skip LIMIT @take
        """;

    public async Task<IReadOnlyList<AlarmSite>> SitesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<AlarmSite>(new CommandDefinition(
            "SELECT id, code, name FROM assets WHERE kind = 'site' ORDER BY code", cancellationToken: cancellationToken))];
    }

    public async Task<IReadOnlyList<ActiveAlarm>> ActiveAsync(long? siteId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<ActiveAlarm>(new CommandDefinition(Active, new { siteId }, cancellationToken: cancellationToken))];
    }

    public async Task<AlarmEpisode?> EpisodeAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<AlarmEpisode>(new CommandDefinition(Episodes + " WHERE e.id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>The latest episodes of an asset, newest first.</summary>
    public async Task<IReadOnlyList<AlarmEpisode>> EpisodesOfAssetAsync(long assetId, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<AlarmEpisode>(new CommandDefinition(
            Episodes + " WHERE e.asset_id = @assetId ORDER BY e.id DESC LIMIT @take", new { assetId, take = Math.Clamp(take, 1, MaxTake) }, cancellationToken: cancellationToken))];
    }

    /// <summary>One page of an asset's episodes, newest first, and how many it has.</summary>
    public async Task<AlarmEpisodePage> EpisodesOfAssetPageAsync(long assetId, int skip, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var items = await connection.QueryAsync<AlarmEpisode>(new CommandDefinition(
            Episodes + " WHERE e.asset_id = @assetId ORDER BY e.id DESC OFFSET @skip LIMIT @take",
            new { assetId, skip = Math.Max(skip, 0), take = Math.Clamp(take, 1, MaxTake) },
            cancellationToken: cancellationToken));
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM alarm_episodes WHERE asset_id = @assetId", new { assetId }, cancellationToken: cancellationToken));
        return new AlarmEpisodePage([.. items], count);
    }

    public async Task<AlarmEventPage> EventsAsync(long episodeId, int skip, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var items = await connection.QueryAsync<StoredAlarmEvent>(new CommandDefinition(
            Events, new { episodeId, skip = Math.Max(skip, 0), take = Math.Clamp(take, 1, MaxTake) }, cancellationToken: cancellationToken));
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM alarm_events WHERE episode_id = @episodeId", new { episodeId }, cancellationToken: cancellationToken));
        return new AlarmEventPage([.. items], count);
    }
}
