using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>A rule as the engine reads it.</summary>
public sealed record AlarmRule(
    long Id, long? AssetId, string? AssetType, string Signal, string Comparison, decimal? Threshold, decimal Deadband, int ForSeconds, int ClearSeconds,
    string Severity, string FaultCode, long TemplateId, bool InhibitsSite, long? CreatedBy)
{
    public AlarmCondition Condition => new(
        WireNames.Parse<AlarmComparison>(Comparison), Threshold, Deadband, TimeSpan.FromSeconds(ForSeconds), TimeSpan.FromSeconds(ClearSeconds));

    /// <summary>Severity to work-order priority: critical 1, major 2, minor 3, warning 4.</summary>
    public int Priority => Severity switch
    {
        "critical" => 1,
        "major" => 2,
        "minor" => 3,
        _ => 4,
    };
}

/// <summary>The active rules that may judge a batch's events, found by asset or asset type and signal.</summary>
public sealed class AlarmRuleSet(IEnumerable<AlarmRule> rules)
{
    private readonly List<AlarmRule> _rules = [.. rules];

    public IEnumerable<AlarmRule> Match(IncomingEvent e) => Match(e.Asset, e.Signal);

    public IEnumerable<AlarmRule> Match(AlarmAsset asset, string signal) =>
        _rules.Where(r => string.Equals(r.Signal, signal, StringComparison.Ordinal)
                          && (r.AssetId == asset.Id || (r.AssetId is null && r.AssetType is not null && string.Equals(r.AssetType, asset.AssetType, StringComparison.Ordinal))));
}

/// <summary>What one event did, as stored with it.</summary>
public sealed record JudgedEvent(string Outcome, long? RuleId, long? EpisodeId, long? WorkOrderId);

/// <summary>
/// Steps the (asset, rule) state machines and carries out what they decide: a raise creates a work order through the
/// work-order core (with auto-assignment), or attaches the episode to the open work order of the asset and fault code
/// (sending a resolved one back), or is suppressed (its site's gateway is down) or rate-limited; a clear is written to
/// the work order's history and never closes it. Callers hold the (asset, fault code) locks (<see cref="LockAsync"/>).
/// </summary>
public sealed class AlarmEngine(CreateWorkOrder create, ApplyTransition transitions, IOptions<AlarmOptions> options)
{
    private const string Rules = """
        SELECT id, asset_id, asset_type, signal, comparison, threshold, deadband, for_seconds, clear_seconds, severity, fault_code, template_id, inhibits_site, created_by
        FROM alarm_rules
        WHERE active AND signal = ANY(@signals) AND (asset_id = ANY(@assetIds) OR asset_type = ANY(@types))
        """;

    private const string States = """
        SELECT s.asset_id, s.rule_id, s.state, s.since, s.last_event_at, s.episode_id, e.outcome AS episode_outcome
        FROM alarm_states s
        JOIN unnest(@assetIds::bigint[], @ruleIds::bigint[]) AS k(a, r) ON s.asset_id = k.a AND s.rule_id = k.r
        LEFT JOIN alarm_episodes e ON e.id = s.episode_id
        """;

    private const string OpenWorkOrders = """
        SELECT DISTINCT ON (a.asset_id, a.fault_code) a.asset_id, a.fault_code, a.work_order_id, w.status
        FROM alarm_work_orders a
        JOIN unnest(@assetIds::bigint[], @faults::text[]) AS k(a, f) ON a.asset_id = k.a AND a.fault_code = k.f
        JOIN work_orders w ON w.id = a.work_order_id
        WHERE w.status NOT IN ('closed', 'cancelled')
        ORDER BY a.asset_id, a.fault_code, a.work_order_id DESC
        """;

    private const string Inhibitors = """
        SELECT s.site_id, s.asset_id
        FROM alarm_states s JOIN alarm_rules r ON r.id = s.rule_id
        WHERE r.inhibits_site AND s.state IN ('active', 'clearing') AND s.site_id = ANY(@siteIds)
        """;

    private const string SaveStates = """
        INSERT INTO alarm_states (asset_id, rule_id, site_id, state, since, last_event_at, last_value, episode_id, updated_at)
        SELECT k.a, k.r, k.s, k.st, k.si, k.l, k.v, k.ep, @now
        FROM unnest(@assetIds::bigint[], @ruleIds::bigint[], @siteIds::bigint[], @states::text[], @since::timestamptz[], @lasts::timestamptz[],
                    @values::numeric[], @episodeIds::bigint[]) AS k(a, r, s, st, si, l, v, ep)
        ON CONFLICT (asset_id, rule_id) DO UPDATE
        SET site_id = EXCLUDED.site_id, state = EXCLUDED.state, since = EXCLUDED.since, last_event_at = EXCLUDED.last_event_at,
            last_value = COALESCE(EXCLUDED.last_value, alarm_states.last_value), episode_id = EXCLUDED.episode_id, updated_at = EXCLUDED.updated_at
        """;

    private const string AddOccurrences = """
        UPDATE alarm_work_orders a
        SET occurrences = a.occurrences + k.n, episodes = a.episodes + k.e, first_seen = LEAST(a.first_seen, k.f), last_seen = GREATEST(a.last_seen, k.l)
        FROM unnest(@ids::bigint[], @counts::bigint[], @episodes::int[], @firsts::timestamptz[], @lasts::timestamptz[]) AS k(id, n, e, f, l)
        WHERE a.work_order_id = k.id
        """;

    private const string InsertEpisode = """
        INSERT INTO alarm_episodes (asset_id, rule_id, site_id, raised_at, outcome, work_order_id, note, recorded_at)
        VALUES (@assetId, @ruleId, @siteId, @raisedAt, @outcome, @workOrderId, @note, @now)
        RETURNING id
        """;

    private const string RecentRepeat = """
        SELECT w.id FROM alarm_work_orders a JOIN work_orders w ON w.id = a.work_order_id
        WHERE a.asset_id = @assetId AND a.fault_code = @faultCode AND w.status = 'closed' AND w.closed_at >= @since
        ORDER BY w.closed_at DESC LIMIT 1
        """;

    private const string InsertAlarmWorkOrder = """
        INSERT INTO alarm_work_orders (work_order_id, asset_id, fault_code, site_id, occurrences, episodes, first_seen, last_seen, repeat_of, created_at)
        VALUES (@workOrderId, @assetId, @faultCode, @siteId, 0, 0, @at, @at, @repeatOf, @now)
        """;

    private const string Requester = """
        SELECT id, user_name, role, department_id FROM users
        WHERE active AND (id = @createdBy OR role = 'admin')
        ORDER BY (id = @createdBy) DESC, id
        LIMIT 1
        """;

    public static async Task<AlarmRuleSet> RulesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<IncomingEvent> events, CancellationToken cancellationToken)
    {
        var rules = await connection.QueryAsync<AlarmRule>(new CommandDefinition(
            Rules,
            new
            {
                signals = events.Select(e => e.Signal).Distinct(StringComparer.Ordinal).ToArray(),
                assetIds = events.Select(e => e.Asset.Id).Distinct().ToArray(),
                types = events.Select(e => e.Asset.AssetType).OfType<string>().Distinct(StringComparer.Ordinal).ToArray(),
            },
            transaction,
            cancellationToken: cancellationToken));
        return new AlarmRuleSet(rules);
    }

    /// <summary>
    /// Takes the transaction-scoped advisory lock of each (asset, fault code), all in one sorted order, so two batches
    /// never hold one each while waiting for the other's.
    /// </summary>
    public static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<(long AssetId, string FaultCode)> keys, CancellationToken cancellationToken)
    {
        var sorted = keys.Select(k => (High: unchecked((int)k.AssetId), Low: FaultHash(k.FaultCode))).Distinct().Order().ToArray();
        if (sorted.Length == 0)
        {
            return;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT count(pg_advisory_xact_lock(k.h, k.l)) FROM unnest(@highs::int[], @lows::int[]) WITH ORDINALITY AS k(h, l, n)",
            new { highs = sorted.Select(s => s.High).ToArray(), lows = sorted.Select(s => s.Low).ToArray() },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>Steps the machines of the events' (asset, rule) pairs and carries out their raises and clears.</summary>
    public async Task<Dictionary<int, JudgedEvent>> JudgeAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<IncomingEvent> events, AlarmRuleSet rules, DateTime now, CancellationToken cancellationToken)
    {
        var judged = events.ToDictionary(e => e.Index, _ => new JudgedEvent(AlarmOutcomes.NoRule, null, null, null));
        var groups = events
            .SelectMany(e => rules.Match(e).Select(r => (Event: e, Rule: r)))
            .GroupBy(x => (x.Event.Asset.Id, x.Rule.Id))
            .Select(g => (Asset: g.First().Event.Asset, g.First().Rule, Events: g.Select(x => x.Event).OrderBy(e => e.At).ThenBy(e => e.Index).ToList()))
            .OrderByDescending(g => g.Rule.InhibitsSite).ThenBy(g => g.Asset.Id).ThenBy(g => g.Rule.Id)
            .ToList();
        if (groups.Count == 0)
        {
            return judged;
        }

        var pass = await Pass.OpenAsync(connection, transaction, groups.Select(g => (g.Asset, g.Rule)).ToList(), now, cancellationToken);
        foreach (var (asset, rule, groupEvents) in groups)
        {
            var condition = rule.Condition;
            var saved = pass.State(asset.Id, rule.Id);
            var machine = saved.Machine;
            var episodeId = saved.EpisodeId;
            var episodeOutcome = saved.EpisodeOutcome;
            decimal? lastValue = null;
            foreach (var e in groupEvents)
            {
                var (next, step) = AlarmStateMachine.Next(condition, machine, e.Sample);
                machine = next;
                if (step != AlarmStep.Late && e.Value is not null)
                {
                    lastValue = e.Value;
                }

                string outcome;
                long? workOrderId = null;
                switch (step)
                {
                    case AlarmStep.Raised:
                        (outcome, episodeId, workOrderId) = await RaiseAsync(pass, asset, rule, e.At, Describe(rule, e), e.Index, cancellationToken);
                        episodeOutcome = outcome;
                        break;
                    case AlarmStep.Occurrence or AlarmStep.Late:
                        if ((step == AlarmStep.Occurrence || AlarmStateMachine.Alarming(condition, e.Sample)) && pass.Open(asset.Id, rule.FaultCode) is { } open)
                        {
                            pass.Count(open.WorkOrderId, e.At, e.Index);
                            (outcome, workOrderId) = (AlarmOutcomes.Attached, open.WorkOrderId);
                        }
                        else
                        {
                            outcome = step == AlarmStep.Late ? AlarmOutcomes.Late
                                : episodeOutcome is AlarmOutcomes.Suppressed or AlarmOutcomes.RateLimited ? episodeOutcome : AlarmOutcomes.Active;
                        }

                        break;
                    case AlarmStep.Cleared:
                        workOrderId = await ClearAsync(pass, asset, rule, episodeId, e.At, Describe(rule, e), cancellationToken);
                        outcome = AlarmOutcomes.Cleared;
                        break;
                    case AlarmStep.Clearing:
                        outcome = AlarmOutcomes.Clearing;
                        break;
                    case AlarmStep.Pending:
                        outcome = AlarmOutcomes.Pending;
                        break;
                    default:
                        outcome = AlarmOutcomes.Normal;
                        break;
                }

                var before = judged[e.Index];
                if (AlarmOutcomes.Weight(outcome) >= AlarmOutcomes.Weight(before.Outcome))
                {
                    judged[e.Index] = new JudgedEvent(outcome, rule.Id, step is AlarmStep.Normal or AlarmStep.Pending or AlarmStep.Late ? null : episodeId, workOrderId);
                }
            }

            pass.Save(asset, rule, machine, episodeId, episodeOutcome, lastValue);
        }

        await pass.FlushAsync(cancellationToken);
        return judged;
    }

    /// <summary>
    /// The steps time makes without events, for the states the caller locked: pending states whose time has held raise,
    /// clears that held end their episode. Returns how many raised and cleared.
    /// </summary>
    public async Task<(int Raised, int Cleared)> ElapseAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<(AlarmAsset Asset, AlarmRule Rule)> due, DateTime now, CancellationToken cancellationToken)
    {
        var pass = await Pass.OpenAsync(connection, transaction, due, now, cancellationToken);
        int raised = 0, cleared = 0;
        foreach (var (asset, rule) in due.OrderByDescending(d => d.Rule.InhibitsSite).ThenBy(d => d.Asset.Id).ThenBy(d => d.Rule.Id))
        {
            var saved = pass.State(asset.Id, rule.Id);
            if (AlarmStateMachine.Elapse(rule.Condition, saved.Machine, now) is not { } elapsed)
            {
                continue;
            }

            var episodeId = saved.EpisodeId;
            var episodeOutcome = saved.EpisodeOutcome;
            var what = string.Create(CultureInfo.InvariantCulture, $"{rule.Signal} held for {(elapsed.Step == AlarmStep.Raised ? rule.ForSeconds : rule.ClearSeconds)} s");
            if (elapsed.Step == AlarmStep.Raised)
            {
                (episodeOutcome, episodeId, _) = await RaiseAsync(pass, asset, rule, elapsed.At, what, null, cancellationToken);
                raised++;
            }
            else
            {
                await ClearAsync(pass, asset, rule, episodeId, elapsed.At, what, cancellationToken);
                cleared++;
            }

            pass.Save(asset, rule, elapsed.Machine, episodeId, episodeOutcome, null);
        }

        await pass.FlushAsync(cancellationToken);
        return (raised, cleared);
    }

    private async Task<(string Outcome, long? EpisodeId, long? WorkOrderId)> RaiseAsync(
        Pass pass, AlarmAsset asset, AlarmRule rule, DateTime at, string what, int? eventIndex, CancellationToken cancellationToken)
    {
        var (connection, transaction, now) = (pass.Connection, pass.Transaction, pass.Now);
        string outcome;
        long? workOrderId = null;
        string? note = null;
        if (!rule.InhibitsSite && asset.SiteId is { } siteId && await pass.InhibitedAsync(siteId, asset.Id, cancellationToken))
        {
            outcome = AlarmOutcomes.Suppressed;
            note = "the site's gateway alarm is active";
        }
        else if (pass.Open(asset.Id, rule.FaultCode) is { } open)
        {
            workOrderId = open.WorkOrderId;
            outcome = AlarmOutcomes.Attached;
            if (open.Status == "resolved")
            {
                var requester = await pass.RequesterAsync(rule.CreatedBy, cancellationToken);
                var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                    "SELECT row_version FROM work_orders WHERE id = @id FOR UPDATE", new { id = open.WorkOrderId }, transaction, cancellationToken: cancellationToken));
                var reason = Truncate($"Alarm {rule.FaultCode} raised again: {what}", 2000);
                Outcome<TransitionResult> rejected = requester is null
                    ? Failure.Forbidden("transition.review_not_allowed")
                    : await transitions.ApplyAsync(
                        connection, transaction, open.WorkOrderId, WorkOrderAction.Reject, new TransitionRequest("reject", reason, RowVersion: version), requester, cancellationToken);
                if (rejected.Value is { } sentBack)
                {
                    pass.SetOpen(asset.Id, rule.FaultCode, open with { Status = WireNames.Of(sentBack.Status) });
                    note = "sent the resolved work order back";
                }
                else
                {
                    note = "the resolved work order could not be sent back: " + rejected.Failure!.Message;
                }
            }
            else
            {
                await History.AppendAsync(connection, transaction, open.WorkOrderId, now, null, EventKinds.AlarmRaised, null, null, Truncate(what, 2000),
                    new { rule = rule.Id, faultCode = rule.FaultCode, at }, cancellationToken);
            }
        }
        else if (await RateLimitedAsync(pass, asset, cancellationToken))
        {
            outcome = AlarmOutcomes.RateLimited;
            note = "the site's alarm rate limit was reached";
        }
        else
        {
            (outcome, workOrderId, note) = await CreateAsync(pass, asset, rule, at, what, cancellationToken);
        }

        var episodeId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            InsertEpisode,
            new
            {
                assetId = asset.Id,
                ruleId = rule.Id,
                siteId = asset.SiteId,
                raisedAt = at,
                outcome = outcome switch
                {
                    AlarmOutcomes.Raised => "work_order",
                    AlarmOutcomes.Attached when note?.StartsWith("sent", StringComparison.Ordinal) == true => "rejected_back",
                    AlarmOutcomes.Attached => "attached",
                    AlarmOutcomes.RefusedByCore => "refused",
                    _ => outcome,
                },
                workOrderId,
                note,
                now,
            },
            transaction,
            cancellationToken: cancellationToken));
        if (workOrderId is { } counted)
        {
            pass.Count(counted, at, eventIndex, episode: true);
        }

        return (outcome, episodeId, workOrderId);
    }

    /// <summary>
    /// Whether the site has raised its limit of work orders within the window (sliding, ending now). Exact however many
    /// batches and instances raise at once: the caller holds the site's lock (<see cref="Pass.LockSitesAsync"/>), so the
    /// count sees every work order committed before it and none is made between the count and the create.
    /// </summary>
    private async Task<bool> RateLimitedAsync(Pass pass, AlarmAsset asset, CancellationToken cancellationToken)
    {
        // Before the null check: a site-less asset's create must not come before the pass's site locks either.
        await pass.LockSitesAsync(cancellationToken);
        if (asset.SiteId is not { } siteId)
        {
            return false;
        }

        var settings = options.Value;
        var made = await pass.Connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM alarm_work_orders WHERE site_id = @siteId AND created_at > @since",
            new { siteId, since = pass.Now - settings.SiteRateWindow },
            pass.Transaction,
            cancellationToken: cancellationToken));
        return made >= settings.SiteRateLimit;
    }

    private async Task<(string Outcome, long? WorkOrderId, string? Note)> CreateAsync(
        Pass pass, AlarmAsset asset, AlarmRule rule, DateTime at, string what, CancellationToken cancellationToken)
    {
        var (connection, transaction, now) = (pass.Connection, pass.Transaction, pass.Now);
        var requester = await pass.RequesterAsync(rule.CreatedBy, cancellationToken);
        if (requester is null)
        {
            return (AlarmOutcomes.RefusedByCore, null, "no active administrator to raise the work order");
        }

        var settings = options.Value;
        var repeatOf = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            RecentRepeat, new { assetId = asset.Id, faultCode = rule.FaultCode, since = now - settings.RepeatCooldown }, transaction, cancellationToken: cancellationToken));
        var template = await Templates.Templates.FindAsync(connection, transaction, rule.TemplateId, cancellationToken);
        Dictionary<string, JsonElement>? custom = template?.Fields.Any(f => f.Key == "fault_code") == true
            ? new Dictionary<string, JsonElement> { ["fault_code"] = JsonSerializer.SerializeToElement(rule.FaultCode) }
            : null;
        var request = new CreateWorkOrderRequest(
            rule.TemplateId,
            Truncate($"{rule.FaultCode}: {rule.Signal} on {asset.Code}", CreateWorkOrder.MaxTitleLength),
            Truncate($"Raised by alarm rule {rule.Id} ({rule.Severity}): {what}.", CreateWorkOrder.MaxDescriptionLength),
            Priority: rule.Priority,
            AssetId: asset.Id,
            Reference: Truncate($"alarm {rule.FaultCode}", CreateWorkOrder.MaxReferenceLength),
            CustomFields: custom);

        await connection.ExecuteAsync(new CommandDefinition("SAVEPOINT alarm_create", transaction: transaction, cancellationToken: cancellationToken));
        var made = await create.InsertAsync(connection, transaction, request, requester, WorkOrderSource.Alarm, null, cancellationToken);
        if (made.Failure is { } failure)
        {
            await connection.ExecuteAsync(new CommandDefinition("ROLLBACK TO SAVEPOINT alarm_create", transaction: transaction, cancellationToken: cancellationToken));
            return (AlarmOutcomes.RefusedByCore, null, Truncate("the work-order core refused: " + failure.Message, 1000));
        }

        await connection.ExecuteAsync(new CommandDefinition("RELEASE SAVEPOINT alarm_create", transaction: transaction, cancellationToken: cancellationToken));
        var workOrderId = made.Value!.Id;
        await connection.ExecuteAsync(new CommandDefinition(
            InsertAlarmWorkOrder,
            new { workOrderId, assetId = asset.Id, faultCode = rule.FaultCode, siteId = asset.SiteId, at, repeatOf, now },
            transaction,
            cancellationToken: cancellationToken));
        await History.AppendAsync(connection, transaction, workOrderId, now, null, EventKinds.AlarmRaised, null, null, Truncate(what, 2000),
            new { rule = rule.Id, faultCode = rule.FaultCode, at, repeatOf }, cancellationToken);
        pass.SetOpen(asset.Id, rule.FaultCode, new OpenWorkOrder(workOrderId, "new"));
        return (AlarmOutcomes.Raised, workOrderId, repeatOf is { } earlier ? string.Create(CultureInfo.InvariantCulture, $"repeat of work order {earlier}") : null);
    }

    private static async Task<long?> ClearAsync(Pass pass, AlarmAsset asset, AlarmRule rule, long? episodeId, DateTime at, string what, CancellationToken cancellationToken)
    {
        if (episodeId is null)
        {
            return null;
        }

        var workOrderId = await pass.Connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "UPDATE alarm_episodes SET cleared_at = @at WHERE id = @episodeId AND cleared_at IS NULL RETURNING work_order_id",
            new { at, episodeId },
            pass.Transaction,
            cancellationToken: cancellationToken));
        if (workOrderId is { } id && pass.Open(asset.Id, rule.FaultCode)?.WorkOrderId == id)
        {
            // Written down, never closing: only people decide the work is done.
            await History.AppendAsync(pass.Connection, pass.Transaction, id, pass.Now, null, EventKinds.AlarmCleared, null, null, Truncate(what, 2000),
                new { rule = rule.Id, faultCode = rule.FaultCode, at, episode = episodeId }, cancellationToken);
        }

        return workOrderId;
    }

    private static string Describe(AlarmRule rule, IncomingEvent e) => e.Value is { } value
        ? string.Create(CultureInfo.InvariantCulture, $"{e.Signal} = {value} at {e.At:yyyy-MM-dd HH:mm:ss}Z ({rule.Comparison} {rule.Threshold}, event {e.EventId})")
        : string.Create(CultureInfo.InvariantCulture, $"{e.Signal} {WireNames.Of(e.State!.Value)} at {e.At:yyyy-MM-dd HH:mm:ss}Z (event {e.EventId})");

    private static int FaultHash(string faultCode)
    {
        // FNV-1a: stable across processes (string.GetHashCode is not), so every instance locks the same key.
        var hash = 2166136261u;
        foreach (var c in faultCode)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return unchecked((int)hash);
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    internal sealed record OpenWorkOrder(long WorkOrderId, string Status);

    internal sealed record SavedState(AlarmMachine Machine, long? EpisodeId, string? EpisodeOutcome);

    /// <summary>What one judging pass reads once and writes at its end.</summary>
    private sealed class Pass
    {
        private readonly Dictionary<(long, long), SavedState> _states = [];
        private readonly Dictionary<(long, string), OpenWorkOrder> _open = [];
        private readonly Dictionary<(long, long), (AlarmAsset Asset, AlarmMachine Machine, long? EpisodeId, decimal? Value)> _changed = [];
        private readonly Dictionary<long, (long Count, int Episodes, DateTime First, DateTime Last)> _occurrences = [];
        private readonly Dictionary<long, Actor?> _requesters = [];
        private readonly HashSet<(int, long)> _counted = [];
        private const int SiteLockSpace = -19;
        private HashSet<(long Site, long Asset)>? _inhibitors;
        private bool _sitesLocked;
        private readonly List<(AlarmAsset Asset, AlarmRule Rule)> _keys;

        private Pass(NpgsqlConnection connection, NpgsqlTransaction transaction, List<(AlarmAsset, AlarmRule)> keys, DateTime now)
        {
            Connection = connection;
            Transaction = transaction;
            _keys = keys;
            Now = now;
        }

        public NpgsqlConnection Connection { get; }

        public NpgsqlTransaction Transaction { get; }

        public DateTime Now { get; }

        public static async Task<Pass> OpenAsync(
            NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<(AlarmAsset Asset, AlarmRule Rule)> keys, DateTime now, CancellationToken cancellationToken)
        {
            var pass = new Pass(connection, transaction, [.. keys], now);
            var rows = await connection.QueryAsync<StateRow>(new CommandDefinition(
                States,
                new { assetIds = keys.Select(k => k.Asset.Id).ToArray(), ruleIds = keys.Select(k => k.Rule.Id).ToArray() },
                transaction,
                cancellationToken: cancellationToken));
            foreach (var row in rows)
            {
                pass._states[(row.AssetId, row.RuleId)] = new SavedState(
                    new AlarmMachine(WireNames.Parse<AlarmState>(row.State), Utc(row.Since), Utc(row.LastEventAt)), row.EpisodeId, row.EpisodeOutcome switch
                    {
                        "suppressed" => AlarmOutcomes.Suppressed,
                        "rate_limited" => AlarmOutcomes.RateLimited,
                        null => null,
                        _ => AlarmOutcomes.Raised,
                    });
            }

            var faults = keys.Select(k => (k.Asset.Id, k.Rule.FaultCode)).Distinct().ToList();
            var open = await connection.QueryAsync<(long AssetId, string FaultCode, long WorkOrderId, string Status)>(new CommandDefinition(
                OpenWorkOrders,
                new { assetIds = faults.Select(f => f.Id).ToArray(), faults = faults.Select(f => f.FaultCode).ToArray() },
                transaction,
                cancellationToken: cancellationToken));
            foreach (var o in open)
            {
                pass._open[(o.AssetId, o.FaultCode)] = new OpenWorkOrder(o.WorkOrderId, o.Status);
            }

            return pass;
        }

        /// <summary>
        /// Takes the transaction-scoped advisory lock of every site of the pass, sorted, before its first rate check:
        /// raises at one site count and create one pass at a time, and since no work order was created in the pass
        /// before (creating locks the number counter), two passes never hold one of these while waiting for the
        /// other's. Events that only attach to an open work order (an alarm storm) never take it.
        /// </summary>
        public async Task LockSitesAsync(CancellationToken cancellationToken)
        {
            if (_sitesLocked)
            {
                return;
            }

            _sitesLocked = true;
            var sites = _keys.Select(k => k.Asset.SiteId).OfType<long>().Select(s => unchecked((int)s)).Distinct().Order().ToArray();
            if (sites.Length == 0)
            {
                return;
            }

            // The two-key space with a negative first key: the (asset, fault code) locks have an asset id there.
            await Connection.ExecuteAsync(new CommandDefinition(
                "SELECT count(pg_advisory_xact_lock(@space, k.s)) FROM unnest(@sites::int[]) WITH ORDINALITY AS k(s, n)",
                new { space = SiteLockSpace, sites },
                Transaction,
                cancellationToken: cancellationToken));
        }

        public SavedState State(long assetId, long ruleId) =>
            _states.TryGetValue((assetId, ruleId), out var state) ? state : new SavedState(AlarmMachine.Initial, null, null);

        public OpenWorkOrder? Open(long assetId, string faultCode) => _open.GetValueOrDefault((assetId, faultCode));

        public void SetOpen(long assetId, string faultCode, OpenWorkOrder open) => _open[(assetId, faultCode)] = open;

        /// <summary>
        /// Counts an event as an occurrence of a work order, once however many rules with its fault code judged it;
        /// an episode raised by time alone (no event) counts as one.
        /// </summary>
        public void Count(long workOrderId, DateTime at, int? eventIndex, bool episode = false)
        {
            var counts = eventIndex is not { } index || _counted.Add((index, workOrderId));
            var (count, episodes, first, last) = _occurrences.GetValueOrDefault(workOrderId, (0, 0, at, at));
            _occurrences[workOrderId] = (count + (counts ? 1 : 0), episodes + (episode ? 1 : 0), at < first ? at : first, at > last ? at : last);
        }

        public void Save(AlarmAsset asset, AlarmRule rule, AlarmMachine machine, long? episodeId, string? episodeOutcome, decimal? value)
        {
            _states[(asset.Id, rule.Id)] = new SavedState(machine, episodeId, episodeOutcome);
            var before = _changed.GetValueOrDefault((asset.Id, rule.Id));
            _changed[(asset.Id, rule.Id)] = (asset, machine, episodeId, value ?? before.Value);
            if (rule.InhibitsSite && asset.SiteId is { } siteId && _inhibitors is not null)
            {
                if (machine.InEpisode)
                {
                    _inhibitors.Add((siteId, asset.Id));
                }
                else
                {
                    _inhibitors.Remove((siteId, asset.Id));
                }
            }
        }

        /// <summary>Whether another asset of the site has an inhibiting alarm under way, counting this pass's changes.</summary>
        public async Task<bool> InhibitedAsync(long siteId, long assetId, CancellationToken cancellationToken)
        {
            if (_inhibitors is null)
            {
                var siteIds = _keys.Select(k => k.Asset.SiteId).OfType<long>().Distinct().ToArray();
                var rows = await Connection.QueryAsync<(long SiteId, long AssetId)>(new CommandDefinition(
                    Inhibitors, new { siteIds }, Transaction, cancellationToken: cancellationToken));
                _inhibitors = [.. rows.Select(r => (r.SiteId, r.AssetId))];
                foreach (var ((asset, rule), state) in _keys.Select(k => (k, _states.GetValueOrDefault((k.Asset.Id, k.Rule.Id)))))
                {
                    if (rule.InhibitsSite && asset.SiteId is { } site && state is not null && _changed.ContainsKey((asset.Id, rule.Id)))
                    {
                        if (state.Machine.InEpisode)
                        {
                            _inhibitors.Add((site, asset.Id));
                        }
                        else
                        {
                            _inhibitors.Remove((site, asset.Id));
                        }
                    }
                }
            }

            return _inhibitors.Any(i => i.Site == siteId && i.Asset != assetId);
        }

        public async Task<Actor?> RequesterAsync(long? createdBy, CancellationToken cancellationToken)
        {
            var key = createdBy ?? 0;
            if (_requesters.TryGetValue(key, out var known))
            {
                return known;
            }

            // Whoever made the rule raises its work; an administrator when that user is gone.
            var row = await Connection.QueryFirstOrDefaultAsync<UserRow>(new CommandDefinition(
                Requester, new { createdBy }, Transaction, cancellationToken: cancellationToken));
            Actor? actor = row is not null && Roles.TryParse(row.Role, out var role) ? new Actor(row.Id, row.UserName, role, row.DepartmentId) : null;
            _requesters[key] = actor;
            return actor;
        }

        public async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (_changed.Count > 0)
            {
                var rows = _changed.ToList();
                await Connection.ExecuteAsync(new CommandDefinition(
                    SaveStates,
                    new
                    {
                        now = Now,
                        assetIds = rows.Select(r => r.Key.Item1).ToArray(),
                        ruleIds = rows.Select(r => r.Key.Item2).ToArray(),
                        siteIds = rows.Select(r => r.Value.Asset.SiteId).ToArray(),
                        states = rows.Select(r => WireNames.Of(r.Value.Machine.State)).ToArray(),
                        since = rows.Select(r => r.Value.Machine.Since).ToArray(),
                        lasts = rows.Select(r => r.Value.Machine.LastEventAt).ToArray(),
                        values = rows.Select(r => r.Value.Value).ToArray(),
                        episodeIds = rows.Select(r => r.Value.EpisodeId).ToArray(),
                    },
                    Transaction,
                    cancellationToken: cancellationToken));
            }

            if (_occurrences.Count > 0)
            {
                var rows = _occurrences.ToList();
                await Connection.ExecuteAsync(new CommandDefinition(
                    AddOccurrences,
                    new
                    {
                        ids = rows.Select(r => r.Key).ToArray(),
                        counts = rows.Select(r => r.Value.Count).ToArray(),
                        episodes = rows.Select(r => r.Value.Episodes).ToArray(),
                        firsts = rows.Select(r => r.Value.First).ToArray(),
                        lasts = rows.Select(r => r.Value.Last).ToArray(),
                    },
                    Transaction,
                    cancellationToken: cancellationToken));
            }
        }

        private static DateTime? Utc(DateTime? time) => time is { } t ? AlarmIngestion.Utc(t) : null;
    }

    private sealed class UserRow
    {
        public long Id { get; init; }
        public string UserName { get; init; } = "";
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
    }

    private sealed class StateRow
    {
        public long AssetId { get; init; }
        public long RuleId { get; init; }
        public string State { get; init; } = "";
        public DateTime? Since { get; init; }
        public DateTime? LastEventAt { get; init; }
        public long? EpisodeId { get; init; }
        public string? EpisodeOutcome { get; init; }
    }
}
