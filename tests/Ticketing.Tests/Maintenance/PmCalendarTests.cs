using NodaTime;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Tests.Maintenance;

/// <summary>The pure PM calculator: what is due now and what falls due in a window, from one plan and schedule state.</summary>
public sealed class PmCalendarTests
{
    private static readonly DateTimeZone Taipei = DateTimeZoneProviders.Tzdb["Asia/Taipei"];
    private static readonly DateTimeZone Berlin = DateTimeZoneProviders.Tzdb["Europe/Berlin"];

    private static PmTrigger Calendar(
        int every, RecurrenceUnit unit, DateOnly anchor, int hour = 8, int minute = 0, PmScheduleMode mode = PmScheduleMode.Fixed, int[]? months = null, long id = 1) =>
        new(id, PmTriggerKind.Calendar, every, unit, anchor, new TimeOnly(hour, minute), mode, months);

    private static DateTime Utc(int y, int m, int d, int h = 0, int min = 0) => new(y, m, d, h, min, 0, DateTimeKind.Utc);

    [Fact]
    public void monthly_on_the_31st_clamps_to_each_months_last_day_and_comes_back_to_the_31st()
    {
        var rule = new PmRule(0, [Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 31))]);

        var dues = PmCalendar.Forecast(rule, Taipei, new PmScheduleState(Utc(2027, 1, 1)), Utc(2027, 1, 1), Utc(2028, 5, 1));

        Assert.Equal(
            ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31", "2027-08-31", "2027-09-30", "2027-10-31",
             "2027-11-30", "2027-12-31", "2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"],
            dues.Select(d => d.Key[..10]));
        // 08:00 in Taipei is midnight UTC.
        Assert.Equal(Utc(2027, 2, 28), dues[1].DueAt);
    }

    [Fact]
    public void the_generator_steps_through_month_ends_one_at_a_time_without_drifting()
    {
        var rule = new PmRule(0, [Calendar(1, RecurrenceUnit.Month, new DateOnly(2028, 1, 31))]);
        var state = new PmScheduleState(Utc(2028, 1, 1));
        var keys = new List<string>();
        for (var now = Utc(2028, 1, 1); now < Utc(2028, 6, 1); now = now.AddHours(1))
        {
            var step = PmCalendar.Step(rule, Taipei, state, now);
            keys.AddRange(step.Due.Select(d => d.Key[..10]));
            state = state with { LastDueKey = step.LastDueKey };
        }

        Assert.Equal(["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"], keys);
    }

    [Fact]
    public void a_due_time_in_the_spring_gap_and_in_the_autumn_repeat_is_due_once_a_day()
    {
        var rule = new PmRule(0, [Calendar(1, RecurrenceUnit.Day, new DateOnly(2027, 1, 1), 2, 30)]);
        var state = new PmScheduleState(Utc(2027, 3, 26));
        var due = new List<PmDue>();
        for (var now = Utc(2027, 3, 26); now < Utc(2027, 11, 2); now = now.AddMinutes(30))
        {
            var step = PmCalendar.Step(rule, Berlin, state, now);
            due.AddRange(step.Due);
            state = state with { LastDueKey = step.LastDueKey };
        }

        var days = due.Select(d => d.Key[..10]).ToList();
        Assert.Equal(days.Distinct().Count(), days.Count);
        Assert.Equal(Period.Between(new LocalDate(2027, 3, 26), new LocalDate(2027, 11, 1), PeriodUnits.Days).Days + 1, days.Count);
        Assert.Equal(Utc(2027, 3, 28, 1, 30), due.Single(d => d.Key == "2027-03-28T02:30").DueAt);
        Assert.Equal(Utc(2027, 10, 31, 0, 30), due.Single(d => d.Key == "2027-10-31T02:30").DueAt);
    }

    [Fact]
    public void a_floating_plan_counts_from_an_early_or_a_late_completion()
    {
        var rule = new PmRule(0, [Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 10), mode: PmScheduleMode.Floating)]);
        var first = PmCalendar.NextDue(rule, Taipei, new PmScheduleState(Utc(2027, 1, 1)), Utc(2027, 1, 1))!;
        Assert.Equal("2027-01-10T08:00", first.Key);

        // Made, not completed yet: nothing more is due.
        var made = new PmScheduleState(Utc(2027, 1, 1), LastDueKey: first.Key);
        Assert.Empty(PmCalendar.Step(rule, Taipei, made, Utc(2027, 3, 1)).Due);

        var early = made with { LastCompletedAt = Utc(2027, 1, 5, 3) };
        Assert.Equal("2027-02-05T08:00", PmCalendar.NextDue(rule, Taipei, early, Utc(2027, 1, 6))!.Key);

        var late = made with { LastCompletedAt = Utc(2027, 1, 20, 3) };
        Assert.Equal("2027-02-20T08:00", PmCalendar.NextDue(rule, Taipei, late, Utc(2027, 1, 21))!.Key);
    }

    [Fact]
    public void a_seasonal_plan_is_due_only_in_its_active_months()
    {
        var rule = new PmRule(0, [Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 15), months: [4, 5, 6, 7, 8, 9])]);

        var dues = PmCalendar.Forecast(rule, Taipei, new PmScheduleState(Utc(2027, 1, 1)), Utc(2027, 1, 1), Utc(2028, 1, 1));

        Assert.Equal(["2027-04-15", "2027-05-15", "2027-06-15", "2027-07-15", "2027-08-15", "2027-09-15"], dues.Select(d => d.Key[..10]));
    }

    [Fact]
    public void the_lead_time_makes_the_work_due_days_before_its_due_date()
    {
        var rule = new PmRule(7, [Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 3, 10))]);
        var state = new PmScheduleState(Utc(2027, 2, 1));

        Assert.Empty(PmCalendar.Step(rule, Taipei, state, Utc(2027, 3, 2, 23, 59)).Due);
        var step = PmCalendar.Step(rule, Taipei, state, Utc(2027, 3, 3));

        var due = Assert.Single(step.Due);
        Assert.Equal(Utc(2027, 3, 10), due.DueAt);
        Assert.Equal(Utc(2027, 3, 3), due.CreateAt);
        Assert.Equal(Utc(2027, 4, 3), step.NextCheckAt);
    }

    [Fact]
    public void due_dates_before_the_schedule_started_are_not_owed()
    {
        var rule = new PmRule(0, [Calendar(1, RecurrenceUnit.Week, new DateOnly(2020, 1, 6))]);

        var step = PmCalendar.Step(rule, Taipei, new PmScheduleState(Utc(2027, 1, 1)), Utc(2027, 1, 1));

        Assert.Empty(step.Due);
        Assert.Equal(Utc(2027, 1, 4), step.NextCheckAt);
    }

    [Fact]
    public void two_calendar_triggers_on_the_same_time_make_one_occurrence_whichever_comes_first()
    {
        var rule = new PmRule(0, [Calendar(1, RecurrenceUnit.Month, new DateOnly(2027, 1, 1)), Calendar(3, RecurrenceUnit.Month, new DateOnly(2027, 1, 1), id: 2)]);

        var dues = PmCalendar.Forecast(rule, Taipei, new PmScheduleState(Utc(2026, 12, 1)), Utc(2027, 1, 1), Utc(2027, 7, 1));

        Assert.Equal(6, dues.Count);
        Assert.Equal(6, dues.Select(d => d.Key).Distinct().Count());
    }

    [Fact]
    public void every_n_units_counts_lifetime_usage_across_a_meter_reset()
    {
        var rule = new PmRule(0, [new PmTrigger(5, PmTriggerKind.Meter, MeterName: "run hours", EveryUnits: 100)]);
        var state = new PmScheduleState(Utc(2027, 1, 1), LastMeterLifetime: 0);
        PmMeterReading[] batch = [new(1, Utc(2027, 1, 2), 60, 60, false), new(2, Utc(2027, 1, 3), 0, 60, true), new(3, Utc(2027, 1, 4), 45, 105, false)];

        var step = PmCalendar.Step(rule, Taipei, state, Utc(2027, 1, 5), batch);

        var due = Assert.Single(step.Due);
        Assert.Equal("m:5:100", due.Key);
        Assert.Equal(Utc(2027, 1, 4), due.DueAt);
        Assert.Equal(105, step.MeterLifetime);
        Assert.Equal(3, step.MeterReadingId);
    }

    [Fact]
    public void a_threshold_crossed_twice_in_one_batch_is_one_occurrence()
    {
        var rule = new PmRule(0, [new PmTrigger(6, PmTriggerKind.Meter, MeterName: "cycles", Threshold: 100)]);
        PmMeterReading previous = new(1, Utc(2027, 1, 1), 90, 90, false);
        PmMeterReading[] batch = [new(2, Utc(2027, 1, 2), 110, 110, false), new(3, Utc(2027, 1, 3), 0, 110, true), new(4, Utc(2027, 1, 4), 120, 230, false)];

        var step = PmCalendar.Step(rule, Taipei, new PmScheduleState(Utc(2026, 12, 1), MeterReadingId: 1), Utc(2027, 1, 5), batch, previous);

        Assert.Equal("t:6:2", Assert.Single(step.Due).Key);
    }
}
