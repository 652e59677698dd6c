using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>
/// Assigns a work order that was just created, inside the create's own transaction, whatever the channel that created
/// it. The decision is recorded as a history event with its reason; the assignee, or else the department's managers,
/// are notified.
/// </summary>
public static class AutoAssign
{
    /// <summary>Work counted in a person's load: with them and not yet resolved.</summary>
    internal const string OpenStatuses = "('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')";

    private const string LoadFacts = """
        SELECT w.number, w.title, w.template_id, w.work_type, w.priority, w.department_id, w.asset_id,
               w.custom_fields::text AS custom_fields, a.asset_type
        FROM work_orders w LEFT JOIN assets a ON a.id = w.asset_id
        WHERE w.id = @id
        """;

    private const string Lineage = """
        WITH RECURSIVE up AS (
            SELECT id, parent_id FROM assets WHERE id = @assetId
            UNION ALL
            SELECT p.id, p.parent_id FROM assets p JOIN up ON p.id = up.parent_id)
        SELECT id FROM up
        """;

    // Creates under one rule choose one at a time: each waits here for the previous one's commit. The loads were read
    // before, with the cursor's version in the same snapshot; every assignment the rule made since is in the cursor's
    // recent lists, so the waiter adds those to the loads it read instead of reading them all again while it holds the
    // lock (reading them is most of the work, and the lock is held until the commit).
    private const string LockCursor = """
        INSERT INTO assignment_rule_cursors (rule_id) VALUES (@ruleId) ON CONFLICT DO NOTHING;
        SELECT last_user_id, version, recent_users, recent_weights FROM assignment_rule_cursors WHERE rule_id = @ruleId FOR UPDATE;
        """;

    /// <summary>As <see cref="People"/>, with the rule cursor's version read in the same snapshot as the loads.</summary>
    private const string PeopleSeen = $"""
        SELECT u.id AS user_id, u.display_name AS name, u.active, u.time_zone, {SkillsColumn}, l.open_count, l.load,
               (SELECT c.version FROM assignment_rule_cursors c WHERE c.rule_id = @ruleId) AS cursor_version
        FROM users u
        {LoadJoin}
        WHERE u.department_id = @departmentId
          AND ((u.role = 'technician' AND u.active) OR u.id = @namedUserId)
        ORDER BY u.id
        """;

    /// <summary>The skills of the user aliased u, as "skill:level,..." for <see cref="ParseSkills"/>.</summary>
    internal const string SkillsColumn = "coalesce((SELECT string_agg(s.skill || ':' || s.level, ',') FROM user_skills s WHERE s.user_id = u.id), '') AS skills";

    /// <summary>The open work (l.open_count) and load (l.load) of the user aliased u; the weights are those of Assign.Weight.</summary>
    internal const string LoadJoin = $"""
        CROSS JOIN LATERAL (
            SELECT count(*)::int AS open_count,
                   coalesce(sum(CASE w.priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END), 0)::int AS load
            FROM work_orders w WHERE w.assignee_id = u.id AND w.status IN {OpenStatuses}) l
        """;

    internal const string People = $"""
        SELECT u.id AS user_id, u.display_name AS name, u.active, u.time_zone, {SkillsColumn}, l.open_count, l.load
        FROM users u
        {LoadJoin}
        WHERE u.department_id = @departmentId
          AND ((u.role = 'technician' AND u.active) OR u.id = @namedUserId)
        ORDER BY u.id
        """;

    internal const string Hours = """
        SELECT user_id, weekday, starts_at, ends_at FROM user_working_hours WHERE user_id = ANY (@ids)
        """;

    internal const string AwayNow = """
        SELECT user_id, away_from, away_to, reason FROM user_away
        WHERE user_id = ANY (@ids) AND away_from <= @now AND @now < away_to
        """;

    private const string Apply = """
        UPDATE work_orders
        SET status = CASE WHEN @assigneeId::bigint IS NULL THEN status ELSE 'assigned' END,
            assignee_id = @assigneeId, department_id = @departmentId, assignment_rule_id = @ruleId
        WHERE id = @id;
        UPDATE assignment_rule_cursors
        SET last_user_id = coalesce(@assigneeId, last_user_id),
            version = version + CASE WHEN @assigneeId::bigint IS NULL THEN 0 ELSE 1 END,
            recent_users = CASE WHEN @assigneeId::bigint IS NULL THEN recent_users
                ELSE (recent_users || @assigneeId::bigint)[greatest(1, cardinality(recent_users) - 62):] END,
            recent_weights = CASE WHEN @assigneeId::bigint IS NULL THEN recent_weights
                ELSE (recent_weights || @weight::integer)[greatest(1, cardinality(recent_weights) - 62):] END
        WHERE rule_id = @ruleId;
        """;

    private const string Managers = "SELECT id FROM users WHERE department_id = @departmentId AND role = 'manager' AND active";

    public static async Task<AssignmentDecision> OnCreateAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long workOrderId, DateTime now, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleAsync<FactsRow>(new CommandDefinition(LoadFacts, new { id = workOrderId }, transaction, cancellationToken: cancellationToken));
        var lineage = row.AssetId is { } assetId
            ? (await connection.QueryAsync<long>(new CommandDefinition(Lineage, new { assetId }, transaction, cancellationToken: cancellationToken))).ToList()
            : [];
        var facts = new WorkOrderFacts(
            row.TemplateId,
            WireNames.Parse<WorkType>(row.WorkType),
            row.Priority,
            row.AssetType,
            lineage,
            JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(row.CustomFields, TemplateSchema.Json) ?? []);
        var rules = await AssignmentRules.ListAsync(connection, transaction, includeInactive: false, cancellationToken);
        var rule = Assign.Match(rules, facts);

        AssignmentDecision decision;
        if (rule is null)
        {
            decision = Assign.Decide(null, row.Priority, [], null, now);
        }
        else
        {
            var (seen, seenVersion) = await ReadPeopleAsync(
                connection, transaction, PeopleSeen, new { departmentId = rule.DepartmentId, namedUserId = rule.NamedUserId, ruleId = rule.Id }, now, cancellationToken);
            var cursor = await connection.QuerySingleAsync<CursorRow>(new CommandDefinition(LockCursor, new { ruleId = rule.Id }, transaction, cancellationToken: cancellationToken));
            var people = CatchUp(seen, seenVersion, cursor)
                ?? await PeopleAsync(connection, transaction, rule.DepartmentId, rule.NamedUserId, now, cancellationToken);
            decision = Assign.Decide(rule, row.Priority, people, cursor.LastUserId, now);
        }

        var departmentId = rule?.DepartmentId ?? row.DepartmentId;
        await connection.ExecuteAsync(new CommandDefinition(
            Apply,
            new { id = workOrderId, assigneeId = decision.AssigneeId, departmentId, ruleId = decision.RuleId, weight = Assign.Weight(row.Priority) },
            transaction,
            cancellationToken: cancellationToken));

        var payload = new
        {
            ruleId = decision.RuleId,
            rule = decision.RuleName,
            strategy = decision.Strategy,
            urgentOverride = decision.UrgentOverride,
            assigneeId = decision.AssigneeId,
            assignee = decision.AssigneeName,
            departmentId,
            candidates = decision.Considered,
        };
        if (decision.Assigned)
        {
            await History.AppendAsync(
                connection, transaction, workOrderId, now, null, EventKinds.AutoAssigned, WorkOrderStatus.New, WorkOrderStatus.Assigned, decision.Reason, payload, cancellationToken);
            await Notifications.Notifications.AddAsync(
                connection, transaction, [decision.AssigneeId!.Value], workOrderId, "assigned",
                $"{row.Number} “{row.Title}” was assigned to you: {decision.Reason}.", now, cancellationToken);
        }
        else
        {
            await History.AppendAsync(connection, transaction, workOrderId, now, null, EventKinds.Queued, null, null, decision.Reason, payload, cancellationToken);
            var managers = await connection.QueryAsync<long>(new CommandDefinition(Managers, new { departmentId }, transaction, cancellationToken: cancellationToken));
            await Notifications.Notifications.AddAsync(
                connection, transaction, managers, workOrderId, "queued",
                $"{row.Number} “{row.Title}” waits in your department's queue: {decision.Reason}.", now, cancellationToken);
        }

        return decision;
    }

    /// <summary>The people of a department with their skills, load and schedule (for the pure decision).</summary>
    internal static async Task<List<Person>> PeopleAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, long departmentId, long? namedUserId, DateTime now, CancellationToken cancellationToken) =>
        (await ReadPeopleAsync(connection, transaction, People, new { departmentId, namedUserId }, now, cancellationToken)).People;

    /// <summary>
    /// The loads read before the lock, brought up to the locked cursor: the assignments the rule made since the version
    /// read with them, taken from its recent lists. Null when that cannot be told (no version was read, or more
    /// assignments were made since than the lists keep): then the loads are read again under the lock. Changes to loads
    /// by anything else (a resolve, a manual assignment) in the moment between the read and the lock are not seen.
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

    private static async Task<(List<Person> People, long? CursorVersion)> ReadPeopleAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, object parameters, DateTime now, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<PersonRow>(new CommandDefinition(
            sql, parameters, transaction, cancellationToken: cancellationToken))).ToList();
        var ids = rows.Select(r => r.UserId).ToArray();
        var hours = (await connection.QueryAsync<HoursRow>(new CommandDefinition(Hours, new { ids }, transaction, cancellationToken: cancellationToken)))
            .ToLookup(h => h.UserId);
        var away = (await connection.QueryAsync<AwayRow>(new CommandDefinition(AwayNow, new { ids, now }, transaction, cancellationToken: cancellationToken)))
            .ToLookup(a => a.UserId);
        return (rows.Select(r => new Person(
                r.UserId,
                r.Name,
                r.Active,
                ParseSkills(r.Skills),
                r.OpenCount,
                r.Load,
                new WeeklySchedule(
                    r.TimeZone,
                    hours[r.UserId].Select(h => h.ToHours()).ToList(),
                    away[r.UserId].Select(a => new AwayPeriod(a.AwayFrom, a.AwayTo, a.Reason)).ToList())))
            .ToList(), rows.Count > 0 ? rows[0].CursorVersion : null);
    }

    internal static Dictionary<string, int> ParseSkills(string skills) =>
        skills.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Split(':'))
            .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);

    private sealed class FactsRow
    {
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public long TemplateId { get; init; }
        public string WorkType { get; init; } = "";
        public short Priority { get; init; }
        public long DepartmentId { get; init; }
        public long? AssetId { get; init; }
        public string CustomFields { get; init; } = "{}";
        public string? AssetType { get; init; }
    }

    internal sealed class PersonRow
    {
        public long UserId { get; init; }
        public string Name { get; init; } = "";
        public bool Active { get; init; }
        public string TimeZone { get; init; } = "UTC";
        public string Skills { get; init; } = "";
        public int OpenCount { get; init; }
        public int Load { get; init; }

        public long? CursorVersion { get; init; }
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
