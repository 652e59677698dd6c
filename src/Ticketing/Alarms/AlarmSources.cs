using System.Security.Cryptography;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Webhooks;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>A system that sends alarms. Its secret is never read back.</summary>
public sealed record AlarmSource(long Id, string Name, string ApiKey, DateTime CreatedAt, DateTime? RevokedAt, long Events);

/// <summary>The source just made, with its key and secret: the only time the secret is shown.</summary>
public sealed record CreatedAlarmSource(AlarmSource Source, string ApiKey, string Secret);

public sealed record AlarmSourceRequest(string? Name);

/// <summary>
/// An asset code or device id (<see cref="Kind"/> "code" or "device") a source sent events for that the register does
/// not know (or, for a device id, that several assets carry): how many, when first and last, and the latest signal.
/// </summary>
public sealed record UnknownAlarmAsset(
    long SourceId, string SourceName, string Kind, string Code, long Events, DateTime FirstReceived, DateTime LastReceived, string LastSignal, string LastOutcome);

public sealed record UnknownAlarmAssetPage(IReadOnlyList<UnknownAlarmAsset> Items, long Count);

/// <summary>A source found by its key, with what the ingestion needs of it.</summary>
public sealed record AlarmSourceKey(long Id, string Name, string Secret, long CreatedBy, bool Revoked);

/// <summary>
/// Administrators register alarm sources and revoke them. A source signs each batch as outgoing webhooks do:
/// <c>X-WorkOrders-Key</c> names it, <c>X-WorkOrders-Signature</c> is "sha256=" and the hex HMAC-SHA256 of the exact body
/// keyed with its secret.
/// </summary>
public sealed class AlarmSources(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const string KeyHeader = "X-WorkOrders-Key";
    public const string SignatureHeader = WebhookSignature.Header;
    public const int MaxNameLength = 100;

    private const string Select = """
        SELECT s.id, s.name, s.api_key, s.created_at, s.revoked_at,
               (SELECT count(*) FROM alarm_events e WHERE e.source_id = s.id) AS events
        FROM alarm_sources s
        """;

    private const string Unknown = """
        SELECT s.id AS source_id, s.name AS source_name, CASE WHEN e.asset_code IS NOT NULL THEN 'code' ELSE 'device' END AS kind,
               coalesce(e.asset_code, e.device_id) AS code, count(*) AS events, min(e.received_at) AS first_received, max(e.received_at) AS last_received,
               (array_agg(e.signal ORDER BY e.id DESC))[1] AS last_signal, (array_agg(e.outcome ORDER BY e.id DESC))[1] AS last_outcome
        FROM alarm_events e JOIN alarm_sources s ON s.id = e.source_id
        WHERE e.asset_id IS NULL
        GROUP BY s.id, s.name, e.asset_code, e.device_id
        ORDER BY max(e.received_at) DESC, max(e.id) DESC
        OFFSET @skip LIMIT @take
        """;

    private const string UnknownCount = "SELECT count(*) FROM (SELECT DISTINCT source_id, asset_code, device_id FROM alarm_events WHERE asset_id IS NULL) k";

    public const int MaxTake = 200;

    public static bool MayManage(Actor actor) => actor.Role == Role.Admin;

    /// <summary>The refusal of the sources' administration to anyone but an administrator; also the endpoints' <c>AccessFirst</c> check.</summary>
    public static Failure? ManageRefusal(Actor actor) => MayManage(actor) ? null : Failure.Forbidden("alarm.sources_forbidden");

    /// <summary>
    /// The asset codes and device ids sources sent that name no asset of the register, per source and code, the most
    /// recently received first: what an administrator registers, or whose mapping at the source is fixed.
    /// </summary>
    public async Task<Outcome<UnknownAlarmAssetPage>> UnknownAssetsAsync(Actor actor, int skip, int take, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var items = await connection.QueryAsync<UnknownAlarmAsset>(new CommandDefinition(
            Unknown, new { skip = Math.Max(skip, 0), take = Math.Clamp(take, 1, MaxTake) }, cancellationToken: cancellationToken));
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(UnknownCount, cancellationToken: cancellationToken));
        return new UnknownAlarmAssetPage([.. items], count);
    }

    public async Task<Outcome<IReadOnlyList<AlarmSource>>> ListAsync(Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AlarmSource>(new CommandDefinition(Select + " ORDER BY s.id", cancellationToken: cancellationToken));
        return rows.ToList();
    }

    public async Task<Outcome<CreatedAlarmSource>> CreateAsync(AlarmSourceRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            return Failure.Invalid("name", "field.required");
        }

        if (name.Length > MaxNameLength)
        {
            return Failure.Invalid("name", "field.too_long", MaxNameLength);
        }

        var apiKey = "as_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var secret = WebhookSignature.NewSecret();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                """
                INSERT INTO alarm_sources (name, api_key, secret, created_by, created_at)
                VALUES (@name, @apiKey, @secret, @createdBy, @now) RETURNING id
                """,
                new { name, apiKey, secret, createdBy = actor.UserId, now = clock.GetUtcNow().UtcDateTime },
                cancellationToken: cancellationToken));
            var source = await connection.QuerySingleAsync<AlarmSource>(new CommandDefinition(Select + " WHERE s.id = @id", new { id }, cancellationToken: cancellationToken));
            return new CreatedAlarmSource(source, apiKey, secret);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("name", "alarm.source_name_taken", name);
        }
    }

    /// <summary>Revokes a source: its key is refused from now on; its events stay.</summary>
    public async Task<Outcome<AlarmSource>> RevokeAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE alarm_sources SET revoked_at = COALESCE(revoked_at, @now) WHERE id = @id",
            new { id, now = clock.GetUtcNow().UtcDateTime },
            cancellationToken: cancellationToken));
        return await connection.QuerySingleOrDefaultAsync<AlarmSource>(new CommandDefinition(Select + " WHERE s.id = @id", new { id }, cancellationToken: cancellationToken))
            is { } source
            ? source
            : Failure.NotFound("alarm.source_not_found", id);
    }

    public async Task<AlarmSourceKey?> FindByKeyAsync(string apiKey, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<AlarmSourceKey>(new CommandDefinition(
            "SELECT id, name, secret, created_by, revoked_at IS NOT NULL AS revoked FROM alarm_sources WHERE api_key = @apiKey",
            new { apiKey },
            cancellationToken: cancellationToken));
    }

    public async Task<AlarmSourceKey?> FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<AlarmSourceKey>(new CommandDefinition(
            "SELECT id, name, secret, created_by, revoked_at IS NOT NULL AS revoked FROM alarm_sources WHERE name = @name",
            new { name },
            cancellationToken: cancellationToken));
    }
}
