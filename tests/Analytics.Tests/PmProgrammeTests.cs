using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Maintenance;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

/// <summary>The PM programme figures on <see cref="HandBuiltWarehouse.FillPm"/>, worked out by hand there.</summary>
public sealed class PmProgrammeTests : IDisposable
{
    private static readonly KpiFilter March = HandBuiltWarehouse.March;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"pm-{Guid.NewGuid():N}.duckdb");
    private readonly DuckDBConnection _warehouse;
    private readonly PmProgrammeQueries _pm;

    public PmProgrammeTests()
    {
        _warehouse = WarehouseFile.Open(_path);
        HandBuiltWarehouse.Fill(_warehouse);
        HandBuiltWarehouse.FillPm(_warehouse);
        _pm = new PmProgrammeQueries(_warehouse);
    }

    public void Dispose()
    {
        _warehouse.Dispose();
        File.Delete(_path);
    }

    [Fact]
    public void compliance_counts_generated_and_missed_occurrences_by_their_moved_due_date_and_leaves_skipped_ones_out()
    {
        var summary = _pm.Summary(March);

        Assert.Equal(new Compliance(2, 5), summary.Compliance);
        Assert.Equal(new Compliance(3, 5), summary.ComplianceWithGrace);
        Assert.Equal((1L, 1L, 1L), (summary.Skipped, summary.Missed, summary.Moved));
        Assert.Equal(8.5, summary.DueHours, 6);
    }

    [Fact]
    public void the_share_of_planned_work_is_the_preventive_hours_in_progress_over_all_maintenance_hours()
    {
        // In progress in March: 1 h and 7 h corrective, 10 h preventive.
        var share = _pm.Summary(March).PlannedShare;

        Assert.Equal(10.0 / 18, share.Value!.Value, 6);
    }

    [Fact]
    public void compliance_per_plan_puts_the_least_compliant_first_with_its_department_and_exceptions()
    {
        var plans = _pm.ByPlan(March);

        Assert.Equal(
            [
                (1L, "Pump lubrication", "Maintenance", new Compliance(0, 2), new Compliance(1, 2), 1L, 0L, 0L),
                (2L, "Press weekly check", "Facilities", new Compliance(2, 3), new Compliance(2, 3), 0L, 1L, 1L),
            ],
            plans.Select(p => (p.PlanId!.Value, p.Name, p.Department, p.Compliance, p.ComplianceWithGrace, p.Skipped, p.Missed, p.Moved)));
    }

    [Fact]
    public void compliance_per_department_follows_the_occurrences_and_a_department_filter_narrows_it()
    {
        Assert.Equal(
            [("Facilities", new Compliance(2, 3)), ("Maintenance", new Compliance(0, 2))],
            _pm.ByDepartment(March).Select(d => (d.Department, d.Compliance)));
        Assert.Equal(new Compliance(2, 3), _pm.Summary(March with { DepartmentId = 2 }).Compliance);
    }

    [Fact]
    public void the_exceptions_list_the_skipped_missed_and_moved_occurrences_latest_first()
    {
        var lines = _pm.Exceptions(March);

        Assert.Equal(
            [(6L, "generated", "press in use"), (3L, "skipped", null), (5L, "missed", null)],
            lines.Select(l => (l.OccurrenceId, l.Status, l.MoveReason)));
        Assert.Equal(("M4", "Press weekly check", "Facilities"), (lines[0].AssetCode, lines[0].Plan, lines[0].Department));
    }

    [Fact]
    public void the_pm_compliance_kpi_counts_occurrences_instead_of_the_work_orders_behind_them()
    {
        var kpis = new KpiQueries(_warehouse);

        Assert.Equal(new Compliance(2, 5), kpis.PmCompliance(March, grace: false));
        Assert.Equal(new Compliance(3, 5), kpis.PmCompliance(March, grace: true));
    }
}
