using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Maintenance;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;

namespace WorkOrders.Analytics.Tests;

/// <summary>
/// The category, source and custom-field filters on <see cref="HandBuiltWarehouse"/>, each figure worked out by hand
/// from the work orders the filter keeps (see the comments there: bearing on 1, 2, 4 and 6, leak on 3; live 1, 2 and 5,
/// import 3, pm 4 and 7, alarm 6; shift night on 1 and 3, day on 2).
/// </summary>
public sealed class KpiFilterTests : HandBuiltWarehouseTest
{
    private static readonly KpiFilter Bearing = March with { Category = "bearing" };
    private static readonly KpiFilter Live = March with { Source = "live" };
    private static readonly KpiFilter NightShift = March with { FieldKey = "shift", FieldValue = "night" };

    [Fact]
    public void the_period_is_written_into_a_statement_where_it_says_from_and_to_and_nowhere_in_its_quoted_strings()
    {
        var filter = March with { Category = "it's $from", FieldKey = "shift", FieldValue = "$to" };
        using var command = Warehouse.CreateCommand();
        command.CommandText = $"SELECT $from, $to, w.category = 'x' FROM fact_work_order w WHERE {filter.Where("w")}";

        filter.Bind(command);

        Assert.Equal(
            "SELECT TIMESTAMP '2026-03-01 00:00:00', TIMESTAMP '2026-04-01 00:00:00', w.category = 'x' FROM fact_work_order w WHERE TRUE"
            + " AND w.category = 'it''s $from' AND json_extract_string(w.custom_fields, '$.shift') = '$to'",
            command.CommandText);
        Assert.Equal(new KpiValue(0, 0), Kpis.Volume(filter));
        Assert.Equal("TIMESTAMP '2026-03-01 10:00:00.000250'", KpiFilter.Timestamp(new DateTime(2026, 3, 1, 10, 0, 0).AddMicroseconds(250)));
    }

    [Fact]
    public void the_category_filter_keeps_the_work_of_that_fault_code_in_every_kpi()
    {
        var kpis = Kpis.Summary(Bearing);

        // Created in March: 1, 2, 4 (preventive work on the bearing) and the open 6; not 5 (no category) nor 7.
        Assert.Equal(new KpiValue(4, 4), kpis.Volume);

        // Acknowledged in March: 1 after 1 h, 2 after 3 h, 4 after 2 h.
        Assert.Equal(3, kpis.MttaHours.Count);
        Assert.Equal(2, kpis.MttaHours.Value!.Value, 6);

        // Closed corrective work resolved in March: 1 (4 h) and 2 (10 h); 3 is a leak.
        Assert.Equal(2, kpis.Mttr.Count);
        Assert.Equal(7, kpis.Mttr.MeanHours!.Value, 6);
        Assert.Equal(7, kpis.Mttr.MedianHours!.Value, 6);

        // Response: 1 met, 2 late, 6 open past its deadline. Resolution: 1 and 2 met.
        Assert.Equal(new SlaCompliance(new Compliance(1, 3), new Compliance(2, 2)), kpis.Sla);

        // Hand-made preventive work due in March: 4 only (7 has no category), done late.
        Assert.Equal(new Compliance(0, 1), kpis.PmCompliance);
        Assert.Equal(new Compliance(1, 1), kpis.PmComplianceWithGrace);

        // Open: 6.
        Assert.Equal(1, kpis.Backlog.Open);

        // Resolved in March: 1 and 4 first time, 2 rejected.
        Assert.Equal(new Compliance(2, 3), kpis.FirstTimeFix);

        // In progress: 1 (1 h), 2 (7 h), 4 (10 h preventive).
        Assert.Equal(10.0 / 18, kpis.PlannedMaintenanceShare.Value!.Value, 6);

        // 2 after 1, 6 after 2.
        Assert.Equal(2, kpis.RepeatFailures.Count);

        // Ratings of 1 (4) and 2 (2).
        Assert.Equal(new KpiValue(3, 2), kpis.Satisfaction);

        // MTBF: asset 3's bearing failures 1, 2 and 6.
        Assert.Equal(3, Assert.Single(Kpis.MtbfByAsset(Bearing)).Failures);

        // The leak: 3 only, created in February and resolved on 1 March.
        var leak = Kpis.Summary(March with { Category = "leak" });
        Assert.Equal((0L, 1L, 216.0), (leak.Volume.Count, leak.Mttr.Count, leak.Mttr.MeanHours!.Value));
        Assert.Equal(new KpiValue(5, 1), leak.Satisfaction);
        Assert.Equal(0, leak.Backlog.Open);
    }

    [Fact]
    public void the_source_filter_keeps_live_work_imports_alarms_and_preventive_plans_apart()
    {
        // Live is what people raised in the app or through its API: 1, 2 and 5 (web).
        var live = Kpis.Summary(Live);
        Assert.Equal(3, live.Volume.Count);
        Assert.Equal((2L, 7.0), (live.Mttr.Count, live.Mttr.MeanHours!.Value));
        Assert.Equal(0, live.Backlog.Open);

        // No preventive hours among 1 (1 h) and 2 (7 h).
        Assert.Equal(new KpiValue(0, 8), live.PlannedMaintenanceShare);

        // Imported: 3, created in February, restored in 216 h in March.
        var import = Kpis.Summary(March with { Source = "import" });
        Assert.Equal((0L, 1L, 216.0), (import.Volume.Count, import.Mttr.Count, import.Mttr.MeanHours!.Value));
        Assert.Equal(new Compliance(0, 1), import.FirstTimeFix);

        // Alarm: the open 6, past its response deadline, a repeat of 2.
        var alarm = Kpis.Summary(March with { Source = "alarm" });
        Assert.Equal((1L, 1L, 1L), (alarm.Volume.Count, alarm.Backlog.Open, alarm.RepeatFailures.Count));
        Assert.Equal(new Compliance(0, 1), alarm.Sla.Response);
        Assert.Null(alarm.Mttr.MeanHours);

        // Preventive plans: 4 and 7, both due in March and neither done by the due date.
        var pm = Kpis.Summary(March with { Source = "pm" });
        Assert.Equal((2L, 0L), (pm.Volume.Count, pm.Mttr.Count));
        Assert.Equal(new Compliance(0, 2), pm.PmCompliance);

        // Nothing came from forecasts or rounds.
        Assert.Equal(0, Kpis.Volume(March with { Source = "forecast" }).Count);
        Assert.Equal(0, Kpis.Volume(March with { Source = "round" }).Count);
    }

    [Fact]
    public void the_custom_field_filter_keeps_the_work_whose_field_holds_the_value()
    {
        // Night shift: 1 (created in March, 4 h) and 3 (created in February, 216 h).
        var night = Kpis.Summary(NightShift);
        Assert.Equal(1, night.Volume.Count);
        Assert.Equal((2L, 110.0), (night.Mttr.Count, night.Mttr.MeanHours!.Value));
        Assert.Equal(new Compliance(1, 2), night.FirstTimeFix);

        // Day shift: 2 alone. A field no work has, or a value none holds, keeps nothing.
        Assert.Equal(10, Kpis.Mttr(March with { FieldKey = "shift", FieldValue = "day" }).MeanHours!.Value, 6);
        Assert.Equal(0, Kpis.Volume(March with { FieldKey = "shift", FieldValue = "evening" }).Count);
        Assert.Equal(0, Kpis.Volume(March with { FieldKey = "colour", FieldValue = "night" }).Count);
    }

    [Fact]
    public void filters_combine_with_each_other_and_with_the_others()
    {
        // Bearing and live: 1 and 2.
        Assert.Equal(2, Kpis.Volume(Bearing with { Source = "live" }).Count);

        // Bearing on the night shift: 1.
        Assert.Equal(4, Kpis.Mttr(Bearing with { FieldKey = "shift", FieldValue = "night" }).MeanHours!.Value, 6);

        // Bearing in department 2: nothing (3, the leak, is department 2's).
        Assert.Equal(0, Kpis.Volume(Bearing with { DepartmentId = 2 }).Count);
    }

    [Fact]
    public void a_quote_in_a_value_is_a_value_not_sql()
    {
        Assert.Equal(0, Kpis.Volume(March with { Category = "o'brien' OR 1=1 --" }).Count);
        Assert.Equal(0, Kpis.Volume(March with { FieldKey = "shift", FieldValue = "x' OR TRUE OR '" }).Count);
    }

    [Fact]
    public void the_reliability_views_the_staff_and_the_drill_down_meet_the_new_filters()
    {
        var reliability = new ReliabilityQueries(Warehouse);

        // Corrective work with a failure code, alarm-raised: the open 6 alone.
        var bar = Assert.Single(reliability.Pareto(March with { Source = "alarm" }));
        Assert.Equal(("bearing", 1L), (bar.FailureCode, bar.Failures));
        Assert.Equal(2, Assert.Single(reliability.Pareto(Live)).Failures);
        var leak = Assert.Single(reliability.Heatmap(
            March with { From = new DateOnly(2026, 2, 1), Category = "leak" }, HeatmapRows.Asset, HeatmapMeasure.Count, TimeBucket.Month));
        Assert.Equal(("4", "leak"), (leak.RowKey, leak.FailureCode));

        // Technician 8 resolved the leak (3); technician 7 the rest.
        var staff = Assert.Single(new StaffQueries(Warehouse).ByTechnician(March with { Category = "leak" }));
        Assert.Equal(("Tech B", 1L), (staff.Name, staff.WorkDone));

        // The list behind the volume tile holds what the tile counts.
        var rows = new DrillDown(Warehouse).Page(Bearing, "volume", 0, 50);
        Assert.Equal([1L, 2L, 4L, 6L], rows.Items.Select(r => r.WorkOrderId).Order());
    }

    [Fact]
    public void mttr_and_volume_by_category_add_up_to_the_tiles_of_each_category()
    {
        var rows = new ReliabilityQueries(Warehouse).ByCategory(March);

        // bearing: created 1, 2, 4, 6; restored 1 (4 h) and 2 (10 h). No category: 5 and 7, nothing restored.
        // leak: nothing created in March, 3 restored in 216 h.
        Assert.Equal(["bearing", null, "leak"], rows.Select(r => r.Category));
        Assert.Equal([4L, 2L, 0L], rows.Select(r => r.Volume));
        Assert.Equal([2L, 0L, 1L], rows.Select(r => r.Mttr.Count));
        Assert.Equal(7, rows[0].Mttr.MeanHours!.Value, 6);
        Assert.Equal(4 + (0.9 * 6), rows[0].Mttr.P90Hours!.Value, 6);
        Assert.Null(rows[1].Mttr.MeanHours);
        Assert.Equal(216, rows[2].Mttr.MeanHours!.Value, 6);

        foreach (var row in rows.Where(r => r.Category is not null))
        {
            var tiles = Kpis.Summary(March with { Category = row.Category });
            Assert.Equal((tiles.Volume.Count, tiles.Mttr), (row.Volume, row.Mttr));
        }

        // The live source: 1 and 2 (bearing) and 5 (no category).
        var live = new ReliabilityQueries(Warehouse).ByCategory(Live);
        Assert.Equal([("bearing", 2L), (null, 1L)], live.Select(r => (r.Category, r.Volume)));
    }

    [Fact]
    public void pm_occurrences_meet_the_filters_by_their_work_order_and_come_from_preventive_plans()
    {
        HandBuiltWarehouse.FillPm(Warehouse);
        var pm = new PmProgrammeQueries(Warehouse);

        // Counted in March: 1, 2, 4, 5, 6, met 4 and 6 (see FillPm). By category only 1 (work order 4, bearing) is
        // left, done after its due date; the rest have no work order with a category.
        Assert.Equal(new Compliance(0, 1), pm.Summary(Bearing).Compliance);
        Assert.Equal(new Compliance(0, 1), Kpis.PmCompliance(Bearing, grace: false));

        // Every occurrence comes from a plan: the source pm keeps them all, live none.
        Assert.Equal(new Compliance(2, 5), pm.Summary(March with { Source = "pm" }).Compliance);
        Assert.Equal(new Compliance(0, 0), pm.Summary(Live).Compliance);
        Assert.Equal(new Compliance(2, 5), Kpis.PmCompliance(March with { Source = "pm" }, grace: false));
    }

    [Fact]
    public void a_filter_that_cannot_be_answered_is_refused_by_field()
    {
        var problems = new KpiFilter(
            new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 1), Category: " ", Source: "email", FieldKey: "Shift!", FieldValue: "x").Problems();
        Assert.Equal(
            new Dictionary<string, FilterProblem>
            {
                ["source"] = FilterProblem.UnknownSource, ["category"] = FilterProblem.CategoryInvalid, ["field"] = FilterProblem.FieldKeyInvalid,
            },
            problems);

        Assert.Equal(FilterProblem.FieldValueInvalid, (March with { FieldKey = "shift" }).Problems()["fieldValue"]);
        Assert.Equal(FilterProblem.FieldValueInvalid, (March with { FieldValue = "night" }).Problems()["fieldValue"]);
        Assert.Equal(FilterProblem.FieldValueInvalid, (March with { FieldKey = "shift", FieldValue = new string('x', 201) }).Problems()["fieldValue"]);
        Assert.Empty((March with { Category = "bearing", Source = "round", FieldKey = "shift", FieldValue = "night" }).Problems());
        Assert.Throws<InvalidOperationException>(() => (March with { Source = "email" }).Where("w"));
    }
}
