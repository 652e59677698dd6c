using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Maintenance;

/// <summary>
/// One trigger as a planner sends it. Calendar: every, unit (day, week, month, year), anchor, atTime (local, default
/// 08:00), schedule (fixed, floating; default fixed), activeMonths (1-12; none: all year). Meter: meterName and either
/// everyUnits or threshold.
/// </summary>
public sealed record PmTriggerRequest(
    PmTriggerKind? Kind,
    int? Every = null,
    RecurrenceUnit? Unit = null,
    DateOnly? Anchor = null,
    TimeOnly? AtTime = null,
    PmScheduleMode? Schedule = null,
    int[]? ActiveMonths = null,
    string? MeterName = null,
    decimal? EveryUnits = null,
    decimal? Threshold = null);

public sealed record PmPlanSkill(string Skill, int MinLevel = 1);

/// <summary>
/// What a planner sends to create or change a plan. The target is one asset (assetId), or every asset of a type under a
/// location (assetType and locationAssetId). The row version is required to change a plan.
/// </summary>
public sealed record PmPlanRequest(
    string? Name,
    long? TemplateId,
    long? AssetId = null,
    string? AssetType = null,
    long? LocationAssetId = null,
    decimal? EstimatedHours = null,
    int LeadDays = 0,
    OverlapPolicy Overlap = OverlapPolicy.Skip,
    CatchUpPolicy CatchUp = CatchUpPolicy.Latest,
    IReadOnlyList<PmTriggerRequest>? Triggers = null,
    IReadOnlyList<PmPlanSkill>? Skills = null,
    bool Active = true,
    int? RowVersion = null,
    long? ProposalId = null);

public sealed record PmPlan(
    long Id,
    string Name,
    long TemplateId,
    string TemplateName,
    long DepartmentId,
    string DepartmentName,
    long? AssetId,
    string? AssetCode,
    string? AssetType,
    long? LocationAssetId,
    string? LocationCode,
    decimal EstimatedHours,
    int LeadDays,
    OverlapPolicy Overlap,
    CatchUpPolicy CatchUp,
    bool Active,
    IReadOnlyList<PmTrigger> Triggers,
    IReadOnlyList<PmPlanSkill> Skills,
    int AssetCount,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    int RowVersion);

/// <summary>A plan on one of its assets: when it last made work, when it was last completed, and what falls due next.</summary>
public sealed record PmPlanAsset(
    long PlanId,
    string PlanName,
    long AssetId,
    string AssetCode,
    string AssetName,
    string Lifecycle,
    DateTime? LastCompletedAt,
    string? LastDueKey,
    DateTime? NextDueAt,
    string? NextDueKey,
    bool Active);

/// <summary>Which plans to list.</summary>
public sealed record PmPlanQuery(bool? Active = true, long? DepartmentId = null, long? AssetId = null, int Skip = 0, int Take = 50);

public sealed record PmPlanPage(IReadOnlyList<PmPlan> Items, int Total);

/// <summary>
/// Plans of the preventive-maintenance programme: planners and administrators create, change and deactivate them;
/// everyone who sees work orders reads them. Saving a plan writes its per-asset schedules, which the generator reads.
/// </summary>
public sealed class PmPlans(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxNameLength = 200;
    public const int MaxTriggers = 10;

    private const string Columns = """
        p.id AS Id, p.name AS Name, p.template_id AS TemplateId, t.name AS TemplateName, t.department_id AS DepartmentId, d.name AS DepartmentName,
        p.asset_id AS AssetId, a.code AS AssetCode, p.asset_type AS AssetType, p.location_asset_id AS LocationAssetId, l.code AS LocationCode,
        p.estimated_hours AS EstimatedHours, p.lead_days AS LeadDays, p.overlap_policy AS Overlap, p.catch_up_policy AS CatchUp, p.active AS Active,
        (SELECT count(*) FROM pm_schedules s WHERE s.plan_id = p.id)::int AS AssetCount,
        p.created_at AS CreatedAt, p.updated_at AS UpdatedAt, p.row_version AS RowVersion
        FROM pm_plans p
        JOIN templates t ON t.id = p.template_id
        JOIN departments d ON d.id = t.department_id
        LEFT JOIN assets a ON a.id = p.asset_id
        LEFT JOIN assets l ON l.id = p.location_asset_id
        """;

    private const string InsertPlan = """
        INSERT INTO pm_plans (name, template_id, asset_id, asset_type, location_asset_id, estimated_hours, lead_days, overlap_policy, catch_up_policy,
            active, proposal_id, created_by, created_at, updated_at)
        VALUES (@Name, @TemplateId, @AssetId, @AssetType, @LocationAssetId, @EstimatedHours, @LeadDays, @Overlap, @CatchUp, @Active, @ProposalId, @me, @now, @now)
        RETURNING id
        """;

    private const string UpdatePlan = """
        UPDATE pm_plans
        SET name = @Name, template_id = @TemplateId, asset_id = @AssetId, asset_type = @AssetType, location_asset_id = @LocationAssetId,
            estimated_hours = @EstimatedHours, lead_days = @LeadDays, overlap_policy = @Overlap, catch_up_policy = @CatchUp, active = @Active,
            proposal_id = coalesce(@ProposalId, proposal_id), row_version = row_version + 1, updated_at = @now
        WHERE id = @id AND row_version = @RowVersion
        """;

    private const string InsertTrigger = """
        INSERT INTO pm_triggers (plan_id, kind, every_n, unit, anchor, at_time, schedule, active_months, meter_name, every_units, threshold)
        VALUES (@planId, @kind, @every, @unit, @anchor, @atTime, @schedule, @activeMonths, @meterName, @everyUnits, @threshold)
        """;

    // The plan's assets now: the one asset, or the assets of the type below the location. Schedules of assets that left
    // go; new ones start now; the rest are looked at again now, since the plan changed.
    private const string FollowTargets = """
        WITH RECURSIVE sub AS (
            SELECT a.id FROM assets a JOIN pm_plans p ON p.location_asset_id = a.id WHERE p.id = @planId
            UNION ALL SELECT a.id FROM assets a JOIN sub ON a.parent_id = sub.id),
        target AS (
            SELECT p.asset_id AS asset_id FROM pm_plans p WHERE p.id = @planId AND p.asset_id IS NOT NULL
            UNION SELECT a.id FROM sub JOIN assets a ON a.id = sub.id JOIN pm_plans p ON p.id = @planId
            WHERE a.asset_type = p.asset_type AND a.id <> p.location_asset_id),
        gone AS (
            DELETE FROM pm_schedules s WHERE s.plan_id = @planId AND s.asset_id NOT IN (SELECT asset_id FROM target))
        INSERT INTO pm_schedules (plan_id, asset_id, next_check_at, starts_at)
        SELECT @planId, asset_id, @next, @now FROM target
        ON CONFLICT (plan_id, asset_id) DO UPDATE
        SET next_check_at = excluded.next_check_at,
            starts_at = CASE WHEN @reactivated THEN excluded.starts_at ELSE coalesce(pm_schedules.starts_at, excluded.starts_at) END
        """;

    public static bool CanPlan(Actor actor) => actor.Role is Role.Admin or Role.Planner;

    /// <summary>The refusal of a plan change by someone who does not plan; null for a planner.</summary>
    public static Failure? PlannerOnly(Actor actor) => CanPlan(actor) ? null : Failure.Forbidden("pm.planner_only");

    public async Task<Outcome<PmPlan>> CreateAsync(PmPlanRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!CanPlan(actor))
        {
            return Failure.Forbidden("pm.planner_only");
        }

        var errors = new FieldErrors();
        PmPlanRules.Validate(request, errors);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await CheckReferencesAsync(connection, transaction, request, null, errors, cancellationToken);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            InsertPlan, Parameters(request, actor, now), transaction, cancellationToken: cancellationToken));
        await WriteChildrenAsync(connection, transaction, id, request, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            FollowTargets, new { planId = id, now, next = request.Active ? now : PmCalendar.Never, reactivated = false }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (await FindAsync(id, cancellationToken))!;
    }

    /// <summary>
    /// Changes a plan: its fields, triggers, skills and target. Occurrences already made stay as they are; the schedules
    /// are looked at again at once. A plan made active again owes nothing from the time it was inactive.
    /// </summary>
    public async Task<Outcome<PmPlan>> UpdateAsync(long id, PmPlanRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!CanPlan(actor))
        {
            return Failure.Forbidden("pm.planner_only");
        }

        var errors = new FieldErrors();
        PmPlanRules.Validate(request, errors);
        if (request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var found = await connection.QuerySingleOrDefaultAsync<(int RowVersion, bool Active)>(new CommandDefinition(
            "SELECT row_version, active FROM pm_plans WHERE id = @id FOR UPDATE", new { id }, transaction, cancellationToken: cancellationToken));
        if (found.RowVersion == 0)
        {
            return Failure.NotFound("pm.plan_not_found", id);
        }

        await CheckReferencesAsync(connection, transaction, request, id, errors, cancellationToken);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        if (found.RowVersion != request.RowVersion)
        {
            return Failure.Conflict("pm.plan_stale", id, found.RowVersion, request.RowVersion);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var parameters = new DynamicParameters(Parameters(request, actor, now));
        parameters.Add("id", id);
        await connection.ExecuteAsync(new CommandDefinition(UpdatePlan, parameters, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM pm_triggers WHERE plan_id = @id; DELETE FROM pm_plan_skills WHERE plan_id = @id", new { id }, transaction, cancellationToken: cancellationToken));
        await WriteChildrenAsync(connection, transaction, id, request, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            FollowTargets,
            new { planId = id, now, next = request.Active ? now : PmCalendar.Never, reactivated = request.Active && !found.Active },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (await FindAsync(id, cancellationToken))!;
    }

    /// <summary>Stops a plan: it makes no new occurrences; what it made stays.</summary>
    public async Task<Outcome<PmPlan>> DeactivateAsync(long id, int? rowVersion, Actor actor, CancellationToken cancellationToken)
    {
        if (!CanPlan(actor))
        {
            return Failure.Forbidden("pm.planner_only");
        }

        if (rowVersion is null)
        {
            return Failure.Invalid("rowVersion", "row_version.required");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var version = await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT row_version FROM pm_plans WHERE id = @id FOR UPDATE", new { id }, transaction, cancellationToken: cancellationToken));
        if (version is null)
        {
            return Failure.NotFound("pm.plan_not_found", id);
        }

        if (version != rowVersion)
        {
            return Failure.Conflict("pm.plan_stale", id, version, rowVersion);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE pm_plans SET active = false, row_version = row_version + 1, updated_at = @now WHERE id = @id;
            UPDATE pm_schedules SET next_check_at = @never WHERE plan_id = @id;
            """,
            new { id, now, never = PmCalendar.Never },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (await FindAsync(id, cancellationToken))!;
    }

    public async Task<PmPlan?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<PlanRow>(new CommandDefinition($"SELECT {Columns} WHERE p.id = @id", new { id }, cancellationToken: cancellationToken));
        return (await ToPlansAsync(connection, [.. rows], cancellationToken)).FirstOrDefault();
    }

    public async Task<PmPlanPage> ListAsync(PmPlanQuery query, CancellationToken cancellationToken)
    {
        const string Where = """
            WHERE (@active::boolean IS NULL OR p.active = @active) AND (@departmentId::bigint IS NULL OR t.department_id = @departmentId)
              AND (@assetId::bigint IS NULL OR EXISTS (SELECT 1 FROM pm_schedules s WHERE s.plan_id = p.id AND s.asset_id = @assetId))
            """;
        var parameters = new { active = query.Active, departmentId = query.DepartmentId, assetId = query.AssetId, skip = Math.Max(0, query.Skip), take = Math.Clamp(query.Take, 1, 500) };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var total = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"SELECT count(*) FROM pm_plans p JOIN templates t ON t.id = p.template_id {Where}", parameters, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<PlanRow>(new CommandDefinition(
            $"SELECT {Columns} {Where} ORDER BY p.name, p.id LIMIT @take OFFSET @skip", parameters, cancellationToken: cancellationToken));
        return new PmPlanPage(await ToPlansAsync(connection, [.. rows], cancellationToken), total);
    }

    /// <summary>The assets of a plan (or the plans of an asset) with the next due date each, from the one calculator.</summary>
    public async Task<IReadOnlyList<PmPlanAsset>> SchedulesAsync(long? planId, long? assetId, CancellationToken cancellationToken, int take = 1000)
    {
        const string Sql = """
            SELECT s.plan_id AS PlanId, p.name AS PlanName, s.asset_id AS AssetId, a.code AS AssetCode, a.name AS AssetName, a.lifecycle AS Lifecycle,
                   s.last_completed_at AS LastCompletedAt, s.last_due_key AS LastDueKey, s.starts_at AS StartsAt, p.active AS Active
            FROM pm_schedules s JOIN pm_plans p ON p.id = s.plan_id JOIN assets a ON a.id = s.asset_id
            WHERE (@planId::bigint IS NULL OR s.plan_id = @planId) AND (@assetId::bigint IS NULL OR s.asset_id = @assetId)
            ORDER BY p.name, a.code
            LIMIT @take
            """;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<ScheduleRow>(new CommandDefinition(Sql, new { planId, assetId, take }, cancellationToken: cancellationToken))).ToList();
        var plans = await PmStore.PlansAsync(connection, null, [.. rows.Select(r => r.PlanId).Distinct()], cancellationToken);
        var zones = await PmStore.ZonesAsync(connection, null, [.. rows.Select(r => r.AssetId).Distinct()], cancellationToken);
        return
        [
            .. rows.Select(r =>
            {
                var next = r.Active && PmGenerator.TakesWork(r.Lifecycle)
                    ? PmCalendar.NextDue(plans[r.PlanId].Rule, zones[r.AssetId], r.ToState(now), now)
                    : null;
                return new PmPlanAsset(r.PlanId, r.PlanName, r.AssetId, r.AssetCode, r.AssetName, r.Lifecycle, r.LastCompletedAt, r.LastDueKey, next?.DueAt, next?.Key, r.Active);
            }),
        ];
    }

    private static object Parameters(PmPlanRequest request, Actor actor, DateTime now) => new
    {
        Name = request.Name!.Trim(),
        request.TemplateId,
        request.AssetId,
        AssetType = request.AssetId is null ? request.AssetType?.Trim() : null,
        LocationAssetId = request.AssetId is null ? request.LocationAssetId : null,
        request.EstimatedHours,
        LeadDays = (short)request.LeadDays,
        Overlap = WireNames.Of(request.Overlap),
        CatchUp = WireNames.Of(request.CatchUp),
        request.Active,
        request.RowVersion,
        request.ProposalId,
        me = actor.UserId,
        now,
    };

    private static async Task WriteChildrenAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long planId, PmPlanRequest request, CancellationToken cancellationToken)
    {
        foreach (var t in request.Triggers!)
        {
            var calendar = t.Kind == PmTriggerKind.Calendar;
            await connection.ExecuteAsync(new CommandDefinition(
                InsertTrigger,
                new
                {
                    planId,
                    kind = WireNames.Of(t.Kind!.Value),
                    every = calendar ? t.Every : null,
                    unit = calendar ? WireNames.Of(t.Unit!.Value) : null,
                    anchor = calendar ? t.Anchor : null,
                    atTime = calendar ? t.AtTime ?? PmPlanRules.DefaultTime : (TimeOnly?)null,
                    schedule = calendar ? WireNames.Of(t.Schedule ?? PmScheduleMode.Fixed) : null,
                    activeMonths = calendar && t.ActiveMonths is { Length: > 0 } months ? months.Distinct().Order().Select(m => (short)m).ToArray() : null,
                    meterName = calendar ? null : t.MeterName!.Trim(),
                    everyUnits = calendar ? null : t.EveryUnits,
                    threshold = calendar ? null : t.Threshold,
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        foreach (var skill in request.Skills ?? [])
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO pm_plan_skills (plan_id, skill, min_level) VALUES (@planId, @skill, @level)",
                new { planId, skill = skill.Skill.Trim(), level = (short)skill.MinLevel },
                transaction,
                cancellationToken: cancellationToken));
        }
    }

    /// <summary>
    /// The rules needing the database: a usable template the generator can fill by itself (no required custom field,
    /// no required contact: nobody is there to type them), an existing asset or location, known skills, a unique name.
    /// </summary>
    private static async Task CheckReferencesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PmPlanRequest request, long? planId, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (request.TemplateId is { } templateId)
        {
            var template = await Templates.Templates.FindAsync(connection, transaction, templateId, cancellationToken);
            if (template is null || !template.Active)
            {
                errors.Add("templateId", "template.unusable", templateId);
            }
            else
            {
                var required = template.Fields.Where(f => f.Required).Select(f => f.Key).ToArray();
                if (required.Length > 0)
                {
                    errors.Add("templateId", "pm.template_required_fields", template.Name, string.Join(", ", required));
                }

                if (template.ContactRequired)
                {
                    errors.Add("templateId", "pm.template_contact_required", template.Name);
                }
            }
        }

        if (request.AssetId is { } assetId)
        {
            var lifecycle = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT lifecycle FROM assets WHERE id = @assetId", new { assetId }, transaction, cancellationToken: cancellationToken));
            if (lifecycle is null)
            {
                errors.Add("assetId", "asset.missing", assetId);
            }
            else if (!PmGenerator.TakesWork(lifecycle))
            {
                errors.Add("assetId", "pm.asset_retired", assetId, lifecycle);
            }
        }
        else if (request.LocationAssetId is { } locationId
                 && !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                     "SELECT EXISTS (SELECT 1 FROM assets WHERE id = @locationId)", new { locationId }, transaction, cancellationToken: cancellationToken)))
        {
            errors.Add("locationAssetId", "asset.missing", locationId);
        }

        if (request.ProposalId is { } proposalId
            && !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM forecast_proposals WHERE id = @proposalId)", new { proposalId }, transaction, cancellationToken: cancellationToken)))
        {
            errors.Add("proposalId", "proposal.not_found", proposalId);
        }

        var skills = (request.Skills ?? []).Where(s => !string.IsNullOrWhiteSpace(s?.Skill)).Select(s => s.Skill.Trim()).Distinct().ToArray();
        if (skills.Length > 0)
        {
            var known = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT name FROM skills WHERE name = ANY(@skills)", new { skills }, transaction, cancellationToken: cancellationToken))).ToHashSet();
            foreach (var unknown in skills.Where(s => !known.Contains(s)))
            {
                errors.Add("skills", "skill.unknown", unknown);
            }
        }

        if (request.Name?.Trim() is { Length: > 0 } name
            && await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM pm_plans WHERE name = @name AND id IS DISTINCT FROM @planId)", new { name, planId }, transaction, cancellationToken: cancellationToken)))
        {
            errors.Add("name", "pm.name_taken", name);
        }
    }

    private static async Task<IReadOnlyList<PmPlan>> ToPlansAsync(NpgsqlConnection connection, List<PlanRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        long[] ids = [.. rows.Select(r => r.Id)];
        var rules = await PmStore.PlansAsync(connection, null, ids, cancellationToken);
        var skills = (await connection.QueryAsync<(long PlanId, string Skill, short MinLevel)>(new CommandDefinition(
            "SELECT plan_id, skill, min_level FROM pm_plan_skills WHERE plan_id = ANY(@ids) ORDER BY skill", new { ids }, cancellationToken: cancellationToken)))
            .ToLookup(s => s.PlanId);
        return
        [
            .. rows.Select(r => new PmPlan(
                r.Id, r.Name, r.TemplateId, r.TemplateName, r.DepartmentId, r.DepartmentName, r.AssetId, r.AssetCode, r.AssetType, r.LocationAssetId,
                r.LocationCode, r.EstimatedHours, r.LeadDays, WireNames.Parse<OverlapPolicy>(r.Overlap), WireNames.Parse<CatchUpPolicy>(r.CatchUp), r.Active,
                rules[r.Id].Rule.Triggers, [.. skills[r.Id].Select(s => new PmPlanSkill(s.Skill, s.MinLevel))], r.AssetCount, r.CreatedAt, r.UpdatedAt, r.RowVersion)),
        ];
    }

    private sealed class PlanRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public long TemplateId { get; init; }
        public string TemplateName { get; init; } = "";
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public long? AssetId { get; init; }
        public string? AssetCode { get; init; }
        public string? AssetType { get; init; }
        public long? LocationAssetId { get; init; }
        public string? LocationCode { get; init; }
        public decimal EstimatedHours { get; init; }
        public short LeadDays { get; init; }
        public string Overlap { get; init; } = "";
        public string CatchUp { get; init; } = "";
        public bool Active { get; init; }
        public int AssetCount { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }
        public int RowVersion { get; init; }
    }

    internal sealed class ScheduleRow
    {
        public long PlanId { get; init; }
        public string PlanName { get; init; } = "";
        public long AssetId { get; init; }
        public string AssetCode { get; init; } = "";
        public string AssetName { get; init; } = "";
        public string Lifecycle { get; init; } = "";
        public DateTime? LastCompletedAt { get; init; }
        public string? LastDueKey { get; init; }
        public DateTime? StartsAt { get; init; }
        public bool Active { get; init; }

        public PmScheduleState ToState(DateTime now) => new(StartsAt ?? now, LastCompletedAt, LastDueKey);
    }
}

/// <summary>The rules of a plan request that need no database.</summary>
public static class PmPlanRules
{
    public static readonly TimeOnly DefaultTime = new(8, 0);

    public static void Validate(PmPlanRequest request, FieldErrors errors)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > PmPlans.MaxNameLength)
        {
            errors.Add("name", "field.required_short", PmPlans.MaxNameLength);
        }

        if (request.TemplateId is null)
        {
            errors.Add("templateId", "field.required");
        }

        if (request.AssetId is null)
        {
            if (string.IsNullOrWhiteSpace(request.AssetType) || request.LocationAssetId is null)
            {
                errors.Add("assetId", "pm.target_required");
            }
            else if (request.AssetType.Trim().Length > 100)
            {
                errors.Add("assetType", "field.too_long", 100);
            }
        }
        else if (request.AssetType is not null || request.LocationAssetId is not null)
        {
            errors.Add("assetId", "pm.target_one_kind");
        }

        if (request.EstimatedHours is not (>= 0.01m and <= 1000m))
        {
            errors.Add("estimatedHours", "field.from_to", 0.01, 1000);
        }

        if (request.LeadDays is < 0 or > 365)
        {
            errors.Add("leadDays", "field.from_to", 0, 365);
        }

        if (request.Triggers is not { Count: > 0 } triggers)
        {
            errors.Add("triggers", "pm.trigger_required");
        }
        else if (triggers.Count > PmPlans.MaxTriggers)
        {
            errors.Add("triggers", "pm.too_many_triggers", PmPlans.MaxTriggers);
        }
        else
        {
            for (var i = 0; i < triggers.Count; i++)
            {
                ValidateTrigger(triggers[i], $"triggers[{i}]", errors);
            }

            var meters = triggers.Where(t => t?.Kind == PmTriggerKind.Meter && !string.IsNullOrWhiteSpace(t.MeterName))
                .Select(t => t.MeterName!.Trim()).Distinct(StringComparer.Ordinal).Count();
            if (meters > 1)
            {
                errors.Add("triggers", "pm.one_meter");
            }
        }

        var skills = request.Skills ?? [];
        for (var i = 0; i < skills.Count; i++)
        {
            if (skills[i] is not { } skill || string.IsNullOrWhiteSpace(skill.Skill))
            {
                errors.Add($"skills[{i}].skill", "field.required");
            }
            else if (skill.MinLevel is < 1 or > 5)
            {
                errors.Add($"skills[{i}].minLevel", "field.from_to", 1, 5);
            }
            else if (skills.Take(i).Any(s => s?.Skill?.Trim() == skill.Skill.Trim()))
            {
                errors.Add($"skills[{i}].skill", "assignment_rule.skill_twice", skill.Skill.Trim());
            }
        }
    }

    private static void ValidateTrigger(PmTriggerRequest? trigger, string at, FieldErrors errors)
    {
        switch (trigger?.Kind)
        {
            case PmTriggerKind.Calendar:
                if (trigger.Every is not (>= 1 and <= 1000))
                {
                    errors.Add($"{at}.every", "field.from_to", 1, 1000);
                }

                if (trigger.Unit is null)
                {
                    errors.Add($"{at}.unit", "field.one_of", "day, week, month, year");
                }

                if (trigger.Anchor is null)
                {
                    errors.Add($"{at}.anchor", "field.required");
                }

                if (trigger.ActiveMonths is { } months && months.Any(m => m is < 1 or > 12))
                {
                    errors.Add($"{at}.activeMonths", "field.from_to", 1, 12);
                }

                if (trigger.MeterName is not null || trigger.EveryUnits is not null || trigger.Threshold is not null)
                {
                    errors.Add(at, "pm.calendar_no_meter");
                }

                break;
            case PmTriggerKind.Meter:
                if (string.IsNullOrWhiteSpace(trigger.MeterName) || trigger.MeterName.Trim().Length > 100)
                {
                    errors.Add($"{at}.meterName", "field.required_short", 100);
                }

                if ((trigger.EveryUnits is null) == (trigger.Threshold is null))
                {
                    errors.Add($"{at}.everyUnits", "pm.meter_every_or_threshold");
                }
                else if (trigger.EveryUnits is <= 0)
                {
                    errors.Add($"{at}.everyUnits", "pm.positive");
                }
                else if (trigger.Threshold is < 0)
                {
                    errors.Add($"{at}.threshold", "field.not_negative");
                }

                if (trigger.Every is not null || trigger.Unit is not null || trigger.Anchor is not null || trigger.ActiveMonths is not null)
                {
                    errors.Add(at, "pm.meter_no_calendar");
                }

                break;
            default:
                errors.Add($"{at}.kind", "field.one_of", "calendar, meter");
                break;
        }
    }
}
