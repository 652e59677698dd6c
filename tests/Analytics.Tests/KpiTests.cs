using WorkOrders.Analytics.Kpis;

namespace WorkOrders.Analytics.Tests;

/// <summary>Each KPI on <see cref="HandBuiltWarehouse"/>, with the answer worked out by hand.</summary>
public sealed class KpiTests : HandBuiltWarehouseTest
{
    [Fact]
    public void volume_counts_open_and_archived_work_created_in_the_period()
    {
        // 1, 2, 4, 5, 6, 7 (3 was created in February).
        Assert.Equal(new KpiValue(6, 6), Kpis.Volume(March));
    }

    [Fact]
    public void mtta_is_the_mean_time_to_acknowledge_of_work_acknowledged_in_the_period()
    {
        // 1: 1 h, 2: 3 h, 4: 2 h, 7: 1 h; 3 was acknowledged in February.
        var mtta = Kpis.Mtta(March);
        Assert.Equal(4, mtta.Count);
        Assert.Equal(1.75, mtta.Value!.Value, 6);
    }

    [Fact]
    public void mttr_has_mean_median_and_p90_of_closed_corrective_work_resolved_in_the_period()
    {
        // 4 h, 10 h, 216 h. p90 by linear interpolation: 10 + 0.8 * (216 - 10) = 174.8.
        var mttr = Kpis.Mttr(March);
        Assert.Equal(3, mttr.Count);
        Assert.Equal(230.0 / 3, mttr.MeanHours!.Value, 6);
        Assert.Equal(10, mttr.MedianHours!.Value, 6);
        Assert.Equal(174.8, mttr.P90Hours!.Value, 6);
    }

    [Fact]
    public void sla_compliance_counts_response_and_resolution_apart_and_moves_resolution_deadlines_by_paused_time()
    {
        var sla = Kpis.Sla(March);
        // Response: 1 met; 2 late; 6 open past its deadline.
        Assert.Equal(new Compliance(1, 3), sla.Response);
        // Resolution: 1 met only because its 2 h on hold move the deadline; 2 met.
        Assert.Equal(new Compliance(2, 2), sla.Resolution);
    }

    [Fact]
    public void pm_compliance_is_strict_and_with_ten_percent_grace()
    {
        Assert.Equal(new Compliance(0, 2), Kpis.PmCompliance(March, grace: false));
        Assert.Equal(new Compliance(1, 2), Kpis.PmCompliance(March, grace: true));
    }

    [Fact]
    public void backlog_buckets_open_work_by_age()
    {
        var backlog = Kpis.Backlog(March);
        Assert.Equal(2, backlog.Open);
        Assert.Equal([1L, 1L, 0L, 0L], backlog.Ages.Select(a => a.Count));
    }

    [Fact]
    public void first_time_fix_leaves_out_rejected_and_reassigned_work()
    {
        // 1 and 4 yes; 2 rejected; 3 reassigned.
        Assert.Equal(new Compliance(2, 4), Kpis.FirstTimeFix(March));
    }

    [Fact]
    public void planned_maintenance_share_is_preventive_hours_over_all_maintenance_hours()
    {
        // 10 h preventive of 1 + 7 + 10 = 18 h.
        var share = Kpis.PlannedMaintenanceShare(March);
        Assert.Equal(10.0 / 18, share.Value!.Value, 6);
        Assert.Equal(18, share.Count);
    }

    [Fact]
    public void repeat_failures_are_the_same_asset_and_failure_code_within_n_days()
    {
        Assert.Equal(2, Kpis.RepeatFailures(March).Count);
        Assert.Equal(1, Kpis.RepeatFailures(March, withinDays: 9).Count);
    }

    [Fact]
    public void satisfaction_is_the_mean_rating_of_work_approved_in_the_period()
    {
        // 4, 2 and 5 (3 was closed on 1 March).
        var satisfaction = Kpis.Satisfaction(March);
        Assert.Equal(3, satisfaction.Count);
        Assert.Equal(11.0 / 3, satisfaction.Value!.Value, 6);
    }

    [Fact]
    public void mtbf_divides_the_hours_of_the_period_by_the_failures_of_each_asset()
    {
        // Asset 3: 1, 2 and 6 in March's 744 hours.
        var mtbf = Assert.Single(Kpis.MtbfByAsset(March));
        Assert.Equal((3L, 3L, 248.0), (mtbf.AssetId, mtbf.Failures, mtbf.MtbfHours!.Value));
    }

    [Fact]
    public void filters_narrow_every_figure_to_a_department_a_site_or_an_asset_subtree()
    {
        Assert.Equal(216, Kpis.Mttr(March with { DepartmentId = 2 }).MeanHours!.Value, 6);
        Assert.Equal(216, Kpis.Mttr(March with { SiteId = 10 }).MeanHours!.Value, 6);
        Assert.Equal(7, Kpis.Mttr(March with { AssetId = 2 }).MeanHours!.Value, 6);
        Assert.Equal(4, Kpis.Volume(March with { WorkType = "corrective" }).Count);
        Assert.Equal(2, Kpis.Volume(March with { Priority = 2 }).Count);
    }

    [Fact]
    public void an_empty_period_gives_no_data_rather_than_zero_or_nan()
    {
        var summary = Kpis.Summary(new KpiFilter(new DateOnly(2020, 1, 1), new DateOnly(2020, 2, 1)));
        Assert.Null(summary.MttaHours.Value);
        Assert.Null(summary.Mttr.MeanHours);
        Assert.Null(summary.Sla.Resolution.Rate);
        Assert.Null(summary.Satisfaction.Value);
        Assert.Equal(new KpiValue(0, 0), summary.Volume);
        Assert.Equal(new KpiValue(0, 0), summary.RepeatFailures);
    }

    [Fact]
    public void the_monthly_trend_gives_each_month_the_figures_of_that_month_on_its_own()
    {
        var period = new KpiFilter(new DateOnly(2026, 1, 15), new DateOnly(2026, 4, 1));

        var monthly = Kpis.Monthly(period);

        Assert.Equal([new DateOnly(2026, 1, 15), new DateOnly(2026, 2, 1), new DateOnly(2026, 3, 1)], monthly.Select(m => m.From));
        DateOnly[] ends = [new DateOnly(2026, 2, 1), new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 1)];
        foreach (var (month, end) in monthly.Zip(ends))
        {
            var alone = Kpis.Summary(period with { From = month.From, To = end });
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(alone), System.Text.Json.JsonSerializer.Serialize(month.Kpis));
        }

        Assert.Equal(6, monthly[2].Kpis.Volume.Count);
        Assert.True(monthly[1].Kpis.Volume.Count > 0);
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
        Assert.Equal(new KpiFilter(new DateOnly(2026, 1, 29), new DateOnly(2026, 3, 1)), March.PreviousPeriod());
    }

    public static TheoryData<string> Tiles() => new(DrillDown.Kpis);

    [Theory]
    [MemberData(nameof(Tiles))]
    public void the_work_orders_behind_a_tile_are_as_many_as_the_tile_counts(string kpi)
    {
        foreach (var filter in new[] { March, March with { DepartmentId = 1 }, March with { SiteId = 10 }, March with { From = new DateOnly(2026, 2, 1) } })
        {
            var summary = Kpis.Summary(filter);
            long tile = kpi switch
            {
                "volume" => summary.Volume.Count,
                "mtta" => summary.MttaHours.Count,
                "mttr" => summary.Mttr.Count,
                "sla_response" => summary.Sla.Response.Due,
                "sla_resolution" => summary.Sla.Resolution.Due,
                "pm" => summary.PmCompliance.Due,
                "backlog" => summary.Backlog.Open,
                "ftf" => summary.FirstTimeFix.Due,
                "repeat" => summary.RepeatFailures.Count,
                "satisfaction" => summary.Satisfaction.Count,
                _ => throw new ArgumentOutOfRangeException(nameof(kpi)),
            };

            var rows = new DrillDown(Warehouse).Page(filter, kpi, 0, 100);
            Assert.Equal(tile, rows.Total);
            Assert.Equal(tile, rows.Items.Count);
        }
    }

    [Theory]
    [MemberData(nameof(Tiles))]
    public void a_list_read_two_rows_a_page_is_the_whole_list_newest_first(string kpi)
    {
        var filter = March with { From = new DateOnly(2026, 2, 1) };
        var whole = new DrillDown(Warehouse).Page(filter, kpi, 0, 500);
        var paged = new List<WorkOrderRow>();
        for (var skip = 0; skip < whole.Total + 2; skip += 2)
        {
            var page = new DrillDown(Warehouse).Page(filter, kpi, skip, 2);
            Assert.Equal(whole.Total, page.Total);
            paged.AddRange(page.Items);
        }

        Assert.NotEmpty(whole.Items);
        Assert.Equal(whole.Items, paged);
        Assert.Equal(whole.Items.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.WorkOrderId), whole.Items);
    }

    [Theory]
    [InlineData("2026-03-02 09:00", "2026-03-02 10:30", 5400)]   // Monday, inside the day
    [InlineData("2026-03-02 06:00", "2026-03-02 20:00", 32400)]  // the whole working day of nine hours
    [InlineData("2026-03-06 16:00", "2026-03-09 09:00", 7200)]   // Friday's last hour and Monday's first
    [InlineData("2026-03-07 10:00", "2026-03-08 18:00", 0)]      // a weekend
    [InlineData("2026-03-02 00:00", "2026-03-16 00:00", 324000)] // two whole weeks: 10 days of 9 hours
    [InlineData("1999-12-31 16:30", "2000-01-03 08:30", 3600)]   // before the year 2000: Friday and Monday
    public void the_business_clock_counts_working_hours_between_two_moments(string from, string to, long seconds)
    {
        using var command = Warehouse.CreateCommand();
        command.CommandText = $"SELECT business_clock(TIMESTAMP '{to}', 28800, 61200) - business_clock(TIMESTAMP '{from}', 28800, 61200)";
        Assert.Equal(seconds, Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
    }
}
