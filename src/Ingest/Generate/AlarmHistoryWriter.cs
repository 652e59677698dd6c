using System.Globalization;
using System.Security.Cryptography;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Generate;

/// <summary>
/// Writes the sensor alarms behind the work orders the alarm gateway raised, as the live alarm engine would have left
/// them: a revoked source for the run, one rule per site and asset type (the type's signal above 100 % of its limit,
/// raising the site's alarm-check template), and for each alarm work order the episode that raised it, the re-raises
/// attached to it while it was open (chatter), the raise and clear events of each, and the alarm work order's
/// occurrence counts. Episodes and events are drawn from a seed of their own per work order, so the rest of the history
/// is the same with or without them, and written with binary COPY beside the chunk of work orders they belong to.
/// <para>
/// The rules are inactive: the generated plant's asset types are names a live plant shares (pump, spindle), and a
/// live event must never be judged by a rule of a generated history.
/// </para>
/// </summary>
internal sealed class AlarmHistoryWriter
{
    private const string CopyEpisodes = """
        COPY alarm_episodes (id, asset_id, rule_id, site_id, raised_at, cleared_at, outcome, work_order_id, note, recorded_at) FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyEvents = """
        COPY alarm_events (source_id, event_id, asset_id, signal, value, occurred_at, received_at, channel, outcome, rule_id, episode_id, work_order_id)
        FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyAlarmWorkOrders = """
        COPY alarm_work_orders (work_order_id, asset_id, fault_code, site_id, occurrences, episodes, first_seen, last_seen, created_at) FROM STDIN (FORMAT BINARY)
        """;

    private const string InsertSource = """
        INSERT INTO alarm_sources (name, api_key, secret, created_by, created_at, revoked_at)
        VALUES (@name, @apiKey, @secret, @createdBy, @windowStart, @windowEnd)
        RETURNING id
        """;

    private const string InsertRule = """
        INSERT INTO alarm_rules (asset_type, signal, comparison, threshold, deadband, for_seconds, clear_seconds, severity, fault_code, template_id, active, created_by, created_at)
        VALUES (@assetType, @signal, 'above', 100, 5, 60, 300, 'major', @faultCode, @templateId, false, @createdBy, @windowStart)
        RETURNING id
        """;

    /// <summary>The stream of <see cref="Sampling.Derive"/> the alarm draws of a work order come from.</summary>
    private const int Stream = 0xA1;

    private const double Hour = 1.0 / 24;

    private static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(10);

    private readonly Plant _plant;
    private readonly StressClock _clock;
    private readonly IdBlocks _ids;
    private readonly int _seed;
    private readonly string _tag;
    private readonly long _source;
    private readonly Dictionary<(int Site, string Type), long> _rules;
    private long _nextEpisode;

    private AlarmHistoryWriter(Plant plant, StressClock clock, IdBlocks ids, int seed, string tag, long source, Dictionary<(int, string), long> rules)
    {
        _plant = plant;
        _clock = clock;
        _ids = ids;
        _seed = seed;
        _tag = tag;
        _source = source;
        _rules = rules;
    }

    public long Episodes => _nextEpisode;

    public long Events { get; private set; }

    /// <summary>One raise: when, when it cleared (in days of the clock), and the reading that raised it.</summary>
    public readonly record struct Episode(double Raised, double Cleared, double Reading);

    /// <summary>Writes the run's source and rules; the episodes follow chunk by chunk (<see cref="WriteAsync"/>).</summary>
    public static async Task<AlarmHistoryWriter> StartAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Plant plant, StressClock clock, IdBlocks ids, int seed, string tag,
        DateTime windowStart, DateTime windowEnd, CancellationToken cancellationToken)
    {
        var gateway = ids.Users + plant.AlarmGateway;
        // Random, never derived from the seed: the source is revoked, but a key anyone could recompute is no key.
        var source = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            InsertSource,
            new
            {
                name = $"SCADA history ({tag})",
                apiKey = "gen-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                createdBy = gateway,
                windowStart,
                windowEnd,
            },
            transaction,
            cancellationToken: cancellationToken));

        var rules = new Dictionary<(int, string), long>();
        var kinds = plant.Assets.Where(a => a.Type is not null).Select(a => (a.Site, a.Type!)).Distinct()
            .OrderBy(k => k.Site).ThenBy(k => k.Item2.Code, StringComparer.Ordinal);
        foreach (var (site, type) in kinds)
        {
            rules[(site, type.Code)] = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                InsertRule,
                new
                {
                    assetType = type.Code,
                    signal = type.Signal,
                    faultCode = FaultCode(type),
                    templateId = ids.Templates + plant.Sites[site].Templates[(int)TemplateKind.AlarmCheck],
                    createdBy = gateway,
                    windowStart,
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        return new AlarmHistoryWriter(plant, clock, ids, seed, tag, source, rules);
    }

    /// <summary>The fault code of a type's alarms: its signal too high.</summary>
    public static string FaultCode(AssetType type) => type.Signal + "_high";

    /// <summary>
    /// The episodes of the work order at <paramref name="index"/> in the run (none unless the alarm gateway raised it):
    /// the raise at its creation, then re-raises each soon after the previous cleared, while the work order is still
    /// open, a real alarm chattering more than a false one. Every episode clears before the window ends.
    /// </summary>
    public static void Plan(Plant plant, int seed, long index, PlannedWorkOrder wo, double endDay, List<Episode> into)
    {
        into.Clear();
        if (wo.Source != WorkOrderSource.Alarm || wo.Asset < 0 || plant.Assets[wo.Asset].Type is null)
        {
            return;
        }

        var random = new Random(Sampling.Derive(seed, Stream, (int)(index % int.MaxValue)));
        var real = wo.Occurrence.Kind == OccurrenceKind.Alarm;
        var last = endDay - (1.0 / 86_400);
        var raised = wo.Created;
        var cleared = Math.Min(raised + (random.LogNormal(real ? 1.5 : 0.3, 0.8) * Hour), last);
        into.Add(new Episode(raised, cleared, wo.Reading));
        // Re-raises are attached while the work order is open: until it is resolved or cancelled.
        var open = last;
        foreach (var step in wo.Steps)
        {
            if (step.To is WorkOrderStatus.Resolved or WorkOrderStatus.Closed or WorkOrderStatus.Cancelled)
            {
                open = step.Day;
                break;
            }
        }

        var again = real ? (random.Chance(0.5) ? 0 : random.Chance(0.5) ? 1 : random.Chance(0.6) ? 2 : 3) : (random.Chance(0.7) ? 0 : 1);
        for (var i = 0; i < again; i++)
        {
            raised = cleared + (random.Exponential(0.4) * Hour);
            cleared = raised + (random.LogNormal(0.25, 0.6) * Hour);
            if (raised >= open || cleared >= last)
            {
                break;
            }

            into.Add(new Episode(raised, cleared, Math.Round(wo.Reading * random.Between(0.97, 1.03), 1)));
        }
    }

    /// <summary>Writes the alarms of one chunk of work orders, the first of which is the run's work order <paramref name="first"/>.</summary>
    public async Task WriteAsync(NpgsqlConnection connection, IReadOnlyList<PlannedWorkOrder> chunk, int count, long first, CancellationToken cancellationToken)
    {
        var alarmed = new List<(int Index, long FirstEpisode, int Episodes)>();
        var planned = new List<Episode>();
        var all = new List<Episode>();
        for (var i = 0; i < count; i++)
        {
            Plan(_plant, _seed, first + i, chunk[i], _clock.EndDay, planned);
            if (planned.Count > 0)
            {
                alarmed.Add((i, _ids.AlarmEpisodes + _nextEpisode + all.Count, planned.Count));
                all.AddRange(planned);
            }
        }

        if (alarmed.Count == 0)
        {
            return;
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyEpisodes, cancellationToken))
        {
            copy.Timeout = CopyTimeout;
            var e = 0;
            foreach (var (i, firstEpisode, episodes) in alarmed)
            {
                var wo = chunk[i];
                for (var k = 0; k < episodes; k++, e++)
                {
                    copy.StartRow();
                    copy.Write(firstEpisode + k, NpgsqlDbType.Bigint);
                    copy.Write(_ids.Assets + wo.Asset, NpgsqlDbType.Bigint);
                    copy.Write(Rule(wo), NpgsqlDbType.Bigint);
                    copy.Write(SiteId(wo), NpgsqlDbType.Bigint);
                    copy.Write(_clock.ToTime(all[e].Raised), NpgsqlDbType.TimestampTz);
                    copy.Write(_clock.ToTime(all[e].Cleared), NpgsqlDbType.TimestampTz);
                    copy.Write(k == 0 ? "work_order" : "attached", NpgsqlDbType.Text);
                    copy.Write(_ids.WorkOrders + first + i, NpgsqlDbType.Bigint);
                    copy.WriteNull();
                    copy.Write(_clock.ToTime(all[e].Raised), NpgsqlDbType.TimestampTz);
                }
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyEvents, cancellationToken))
        {
            copy.Timeout = CopyTimeout;
            var e = 0;
            foreach (var (i, firstEpisode, episodes) in alarmed)
            {
                var wo = chunk[i];
                for (var k = 0; k < episodes; k++, e++)
                {
                    var episode = firstEpisode + k;
                    WriteEvent(copy, wo, episode, "r", all[e].Reading, all[e].Raised, k == 0 ? "raised" : "attached", _ids.WorkOrders + first + i);
                    WriteEvent(copy, wo, episode, "c", 90, all[e].Cleared, "cleared", _ids.WorkOrders + first + i);
                }
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyAlarmWorkOrders, cancellationToken))
        {
            copy.Timeout = CopyTimeout;
            var e = 0;
            foreach (var (i, _, episodes) in alarmed)
            {
                var wo = chunk[i];
                copy.StartRow();
                copy.Write(_ids.WorkOrders + first + i, NpgsqlDbType.Bigint);
                copy.Write(_ids.Assets + wo.Asset, NpgsqlDbType.Bigint);
                copy.Write(FaultCode(_plant.Assets[wo.Asset].Type!), NpgsqlDbType.Text);
                copy.Write(SiteId(wo), NpgsqlDbType.Bigint);
                copy.Write((long)episodes, NpgsqlDbType.Bigint);
                copy.Write(episodes, NpgsqlDbType.Integer);
                copy.Write(_clock.ToTime(all[e].Raised), NpgsqlDbType.TimestampTz);
                copy.Write(_clock.ToTime(all[e + episodes - 1].Raised), NpgsqlDbType.TimestampTz);
                copy.Write(_clock.ToTime(wo.Created), NpgsqlDbType.TimestampTz);
                e += episodes;
            }

            await copy.CompleteAsync(cancellationToken);
        }

        _nextEpisode += all.Count;
    }

    private void WriteEvent(NpgsqlBinaryImporter copy, PlannedWorkOrder wo, long episode, string suffix, double value, double at, string outcome, long workOrder)
    {
        var type = _plant.Assets[wo.Asset].Type!;
        copy.StartRow();
        copy.Write(_source, NpgsqlDbType.Bigint);
        copy.Write(string.Create(CultureInfo.InvariantCulture, $"{_tag}-{episode}-{suffix}"), NpgsqlDbType.Text);
        copy.Write(_ids.Assets + wo.Asset, NpgsqlDbType.Bigint);
        copy.Write(type.Signal, NpgsqlDbType.Text);
        copy.Write((decimal)Math.Round(value, 3), NpgsqlDbType.Numeric);
        copy.Write(_clock.ToTime(at), NpgsqlDbType.TimestampTz);
        copy.Write(_clock.ToTime(at).AddSeconds(1), NpgsqlDbType.TimestampTz);
        copy.Write("mqtt", NpgsqlDbType.Text);
        copy.Write(outcome, NpgsqlDbType.Text);
        copy.Write(Rule(wo), NpgsqlDbType.Bigint);
        copy.Write(episode, NpgsqlDbType.Bigint);
        copy.Write(workOrder, NpgsqlDbType.Bigint);
        Events++;
    }

    private long Rule(PlannedWorkOrder wo)
    {
        var asset = _plant.Assets[wo.Asset];
        return _rules[(asset.Site, asset.Type!.Code)];
    }

    private long SiteId(PlannedWorkOrder wo) => _ids.Assets + _plant.Sites[_plant.Assets[wo.Asset].Site].Asset;
}
