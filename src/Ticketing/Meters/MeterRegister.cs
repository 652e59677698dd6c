using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Maintenance;

namespace WorkOrders.Ticketing.Meters;

/// <summary>Where a reading came from, as meter_readings.source spells it.</summary>
public enum ReadingSource
{
    Web,
    Api,
    Import,
    Sensor,
    Field,
}

/// <summary>A meter with its latest reading (null before the first).</summary>
public sealed record Meter(long Id, long AssetId, string Name, string Unit, DateTime CreatedAt, DateTime? LatestReadAt, decimal? LatestValue, decimal? Lifetime);

public sealed record Reading(long Id, long MeterId, DateTime ReadAt, decimal Value, decimal Lifetime, bool IsReset, string? ResetReason, string Source, DateTime RecordedAt);

/// <summary>A reading for one meter, as a batch carries it.</summary>
public sealed record ReadingEntry(long? MeterId, DateTime? ReadAt, decimal? Value, bool IsReset = false, string? ResetReason = null);

/// <summary>The stored reading for each entry, in the order sent; Created is false for one that was stored already.</summary>
public sealed record RecordedReading(Reading Reading, bool Created);

public sealed record MeterRequest(string? Name, string? Unit);

public sealed record ReadingPage(IReadOnlyList<Reading> Items, long Count);

/// <summary>
/// Meters on assets and their readings. A batch is one transaction: either every reading is stored (or found stored
/// already) or none is, and the refusal names the entry and field. Recording locks the meters involved, so two
/// clients sending the same reading at once store it once and the second is told it is stored (the unique key
/// (meter, time, value) is the backstop). In the same transaction the PM schedules of the asset whose plans trigger on
/// that meter's name are due for a look now, so the generator sees the new usage on its next pass.
/// </summary>
public sealed class MeterRegister(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxNameLength = 100;
    public const int MaxUnitLength = 20;
    public const int MaxBatch = 1000;

    private const string MeterSelect = """
        SELECT m.id, m.asset_id, m.name, m.unit, m.created_at, r.read_at AS latest_read_at, r.value AS latest_value, r.lifetime
        FROM meters m
        LEFT JOIN LATERAL (SELECT read_at, value, lifetime FROM meter_readings WHERE meter_id = m.id ORDER BY read_at DESC, id DESC LIMIT 1) r ON true
        """;

    private const string ReadingSelect = """
        SELECT r.id, r.meter_id, r.read_at, r.value, r.lifetime, r.is_reset, r.reset_reason, r.source, r.recorded_at FROM meter_readings r
        """;

    public static bool MayManage(Actor actor) => actor.Role is Role.Admin or Role.Planner or Role.Manager;

    public static bool MayRecord(Actor actor) => actor.Role is Role.Admin or Role.Planner or Role.Manager or Role.Technician;

    /// <summary>The refusal of adding or renaming a meter to a role that may not manage meters; also the endpoints' <c>AccessFirst</c> check.</summary>
    public static Failure? ManageRefusal(Actor actor) => MayManage(actor) ? null : Failure.Forbidden("meter.manage_forbidden");

    /// <summary>The refusal of recording a reading to a role that may not record one; also the endpoint's <c>AccessFirst</c> check.</summary>
    public static Failure? RecordRefusal(Actor actor) => MayRecord(actor) ? null : Failure.Forbidden("meter.record_forbidden");

    public async Task<Outcome<IReadOnlyList<Meter>>> ListAsync(long assetId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await AssetExistsAsync(connection, assetId, cancellationToken))
        {
            return Failure.NotFound("asset.not_found", assetId);
        }

        var meters = await connection.QueryAsync<Meter>(new CommandDefinition(
            MeterSelect + " WHERE m.asset_id = @assetId ORDER BY m.name", new { assetId }, cancellationToken: cancellationToken));
        return Outcome(meters.ToList());
    }

    public async Task<Outcome<Meter>> GetAsync(long meterId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await GetAsync(connection, meterId, cancellationToken) is { } meter ? meter : Failure.NotFound("meter.not_found", meterId);
    }

    public async Task<Outcome<Meter>> AddAsync(long assetId, MeterRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        if (Check(request) is { } invalid)
        {
            return invalid;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await AssetExistsAsync(connection, assetId, cancellationToken))
        {
            return Failure.NotFound("asset.not_found", assetId);
        }

        try
        {
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "INSERT INTO meters (asset_id, name, unit, created_at) VALUES (@assetId, @name, @unit, @now) RETURNING id",
                new { assetId, name = request.Name!.Trim(), unit = request.Unit!.Trim(), now = clock.GetUtcNow().UtcDateTime },
                cancellationToken: cancellationToken));
            return (await GetAsync(connection, id, cancellationToken))!;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("name", "meter.name_taken", request.Name!.Trim());
        }
    }

    /// <summary>Renames a meter or changes its unit. Plans for a type of asset find meters by name, so a new name is a new trigger target.</summary>
    public async Task<Outcome<Meter>> RenameAsync(long meterId, MeterRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        if (Check(request) is { } invalid)
        {
            return invalid;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE meters SET name = @name, unit = @unit WHERE id = @meterId",
                new { meterId, name = request.Name!.Trim(), unit = request.Unit!.Trim() },
                cancellationToken: cancellationToken));
            return changed == 0 ? Failure.NotFound("meter.not_found", meterId) : (await GetAsync(connection, meterId, cancellationToken))!;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("name", "meter.name_taken", request.Name!.Trim());
        }
    }

    /// <summary>The meter of an asset with this name (case-insensitive), for the importer and sensors.</summary>
    public async Task<long?> FindAsync(string assetCode, string meterName, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT m.id FROM meters m JOIN assets a ON a.id = m.asset_id WHERE a.code = @assetCode AND lower(m.name) = lower(@meterName) ORDER BY m.id LIMIT 1",
            new { assetCode, meterName }, cancellationToken: cancellationToken));
    }

    public async Task<Outcome<ReadingPage>> ReadingsAsync(long meterId, int skip, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await GetAsync(connection, meterId, cancellationToken) is null)
        {
            return Failure.NotFound("meter.not_found", meterId);
        }

        var items = await connection.QueryAsync<Reading>(new CommandDefinition(
            ReadingSelect + " WHERE r.meter_id = @meterId ORDER BY r.read_at DESC, r.id DESC OFFSET @skip LIMIT @take",
            new { meterId, skip = Math.Max(skip, 0), take = Math.Clamp(take, 1, 500) }, cancellationToken: cancellationToken));
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM meter_readings WHERE meter_id = @meterId", new { meterId }, cancellationToken: cancellationToken));
        return new ReadingPage(items.ToList(), count);
    }

    /// <summary>Records one reading.</summary>
    public async Task<Outcome<RecordedReading>> RecordAsync(ReadingEntry entry, Actor? actor, ReadingSource source, CancellationToken cancellationToken)
    {
        var outcome = await RecordAsync([entry], actor, source, cancellationToken, single: true);
        return outcome.Failure is { } failure ? failure : outcome.Value![0];
    }

    /// <summary>Records a batch in one transaction. Within a meter the entries are taken in time order, whatever order they came in.</summary>
    public Task<Outcome<IReadOnlyList<RecordedReading>>> RecordAsync(IReadOnlyList<ReadingEntry> entries, Actor? actor, ReadingSource source, CancellationToken cancellationToken) =>
        RecordAsync(entries, actor, source, cancellationToken, single: false);

    private async Task<Outcome<IReadOnlyList<RecordedReading>>> RecordAsync(
        IReadOnlyList<ReadingEntry> entries, Actor? actor, ReadingSource source, CancellationToken cancellationToken, bool single)
    {
        if (actor is not null && RecordRefusal(actor) is { } refused)
        {
            return refused;
        }

        if (entries.Count is 0 or > MaxBatch)
        {
            return Failure.Invalid("readings", "meter.batch_size", MaxBatch);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var errors = new FieldErrors();
        string Prefix(int i) => single ? "" : $"readings[{i}].";
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.MeterId is null)
            {
                errors.Add(Prefix(i) + "meterId", "meter.meter_required");
            }

            ReadingRules.Validate(new ReadingInput(e.ReadAt is { } t ? Utc(t) : null, e.Value, e.IsReset, e.ResetReason), now, errors, Prefix(i));
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var recorded = await RecordWithinAsync(connection, transaction, entries, actor, source, single, now, cancellationToken);
        if (recorded.Succeeded)
        {
            await transaction.CommitAsync(cancellationToken);
        }

        return recorded;
    }

    /// <summary>
    /// Records validated readings inside the caller's transaction (the field sync keeps its command record in it); the
    /// caller commits. One reading alone names its fields without the <c>readings[i].</c> prefix.
    /// </summary>
    internal static async Task<Outcome<IReadOnlyList<RecordedReading>>> RecordWithinAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ReadingEntry> entries, Actor? actor, ReadingSource source, bool single, DateTime now,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        string Prefix(int i) => single ? "" : $"readings[{i}].";
        var meterIds = entries.Select(e => e.MeterId!.Value).Distinct().Order().ToArray();
        // Locked in id order, so two batches over the same meters wait for each other instead of deadlocking.
        var locked = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM meters WHERE id = ANY(@meterIds) ORDER BY id FOR UPDATE", new { meterIds }, transaction, cancellationToken: cancellationToken))).ToHashSet();
        for (var i = 0; i < entries.Count; i++)
        {
            if (!locked.Contains(entries[i].MeterId!.Value))
            {
                errors.Add(Prefix(i) + "meterId", "meter.not_found", entries[i].MeterId);
            }
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var results = new RecordedReading?[entries.Count];
        var changed = new HashSet<long>();
        // Under the locks nothing else writes these meters: their latest readings and the entries stored already are read
        // once, and then kept up to date here as the batch goes.
        var latest = (await connection.QueryAsync<StoredReadingRow>(new CommandDefinition(
            """
            SELECT m.id AS meter_id, r.read_at, r.value, r.lifetime, r.is_reset FROM unnest(@meterIds) AS m (id)
            CROSS JOIN LATERAL (SELECT read_at, value, lifetime, is_reset FROM meter_readings
                                WHERE meter_id = m.id ORDER BY read_at DESC, id DESC LIMIT 1) r
            """,
            new { meterIds }, transaction, cancellationToken: cancellationToken))).ToDictionary(r => r.MeterId, r => r.ToStored());
        var stored = (await connection.QueryAsync<Reading>(new CommandDefinition(
            """
            SELECT r.id, r.meter_id, r.read_at, r.value, r.lifetime, r.is_reset, r.reset_reason, r.source, r.recorded_at
            FROM unnest(@ids, @times, @values) AS k (meter_id, read_at, value)
            CROSS JOIN LATERAL (SELECT * FROM meter_readings
                                WHERE meter_id = k.meter_id AND read_at = k.read_at AND value = k.value) r
            """,
            new
            {
                ids = entries.Select(e => e.MeterId!.Value).ToArray(),
                times = entries.Select(e => Utc(e.ReadAt!.Value)).ToArray(),
                values = entries.Select(e => e.Value!.Value).ToArray(),
            },
            transaction,
            cancellationToken: cancellationToken))).DistinctBy(r => r.Id).ToDictionary(r => (r.MeterId, r.ReadAt, r.Value));
        var order = entries.Select((e, i) => (Entry: e, Index: i)).OrderBy(x => x.Entry.MeterId).ThenBy(x => Utc(x.Entry.ReadAt!.Value)).ThenBy(x => x.Index);
        foreach (var (entry, index) in order)
        {
            var meterId = entry.MeterId!.Value;
            var readAt = Utc(entry.ReadAt!.Value);
            var value = entry.Value!.Value;
            var same = stored.GetValueOrDefault((meterId, readAt, value));
            var decision = ReadingRules.Decide(latest.GetValueOrDefault(meterId), same is not null, readAt, value, entry.IsReset, Prefix(index));
            if (decision.Failure is { } failure)
            {
                return failure;
            }

            if (decision.Value is ReadingDecision.Store store)
            {
                var reading = await connection.QuerySingleAsync<Reading>(new CommandDefinition(
                    """
                    INSERT INTO meter_readings (meter_id, read_at, value, lifetime, is_reset, reset_reason, source, entered_by, recorded_at)
                    VALUES (@meterId, @readAt, @value, @lifetime, @isReset, @reason, @source, @enteredBy, @now)
                    RETURNING id, meter_id, read_at, value, lifetime, is_reset, reset_reason, source, recorded_at
                    """,
                    new
                    {
                        meterId, readAt, value, lifetime = store.Lifetime, isReset = entry.IsReset, reason = entry.IsReset ? entry.ResetReason!.Trim() : null,
                        source = WireNames.Of(source), enteredBy = actor?.UserId, now,
                    },
                    transaction,
                    cancellationToken: cancellationToken));
                results[index] = new RecordedReading(reading, true);
                stored[(meterId, readAt, value)] = reading;
                latest[meterId] = new StoredReading(readAt, value, store.Lifetime, entry.IsReset);
                changed.Add(meterId);
            }
            else
            {
                results[index] = new RecordedReading(same!, false);
            }
        }

        if (changed.Count > 0)
        {
            await PmOccurrences.NudgeForMetersAsync(connection, transaction, [.. changed], now, cancellationToken);
        }

        return results.Select(r => r!).ToList();
    }

    private static Outcome<IReadOnlyList<Meter>> Outcome(List<Meter> meters) => meters;

    /// <summary>In UTC and to the microsecond, as PostgreSQL keeps it, so a retry's time equals the stored one.</summary>
    private static DateTime Utc(DateTime time)
    {
        var utc = time.Kind switch
        {
            DateTimeKind.Utc => time,
            DateTimeKind.Local => time.ToUniversalTime(),
            _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        };
        return new DateTime(utc.Ticks - (utc.Ticks % 10), DateTimeKind.Utc);
    }

    private static Failure? Check(MeterRequest request)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Trim().Length > MaxNameLength)
        {
            errors.Add("name", "field.required_short", MaxNameLength);
        }

        if (string.IsNullOrWhiteSpace(request.Unit) || request.Unit.Trim().Length > MaxUnitLength)
        {
            errors.Add("unit", "field.required_short", MaxUnitLength);
        }

        return errors.Any ? errors.ToFailure() : null;
    }

    private static async Task<bool> AssetExistsAsync(NpgsqlConnection connection, long assetId, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM assets WHERE id = @assetId)", new { assetId }, cancellationToken: cancellationToken));

    private static async Task<Meter?> GetAsync(NpgsqlConnection connection, long meterId, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<Meter>(new CommandDefinition(
            MeterSelect + " WHERE m.id = @meterId", new { meterId }, cancellationToken: cancellationToken));

    private sealed class StoredReadingRow
    {
        public long MeterId { get; init; }
        public DateTime ReadAt { get; init; }
        public decimal Value { get; init; }
        public decimal Lifetime { get; init; }
        public bool IsReset { get; init; }

        public StoredReading ToStored() => new(ReadAt, Value, Lifetime, IsReset);
    }
}
