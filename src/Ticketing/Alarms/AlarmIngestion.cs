using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Meters;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>
/// The one path every alarm event takes, from the API and from the MQTT bridge. A batch is one transaction:
/// <list type="number">
/// <item>the events' assets and the rules on their signals are looked up;</item>
/// <item>an advisory lock per (asset, fault code) is taken in one sorted order, so the state machines of one asset and
/// fault are judged by one batch at a time and batches never wait on each other in a cycle;</item>
/// <item>event ids already stored for the source are duplicates and change nothing;</item>
/// <item>each (asset, rule) machine steps through its new events in event-time order (<see cref="AlarmEngine"/>);</item>
/// <item>states, occurrence counts and the events with their outcomes are written with multi-row statements; the
/// unique (source, event id) is the backstop for a replay racing its original.</item>
/// </list>
/// </summary>
public sealed partial class AlarmIngestion(
    NpgsqlDataSource dataSource, AlarmEngine engine, MeterRegister meters, TimeProvider clock, IOptions<AlarmOptions> options, ILogger<AlarmIngestion> logger)
{
    public const int MaxEventIdLength = 200;
    public const int MaxSignalLength = 100;

    /// <summary>The longest asset code or device id an event may carry (an asset's code has at most 50, its serial number 100).</summary>
    public const int MaxCodeLength = 100;
    public const decimal MaxValue = 999_999_999_999_999.999m;

    private const string Assets = """
        WITH RECURSIVE found AS (
            SELECT id, code, serial_number, asset_type, parent_id FROM assets WHERE code = ANY(@codes)
            UNION
            SELECT id, code, serial_number, asset_type, parent_id FROM assets WHERE cardinality(@devices) > 0 AND serial_number = ANY(@devices)),
        up AS (
            SELECT id AS asset_id, id AS node, parent_id FROM found
            UNION ALL
            SELECT up.asset_id, p.id, p.parent_id FROM up JOIN assets p ON p.id = up.parent_id)
        SELECT f.id, f.code, f.serial_number, f.asset_type, u.node AS site_id
        FROM found f LEFT JOIN up u ON u.asset_id = f.id AND u.parent_id IS NULL
        """;

    private const string Duplicates = "SELECT event_id FROM alarm_events WHERE source_id = @sourceId AND event_id = ANY(@ids)";

    private const string InsertEvents = """
        INSERT INTO alarm_events (source_id, event_id, asset_id, signal, value, state, occurred_at, received_at, channel, outcome, rule_id, episode_id, work_order_id)
        SELECT @sourceId, k.e, k.a, k.s, k.v, k.st, k.t, @now, @channel, k.o, k.r, k.ep, k.wo
        FROM unnest(@eventIds::text[], @assetIds::bigint[], @signals::text[], @values::numeric[], @states::text[], @times::timestamptz[],
                    @outcomes::text[], @ruleIds::bigint[], @episodeIds::bigint[], @workOrderIds::bigint[]) AS k(e, a, s, v, st, t, o, r, ep, wo)
        ON CONFLICT (source_id, event_id) DO NOTHING
        RETURNING event_id
        """;

    private const string InsertUnknown = """
        INSERT INTO alarm_events (source_id, event_id, asset_id, asset_code, device_id, signal, value, state, occurred_at, received_at, channel, outcome)
        SELECT @sourceId, k.e, NULL, k.c, k.d, k.s, k.v, k.st, k.t, @now, @channel, k.o
        FROM unnest(@eventIds::text[], @codes::text[], @devices::text[], @signals::text[], @values::numeric[], @states::text[], @times::timestamptz[],
                    @outcomes::text[]) AS k(e, c, d, s, v, st, t, o)
        ON CONFLICT (source_id, event_id) DO NOTHING
        RETURNING event_id
        """;

    private const string MeterNames = "SELECT id, asset_id, name FROM meters WHERE asset_id = ANY(@assetIds) AND name = ANY(@signals)";

    /// <summary>
    /// Checks the shape of a batch; a refusal names the field (<c>events[3].time</c>) and nothing is stored. Facts of the
    /// register (an unknown asset) are not shape: those events are refused one by one in the answer.
    /// </summary>
    public Failure? Validate(IReadOnlyList<AlarmEventInput?>? events)
    {
        var errors = new FieldErrors();
        var max = options.Value.MaxBatch;
        if (events is null || events.Count == 0 || events.Count > max)
        {
            errors.Add("events", "alarm.batch_size", max);
            return errors.ToFailure();
        }

        var latest = clock.GetUtcNow().UtcDateTime + options.Value.MaxClockSkew;
        for (var i = 0; i < events.Count; i++)
        {
            ValidateOne(events[i], latest, errors, $"events[{i}].");
        }

        return errors.Any ? errors.ToFailure() : null;
    }

    /// <summary>Checks one event; used by the bridge, which drops a malformed message instead of a whole batch.</summary>
    public static void ValidateOne(AlarmEventInput? e, DateTime latest, FieldErrors errors, string prefix)
    {
        if (e is null)
        {
            errors.Add(prefix.TrimEnd('.'), "field.required");
            return;
        }

        if (string.IsNullOrWhiteSpace(e.EventId))
        {
            errors.Add(prefix + "eventId", "field.required");
        }
        else if (e.EventId.Length > MaxEventIdLength)
        {
            errors.Add(prefix + "eventId", "field.too_long", MaxEventIdLength);
        }

        if (string.IsNullOrWhiteSpace(e.AssetCode) == string.IsNullOrWhiteSpace(e.DeviceId))
        {
            errors.Add(prefix + "assetCode", "alarm.asset_or_device");
        }
        else if (e.AssetCode?.Trim().Length > MaxCodeLength)
        {
            errors.Add(prefix + "assetCode", "field.too_long", MaxCodeLength);
        }
        else if (e.DeviceId?.Trim().Length > MaxCodeLength)
        {
            errors.Add(prefix + "deviceId", "field.too_long", MaxCodeLength);
        }

        if (string.IsNullOrWhiteSpace(e.Signal))
        {
            errors.Add(prefix + "signal", "field.required");
        }
        else if (e.Signal.Length > MaxSignalLength)
        {
            errors.Add(prefix + "signal", "field.too_long", MaxSignalLength);
        }

        if ((e.Value is null) == (e.State is null))
        {
            errors.Add(prefix + "value", "alarm.value_or_state");
        }
        else if (e.State is not null && !WireNames.TryParse<SignalState>(e.State, out _))
        {
            errors.Add(prefix + "state", "field.one_of", "raised, cleared");
        }
        else if (e.Value is { } value && (value > MaxValue || value < -MaxValue))
        {
            errors.Add(prefix + "value", "alarm.value_range");
        }

        if (e.Time is null)
        {
            errors.Add(prefix + "time", "field.required");
        }
        else if (Utc(e.Time.Value) > latest)
        {
            errors.Add(prefix + "time", "alarm.time_future");
        }
    }

    /// <summary>Takes a batch that passed <see cref="Validate"/>: every event is accepted, a duplicate, or refused with its reason.</summary>
    public async Task<AlarmBatchResult> IngestAsync(AlarmSourceKey source, AlarmChannel channel, IReadOnlyList<AlarmEventInput> events, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await IngestOnceAsync(source, channel, events, cancellationToken);
            }
            catch (Exception e) when (attempt < 5 && e is RaceLostException or PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure })
            {
                // A replay of the same event id committed between our duplicate check and our insert: run again, and
                // this time it is a duplicate. (A deadlock should not happen given the lock order; retried all the same.)
                LogRetry(attempt, e.Message);
            }
        }
    }

    private async Task<AlarmBatchResult> IngestOnceAsync(AlarmSourceKey source, AlarmChannel channel, IReadOnlyList<AlarmEventInput> events, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var results = new AlarmEventResult?[events.Count];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        var codes = events.Where(e => !string.IsNullOrWhiteSpace(e.AssetCode)).Select(e => e.AssetCode!.Trim()).Distinct(StringComparer.Ordinal).ToArray();
        var devices = events.Where(e => !string.IsNullOrWhiteSpace(e.DeviceId)).Select(e => e.DeviceId!.Trim()).Distinct(StringComparer.Ordinal).ToArray();
        var assets = (await connection.QueryAsync<AlarmAsset>(new CommandDefinition(Assets, new { codes, devices }, cancellationToken: cancellationToken))).ToList();
        var byCode = assets.ToDictionary(a => a.Code, StringComparer.Ordinal);
        var byDevice = assets.Where(a => a.SerialNumber is not null).ToLookup(a => a.SerialNumber!, StringComparer.Ordinal);

        // Resolve each event to its asset; the first of an event id within the batch wins, the rest are duplicates. An
        // event of an asset the register does not know is refused in the answer and stored with the code as sent.
        var accepted = new List<IncomingEvent>(events.Count);
        var unknown = new List<UnknownEvent>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var eventId = e.EventId!.Trim();
            if (!seen.Add(eventId))
            {
                results[i] = new AlarmEventResult(eventId, "duplicate", null, null, null, null, null);
                continue;
            }

            SignalState? state = e.State is null ? null : WireNames.Parse<SignalState>(e.State);
            var (signal, value, at) = (e.Signal!.Trim(), e.Value is { } v ? decimal.Round(v, 3) : (decimal?)null, Utc(e.Time!.Value));
            AlarmAsset? asset = null;
            if (!string.IsNullOrWhiteSpace(e.AssetCode))
            {
                var code = e.AssetCode.Trim();
                if (!byCode.TryGetValue(code, out asset))
                {
                    unknown.Add(new UnknownEvent(
                        i, eventId, code, null, signal, value, state, at, AlarmOutcomes.UnknownAsset, $"events[{i}].assetCode", new Refusal("alarm.asset_unknown", code)));
                    continue;
                }
            }
            else
            {
                var device = e.DeviceId!.Trim();
                var matches = byDevice[device].ToList();
                if (matches.Count != 1)
                {
                    unknown.Add(matches.Count == 0
                        ? new UnknownEvent(i, eventId, null, device, signal, value, state, at, AlarmOutcomes.UnknownAsset, $"events[{i}].deviceId", new Refusal("alarm.device_unknown", device))
                        : new UnknownEvent(i, eventId, null, device, signal, value, state, at, AlarmOutcomes.AmbiguousDevice, $"events[{i}].deviceId", new Refusal("alarm.device_ambiguous", device)));
                    continue;
                }

                asset = matches[0];
            }

            accepted.Add(new IncomingEvent(i, eventId, asset, signal, value, state, at));
        }

        if (accepted.Count > 0 || unknown.Count > 0)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await StoreUnknownAsync(connection, transaction, source, channel, unknown, results, now, cancellationToken);
            var rules = await AlarmEngine.RulesAsync(connection, transaction, accepted, cancellationToken);
            await AlarmEngine.LockAsync(connection, transaction, accepted.SelectMany(a => rules.Match(a).Select(r => (a.Asset.Id, r.FaultCode))), cancellationToken);

            var stored = (await connection.QueryAsync<string>(new CommandDefinition(
                Duplicates, new { sourceId = source.Id, ids = accepted.Select(a => a.EventId).ToArray() }, transaction, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
            var fresh = accepted.Where(a => !stored.Contains(a.EventId)).ToList();
            foreach (var duplicate in accepted.Where(a => stored.Contains(a.EventId)))
            {
                results[duplicate.Index] = new AlarmEventResult(duplicate.EventId, "duplicate", null, null, null, null, null);
            }

            var judged = await engine.JudgeAsync(connection, transaction, fresh, rules, now, cancellationToken);
            var inserted = fresh.Count == 0
                ? []
                : (await connection.QueryAsync<string>(new CommandDefinition(
                    InsertEvents,
                    new
                    {
                        sourceId = source.Id,
                        now,
                        channel = WireNames.Of(channel),
                        eventIds = fresh.Select(f => f.EventId).ToArray(),
                        assetIds = fresh.Select(f => f.Asset.Id).ToArray(),
                        signals = fresh.Select(f => f.Signal).ToArray(),
                        values = fresh.Select(f => f.Value).ToArray(),
                        states = fresh.Select(f => f.State is { } s ? WireNames.Of(s) : null).ToArray(),
                        times = fresh.Select(f => f.At).ToArray(),
                        outcomes = fresh.Select(f => judged[f.Index].Outcome).ToArray(),
                        ruleIds = fresh.Select(f => judged[f.Index].RuleId).ToArray(),
                        episodeIds = fresh.Select(f => judged[f.Index].EpisodeId).ToArray(),
                        workOrderIds = fresh.Select(f => judged[f.Index].WorkOrderId).ToArray(),
                    },
                    transaction,
                    cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);

            foreach (var f in fresh)
            {
                if (inserted.Contains(f.EventId))
                {
                    var j = judged[f.Index];
                    results[f.Index] = new AlarmEventResult(f.EventId, "accepted", j.Outcome, null, null, null, j.WorkOrderId);
                }
                else if (judged[f.Index].RuleId is not null)
                {
                    // Its effects were applied as if new: undo everything and run again.
                    throw new RaceLostException(f.EventId);
                }
                else
                {
                    results[f.Index] = new AlarmEventResult(f.EventId, "duplicate", null, null, null, null, null);
                }
            }

            await transaction.CommitAsync(cancellationToken);
            await RecordReadingsAsync(connection, fresh.Where(f => inserted.Contains(f.EventId) && f.Value is not null).ToList(), cancellationToken);
        }

        return Done(results);
    }

    private static AlarmBatchResult Done(AlarmEventResult?[] results)
    {
        var done = results.Select(r => r!).ToList();
        return new AlarmBatchResult(done.Count(r => r.Result == "accepted"), done.Count(r => r.Result == "duplicate"), done.Count(r => r.Result == "refused"), done);
    }

    /// <summary>
    /// Stores the events of unknown assets (no lock needed: they move no state). One already received is a duplicate,
    /// whatever the register says now, so a replay changes nothing.
    /// </summary>
    private static async Task StoreUnknownAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, AlarmSourceKey source, AlarmChannel channel, List<UnknownEvent> unknown, AlarmEventResult?[] results,
        DateTime now, CancellationToken cancellationToken)
    {
        if (unknown.Count == 0)
        {
            return;
        }

        // In event-id order, so two replays of overlapping batches wait for each other's rows in one order.
        unknown.Sort((a, b) => string.CompareOrdinal(a.EventId, b.EventId));
        var inserted = (await connection.QueryAsync<string>(new CommandDefinition(
            InsertUnknown,
            new
            {
                sourceId = source.Id,
                now,
                channel = WireNames.Of(channel),
                eventIds = unknown.Select(u => u.EventId).ToArray(),
                codes = unknown.Select(u => u.AssetCode).ToArray(),
                devices = unknown.Select(u => u.DeviceId).ToArray(),
                signals = unknown.Select(u => u.Signal).ToArray(),
                values = unknown.Select(u => u.Value).ToArray(),
                states = unknown.Select(u => u.State is { } s ? WireNames.Of(s) : null).ToArray(),
                times = unknown.Select(u => u.At).ToArray(),
                outcomes = unknown.Select(u => u.Outcome).ToArray(),
            },
            transaction,
            cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
        foreach (var u in unknown)
        {
            results[u.Index] = inserted.Contains(u.EventId)
                ? Refused(u.EventId, u.Field, u.Reason)
                : new AlarmEventResult(u.EventId, "duplicate", null, null, null, null, null);
        }
    }

    /// <summary>
    /// A value of a signal named like one of the asset's meters is also a reading of that meter (run hours, cycles).
    /// Readings only go up: one the meter refuses (older, lower) is logged and left out; the alarm is unaffected.
    /// </summary>
    private async Task RecordReadingsAsync(NpgsqlConnection connection, List<IncomingEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        var found = (await connection.QueryAsync<(long Id, long AssetId, string Name)>(new CommandDefinition(
            MeterNames,
            new { assetIds = events.Select(e => e.Asset.Id).Distinct().ToArray(), signals = events.Select(e => e.Signal).Distinct(StringComparer.Ordinal).ToArray() },
            cancellationToken: cancellationToken))).ToDictionary(m => (m.AssetId, m.Name), m => m.Id);
        if (found.Count == 0)
        {
            return;
        }

        foreach (var group in events.Where(e => found.ContainsKey((e.Asset.Id, e.Signal))).GroupBy(e => found[(e.Asset.Id, e.Signal)]))
        {
            foreach (var e in group.OrderBy(e => e.At))
            {
                var recorded = await meters.RecordAsync(new ReadingEntry(group.Key, e.At, e.Value), null, ReadingSource.Sensor, cancellationToken);
                if (recorded.Failure is { } failure)
                {
                    LogReadingRefused(e.EventId, group.Key, failure.Message);
                }
            }
        }
    }

    private static AlarmEventResult Refused(string eventId, string field, Refusal reason) =>
        new(eventId, "refused", null, field, reason.Code, reason.ToText(CultureInfo.CurrentUICulture), null);

    internal static DateTime Utc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm batch runs again (attempt {Attempt}): {Reason}")]
    private partial void LogRetry(int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm event {EventId}: meter {MeterId} refused the reading: {Reason}")]
    private partial void LogReadingRefused(string eventId, long meterId, string reason);

    private sealed class RaceLostException(string eventId) : Exception($"event {eventId} was stored by a concurrent batch");
}

/// <summary>An asset an event names, with its type and site.</summary>
public sealed record AlarmAsset(long Id, string Code, string? SerialNumber, string? AssetType, long? SiteId);

/// <summary>An event that passed the checks but names no asset of the register (or a device id several assets carry).</summary>
internal sealed record UnknownEvent(
    int Index, string EventId, string? AssetCode, string? DeviceId, string Signal, decimal? Value, SignalState? State, DateTime At, string Outcome, string Field, Refusal Reason);

/// <summary>An event that passed the checks, resolved to its asset.</summary>
public sealed record IncomingEvent(int Index, string EventId, AlarmAsset Asset, string Signal, decimal? Value, SignalState? State, DateTime At)
{
    public AlarmSample Sample => new(At, Value, State);
}
