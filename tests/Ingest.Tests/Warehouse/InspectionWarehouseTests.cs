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

/// <summary>Rounds and findings (see <see cref="InspectionRoundSet"/>) ingested into DuckDB and asked through <see cref="WarehouseAnalytics"/>.</summary>
public sealed class InspectionWarehouseTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-inspection-warehouse-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 12, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task rounds_and_findings_reach_the_warehouse_and_give_compliance_per_route_and_findings_per_asset_and_week()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var (routeA, routeB) = await InspectionRoundSet.SeedAsync(database.DataSource, org);
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
}
