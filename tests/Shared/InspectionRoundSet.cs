using Dapper;
using Npgsql;

namespace WorkOrders.Tests;

/// <summary>
/// Inspection rounds and findings written with plain SQL for the warehouse and analytics tests, worked out by hand.
/// The set, in March 2026 (window ends 10:00, grace 12:00 each day):
/// route A: 02 on time (finding on the machine), 03 late at 11:00 (findings on the machine and the site), 04 missed,
/// 10 on time (finding on the machine), 11 open; and 20 February on time (finding on the machine), before the period.
/// Route B: 05 on time. So route A is 2 on time, 1 late, 1 missed, 1 open: compliance 3/4, late share 1/3; route B 1/1.
/// </summary>
public static class InspectionRoundSet
{
    public static async Task<(long RouteA, long RouteB)> SeedAsync(NpgsqlDataSource dataSource, TestOrg org)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        async Task<long> Route(string name, params (long Asset, string Label, string? FaultCode)[] items)
        {
            var route = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO inspection_routes (name, template_id, created_at, updated_at) VALUES (@name, @TemplateId, '2026-01-01Z', '2026-01-01Z') RETURNING id
                """,
                new { name = $"{name} {org.Suffix}", org.TemplateId });
            await connection.ExecuteAsync("INSERT INTO inspection_route_versions (route_id, version, created_at) VALUES (@route, 1, '2026-01-01Z')", new { route });
            for (var i = 0; i < items.Length; i++)
            {
                await connection.ExecuteAsync(
                    """
                    WITH stop AS (INSERT INTO inspection_stops (route_id, version, position, asset_id) VALUES (@route, 1, @position, @asset) RETURNING id),
                         "check" AS (INSERT INTO inspection_checks (route_id) VALUES (@route) RETURNING id)
                    INSERT INTO inspection_items (stop_id, check_id, position, label, kind, fault_code)
                    SELECT stop.id, "check".id, 1, @label, 'pass_fail', @fault FROM stop, "check"
                    """,
                    new { route, position = (short)(i + 1), asset = items[i].Asset, label = items[i].Label, fault = items[i].FaultCode });
            }

            return route;
        }

        // A round on the day at 08:00 UTC, its window to 10:00 and grace to 12:00, completed (or missed) at the time given.
        async Task<long> Round(long route, string day, string status, string? completedAt = null)
        {
            var slot = DateTime.Parse(day, System.Globalization.CultureInfo.InvariantCulture).AddHours(8);
            return await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO inspection_rounds (route_id, route_version, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id, created_at,
                    completed_at, missed_at)
                VALUES (@route, 1, @day, @slot AT TIME ZONE 'UTC', (@slot + interval '2 hours') AT TIME ZONE 'UTC', (@slot + interval '4 hours') AT TIME ZONE 'UTC',
                    @status, @DepartmentId, (@slot - interval '1 hour') AT TIME ZONE 'UTC',
                    (@day::date + @completedAt::time) AT TIME ZONE 'UTC',
                    CASE WHEN @status = 'missed' THEN (@slot + interval '4 hours') AT TIME ZONE 'UTC' END)
                RETURNING id
                """,
                new { route, day, slot, status, org.DepartmentId, completedAt });
        }

        // A failed result of the route's item on the asset, and its finding, raised when the round was completed.
        async Task Finding(long round, long asset)
        {
            await connection.ExecuteAsync(
                """
                WITH item AS (
                    SELECT i.id, i.check_id FROM inspection_items i JOIN inspection_stops s ON s.id = i.stop_id
                    JOIN inspection_rounds r ON r.route_id = s.route_id AND r.route_version = s.version
                    WHERE r.id = @round AND s.asset_id = @asset),
                result AS (
                    INSERT INTO inspection_results (round_id, item_id, verdict, limit_name, recorded_at)
                    SELECT @round, item.id, 'fail', 'failed', r.completed_at FROM item, inspection_rounds r WHERE r.id = @round RETURNING id, item_id, recorded_at)
                INSERT INTO inspection_findings (result_id, round_id, asset_id, check_id, created_work_order, occurrence, raised_at)
                SELECT result.id, @round, @asset, item.check_id, false, 1, result.recorded_at FROM result JOIN item ON item.id = result.item_id
                """,
                new { round, asset });
        }

        var routeA = await Route("Walk A", (org.MachineId, "Oil level", "leak"), (org.SiteId, "Fire exit clear", null));
        var routeB = await Route("Walk B", (org.MachineId, "Guard fitted", null));
        await Finding(await Round(routeA, "2026-02-20", "completed", "09:00"), org.MachineId);
        await Finding(await Round(routeA, "2026-03-02", "completed", "09:00"), org.MachineId);
        var late = await Round(routeA, "2026-03-03", "completed", "11:00");
        await Finding(late, org.MachineId);
        await Finding(late, org.SiteId);
        await Round(routeA, "2026-03-04", "missed");
        await Finding(await Round(routeA, "2026-03-10", "completed", "09:30"), org.MachineId);
        await Round(routeA, "2026-03-11", "open");
        await Round(routeB, "2026-03-05", "completed", "09:45");
        return (routeA, routeB);
    }
}
