using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

/// <summary>
/// A warehouse of seven work orders written by hand, with every answer worked out in the comments. March 2026 is
/// the period; asset 3 is a machine under line 2 of site 1, asset 4 a machine of site 10.
/// </summary>
public sealed class KpiTests : IDisposable
{
    private static readonly KpiFilter March = new(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 1));
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"kpi-{Guid.NewGuid():N}.duckdb");
    private readonly DuckDBConnection _warehouse;
    private readonly KpiQueries _kpis;

    public KpiTests()
    {
        _warehouse = WarehouseFile.Open(_path);
        using var command = _warehouse.CreateCommand();
        command.CommandText = """
            INSERT INTO dim_asset VALUES
                (1, 'S1', 'Site one', 'site', NULL, NULL, NULL, 3, NULL, 'in_service', 1, 'S1'),
                (2, 'L2', 'Line two', 'line', 1, NULL, NULL, 3, NULL, 'in_service', 1, 'S1 > L2'),
                (3, 'M3', 'Pump', 'machine', 2, 'pump', NULL, 4, NULL, 'in_service', 1, 'S1 > L2 > M3'),
                (10, 'S10', 'Site ten', 'site', NULL, NULL, NULL, 3, NULL, 'in_service', 10, 'S10'),
                (4, 'M4', 'Press', 'machine', 10, 'press', NULL, 4, NULL, 'in_service', 10, 'S10 > M4');

            -- id, number, template, type, title, priority, status, requester, asset, department, assignee, source, failure,
            -- created, acknowledged, started, resolved, closed, due, response due, resolution due, rating, run
            INSERT INTO fact_work_order VALUES
                -- 1: acknowledged after 1 h (response met); resolved after 4 h, one hour past the resolution deadline,
                --    but 2 h on hold move the deadline: met. One assignment, no rejection: first-time fix.
                (1, 'WO-1', 1, 'corrective', 'a', 2, 'closed', 9, 3, 1, 7, 'web', 'bearing',
                 '2026-03-02 00:00', '2026-03-02 01:00', '2026-03-02 01:00', '2026-03-02 04:00', '2026-03-02 05:00', NULL,
                 '2026-03-02 02:00', '2026-03-02 03:00', 4, 1),
                -- 2: same asset and failure 8 days later: a repeat. Acknowledged after 3 h, past its response deadline.
                --    Resolved after 10 h, within its resolution deadline. Rejected once: not a first-time fix.
                (2, 'WO-2', 1, 'corrective', 'b', 2, 'closed', 9, 3, 1, 7, 'web', 'bearing',
                 '2026-03-10 00:00', '2026-03-10 03:00', '2026-03-10 03:00', '2026-03-10 10:00', '2026-03-10 11:00', NULL,
                 '2026-03-10 02:00', '2026-03-10 12:00', 2, 1),
                -- 3: created in February, resolved on 1 March after 216 h; reassigned: not a first-time fix.
                (3, 'WO-3', 1, 'corrective', 'c', 3, 'closed', 9, 4, 2, 8, 'web', 'leak',
                 '2026-02-20 00:00', '2026-02-20 02:00', '2026-02-20 02:00', '2026-03-01 00:00', '2026-03-01 01:00', NULL,
                 NULL, NULL, 5, 1),
                -- 4: preventive due 11 March, done 12 h late: missed, but within 10% of its 10-day lead (1 day).
                (4, 'WO-4', 2, 'preventive', 'd', 3, 'closed', 9, 3, 1, 7, 'pm', NULL,
                 '2026-03-01 00:00', '2026-03-01 02:00', '2026-03-01 02:00', '2026-03-11 12:00', '2026-03-11 13:00', '2026-03-11 00:00',
                 NULL, NULL, NULL, 1),
                -- 5: cancelled; counts in volume only.
                (5, 'WO-5', 1, 'corrective', 'e', 4, 'cancelled', 9, 3, 1, NULL, 'web', NULL,
                 '2026-03-05 00:00', NULL, NULL, NULL, '2026-03-05 01:00', NULL, NULL, NULL, NULL, 1);

            INSERT INTO fact_event VALUES
                (11, 1, '2026-03-02 00:30', 5, 'assign', 'new', 'assigned', 7, 1),
                (21, 2, '2026-03-10 00:30', 5, 'assign', 'new', 'assigned', 7, 1),
                (22, 2, '2026-03-10 08:00', 9, 'reject', 'resolved', 'in_progress', NULL, 1),
                (31, 3, '2026-02-20 01:00', 5, 'assign', 'new', 'assigned', 7, 1),
                (32, 3, '2026-02-21 01:00', 5, 'assign', 'assigned', 'assigned', 8, 1),
                (41, 4, '2026-03-01 01:00', 5, 'assign', 'new', 'assigned', 7, 1);

            INSERT INTO fact_status_interval VALUES
                (1, 'in_progress', '2026-03-02 01:00', '2026-03-02 01:30', 1800, false, 7),
                (1, 'on_hold', '2026-03-02 01:30', '2026-03-02 03:30', 7200, true, 7),
                (1, 'in_progress', '2026-03-02 03:30', '2026-03-02 04:00', 1800, false, 7),
                (2, 'in_progress', '2026-03-10 03:00', '2026-03-10 10:00', 25200, false, 7),
                (4, 'in_progress', '2026-03-01 02:00', '2026-03-01 12:00', 36000, false, 7);

            -- id, number, template, type, title, priority, status, asset, department, assignee, source, failure, created,
            -- acknowledged, due, response due, resolution due, snapshot
            INSERT INTO open_work_order VALUES
                -- 6: a third bearing failure on asset 3, 10 days after the second: a repeat; 12 days old; its response deadline passed.
                (6, 'WO-6', 1, 'corrective', 'f', 1, 'new', 3, 1, NULL, 'alarm', 'bearing', '2026-03-20 00:00', NULL, NULL,
                 '2026-03-20 01:00', NULL, '2026-04-01 00:00'),
                -- 7: preventive due 25 March and still open: missed. 4 days old.
                (7, 'WO-7', 2, 'preventive', 'g', 3, 'in_progress', 3, 1, 7, 'pm', NULL, '2026-03-28 00:00', '2026-03-28 01:00',
                 '2026-03-25 00:00', NULL, NULL, '2026-04-01 00:00');
            """;
        command.ExecuteNonQuery();
        _kpis = new KpiQueries(_warehouse);
    }

    public void Dispose()
    {
        _warehouse.Dispose();
        File.Delete(_path);
    }

    [Fact]
    public void volume_counts_open_and_archived_work_created_in_the_period()
    {
        // 1, 2, 4, 5, 6, 7 (3 was created in February).
        Assert.Equal(new KpiValue(6, 6), _kpis.Volume(March));
    }

    [Fact]
    public void mtta_is_the_mean_time_to_acknowledge_of_work_acknowledged_in_the_period()
    {
        // 1: 1 h, 2: 3 h, 4: 2 h, 7: 1 h; 3 was acknowledged in February.
        var mtta = _kpis.Mtta(March);
        Assert.Equal(4, mtta.Count);
        Assert.Equal(1.75, mtta.Value!.Value, 6);
    }

    [Fact]
    public void mttr_has_mean_median_and_p90_of_closed_corrective_work_resolved_in_the_period()
    {
        // 4 h, 10 h, 216 h. p90 by linear interpolation: 10 + 0.8 * (216 - 10) = 174.8.
        var mttr = _kpis.Mttr(March);
        Assert.Equal(3, mttr.Count);
        Assert.Equal(230.0 / 3, mttr.MeanHours!.Value, 6);
        Assert.Equal(10, mttr.MedianHours!.Value, 6);
        Assert.Equal(174.8, mttr.P90Hours!.Value, 6);
    }

    [Fact]
    public void sla_compliance_counts_response_and_resolution_apart_and_moves_resolution_deadlines_by_paused_time()
    {
        var sla = _kpis.Sla(March);
        // Response: 1 met; 2 late; 6 open past its deadline.
        Assert.Equal(new Compliance(1, 3), sla.Response);
        // Resolution: 1 met only because its 2 h on hold move the deadline; 2 met.
        Assert.Equal(new Compliance(2, 2), sla.Resolution);
    }

    [Fact]
    public void pm_compliance_is_strict_and_with_ten_percent_grace()
    {
        Assert.Equal(new Compliance(0, 2), _kpis.PmCompliance(March, grace: false));
        Assert.Equal(new Compliance(1, 2), _kpis.PmCompliance(March, grace: true));
    }

    [Fact]
    public void backlog_buckets_open_work_by_age()
    {
        var backlog = _kpis.Backlog(March);
        Assert.Equal(2, backlog.Open);
        Assert.Equal([1L, 1L, 0L, 0L], backlog.Ages.Select(a => a.Count));
    }

    [Fact]
    public void first_time_fix_leaves_out_rejected_and_reassigned_work()
    {
        // 1 and 4 yes; 2 rejected; 3 reassigned.
        Assert.Equal(new Compliance(2, 4), _kpis.FirstTimeFix(March));
    }

    [Fact]
    public void planned_maintenance_share_is_preventive_hours_over_all_maintenance_hours()
    {
        // 10 h preventive of 1 + 7 + 10 = 18 h.
        var share = _kpis.PlannedMaintenanceShare(March);
        Assert.Equal(10.0 / 18, share.Value!.Value, 6);
        Assert.Equal(18, share.Count);
    }

    [Fact]
    public void repeat_failures_are_the_same_asset_and_failure_code_within_n_days()
    {
        Assert.Equal(2, _kpis.RepeatFailures(March).Count);
        Assert.Equal(1, _kpis.RepeatFailures(March, withinDays: 9).Count);
    }

    [Fact]
    public void satisfaction_is_the_mean_rating_of_work_approved_in_the_period()
    {
        // 4, 2 and 5 (3 was closed on 1 March).
        var satisfaction = _kpis.Satisfaction(March);
        Assert.Equal(3, satisfaction.Count);
        Assert.Equal(11.0 / 3, satisfaction.Value!.Value, 6);
    }

    [Fact]
    public void mtbf_divides_the_hours_of_the_period_by_the_failures_of_each_asset()
    {
        // Asset 3: 1, 2 and 6 in March's 744 hours.
        var mtbf = Assert.Single(_kpis.MtbfByAsset(March));
        Assert.Equal((3L, 3L, 248.0), (mtbf.AssetId, mtbf.Failures, mtbf.MtbfHours!.Value));
    }

    [Fact]
    public void filters_narrow_every_figure_to_a_department_a_site_or_an_asset_subtree()
    {
        Assert.Equal(216, _kpis.Mttr(March with { DepartmentId = 2 }).MeanHours!.Value, 6);
        Assert.Equal(216, _kpis.Mttr(March with { SiteId = 10 }).MeanHours!.Value, 6);
        Assert.Equal(7, _kpis.Mttr(March with { AssetId = 2 }).MeanHours!.Value, 6);
        Assert.Equal(4, _kpis.Volume(March with { WorkType = "corrective" }).Count);
        Assert.Equal(2, _kpis.Volume(March with { Priority = 2 }).Count);
    }

    [Fact]
    public void an_empty_period_gives_no_data_rather_than_zero_or_nan()
    {
        var summary = _kpis.Summary(new KpiFilter(new DateOnly(2020, 1, 1), new DateOnly(2020, 2, 1)));
        Assert.Null(summary.MttaHours.Value);
        Assert.Null(summary.Mttr.MeanHours);
        Assert.Null(summary.Sla.Resolution.Rate);
        Assert.Null(summary.Satisfaction.Value);
        Assert.Equal(0, summary.Volume.Count);
    }

    [Fact]
    public void a_period_that_ends_before_it_starts_or_an_unknown_work_type_is_refused_by_field()
    {
        var problems = new KpiFilter(new DateOnly(2026, 3, 1), new DateOnly(2026, 2, 1), WorkType: "magic", Priority: 9).Problems();
        Assert.Equal(["to", "workType", "priority"], problems.Keys);
    }

    [Fact]
    public void the_previous_period_has_the_same_length_just_before()
    {
        Assert.Equal(new KpiFilter(new DateOnly(2026, 1, 29), new DateOnly(2026, 3, 1)), March.Previous);
    }
}
