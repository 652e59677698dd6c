using Dapper;
using Npgsql;
using NodaTime;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Maintenance;

/// <summary>A plan as the generator and the calendar read it.</summary>
internal sealed record PmPlanRule(
    long Id,
    string Name,
    long TemplateId,
    long DepartmentId,
    decimal EstimatedHours,
    OverlapPolicy Overlap,
    CatchUpPolicy CatchUp,
    bool Active,
    long? CreatedBy,
    PmRule Rule)
{
    public string? MeterName => Rule.Triggers.FirstOrDefault(t => t.Kind == PmTriggerKind.Meter)?.MeterName;
}

/// <summary>The reads the plans service, the calendar and the generator share: plans with their triggers, and site zones.</summary>
internal static class PmStore
{
    private const string LoadPlans = """
        SELECT p.id, p.name, p.template_id, t.department_id, p.estimated_hours, p.lead_days, p.overlap_policy, p.catch_up_policy, p.active, p.created_by
        FROM pm_plans p JOIN templates t ON t.id = p.template_id
        WHERE p.id = ANY(@ids)
        """;

    private const string LoadTriggers = """
        SELECT id, plan_id, kind, every_n, unit, anchor, at_time, schedule, active_months, meter_name, every_units, threshold
        FROM pm_triggers WHERE plan_id = ANY(@ids) ORDER BY id
        """;

    // The calendar of each asset's site (the root of its tree), else the default calendar: as the SLA clock finds it.
    private const string LoadZones = """
        WITH RECURSIVE up AS (
            SELECT a.id AS asset_id, a.id, a.parent_id FROM assets a WHERE a.id = ANY(@ids)
            UNION ALL SELECT up.asset_id, p.id, p.parent_id FROM up JOIN assets p ON p.id = up.parent_id)
        SELECT up.asset_id, COALESCE(c.time_zone, (SELECT time_zone FROM business_calendars WHERE is_default), 'UTC') AS time_zone
        FROM up
        LEFT JOIN site_calendars sc ON sc.site_asset_id = up.id
        LEFT JOIN business_calendars c ON c.id = sc.calendar_id
        WHERE up.parent_id IS NULL
        """;

    public static async Task<Dictionary<long, PmPlanRule>> PlansAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, long[] ids, CancellationToken cancellationToken)
    {
        var plans = await connection.QueryAsync<PlanRow>(new CommandDefinition(LoadPlans, new { ids }, transaction, cancellationToken: cancellationToken));
        var triggers = (await connection.QueryAsync<TriggerRow>(new CommandDefinition(LoadTriggers, new { ids }, transaction, cancellationToken: cancellationToken)))
            .ToLookup(t => t.PlanId);
        return plans.ToDictionary(
            p => p.Id,
            p => new PmPlanRule(
                p.Id,
                p.Name,
                p.TemplateId,
                p.DepartmentId,
                p.EstimatedHours,
                WireNames.Parse<OverlapPolicy>(p.OverlapPolicy),
                WireNames.Parse<CatchUpPolicy>(p.CatchUpPolicy),
                p.Active,
                p.CreatedBy,
                new PmRule(p.LeadDays, [.. triggers[p.Id].Select(t => t.ToTrigger())])));
    }

    public static async Task<Dictionary<long, DateTimeZone>> ZonesAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, long[] assetIds, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(long AssetId, string TimeZone)>(new CommandDefinition(
            LoadZones, new { ids = assetIds }, transaction, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.AssetId, r => Zone(r.TimeZone));
    }

    public static DateTimeZone Zone(string? id) => id is null ? DateTimeZone.Utc : DateTimeZoneProviders.Tzdb.GetZoneOrNull(id) ?? DateTimeZone.Utc;

    private sealed class PlanRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public long TemplateId { get; init; }
        public long DepartmentId { get; init; }
        public decimal EstimatedHours { get; init; }
        public short LeadDays { get; init; }
        public string OverlapPolicy { get; init; } = "";
        public string CatchUpPolicy { get; init; } = "";
        public bool Active { get; init; }
        public long? CreatedBy { get; init; }
    }

    private sealed class TriggerRow
    {
        public long Id { get; init; }
        public long PlanId { get; init; }
        public string Kind { get; init; } = "";
        public int? EveryN { get; init; }
        public string? Unit { get; init; }
        public DateTime? Anchor { get; init; }
        public TimeSpan? AtTime { get; init; }
        public string? Schedule { get; init; }
        public short[]? ActiveMonths { get; init; }
        public string? MeterName { get; init; }
        public decimal? EveryUnits { get; init; }
        public decimal? Threshold { get; init; }

        public PmTrigger ToTrigger() => new(
            Id,
            WireNames.Parse<PmTriggerKind>(Kind),
            EveryN,
            Unit is null ? null : WireNames.Parse<RecurrenceUnit>(Unit),
            Anchor is { } anchor ? DateOnly.FromDateTime(anchor) : null,
            AtTime is { } at ? TimeOnly.FromTimeSpan(at) : null,
            Schedule is null ? null : WireNames.Parse<PmScheduleMode>(Schedule),
            ActiveMonths is { Length: > 0 } months ? [.. months.Select(m => (int)m)] : null,
            MeterName,
            EveryUnits,
            Threshold);
    }
}
