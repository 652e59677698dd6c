using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>What an administrator sends to add or change an assignment rule. Null criteria match anything.</summary>
public sealed record AssignmentRuleRequest(
    string? Name,
    long? DepartmentId,
    AssignmentStrategy? Strategy,
    long? NamedUserId = null,
    long? TemplateId = null,
    WorkType? WorkType = null,
    IReadOnlyList<int>? Priorities = null,
    string? AssetType = null,
    long? LocationAssetId = null,
    Dictionary<string, JsonElement>? CustomFields = null,
    IReadOnlyList<RequiredSkill>? RequiredSkills = null,
    bool Active = true,
    int? RowVersion = null);

public enum MoveDirection
{
    Up,
    Down,
}

/// <summary>The ordered list of assignment rules: read by auto-assignment, written by administrators.</summary>
public sealed class AssignmentRules(NpgsqlDataSource dataSource)
{
    public const int MaxNameLength = 100;

    internal const string SelectRules = """
        SELECT r.id, r.position, r.name, r.active, r.template_id, r.work_type, r.priorities, r.asset_type, r.location_asset_id,
               r.custom_fields::text AS custom_fields, r.department_id, d.name AS department_name, r.strategy, r.named_user_id,
               n.display_name AS named_user_name, r.row_version,
               coalesce((SELECT string_agg(s.skill || ':' || s.min_level, ',' ORDER BY s.skill) FROM assignment_rule_skills s WHERE s.rule_id = r.id), '') AS skills
        FROM assignment_rules r
        JOIN departments d ON d.id = r.department_id
        LEFT JOIN users n ON n.id = r.named_user_id
        """;

    private const string Insert = """
        INSERT INTO assignment_rules (position, name, active, template_id, work_type, priorities, asset_type, location_asset_id,
            custom_fields, department_id, strategy, named_user_id)
        VALUES ((SELECT coalesce(max(position), 0) + 1 FROM assignment_rules), @Name, @Active, @TemplateId, @WorkType, @Priorities,
            @AssetType, @LocationAssetId, @CustomFields::jsonb, @DepartmentId, @Strategy, @NamedUserId)
        RETURNING id
        """;

    private const string Update = """
        UPDATE assignment_rules
        SET name = @Name, active = @Active, template_id = @TemplateId, work_type = @WorkType, priorities = @Priorities,
            asset_type = @AssetType, location_asset_id = @LocationAssetId, custom_fields = @CustomFields::jsonb,
            department_id = @DepartmentId, strategy = @Strategy, named_user_id = @NamedUserId,
            row_version = row_version + 1, updated_at = now()
        WHERE id = @Id AND row_version = @RowVersion
        RETURNING id
        """;

    private const string References = """
        SELECT
            (SELECT count(*) FROM departments WHERE id = @departmentId)::int AS department,
            (SELECT count(*) FROM templates WHERE id = @templateId)::int AS template,
            (SELECT count(*) FROM assets WHERE id = @locationAssetId)::int AS location,
            (SELECT role || ':' || active || ':' || coalesce(department_id, 0) FROM users WHERE id = @namedUserId) AS named_user,
            (SELECT coalesce(array_agg(name), '{}') FROM skills WHERE name = ANY (@skills)) AS known_skills
        """;

    // Swaps the rule with its neighbour above or below; positions are renumbered 1..n first so they stay dense.
    private const string Move = """
        WITH ordered AS (SELECT id, row_number() OVER (ORDER BY position, id)::int AS rank FROM assignment_rules)
        UPDATE assignment_rules r SET position = o.rank FROM ordered o WHERE o.id = r.id;
        UPDATE assignment_rules r
        SET position = CASE WHEN r.id = @id THEN other.position ELSE me.position END, updated_at = now()
        FROM assignment_rules me,
             LATERAL (SELECT id, position FROM assignment_rules
                      WHERE CASE WHEN @up THEN position < me.position ELSE position > me.position END
                      ORDER BY CASE WHEN @up THEN -position ELSE position END LIMIT 1) other
        WHERE me.id = @id AND r.id IN (me.id, other.id);
        """;

    public async Task<IReadOnlyList<AssignmentRule>> ListAsync(bool includeInactive, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ListAsync(connection, null, includeInactive, cancellationToken);
    }

    /// <summary>The skills a rule may require.</summary>
    public async Task<IReadOnlyList<string>> SkillsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<string>(new CommandDefinition("SELECT name FROM skills ORDER BY name", cancellationToken: cancellationToken))).AsList();
    }

    public async Task<AssignmentRule?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindAsync(connection, null, id, cancellationToken);
    }

    internal static async Task<IReadOnlyList<AssignmentRule>> ListAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, bool includeInactive, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<RuleRow>(new CommandDefinition(
            SelectRules + " WHERE r.active OR @includeInactive ORDER BY r.position, r.id",
            new { includeInactive },
            transaction,
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRule()).ToList();
    }

    internal static async Task<AssignmentRule?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<RuleRow>(new CommandDefinition(
            SelectRules + " WHERE r.id = @id", new { id }, transaction, cancellationToken: cancellationToken));
        return row?.ToRule();
    }

    public Task<Outcome<AssignmentRule>> CreateAsync(AssignmentRuleRequest request, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(null, request, actor, cancellationToken);

    public Task<Outcome<AssignmentRule>> UpdateAsync(long id, AssignmentRuleRequest request, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(id, request, actor, cancellationToken);

    /// <summary>Takes a rule out of use. Rules are kept, not deleted, because work orders remember which rule routed them.</summary>
    public async Task<Outcome<AssignmentRule>> DeactivateAsync(long id, int? rowVersion, Actor actor, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, cancellationToken) is not { } rule)
        {
            return Failure.NotFound("assignment_rule.not_found", id);
        }

        return await UpdateAsync(id, ToRequest(rule) with { Active = false, RowVersion = rowVersion ?? rule.RowVersion }, actor, cancellationToken);
    }

    public async Task<Outcome<AssignmentRule>> MoveAsync(long id, MoveDirection direction, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("assignment_rule.admin_only");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("LOCK TABLE assignment_rules IN SHARE ROW EXCLUSIVE MODE", transaction: transaction, cancellationToken: cancellationToken));
        if (await FindAsync(connection, transaction, id, cancellationToken) is null)
        {
            return Failure.NotFound("assignment_rule.not_found", id);
        }

        await connection.ExecuteAsync(new CommandDefinition(Move, new { id, up = direction == MoveDirection.Up }, transaction, cancellationToken: cancellationToken));
        var moved = await FindAsync(connection, transaction, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return moved!;
    }

    public static AssignmentRuleRequest ToRequest(AssignmentRule rule) => new(
        rule.Name, rule.DepartmentId, rule.Strategy, rule.NamedUserId, rule.TemplateId, rule.WorkType, rule.Priorities, rule.AssetType,
        rule.LocationAssetId, rule.CustomFields.ToDictionary(), rule.RequiredSkills, rule.Active, rule.RowVersion);

    /// <summary>The checks that need no database.</summary>
    public static void Validate(AssignmentRuleRequest request, bool isUpdate, FieldErrors errors)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            errors.Add("name", "field.required");
        }
        else if (name.Length > MaxNameLength)
        {
            errors.Add("name", "field.too_long", MaxNameLength);
        }

        if (request.DepartmentId is null)
        {
            errors.Add("departmentId", "assignment_rule.department_required");
        }

        if (request.Strategy is null)
        {
            errors.Add("strategy", "assignment_rule.strategy_required");
        }
        else if (request.Strategy == AssignmentStrategy.NamedPerson && request.NamedUserId is null)
        {
            errors.Add("namedUserId", "assignment_rule.named_user_required");
        }
        else if (request.Strategy != AssignmentStrategy.NamedPerson && request.NamedUserId is not null)
        {
            errors.Add("namedUserId", "assignment_rule.named_user_only_named");
        }

        foreach (var priority in request.Priorities ?? [])
        {
            if (priority is < 1 or > 4)
            {
                errors.Add("priorities", "assignment_rule.priority", priority);
            }
        }

        if (request.AssetType is { } assetType && (assetType.Trim().Length is 0 or > 100))
        {
            errors.Add("assetType", "assignment_rule.asset_type");
        }

        foreach (var (key, value) in request.CustomFields ?? [])
        {
            if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Undefined)
            {
                errors.Add($"customFields.{key}", "assignment_rule.custom_value");
            }
        }

        var skills = request.RequiredSkills ?? [];
        foreach (var (skill, i) in skills.Select((s, i) => (s, i)))
        {
            if (string.IsNullOrWhiteSpace(skill.Skill))
            {
                errors.Add($"requiredSkills[{i}].skill", "field.required");
            }

            if (skill.MinLevel is < 1 or > 5)
            {
                errors.Add($"requiredSkills[{i}].minLevel", "field.from_to", 1, 5);
            }
        }

        foreach (var duplicate in skills.GroupBy(s => s.Skill, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add("requiredSkills", "assignment_rule.skill_twice", duplicate.Key);
        }

        if (isUpdate && request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required");
        }
    }

    private async Task<Outcome<AssignmentRule>> WriteAsync(long? id, AssignmentRuleRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("assignment_rule.admin_only");
        }

        var errors = new FieldErrors();
        Validate(request, id is not null, errors);
        var skills = request.RequiredSkills ?? [];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var found = await connection.QuerySingleAsync<ReferenceRow>(new CommandDefinition(
            References,
            new { request.DepartmentId, request.TemplateId, request.LocationAssetId, request.NamedUserId, skills = skills.Select(s => s.Skill).ToArray() },
            cancellationToken: cancellationToken));
        if (request.DepartmentId is { } departmentId && found.Department == 0)
        {
            errors.Add("departmentId", "department.missing", departmentId);
        }

        if (request.TemplateId is { } templateId && found.Template == 0)
        {
            errors.Add("templateId", "template.missing", templateId);
        }

        if (request.LocationAssetId is { } assetId && found.Location == 0)
        {
            errors.Add("locationAssetId", "asset.missing", assetId);
        }

        foreach (var unknown in skills.Select(s => s.Skill).Where(s => !string.IsNullOrWhiteSpace(s) && !found.KnownSkills.Contains(s)).Distinct())
        {
            errors.Add("requiredSkills", "skill.unknown", unknown);
        }

        if (request.NamedUserId is { } namedUserId && request.Strategy == AssignmentStrategy.NamedPerson)
        {
            var parts = found.NamedUser?.Split(':');
            if (parts is null)
            {
                errors.Add("namedUserId", "user.missing", namedUserId);
            }
            else if (parts[1] != "true")
            {
                errors.Add("namedUserId", "user.inactive_id", namedUserId);
            }
            else if (parts[0] is not (Roles.Technician or Roles.Manager) || parts[2] != request.DepartmentId?.ToString(CultureInfo.InvariantCulture))
            {
                errors.Add("namedUserId", "assignment_rule.named_user_department", namedUserId);
            }
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long? written;
        try
        {
            written = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                id is null ? Insert : Update,
                new
                {
                    Id = id,
                    Name = request.Name!.Trim(),
                    request.Active,
                    request.TemplateId,
                    WorkType = request.WorkType is { } workType ? WireNames.Of(workType) : null,
                    Priorities = (request.Priorities ?? []).Distinct().Order().Select(p => (short)p).ToArray(),
                    AssetType = request.AssetType?.Trim(),
                    request.LocationAssetId,
                    CustomFields = JsonSerializer.Serialize(request.CustomFields ?? [], TemplateSchema.Json),
                    request.DepartmentId,
                    Strategy = WireNames.Of(request.Strategy!.Value),
                    request.NamedUserId,
                    request.RowVersion,
                },
                transaction,
                cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("name", "assignment_rule.name_taken", request.Name!.Trim());
        }

        if (written is not { } ruleId)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM assignment_rules WHERE id = @id)", new { id }, transaction, cancellationToken: cancellationToken));
            return exists
                ? Failure.Conflict("assignment_rule.stale")
                : Failure.NotFound("assignment_rule.not_found", id);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM assignment_rule_skills WHERE rule_id = @ruleId;
            INSERT INTO assignment_rule_skills (rule_id, skill, min_level) SELECT @ruleId, unnest(@names), unnest(@levels);
            INSERT INTO assignment_rule_cursors (rule_id) VALUES (@ruleId) ON CONFLICT DO NOTHING;
            """,
            new { ruleId, names = skills.Select(s => s.Skill).ToArray(), levels = skills.Select(s => (short)s.MinLevel).ToArray() },
            transaction,
            cancellationToken: cancellationToken));
        var rule = await FindAsync(connection, transaction, ruleId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rule!;
    }

    private sealed class ReferenceRow
    {
        public int Department { get; init; }
        public int Template { get; init; }
        public int Location { get; init; }
        public string? NamedUser { get; init; }
        public string[] KnownSkills { get; init; } = [];
    }

    internal sealed class RuleRow
    {
        public long Id { get; init; }
        public int Position { get; init; }
        public string Name { get; init; } = "";
        public bool Active { get; init; }
        public long? TemplateId { get; init; }
        public string? WorkType { get; init; }
        public short[] Priorities { get; init; } = [];
        public string? AssetType { get; init; }
        public long? LocationAssetId { get; init; }
        public string CustomFields { get; init; } = "{}";
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public string Strategy { get; init; } = "";
        public long? NamedUserId { get; init; }
        public string? NamedUserName { get; init; }
        public int RowVersion { get; init; }
        public string Skills { get; init; } = "";

        public AssignmentRule ToRule() => new(
            Id,
            Position,
            Name,
            Active,
            TemplateId,
            WorkType is null ? null : WireNames.Parse<WorkType>(WorkType),
            Priorities.Select(p => (int)p).ToList(),
            AssetType,
            LocationAssetId,
            JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(CustomFields, TemplateSchema.Json) ?? [],
            DepartmentId,
            DepartmentName,
            Skills.Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => s.Split(':'))
                .Select(p => new RequiredSkill(p[0], int.Parse(p[1], CultureInfo.InvariantCulture)))
                .ToList(),
            WireNames.Parse<AssignmentStrategy>(Strategy),
            NamedUserId,
            NamedUserName,
            RowVersion);
    }
}
