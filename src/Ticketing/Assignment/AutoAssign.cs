using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>
/// Assigns a new work order inside the create's own transaction, whatever the channel that creates it: decided before
/// the row is written, so that the row is written once with its assignee. The decision is recorded as a history event
/// with its reason; the assignee, or else the department's managers, are notified.
/// </summary>
public static class AutoAssign
{
    /// <summary>
    /// As <see cref="People"/>, with the rule's cursor as this statement's snapshot sees it and each load brought up to
    /// that cursor: a recent assignment whose create's transaction the snapshot does not see (still running, or
    /// committed since) is added to its person, one that rolled back is left out, and this transaction's own are in the
    /// loads already. Also this transaction's id, which the turn records.
    /// </summary>
    private const string PeopleSeen = $"""
        WITH c AS (
            SELECT version, last_user_id, recent_users, recent_weights, recent_xids FROM assignment_rule_cursors WHERE rule_id = @ruleId),
        pending AS (
            SELECT r.user_id, count(*)::int AS open_count, sum(r.weight)::int AS load
            FROM c CROSS JOIN LATERAL unnest(c.recent_users, c.recent_weights, c.recent_xids) AS r(user_id, weight, xid)
            WHERE r.xid IS NOT NULL
              AND r.xid IS DISTINCT FROM pg_current_xact_id_if_assigned()
              AND NOT pg_visible_in_snapshot(r.xid, pg_current_snapshot())
              AND pg_xact_status(r.xid) IS DISTINCT FROM 'aborted'
            GROUP BY r.user_id)
        SELECT u.id AS user_id, u.display_name AS name, u.active, u.time_zone, {RosterStamp},
               {OpenCount} + coalesce(p.open_count, 0) AS open_count, {Load} + coalesce(p.load, 0) AS load, {AwayColumns},
               (SELECT c.version FROM c) AS cursor_version, (SELECT c.last_user_id FROM c) AS cursor_last_user_id,
               pg_current_xact_id()::text AS xid
        FROM users u
        {LoadJoin}
        {DepartmentJoins}
        LEFT JOIN pending p ON p.user_id = u.id
        WHERE u.department_id = @departmentId
          AND ((u.role = 'technician' AND u.active) OR u.id = @namedUserId)
        ORDER BY u.id
        """;

    /// <summary>The skills of the user aliased u, as "skill:level,..." for <see cref="ParseSkills"/>.</summary>
    internal const string SkillsColumn = "coalesce((SELECT ro.skills FROM user_rosters ro WHERE ro.user_id = u.id), '') AS skills";

    /// <summary>
    /// The open work and load of the user aliased u, as kept in <c>assignee_loads_now</c> (migration 0037; the weights
    /// are those of Assign.Weight): read as <see cref="OpenCount"/> and <see cref="Load"/>, zero for who has none.
    /// </summary>
    internal const string LoadJoin = "LEFT JOIN assignee_loads_now l ON l.user_id = u.id";

    internal const string OpenCount = "coalesce(l.open_count, 0)";

    internal const string Load = "coalesce(l.load, 0)";

    internal const string People = $"""
        SELECT u.id AS user_id, u.display_name AS name, u.active, u.time_zone, {RosterStamp}, {OpenCount} AS open_count, {Load} AS load, {AwayColumns}
        FROM users u
        {LoadJoin}
        {DepartmentJoins}
        WHERE u.department_id = @departmentId
          AND ((u.role = 'technician' AND u.active) OR u.id = @namedUserId)
        ORDER BY u.id
        """;

    /// <summary>
    /// The roster row (ro, each person's skills and weekly hours, kept in user_rosters by migration 0038) and away
    /// periods now (a) of the people of department @departmentId, joined to the user aliased u. The away periods are read
    /// once for the department, not looked up person by person, and come as arrays, null when there are none.
    /// </summary>
    private const string DepartmentJoins = """
        LEFT JOIN user_rosters ro ON ro.user_id = u.id
        LEFT JOIN (
            SELECT y.user_id, array_agg(y.away_from) AS froms, array_agg(y.away_to) AS tos, array_agg(y.reason) AS reasons
            FROM user_away y JOIN users d ON d.id = y.user_id
            WHERE d.department_id = @departmentId AND y.away_from <= @now AND @now < y.away_to
            GROUP BY y.user_id) a ON a.user_id = u.id
        """;

    /// <summary>The version of the person's roster row, for <see cref="Rosters"/>; null for who has none.</summary>
    private const string RosterStamp = $"{Rosters.Stamp} AS roster_stamp";

    private const string AwayColumns = "a.froms AS away_froms, a.tos AS away_tos, a.reasons AS away_reasons";

    // The decision recorded in one round trip, after the work order was written with it: its history event and the
    // notifications (the assignee, or the department's active managers when it waits in the queue).
    private const string Record = """
        INSERT INTO work_order_events (work_order_id, occurred_at, actor_id, kind, from_status, to_status, note, payload)
        VALUES (@id, @now, NULL, @kind, @fromStatus, @toStatus, @reason, @payload::jsonb);
        INSERT INTO notifications (user_id, work_order_id, kind, text, created_at)
        SELECT DISTINCT recipient, @id, @notificationKind, left(@text, 1000), @now
        FROM (SELECT @assigneeId::bigint AS recipient WHERE @assigneeId::bigint IS NOT NULL
              UNION ALL
              SELECT id FROM users WHERE @assigneeId::bigint IS NULL AND department_id = @departmentId AND role = 'manager' AND active) r;
        """;

    // The rule's turn, taken in a transaction of its own that commits at once: a compare-and-set on the cursor's
    // version, so a create whose loads missed another's turn learns it and decides again. Its commit need not wait for
    // the disk: the create's own commit comes after it in the log and flushes it, so a create that is kept always has
    // its turn kept too; a turn lost in a crash belonged to a create that was lost with it. The row lock lasts for this
    // one round trip, not until the create commits. On a lost race the cursor as this statement saw it comes back. Its
    // plan is kept as a create's are (it was planned afresh on every turn, 0.14 ms of PostgreSQL's time each).
    private const string TakeTurn = $"""
        BEGIN;
        SET LOCAL synchronous_commit TO off;
        {PostgresConnections.KeptPlans};
        WITH taken AS (
            UPDATE assignment_rule_cursors
            SET last_user_id = @assigneeId,
                version = version + 1,
                recent_users = (recent_users || @assigneeId::bigint)[greatest(1, cardinality(recent_users) - 62):],
                recent_weights = (recent_weights || @weight::integer)[greatest(1, cardinality(recent_weights) - 62):],
                recent_xids = (recent_xids || @xid::xid8)[greatest(1, cardinality(recent_xids) - 62):]
            WHERE rule_id = @ruleId AND version = @version
            RETURNING version)
        SELECT (SELECT count(*) FROM taken) > 0 AS taken, c.last_user_id, c.version, c.recent_users, c.recent_weights
        FROM assignment_rule_cursors c WHERE c.rule_id = @ruleId;
        COMMIT;
        """;

    private const string EnsureCursor = "INSERT INTO assignment_rule_cursors (rule_id) VALUES (@ruleId) ON CONFLICT DO NOTHING";

    /// <summary>Attempts at a turn before giving up; each lost attempt means another create under the rule took one.</summary>
    private const int MaxTurnAttempts = 1000;

    /// <summary>
    /// Decides who takes a work order about to be written, under the first of the rules in use that it matches, and the
    /// department it goes to. The work order is then written with the decision, so its row is written once; the caller
    /// records the decision with <see cref="RecordAsync"/> once the row exists.
    /// </summary>
    internal static async Task<Placement> DecideAsync(
        NpgsqlDataSource dataSource,
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        NewWorkOrder work,
        IEnumerable<AssignmentRule> rules,
        DateTime now,
        CancellationToken cancellationToken)
    {
        var facts = new WorkOrderFacts(work.TemplateId, work.WorkType, work.Priority, work.AssetType, work.Lineage, work.CustomFields);
        var rule = Assign.Match(rules, facts);
        var decision = rule is null
            ? Assign.Decide(null, work.Priority, [], null, now)
            : await DecideInTurnAsync(dataSource, connection, transaction, rule, work.Priority, now, cancellationToken);
        return new Placement(decision, rule?.DepartmentId ?? work.DepartmentId);
    }

    /// <summary>
    /// How many of the people considered the decision's event lists, the chosen first. Beyond them it only counts: a
    /// department of hundreds would otherwise write kilobytes into every create's history and every webhook.
    /// </summary>
    internal const int Recorded = 20;

    /// <summary>The history event of the decision, with its reason and the candidates, and the notifications it sends.</summary>
    internal static async Task RecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, string number, string title, Placement placement, DateTime now, CancellationToken cancellationToken)
    {
        var (decision, departmentId) = placement;
        var payload = new
        {
            ruleId = decision.RuleId,
            rule = decision.RuleName,
            strategy = decision.Strategy,
            urgentOverride = decision.UrgentOverride,
            assigneeId = decision.AssigneeId,
            assignee = decision.AssigneeName,
            departmentId,
            considered = decision.Considered.Count,
            candidates = decision.Considered.Take(Recorded),
        };
        var kind = decision.Assigned ? EventKinds.AutoAssigned : EventKinds.Queued;
        if (!EventKinds.IsKnown(kind))
        {
            throw new InvalidOperationException($"'{kind}' is not in EventKinds.All.");
        }

        await connection.ExecuteAsync(new CommandDefinition(
            Record,
            new
            {
                id,
                assigneeId = decision.AssigneeId,
                departmentId,
                now,
                kind,
                fromStatus = decision.Assigned ? WireNames.Of(WorkOrderStatus.New) : null,
                toStatus = decision.Assigned ? WireNames.Of(WorkOrderStatus.Assigned) : null,
                reason = decision.Reason,
                payload = JsonSerializer.Serialize(payload, TemplateSchema.Json),
                notificationKind = decision.Assigned ? "assigned" : "queued",
                text = decision.Assigned
                    ? $"{number} “{title}” was assigned to you: {decision.Reason}."
                    : $"{number} “{title}” waits in your department's queue: {decision.Reason}.",
            },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Chooses under a rule and takes the rule's turn for the choice. The loads are read with the cursor they are up to;
    /// the turn is a compare-and-set of the cursor's version committed on a connection of its own, so a create never
    /// waits for another's commit. A create that lost the race adds the turns taken meanwhile (the cursor's recent
    /// lists; when they do not reach back far enough it reads the loads again) and chooses again. A turn stays taken
    /// if the create later rolls back: round robin then skips that person once, and loads leave it out as soon as the
    /// rollback is known. The people of the rule's department who are no candidates take no turn.
    /// </summary>
    private static async Task<AssignmentDecision> DecideInTurnAsync(
        NpgsqlDataSource dataSource, NpgsqlConnection connection, NpgsqlTransaction transaction, AssignmentRule rule, int priority, DateTime now, CancellationToken cancellationToken)
    {
        var parameters = new { departmentId = rule.DepartmentId, namedUserId = rule.NamedUserId, ruleId = rule.Id, now };
        var seen = await ReadPeopleAsync(connection, transaction, PeopleSeen, parameters, cancellationToken);
        var (people, version, lastUserId) = (seen.People, seen.CursorVersion, seen.LastUserId);
        NpgsqlConnection? side = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var decision = Assign.Decide(rule, priority, people, lastUserId, now);
                if (!decision.Assigned)
                {
                    return decision;
                }

                side ??= await dataSource.OpenConnectionAsync(cancellationToken);
                CursorRow? cursor = null;
                if (version is { } expected)
                {
                    var turn = await side.QuerySingleOrDefaultAsync<TurnRow>(new CommandDefinition(
                        TakeTurn,
                        new { ruleId = rule.Id, version = expected, assigneeId = decision.AssigneeId, weight = Assign.Weight(priority), xid = seen.Xid },
                        cancellationToken: cancellationToken));
                    if (turn is { Taken: true })
                    {
                        return decision;
                    }

                    cursor = turn?.ToCursor();
                }
                else
                {
                    await side.ExecuteAsync(new CommandDefinition(EnsureCursor, new { ruleId = rule.Id }, cancellationToken: cancellationToken));
                }

                if (attempt >= MaxTurnAttempts)
                {
                    throw new InvalidOperationException($"Assignment rule {rule.Id}: no turn on its cursor after {attempt} attempts.");
                }

                if (cursor is not null && CatchUp(people, version, cursor) is { } caughtUp)
                {
                    (people, version, lastUserId) = (caughtUp, cursor.Version, cursor.LastUserId);
                }
                else
                {
                    seen = await ReadPeopleAsync(connection, transaction, PeopleSeen, parameters, cancellationToken);
                    (people, version, lastUserId) = (seen.People, seen.CursorVersion, seen.LastUserId);
                }
            }
        }
        finally
        {
            if (side is not null)
            {
                await side.DisposeAsync();
            }
        }
    }

    /// <summary>The people of a department with their skills, load and schedule (for the pure decision).</summary>
    internal static async Task<List<Person>> PeopleAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, long departmentId, long? namedUserId, DateTime now, CancellationToken cancellationToken) =>
        (await ReadPeopleAsync(connection, transaction, People, new { departmentId, namedUserId, now }, cancellationToken)).People;

    /// <summary>
    /// The loads read earlier, brought up to a later cursor: the assignments the rule made since the version read with
    /// them, taken from its recent lists. Null when that cannot be told (no version was read, or more assignments were
    /// made since than the lists keep): then the loads are read again. Changes to loads by anything else (a resolve, a
    /// manual assignment) in the moment between the read and the turn are not seen.
    /// </summary>
    internal static List<Person>? CatchUp(List<Person> seen, long? seenVersion, CursorRow cursor)
    {
        if (seenVersion is not { } version || cursor.Version < version || cursor.Version - version > cursor.RecentUsers.Length
            || cursor.RecentUsers.Length != cursor.RecentWeights.Length)
        {
            return null;
        }

        var missed = (int)(cursor.Version - version);
        var added = new Dictionary<long, (int Open, int Load)>();
        for (var i = cursor.RecentUsers.Length - missed; i < cursor.RecentUsers.Length; i++)
        {
            var (open, load) = added.GetValueOrDefault(cursor.RecentUsers[i]);
            added[cursor.RecentUsers[i]] = (open + 1, load + cursor.RecentWeights[i]);
        }

        return [.. seen.Select(p => added.TryGetValue(p.UserId, out var more) ? p with { OpenCount = p.OpenCount + more.Open, Load = p.Load + more.Load } : p)];
    }

    private static async Task<SeenPeople> ReadPeopleAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, object parameters, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<PersonRow>(new CommandDefinition(
            sql, parameters, transaction, cancellationToken: cancellationToken))).AsList();
        var rosters = await Rosters.ReadAsync(connection, transaction, rows.Select(r => (r.UserId, r.RosterStamp)), cancellationToken);
        var people = rows.Select(r =>
        {
            var roster = rosters[r.UserId];
            return new Person(r.UserId, r.Name, r.Active, roster.Skills, r.OpenCount, r.Load, new WeeklySchedule(r.TimeZone, roster.Hours, r.Away()));
        }).ToList();
        return rows.Count > 0
            ? new SeenPeople(people, rows[0].CursorVersion, rows[0].CursorLastUserId, rows[0].Xid)
            : new SeenPeople(people, null, null, null);
    }

    /// <summary>People as one statement saw them, with the rule's cursor and the reading transaction's id in that statement.</summary>
    private sealed record SeenPeople(List<Person> People, long? CursorVersion, long? LastUserId, string? Xid);

    internal static Dictionary<string, int> ParseSkills(string skills) =>
        skills.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Split(':'))
            .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);

    /// <summary>
    /// A work order about to be written, with what the rules match on: its asset's type and lineage (the asset and
    /// everything above it) and its custom fields as they will be stored.
    /// </summary>
    internal sealed record NewWorkOrder(
        long TemplateId,
        WorkType WorkType,
        int Priority,
        long DepartmentId,
        string? AssetType,
        IReadOnlyCollection<long> Lineage,
        IReadOnlyDictionary<string, JsonElement> CustomFields);

    /// <summary>Where a new work order goes: the decision, and the department it belongs to (the rule's, else the template's).</summary>
    internal sealed record Placement(AssignmentDecision Decision, long DepartmentId)
    {
        public WorkOrderStatus Status => Decision.Assigned ? WorkOrderStatus.Assigned : WorkOrderStatus.New;
    }

    internal sealed class PersonRow
    {
        public long UserId { get; init; }
        public string Name { get; init; } = "";
        public bool Active { get; init; }
        public string TimeZone { get; init; } = "UTC";
        public long? RosterStamp { get; init; }
        public int OpenCount { get; init; }
        public int Load { get; init; }
        public DateTime[]? AwayFroms { get; init; }
        public DateTime[]? AwayTos { get; init; }
        public string?[]? AwayReasons { get; init; }

        public long? CursorVersion { get; init; }
        public long? CursorLastUserId { get; init; }
        public string? Xid { get; init; }

        public IReadOnlyList<AwayPeriod> Away() =>
            AwayFroms is null ? [] : [.. AwayFroms.Select((f, i) => new AwayPeriod(f, AwayTos![i], AwayReasons![i]))];
    }

    /// <summary>What taking a turn gave: whether it was taken, and else the cursor as the attempt saw it.</summary>
    private sealed class TurnRow
    {
        public bool Taken { get; init; }
        public long? LastUserId { get; init; }
        public long Version { get; init; }
        public long[] RecentUsers { get; init; } = [];
        public int[] RecentWeights { get; init; } = [];

        public CursorRow ToCursor() => new() { LastUserId = LastUserId, Version = Version, RecentUsers = RecentUsers, RecentWeights = RecentWeights };
    }

    /// <summary>A rule's cursor: the last person it chose, how many it has assigned, and the most recent of those.</summary>
    internal sealed class CursorRow
    {
        public long? LastUserId { get; init; }

        public long Version { get; init; }

        public long[] RecentUsers { get; init; } = [];

        public int[] RecentWeights { get; init; } = [];
    }

    internal sealed class HoursRow
    {
        public long UserId { get; init; }
        public short Weekday { get; init; }
        public TimeSpan StartsAt { get; init; }
        public TimeSpan EndsAt { get; init; }

        public WorkingHours ToHours() => new(Weekday, TimeOnly.FromTimeSpan(StartsAt), TimeOnly.FromTimeSpan(EndsAt));
    }

    internal sealed class AwayRow
    {
        public long UserId { get; init; }
        public DateTime AwayFrom { get; init; }
        public DateTime AwayTo { get; init; }
        public string? Reason { get; init; }
    }
}
