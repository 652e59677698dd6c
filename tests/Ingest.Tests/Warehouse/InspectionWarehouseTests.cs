using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Inspections;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>
/// Rounds and findings written in PostgreSQL, ingested into DuckDB, and asked through <see cref="WarehouseAnalytics"/>.
/// The set, in March 2026 (window ends 10:00, grace 12:00 each day):
/// route A: 02 on time (finding on the machine), 03 late at 11:00 (findings on the machine and the site), 04 missed,
/// 10 on time (finding on the machine), 11 open; and 20 February on time (finding on the machine), before the period.
/// Route B: 05 on time. So route A is 2 on time, 1 late, 1 missed, 1 open: compliance 3/4, late share 1/3; route B 1/1.
/// </summary>
public sealed class InspectionWarehouseTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-inspection-warehouse-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 12, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task rounds_and_findings_reach_the_warehouse_and_give_compliance_per_route_and_findings_per_asset_and_week()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var (routeA, routeB) = await SeedAsync(org);
        var path = Path.Combine(_folder, "w.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

        using (var warehouse = new DuckDBConnection($"Data Source={path}"))
        {
            warehouse.Open();
            Assert.Equal(
                [
                    "2026-02-20 08:00:00.000000|completed|on_time|2026-02-20 09:00:00.000000",
                    "2026-03-02 08:00:00.000000|completed|on_time|2026-03-02 09:00:00.000000",
                    "2026-03-03 08:00:00.000000|completed|late|2026-03-03 11:00:00.000000",
                    "2026-03-04 08:00:00.000000|missed|missed|∅",
                    "2026-03-10 08:00:00.000000|completed|on_time|2026-03-10 09:30:00.000000",
                    "2026-03-11 08:00:00.000000|open|∅|∅",
                ],
                WarehouseFixture.Rows(warehouse, $"SELECT slot_at, status, timeliness, completed_at FROM fact_inspection_round WHERE route_id = {routeA} ORDER BY slot_at"));
            Assert.Equal(
                [
                    $"{org.MachineId}|Oil level|leak|fail|2026-02-20 09:00:00.000000",
                    $"{org.MachineId}|Oil level|leak|fail|2026-03-02 09:00:00.000000",
                    $"{org.MachineId}|Oil level|leak|fail|2026-03-03 11:00:00.000000",
                    $"{org.SiteId}|Fire exit clear|∅|fail|2026-03-03 11:00:00.000000",
                    $"{org.MachineId}|Oil level|leak|fail|2026-03-10 09:30:00.000000",
                ],
                WarehouseFixture.Rows(warehouse, $"""
                    SELECT asset_id, check_label, fault_code, verdict, raised_at FROM fact_inspection_finding WHERE route_id = {routeA} ORDER BY raised_at, asset_id DESC
                    """));
            Assert.Equal("TIMESTAMP", warehouse.ExecuteScalar<string>(
                "SELECT data_type FROM duckdb_columns() WHERE table_name = 'fact_inspection_round' AND column_name = 'window_ends_at'"));
        }

        using var analytics = new WarehouseAnalytics(new WarehouseReader(Options.Create(new WarehouseOptions { Path = path })));
        var march = new KpiFilter(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 1), DepartmentId: org.DepartmentId);

        var compliance = await analytics.InspectionComplianceAsync(march, CancellationToken.None);
        Assert.Equal(
            [new RouteCompliance(routeA, $"Walk A {org.Suffix}", 2, 1, 1, 1), new RouteCompliance(routeB, $"Walk B {org.Suffix}", 1, 0, 0, 0)],
            compliance);
        Assert.Equal(0.75, compliance[0].Compliance);
        Assert.Equal(1.0 / 3, compliance[0].LateShare!.Value, 10);
        Assert.Equal(1.0, compliance[1].Compliance);
        Assert.Equal(0.0, compliance[1].LateShare);

        var machine = $"M-{org.Suffix} Pump";
        var site = $"S-{org.Suffix} Site";
        Assert.Equal(
            [
                new FindingCell(org.MachineId, machine, new DateOnly(2026, 3, 2), 2),
                new FindingCell(org.SiteId, site, new DateOnly(2026, 3, 2), 1),
                new FindingCell(org.MachineId, machine, new DateOnly(2026, 3, 9), 1),
            ],
            await analytics.FindingsHeatmapAsync(march, InspectionQueries.DefaultHeatmapRows, CancellationToken.None));
        Assert.Equal(
            [new FindingCell(org.MachineId, machine, new DateOnly(2026, 3, 2), 2), new FindingCell(org.MachineId, machine, new DateOnly(2026, 3, 9), 1)],
            await analytics.FindingsHeatmapAsync(march, 1, CancellationToken.None));
        Assert.Empty(await analytics.InspectionComplianceAsync(march with { DepartmentId = org.DepartmentId + 100_000 }, CancellationToken.None));
    }

    private async Task<(long RouteA, long RouteB)> SeedAsync(TestOrg org)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
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
