using System.Globalization;
using Dapper;
using Npgsql;

namespace WorkOrders.Ingest.Generate;

/// <summary>
/// Writes the PM programme behind the preventive work a run generated: one plan per machine and interval with its
/// calendar trigger (anchored on the first due date, in the local time of the site's calendar, as the PM engine
/// reads it), a schedule per plan that the live generator takes up after the window, and one generated occurrence per
/// preventive work order, keyed by its local due date. Everything is derived from the rows of the run with the run's
/// fixed window times, never the clock, so the same seed writes the same rows.
/// </summary>
internal static class PmHistoryWriter
{
    // {0} and {1} turn the occurrences' triggers off and on again when the caller bypasses them (see WriteAsync).
    // The run's rows are not yet in the planner's statistics (autovacuum cannot see them before the commit): without
    // them it estimates the run's work orders as a handful and picks nested loops that take minutes at a million.
    private const string Write = """
        ANALYZE work_orders, assets;

        CREATE TEMP TABLE generated_pm ON COMMIT DROP AS
        WITH RECURSIVE up AS (
            SELECT a.id AS asset_id, a.id, a.parent_id FROM assets a
            WHERE a.id IN (SELECT DISTINCT asset_id FROM work_orders WHERE id >= @first AND id < @first + @count AND work_type = 'preventive')
            UNION ALL SELECT up.asset_id, p.id, p.parent_id FROM up JOIN assets p ON p.id = up.parent_id),
        zone AS (
            SELECT up.asset_id, COALESCE(c.time_zone, (SELECT time_zone FROM business_calendars WHERE is_default), 'UTC') AS time_zone
            FROM up LEFT JOIN site_calendars sc ON sc.site_asset_id = up.id LEFT JOIN business_calendars c ON c.id = sc.calendar_id
            WHERE up.parent_id IS NULL)
        SELECT w.id, w.asset_id, w.template_id, w.created_at, w.due_at, w.resolved_at, (w.custom_fields->>'interval_days')::int AS interval_days,
               w.due_at AT TIME ZONE z.time_zone AS local_due
        FROM work_orders w JOIN zone z USING (asset_id)
        WHERE w.id >= @first AND w.id < @first + @count AND w.work_type = 'preventive' AND w.due_at IS NOT NULL
          AND w.custom_fields ? 'interval_days';
        ANALYZE generated_pm;

        INSERT INTO pm_plans (name, template_id, asset_id, estimated_hours, lead_days, overlap_policy, catch_up_policy, active, created_at, updated_at)
        SELECT 'PM ' || a.code || ' / ' || g.interval_days || ' d (' || @tag || ')', min(g.template_id), g.asset_id, 2.5,
               ceil(least(7, g.interval_days * 0.25))::smallint, 'skip', 'latest', true, @windowStart, @windowStart
        FROM generated_pm g JOIN assets a ON a.id = g.asset_id
        GROUP BY g.asset_id, a.code, g.interval_days
        ORDER BY g.asset_id, g.interval_days;

        CREATE TEMP TABLE generated_plan ON COMMIT DROP AS
        SELECT p.id AS plan_id, p.asset_id, (regexp_match(p.name, ' / (\d+) d \('))[1]::int AS interval_days
        FROM pm_plans p WHERE p.asset_id IN (SELECT asset_id FROM generated_pm) AND p.name LIKE '% (' || @tag || ')';
        ANALYZE generated_plan;

        INSERT INTO pm_triggers (plan_id, kind, every_n, unit, anchor, at_time, schedule)
        SELECT gp.plan_id, 'calendar', gp.interval_days, 'day', f.local_due::date, date_trunc('minute', f.local_due)::time, 'fixed'
        FROM generated_plan gp
        JOIN (SELECT DISTINCT ON (g.asset_id, g.interval_days) g.asset_id, g.interval_days, g.local_due FROM generated_pm g
              ORDER BY g.asset_id, g.interval_days, g.due_at, g.id) f ON f.asset_id = gp.asset_id AND f.interval_days = gp.interval_days
        ORDER BY gp.plan_id;

        {0}
        INSERT INTO pm_occurrences (plan_id, asset_id, trigger_id, due_key, due_at, status, work_order_id, recorded_at)
        SELECT gp.plan_id, g.asset_id, t.id, to_char(g.local_due, 'YYYY-MM-DD"T"HH24:MI'), g.due_at, 'generated', g.id, g.created_at
        FROM generated_pm g JOIN generated_plan gp ON gp.asset_id = g.asset_id AND gp.interval_days = g.interval_days
        JOIN pm_triggers t ON t.plan_id = gp.plan_id
        ORDER BY g.id
        ON CONFLICT (plan_id, asset_id, due_key) DO NOTHING;
        {1}

        INSERT INTO pm_schedules (plan_id, asset_id, next_check_at, last_completed_at, last_due_key, starts_at)
        SELECT gp.plan_id, gp.asset_id, @windowEnd, max(g.resolved_at),
               to_char(max(g.local_due), 'YYYY-MM-DD"T"HH24:MI'), @windowStart
        FROM generated_plan gp JOIN generated_pm g ON g.asset_id = gp.asset_id AND g.interval_days = gp.interval_days
        GROUP BY gp.plan_id, gp.asset_id;

        SELECT (SELECT count(*) FROM generated_plan), (SELECT count(*) FROM generated_pm);
        """;

    /// <summary>
    /// Writes the plans and occurrences of the run's preventive work orders; returns how many of each. With
    /// <paramref name="bypass"/> (see <see cref="HistoryBulkLoad"/>) the occurrences are inserted without their per-row
    /// foreign-key checks, which the caller then makes in bulk: at a million work orders, 292,697 occurrences took 13.1
    /// of the PM programme's 17.0 s, most of it five key lookups a row.
    /// </summary>
    public static async Task<(long Plans, long Occurrences)> WriteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tag, long firstWorkOrder, long workOrders,
        DateTime windowStart, DateTime windowEnd, bool bypass, CancellationToken cancellationToken) =>
        await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(
            string.Format(CultureInfo.InvariantCulture, Write, bypass ? HistoryBulkLoad.Replica + ";" : "", bypass ? HistoryBulkLoad.Origin + ";" : ""),
            new { first = firstWorkOrder, count = workOrders, tag, windowStart, windowEnd },
            transaction,
            commandTimeout: 0,
            cancellationToken: cancellationToken));
}
