using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

/// <summary>Recurring-fault and staff views on <see cref="HandBuiltWarehouse"/>, answers worked out by hand.</summary>
public sealed class ReliabilityAndStaffTests : IDisposable
{
    private static readonly KpiFilter March = HandBuiltWarehouse.March;
    private static readonly KpiFilter FebruaryAndMarch = March with { From = new DateOnly(2026, 2, 1) };
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"rel-{Guid.NewGuid():N}.duckdb");
    private readonly DuckDBConnection _warehouse;

    public ReliabilityAndStaffTests()
    {
        _warehouse = WarehouseFile.Open(_path);
        HandBuiltWarehouse.Fill(_warehouse);
    }

    public void Dispose()
    {
        _warehouse.Dispose();
        File.Delete(_path);
    }

    [Fact]
    public void the_heatmap_counts_failures_per_asset_and_code_in_each_bucket()
    {
        // 1, 2 and the open 6 are bearing failures of asset 3 in March; 3 is February's.
        var cell = Assert.Single(new ReliabilityQueries(_warehouse).Heatmap(March, HeatmapRows.Asset, HeatmapMeasure.Count, TimeBucket.Month));
        Assert.Equal(("3", "M3 Pump", "bearing", new DateOnly(2026, 3, 1), 3.0), (cell.RowKey, cell.RowLabel, cell.FailureCode, cell.Bucket, cell.Value));
    }

    [Fact]
    public void the_heatmap_keeps_only_the_rows_with_the_largest_totals()
    {
        // February and March: asset 3 has three bearing failures, asset 4 one leak.
        var period = March with { From = new DateOnly(2026, 2, 1) };
        var queries = new ReliabilityQueries(_warehouse);

        var all = queries.Heatmap(period, HeatmapRows.Asset, HeatmapMeasure.Count, TimeBucket.Month);
        var top = queries.Heatmap(period, HeatmapRows.Asset, HeatmapMeasure.Count, TimeBucket.Month, maxRows: 1);

        Assert.Equal(["3", "4"], all.Select(c => c.RowKey).Distinct().Order());
        Assert.Equal("3", Assert.Single(top.Select(c => c.RowKey).Distinct()));
        Assert.Equal(3, top.Sum(c => c.Value));
    }

    [Fact]
    public void the_heatmap_by_downtime_adds_the_hours_to_resolution_and_open_work_up_to_the_snapshot()
    {
        // 4 h + 10 h + 12 days (288 h) for the open one.
        var cell = Assert.Single(new ReliabilityQueries(_warehouse).Heatmap(March, HeatmapRows.AssetType, HeatmapMeasure.DowntimeHours, TimeBucket.Month));
        Assert.Equal(("pump", 302.0), (cell.RowLabel, cell.Value));
    }

    [Fact]
    public void weekly_buckets_split_the_same_failures_by_week()
    {
        var cells = new ReliabilityQueries(_warehouse).Heatmap(March, HeatmapRows.Asset, HeatmapMeasure.Count, TimeBucket.Week);
        Assert.Equal([new DateOnly(2026, 3, 2), new DateOnly(2026, 3, 9), new DateOnly(2026, 3, 16)], cells.Select(c => c.Bucket));
    }

    [Theory]
    [InlineData(HeatmapRows.Asset, TimeBucket.Month)]
    [InlineData(HeatmapRows.Asset, TimeBucket.Week)]
    [InlineData(HeatmapRows.AssetType, TimeBucket.Week)]
    public void the_work_orders_behind_each_heatmap_cell_are_as_many_as_it_counts(HeatmapRows rows, TimeBucket bucket)
    {
        var reliability = new ReliabilityQueries(_warehouse);
        foreach (var cell in reliability.Heatmap(FebruaryAndMarch, rows, HeatmapMeasure.Count, bucket))
        {
            var listed = reliability.CellWorkOrders(FebruaryAndMarch, rows, cell.RowKey, cell.FailureCode, bucket, cell.Bucket, 0, 100);
            Assert.Equal(cell.WorkOrders, listed.Total);
            Assert.All(listed.Items, w => Assert.Equal(cell.FailureCode, w.FailureCode));
        }

        var whole = reliability.CellWorkOrders(FebruaryAndMarch, HeatmapRows.AssetType, "pump", "bearing", bucket, null, 0, 100);
        Assert.Equal([6L, 2L, 1L], whole.Items.Select(w => w.WorkOrderId));
    }

    [Fact]
    public void the_pareto_orders_failure_codes_with_their_cumulative_share()
    {
        var bars = new ReliabilityQueries(_warehouse).Pareto(FebruaryAndMarch);
        Assert.Equal([("bearing", 3L, 0.75), ("leak", 1L, 1.0)], bars.Select(b => (b.FailureCode, b.Failures, b.CumulativeShare)));
    }

    [Fact]
    public void repeat_failures_name_the_earlier_work_order_and_the_gap()
    {
        var repeats = new ReliabilityQueries(_warehouse).RepeatFailures(March);
        Assert.Equal([(6L, 2L, 10.0), (2L, 1L, 8.0)], repeats.Select(r => (r.WorkOrderId, r.PreviousWorkOrderId, r.DaysSincePrevious)));
    }

    [Fact]
    public void staff_performance_per_technician_uses_the_final_assignee()
    {
        var staff = new StaffQueries(_warehouse).ByTechnician(March);

        // Tech A closed 1 (4 h, met, first time, 4), 2 (10 h, met, rejected, 2) and the preventive 4 (252 h, no deadline, first time).
        var a = staff.Single(s => s.Id == 7);
        Assert.Equal(3, a.WorkDone);
        Assert.Equal(266.0 / 3, a.MttrHours!.Value, 6);
        Assert.Equal(1.0, a.SlaMetShare);
        Assert.Equal(2.0 / 3, a.FirstTimeFixShare!.Value, 6);
        Assert.Equal(3.0, a.Satisfaction);
        Assert.Equal(0.0, a.ReassignedAwayShare);

        // Tech B closed 3 (216 h, reassigned to them in February, rated 5).
        var b = staff.Single(s => s.Id == 8);
        Assert.Equal((1L, 216.0, 0.0, 5.0), (b.WorkDone, b.MttrHours!.Value, b.FirstTimeFixShare!.Value, b.Satisfaction!.Value));
        Assert.Null(b.ReassignedAwayShare);
    }

    [Fact]
    public void work_moved_away_from_a_technician_counts_against_their_reassigned_away_share()
    {
        // Over February and March, 3 was assigned to Tech A and moved to Tech B: 1 of Tech A's 4 assignments.
        var a = new StaffQueries(_warehouse).ByTechnician(FebruaryAndMarch).Single(s => s.Id == 7);
        Assert.Equal(0.25, a.ReassignedAwayShare);
    }

    [Fact]
    public void a_managers_view_is_limited_to_their_department()
    {
        var staff = new StaffQueries(_warehouse).ByTechnician(March with { DepartmentId = 1 });
        Assert.Equal([7L], staff.Select(s => s.Id));
        Assert.Equal([("Facilities", 1L), ("Maintenance", 3L)], new StaffQueries(_warehouse).ByDepartment(March).Select(d => (d.Name, d.WorkDone)));
    }
}
