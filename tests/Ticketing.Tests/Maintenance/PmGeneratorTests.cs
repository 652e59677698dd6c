using Dapper;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Tests.Maintenance;

/// <summary>The PM generator against a real PostgreSQL, each test in a database of its own with a fake clock.</summary>
public sealed class PmGeneratorTests
{
    private static DateTime Utc(int y, int m, int d, int h = 0, int min = 0) => new(y, m, d, h, min, 0, DateTimeKind.Utc);

    [Fact]
    public async Task two_generators_running_together_over_many_plans_never_make_two_work_orders_for_one_occurrence()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1), "Asia/Taipei");
        for (var i = 0; i < 30; i++)
        {
            await world.AddMachineAsync($"P{i}");
        }

        // One plan per asset type under the site covers all 31 pumps; 20 more plans on the first machine alone.
        var typePlan = await world.PlanAsync("Daily pump round", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1), 9), overlap: OverlapPolicy.Allow, assetType: "pump");
        var plans = new List<PmPlan> { typePlan };
        for (var i = 0; i < 20; i++)
        {
            plans.Add(await world.PlanAsync($"Check {i}", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1), 8 + (i % 4), 15 * (i % 4)), overlap: OverlapPolicy.Allow));
        }

        var first = world.Generator(batchSize: 7);
        var second = world.Generator(batchSize: 5);
        // Up to the 4th 21:00 UTC, the 5th 05:00 in Taipei: every plan is due on the 1st to the 4th.
        for (var step = 0; step < 31; step++)
        {
            world.Clock.Advance(TimeSpan.FromHours(3));
            await Task.WhenAll(
                Task.Run(() => first.RunPassAsync(CancellationToken.None)),
                Task.Run(() => second.RunPassAsync(CancellationToken.None)),
                Task.Run(() => first.RunPassAsync(CancellationToken.None)));
        }

        await using var connection = await world.Data.OpenConnectionAsync();
        var (workOrders, distinct) = await connection.QuerySingleAsync<(long, long)>(
            "SELECT count(*), count(DISTINCT (reference)) FROM work_orders WHERE source = 'pm'");
        var generated = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pm_occurrences WHERE status = 'generated'");
        // 31 pumps + 20 single plans, 4 days each.
        Assert.Equal((31 + 20) * 4, generated);
        Assert.Equal(generated, workOrders);
        Assert.Equal(workOrders, distinct);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM (SELECT o.plan_id, o.asset_id, w.due_at FROM pm_occurrences o JOIN work_orders w ON w.id = o.work_order_id GROUP BY 1, 2, 3 HAVING count(*) > 1) d"));
    }

    [Fact]
    public async Task over_a_simulated_year_the_work_orders_made_equal_the_calendar_forecast_plan_by_plan()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2026, 12, 20), "Europe/Berlin");
        var plans = new[]
        {
            await world.PlanAsync("Month end", PmWorld.Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 31)), overlap: OverlapPolicy.Allow),
            await world.PlanAsync("Weekly lead", PmWorld.Calendar(1, RecurrenceUnit.Week, new DateOnly(2027, 1, 4), 7), leadDays: 3, overlap: OverlapPolicy.Allow),
            await world.PlanAsync("Summer", PmWorld.Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 15), months: [4, 5, 6, 7, 8, 9]), overlap: OverlapPolicy.Allow),
            await world.PlanAsync("Night", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1), 2, 30), overlap: OverlapPolicy.Allow),
            await world.PlanAsync("Quarterly", PmWorld.Calendar(3, RecurrenceUnit.Month, new DateOnly(2026, 11, 30), 10), leadDays: 10, overlap: OverlapPolicy.Allow),
        };
        var year = (From: Utc(2027, 1, 1), Until: Utc(2028, 1, 1));
        var forecast = (await world.Occurrences.ForecastAsync(new PmForecastQuery(year.From, year.Until), CancellationToken.None)).Value!;

        await world.RunUntilAsync(year.Until, TimeSpan.FromHours(1));

        foreach (var plan in plans)
        {
            var expected = forecast.Where(o => o.PlanId == plan.Id).Select(o => o.DueAt).ToList();
            var made = (await world.OccurrencesAsync(plan.Id)).Where(o => o.DueAt >= year.From && o.DueAt < year.Until).ToList();
            Assert.All(made, o => Assert.Equal("generated", o.Status));
            Assert.All(made, o => Assert.Equal(o.DueAt, o.WorkOrderDueAt));
            Assert.Equal(expected, made.Select(o => o.DueAt).ToList());
        }

        Assert.Equal(12, forecast.Count(o => o.PlanId == plans[0].Id));
        Assert.Equal(6, forecast.Count(o => o.PlanId == plans[2].Id));
        Assert.Equal(365, forecast.Count(o => o.PlanId == plans[3].Id));
    }

    [Fact]
    public async Task month_end_due_dates_clamp_to_feb_29_and_come_back_to_the_31st()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2028, 1, 1), "Asia/Taipei");
        var plan = await world.PlanAsync("Month end", PmWorld.Calendar(1, RecurrenceUnit.Month, new DateOnly(2028, 1, 31)), overlap: OverlapPolicy.Allow);

        await world.RunUntilAsync(Utc(2028, 5, 1), TimeSpan.FromHours(6));

        var made = await world.OccurrencesAsync(plan.Id);
        Assert.Equal(["2028-01-31T08:00", "2028-02-29T08:00", "2028-03-31T08:00", "2028-04-30T08:00"], made.Select(o => o.DueKey));
        Assert.All(made, o => Assert.Equal("generated", o.Status));
    }

    [Fact]
    public async Task a_daylight_saving_change_neither_skips_nor_doubles_a_due_date()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 3, 26), "Europe/Berlin");
        var plan = await world.PlanAsync("Night", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1), 2, 30), overlap: OverlapPolicy.Allow);

        await world.RunUntilAsync(Utc(2027, 3, 30), TimeSpan.FromMinutes(20));
        world.Clock.Advance(Utc(2027, 10, 29) - world.Now);
        await world.Generator().RunPassAsync(CancellationToken.None);
        await world.RunUntilAsync(Utc(2027, 11, 2), TimeSpan.FromMinutes(20));

        var made = (await world.OccurrencesAsync(plan.Id)).Where(o => o.Status == "generated").Select(o => (o.DueKey, o.DueAt)).ToList();
        Assert.Contains(("2027-03-28T02:30", Utc(2027, 3, 28, 1, 30)), made);
        Assert.Contains(("2027-10-31T02:30", Utc(2027, 10, 31, 0, 30)), made);
        // The jump over the summer is an outage: only the latest is made (catch-up latest), once a day either side.
        Assert.Equal(
            ["2027-03-26", "2027-03-27", "2027-03-28", "2027-03-29", "2027-10-28", "2027-10-29", "2027-10-30", "2027-10-31", "2027-11-01"],
            made.Select(o => o.DueKey[..10]));
    }

    [Fact]
    public async Task a_floating_plan_counts_from_an_early_and_from_a_late_completion()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1), "Asia/Taipei");
        var plan = await world.PlanAsync("Floating", PmWorld.Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 10), mode: PmScheduleMode.Floating), leadDays: 5);

        await world.RunUntilAsync(Utc(2027, 1, 6), TimeSpan.FromHours(2));
        var first = Assert.Single(await world.OccurrencesAsync(plan.Id));
        Assert.Equal(Utc(2027, 1, 10), first.DueAt);

        // Completed three days early: the next is one month after the completion.
        await world.RunUntilAsync(Utc(2027, 1, 7, 2), TimeSpan.FromHours(2));
        await world.CompleteAsync(first.WorkOrderId!.Value);
        await world.RunUntilAsync(Utc(2027, 3, 5), TimeSpan.FromHours(2));
        var second = (await world.OccurrencesAsync(plan.Id))[1];
        Assert.Equal("2027-02-07T08:00", second.DueKey);

        // Nothing is made while it is open; completed late, on the 5th of March, the next counts from then.
        Assert.Equal(2, (await world.OccurrencesAsync(plan.Id)).Count);
        await world.CompleteAsync(second.WorkOrderId!.Value);
        await world.RunUntilAsync(Utc(2027, 5, 1), TimeSpan.FromHours(2));
        var all = await world.OccurrencesAsync(plan.Id);
        Assert.Equal(["2027-01-10T08:00", "2027-02-07T08:00", "2027-04-05T08:00"], all.Select(o => o.DueKey));
    }

    [Fact]
    public async Task a_seasonal_plan_makes_work_only_in_its_active_months()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1), "Asia/Taipei");
        var plan = await world.PlanAsync("Summer", PmWorld.Calendar(2, RecurrenceUnit.Week, new DateOnly(2027, 1, 4), months: [6, 7]), overlap: OverlapPolicy.Allow);

        await world.RunUntilAsync(Utc(2028, 1, 1), TimeSpan.FromHours(12));

        var months = (await world.OccurrencesAsync(plan.Id)).Select(o => o.DueKey[5..7]).Distinct();
        Assert.Equal(["06", "07"], months);
    }

    [Fact]
    public async Task the_skip_policy_never_leaves_two_open_and_records_each_skip()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1), "Asia/Taipei");
        var plan = await world.PlanAsync("Daily", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1)));

        await world.RunUntilAsync(Utc(2027, 1, 5, 12), TimeSpan.FromHours(1));
        var occurrences = await world.OccurrencesAsync(plan.Id);
        Assert.Equal(["generated", "skipped", "skipped", "skipped", "skipped"], occurrences.Select(o => o.Status));

        await world.CompleteAsync(occurrences[0].WorkOrderId!.Value);
        await world.RunUntilAsync(Utc(2027, 1, 7, 12), TimeSpan.FromHours(1));
        occurrences = await world.OccurrencesAsync(plan.Id);
        Assert.Equal(["generated", "skipped", "skipped", "skipped", "skipped", "generated", "skipped"], occurrences.Select(o => o.Status));
        await using var connection = await world.Data.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM work_orders WHERE source = 'pm' AND asset_id = @asset AND status NOT IN ('resolved', 'closed', 'cancelled')",
            new { asset = world.Org.MachineId }));
    }

    [Theory]
    [InlineData(CatchUpPolicy.Latest, 1, 8)]
    [InlineData(CatchUpPolicy.All, 9, 0)]
    [InlineData(CatchUpPolicy.MarkMissed, 0, 9)]
    public async Task after_a_ten_day_outage_the_catch_up_policy_decides(CatchUpPolicy policy, int generated, int missed)
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1));
        var plan = await world.PlanAsync("Daily", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1)), overlap: OverlapPolicy.Allow, catchUp: policy);
        var generator = world.Generator(missedAfter: TimeSpan.FromHours(1));
        await world.RunUntilAsync(Utc(2027, 1, 1, 9), TimeSpan.FromHours(1), generator);

        // Down from the 1st 09:00 to the 11th 07:00: the 2nd to the 10th fell due meanwhile.
        world.Clock.Advance(Utc(2027, 1, 11, 7) - world.Now);
        await generator.RunPassAsync(CancellationToken.None);

        var after = (await world.OccurrencesAsync(plan.Id)).Skip(1).ToList();
        Assert.Equal(9, after.Count);
        Assert.Equal(generated, after.Count(o => o.Status == "generated"));
        Assert.Equal(missed, after.Count(o => o.Status == "missed"));
        if (policy == CatchUpPolicy.Latest)
        {
            Assert.Equal("2027-01-10T08:00", after.Single(o => o.Status == "generated").DueKey);
        }

        // Nothing is made twice when the pass runs again.
        await generator.RunPassAsync(CancellationToken.None);
        Assert.Equal(9, (await world.OccurrencesAsync(plan.Id)).Count - 1);
    }

    [Fact]
    public async Task a_meter_plan_counts_usage_over_a_reset_and_a_threshold_crossed_twice_in_one_batch_makes_one_work_order()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1));
        var every = await world.PlanAsync("Every 100 h", new PmTriggerRequest(PmTriggerKind.Meter, MeterName: "run hours", EveryUnits: 100), overlap: OverlapPolicy.Allow);
        var threshold = await world.PlanAsync("At 1000 cycles", new PmTriggerRequest(PmTriggerKind.Meter, MeterName: "cycles", Threshold: 1000), overlap: OverlapPolicy.Allow);
        var generator = world.Generator();
        await generator.RunPassAsync(CancellationToken.None);

        await using var connection = await world.Data.OpenConnectionAsync();
        var hours = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO meters (asset_id, name, unit, created_at) VALUES (@asset, 'run hours', 'h', @now) RETURNING id", new { asset = world.Org.MachineId, now = world.Now });
        var cycles = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO meters (asset_id, name, unit, created_at) VALUES (@asset, 'cycles', 'cycles', @now) RETURNING id", new { asset = world.Org.MachineId, now = world.Now });

        async Task ReadAsync(long meter, params (double Value, double Lifetime, bool Reset)[] readings)
        {
            foreach (var (value, lifetime, reset) in readings)
            {
                world.Clock.Advance(TimeSpan.FromMinutes(10));
                await connection.ExecuteAsync(
                    """
                    INSERT INTO meter_readings (meter_id, read_at, value, lifetime, is_reset, reset_reason, source, recorded_at)
                    VALUES (@meter, @now, @value, @lifetime, @reset, CASE WHEN @reset THEN 'meter replaced' END, 'api', @now)
                    """,
                    new { meter, now = world.Now, value = (decimal)value, lifetime = (decimal)lifetime, reset });
            }

            await PmOccurrences.NudgeForReadingsAsync(connection, null, world.Org.MachineId, world.Now, CancellationToken.None);
            await generator.RunPassAsync(CancellationToken.None);
        }

        await ReadAsync(hours, (0, 0, false), (60, 60, false));
        Assert.Empty(await world.OccurrencesAsync(every.Id));
        // The meter is replaced at 80 h: the new one starts at 0 and the lifetime carries on.
        await ReadAsync(hours, (80, 80, false), (0, 80, true), (30, 110, false));
        Assert.Equal(["m:"], (await world.OccurrencesAsync(every.Id)).Select(o => o.DueKey[..2]));
        await ReadAsync(hours, (100, 180, false));
        Assert.Single(await world.OccurrencesAsync(every.Id));
        await ReadAsync(hours, (140, 220, false));
        Assert.Equal(2, (await world.OccurrencesAsync(every.Id)).Count);

        // Crosses 1000, is reset, crosses again: one batch, one work order.
        await ReadAsync(cycles, (900, 0, false), (1100, 200, false), (0, 200, true), (1200, 1400, false));
        var made = Assert.Single(await world.OccurrencesAsync(threshold.Id));
        Assert.Equal("generated", made.Status);
        await ReadAsync(cycles, (1300, 1500, false));
        Assert.Single(await world.OccurrencesAsync(threshold.Id));
        Assert.Equal(3, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM work_orders WHERE source = 'pm'"));
    }

    [Fact]
    public async Task a_decommissioned_assets_plans_stop()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1));
        var plan = await world.PlanAsync("Daily", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1)), overlap: OverlapPolicy.Allow);
        await world.RunUntilAsync(Utc(2027, 1, 2), TimeSpan.FromHours(1));
        Assert.Single(await world.OccurrencesAsync(plan.Id));

        await using (var connection = await world.Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE assets SET lifecycle = 'decommissioned' WHERE id = @id", new { id = world.Org.MachineId });
        }

        await world.RunUntilAsync(Utc(2027, 1, 10), TimeSpan.FromHours(1));

        Assert.Single(await world.OccurrencesAsync(plan.Id));
        var forecast = (await world.Occurrences.ForecastAsync(new PmForecastQuery(world.Now, world.Now.AddDays(30)), CancellationToken.None)).Value!;
        Assert.DoesNotContain(forecast, o => o.PlanId == plan.Id);
    }

    [Fact]
    public async Task a_new_asset_of_the_type_under_the_location_joins_the_plan()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1));
        var plan = await world.PlanAsync("Pumps", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1)), overlap: OverlapPolicy.Allow, assetType: "pump");
        await world.RunUntilAsync(Utc(2027, 1, 1, 9), TimeSpan.FromHours(1));

        var added = await world.AddMachineAsync("NEW");
        var fan = await world.AddMachineAsync("FAN", "fan");
        await world.RunUntilAsync(Utc(2027, 1, 2, 9), TimeSpan.FromHours(1));

        var made = await world.OccurrencesAsync(plan.Id);
        Assert.Equal(2, made.Count(o => o.AssetId == world.Org.MachineId));
        // It joins from when the generator first saw it: the 2nd's occurrence, not the 1st's.
        Assert.Equal(["2027-01-02T08:00"], made.Where(o => o.AssetId == added).Select(o => o.DueKey));
        Assert.DoesNotContain(made, o => o.AssetId == fan);
    }

    [Fact]
    public async Task a_moved_occurrence_is_made_at_its_new_date_and_the_plan_stays()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1));
        var plan = await world.PlanAsync("Monthly", PmWorld.Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 10)));
        await world.RunUntilAsync(Utc(2027, 1, 2), TimeSpan.FromHours(1));

        var moved = await world.Occurrences.MoveAsync(
            new PmMoveRequest(plan.Id, world.Org.MachineId, "2027-01-10T08:00", Utc(2027, 1, 13, 8), "line stop planned on the 13th"), world.Planner, CancellationToken.None);
        Assert.True(moved.Succeeded, moved.Failure?.Message);
        var refused = await world.Occurrences.MoveAsync(
            new PmMoveRequest(plan.Id, world.Org.MachineId, "2027-01-11T08:00", Utc(2027, 1, 13, 8), "x"), world.Planner, CancellationToken.None);
        Assert.Equal("pm.occurrence_unknown", refused.Failure?.Main.Code);
        var technician = await world.Occurrences.MoveAsync(
            new PmMoveRequest(plan.Id, world.Org.MachineId, "2027-02-10T08:00", Utc(2027, 2, 13, 8), "x"), world.Org[Access.Role.Technician], CancellationToken.None);
        Assert.Equal(FailureKind.Forbidden, technician.Failure?.Kind);

        await world.RunUntilAsync(Utc(2027, 1, 12), TimeSpan.FromHours(1));
        Assert.Equal(["planned"], (await world.OccurrencesAsync(plan.Id)).Select(o => o.Status));
        var calendar = (await world.Occurrences.ForecastAsync(new PmForecastQuery(Utc(2027, 1, 1), Utc(2027, 3, 1)), CancellationToken.None)).Value!;
        Assert.Equal([(Utc(2027, 1, 13, 8), PmOccurrenceStatus.Planned), (Utc(2027, 2, 10, 8), PmOccurrenceStatus.Forecast)], calendar.Select(o => (o.DueAt, o.Status)));

        await world.RunUntilAsync(Utc(2027, 2, 11), TimeSpan.FromHours(1));
        var made = await world.OccurrencesAsync(plan.Id);
        Assert.Equal(["generated", "skipped"], made.Select(o => o.Status));
        Assert.Equal(Utc(2027, 1, 13, 8), made[0].WorkOrderDueAt);
        Assert.Equal(("line stop planned on the 13th", world.Planner.UserId), (made[0].MoveReason, made[0].MovedBy));
        Assert.Equal(Utc(2027, 1, 10, 8), made[0].DueAt);
    }

    [Fact]
    public async Task an_inactive_plan_makes_nothing_and_owes_nothing_for_that_time_when_it_is_active_again()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1));
        var plan = await world.PlanAsync("Daily", PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1)), overlap: OverlapPolicy.Allow);
        await world.RunUntilAsync(Utc(2027, 1, 2), TimeSpan.FromHours(1));

        var stopped = await world.Plans.DeactivateAsync(plan.Id, plan.RowVersion, world.Planner, CancellationToken.None);
        Assert.False(stopped.Value!.Active);
        await world.RunUntilAsync(Utc(2027, 1, 5), TimeSpan.FromHours(1));
        Assert.Single(await world.OccurrencesAsync(plan.Id));

        var request = new PmPlanRequest(
            plan.Name, plan.TemplateId, plan.AssetId, EstimatedHours: 2, Overlap: OverlapPolicy.Allow,
            Triggers: [PmWorld.Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1), 10)], Active: true, RowVersion: stopped.Value.RowVersion);
        var stale = await world.Plans.UpdateAsync(plan.Id, request with { RowVersion = plan.RowVersion }, world.Planner, CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        var again = await world.Plans.UpdateAsync(plan.Id, request, world.Planner, CancellationToken.None);
        Assert.True(again.Succeeded, again.Failure?.Message);
        await world.RunUntilAsync(Utc(2027, 1, 6), TimeSpan.FromHours(1));

        Assert.Equal(["2027-01-01T08:00", "2027-01-05T10:00"], (await world.OccurrencesAsync(plan.Id)).Select(o => o.DueKey));
    }

    [Fact]
    public async Task a_template_with_required_fields_the_generator_cannot_fill_is_refused_naming_the_field()
    {
        await using var world = await PmWorld.CreateAsync(Utc(2027, 1, 1));

        var outcome = await world.Plans.CreateAsync(
            new PmPlanRequest("Repair plan", world.Org.TemplateId, world.Org.MachineId, EstimatedHours: 2, Triggers: [PmWorld.Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 1))]),
            world.Planner,
            CancellationToken.None);

        Assert.Equal(FailureKind.Validation, outcome.Failure?.Kind);
        var refusal = Assert.Single(outcome.Failure!.Errors!["templateId"]);
        Assert.Equal("pm.template_required_fields", refusal.Code);
        Assert.Contains("fault_code", refusal.ToString(), StringComparison.Ordinal);
        var requester = await world.Plans.CreateAsync(
            new PmPlanRequest("Any", world.TemplateId, world.Org.MachineId, EstimatedHours: 2, Triggers: [PmWorld.Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 1))]),
            world.Org[Access.Role.Requester],
            CancellationToken.None);
        Assert.Equal(FailureKind.Forbidden, requester.Failure?.Kind);
    }
}
