using NodaTime;
using NodaTime.Text;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Tests.Scheduling;

public sealed class RecurrenceTests
{
    private static readonly DateTimeZone Berlin = DateTimeZoneProviders.Tzdb["Europe/Berlin"];
    private static readonly DateTimeZone Taipei = DateTimeZoneProviders.Tzdb["Asia/Taipei"];

    [Fact]
    public void monthly_on_the_31st_falls_on_the_last_day_of_shorter_months_and_never_drifts()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 31), 1, RecurrenceUnit.Month, [new LocalTime(8, 0)], Taipei);

        var dates = Slots(schedule, "2027-01-01T00:00:00Z", "2028-06-01T00:00:00Z").Select(s => s.Local.Date.ToString("MM-dd", null)).ToList();

        Assert.Equal(
            ["01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31", "11-30", "12-31", "01-31", "02-29", "03-31", "04-30", "05-31"],
            dates);
    }

    [Fact]
    public void a_yearly_schedule_from_the_29th_of_february_takes_the_28th_in_common_years()
    {
        var schedule = new Recurrence(new LocalDate(2028, 2, 29), 1, RecurrenceUnit.Year, [new LocalTime(9, 0)], Taipei);

        var dates = Slots(schedule, "2028-01-01T00:00:00Z", "2033-01-01T00:00:00Z").Select(s => s.Local.Date).ToList();

        Assert.Equal([new(2028, 2, 29), new(2029, 2, 28), new(2030, 2, 28), new(2031, 2, 28), new LocalDate(2032, 2, 29)], dates);
    }

    [Fact]
    public void a_daily_time_skipped_by_the_spring_change_happens_once_an_hour_later()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 1), 1, RecurrenceUnit.Day, [new LocalTime(2, 30)], Berlin);

        var slots = Slots(schedule, "2027-03-27T00:00:00Z", "2027-03-30T00:00:00Z");

        Assert.Equal(["2027-03-27T02:30", "2027-03-28T02:30", "2027-03-29T02:30"], slots.Select(s => s.Key));
        // 02:30 does not exist on the 28th in Berlin: the slot is at 03:30 summer time, 01:30 UTC.
        Assert.Equal(Instant.FromUtc(2027, 3, 28, 1, 30), slots[1].At);
        Assert.Equal(Instant.FromUtc(2027, 3, 29, 0, 30), slots[2].At);
    }

    [Fact]
    public void a_daily_time_repeated_by_the_autumn_change_happens_once()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 1), 1, RecurrenceUnit.Day, [new LocalTime(2, 30)], Berlin);

        var slots = Slots(schedule, "2027-10-30T00:00:00Z", "2027-11-02T00:00:00Z");

        Assert.Equal(["2027-10-30T02:30", "2027-10-31T02:30", "2027-11-01T02:30"], slots.Select(s => s.Key));
        Assert.Equal(Instant.FromUtc(2027, 10, 31, 0, 30), slots[1].At);
        Assert.Equal(Instant.FromUtc(2027, 11, 1, 1, 30), slots[2].At);
    }

    [Fact]
    public void shifts_at_eight_and_twenty_give_two_slots_a_day_in_the_sites_zone()
    {
        var schedule = new Recurrence(new LocalDate(2027, 5, 1), 1, RecurrenceUnit.Day, [new LocalTime(20, 0), new LocalTime(8, 0)], Taipei);

        var slots = Slots(schedule, "2027-05-01T00:00:00Z", "2027-05-03T00:00:00Z");

        Assert.Equal(
            [Instant.FromUtc(2027, 5, 1, 0, 0), Instant.FromUtc(2027, 5, 1, 12, 0), Instant.FromUtc(2027, 5, 2, 0, 0), Instant.FromUtc(2027, 5, 2, 12, 0)],
            slots.Select(s => s.At));
    }

    [Fact]
    public void every_second_week_counts_from_the_anchor_not_from_the_window()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 4), 2, RecurrenceUnit.Week, [new LocalTime(7, 0)], Taipei);

        var dates = Slots(schedule, "2027-02-10T00:00:00Z", "2027-03-20T00:00:00Z").Select(s => s.Local.Date).ToList();

        Assert.Equal([new(2027, 2, 15), new(2027, 3, 1), new LocalDate(2027, 3, 15)], dates);
    }

    [Fact]
    public void a_seasonal_schedule_has_slots_only_in_its_active_months()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 1), 1, RecurrenceUnit.Month, [new LocalTime(8, 0)], Taipei, activeMonths: [6, 7, 8]);

        var months = Slots(schedule, "2027-01-01T00:00:00Z", "2028-12-31T00:00:00Z").Select(s => s.Local.Date.ToString("yyyy-MM", null)).ToList();

        Assert.Equal(["2027-06", "2027-07", "2027-08", "2028-06", "2028-07", "2028-08"], months);
    }

    [Fact]
    public void a_window_that_starts_between_slots_starts_at_the_next_one_and_ends_before_its_end()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 1), 10, RecurrenceUnit.Day, [new LocalTime(0, 0)], DateTimeZone.Utc);

        var slots = Slots(schedule, "2027-01-05T00:00:00Z", "2027-01-21T00:00:00Z");

        Assert.Equal(["2027-01-11T00:00"], slots.Select(s => s.Key));
    }

    [Fact]
    public void next_is_the_first_slot_of_the_same_calendar_for_every_hour_of_a_year()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 31), 1, RecurrenceUnit.Month, [new LocalTime(2, 30)], Berlin, activeMonths: [1, 2, 3, 10, 11, 12]);
        var year = Slots(schedule, "2027-01-01T00:00:00Z", "2029-01-01T00:00:00Z");

        for (var at = Instant.FromUtc(2027, 1, 1, 0, 0); at < Instant.FromUtc(2028, 1, 1, 0, 0); at += Duration.FromHours(1))
        {
            Assert.Equal(year.First(s => s.At >= at), schedule.Next(at));
        }
    }

    [Fact]
    public void next_says_none_when_the_interval_never_lands_in_an_active_month()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 15), 12, RecurrenceUnit.Month, [new LocalTime(8, 0)], Taipei, activeMonths: [7]);

        Assert.Null(schedule.Next(Instant.FromUtc(2027, 1, 1, 0, 0)));
    }

    [Fact]
    public void a_floating_schedule_counts_from_the_completion_early_or_late()
    {
        var schedule = new Recurrence(new LocalDate(2027, 1, 10), 1, RecurrenceUnit.Month, [new LocalTime(8, 0)], Taipei);

        // Done early on 3 March (Taipei), due again 3 April; done late on 25 April, due 25 May.
        Assert.Equal(new LocalDateTime(2027, 4, 3, 8, 0), schedule.After(Instant.FromUtc(2027, 3, 3, 2, 0)).Local);
        Assert.Equal(new LocalDateTime(2027, 5, 25, 8, 0), schedule.After(Instant.FromUtc(2027, 4, 25, 9, 0)).Local);
        // 23:30 UTC on 30 April is already 1 May in Taipei.
        Assert.Equal(new LocalDateTime(2027, 6, 1, 8, 0), schedule.After(Instant.FromUtc(2027, 4, 30, 23, 30)).Local);
    }

    [Fact]
    public void a_floating_schedule_outside_its_season_waits_for_the_first_day_of_the_next_active_month()
    {
        var schedule = new Recurrence(new LocalDate(2027, 4, 1), 1, RecurrenceUnit.Month, [new LocalTime(8, 0)], Taipei, activeMonths: [4, 5, 6, 7, 8, 9]);

        Assert.Equal(new LocalDateTime(2027, 9, 12, 8, 0), schedule.After(Instant.FromUtc(2027, 8, 12, 0, 0)).Local);
        Assert.Equal(new LocalDateTime(2028, 4, 1, 8, 0), schedule.After(Instant.FromUtc(2027, 9, 12, 0, 0)).Local);
    }

    [Fact]
    public void keys_are_the_planned_wall_clock_time()
    {
        var schedule = new Recurrence(new LocalDate(2027, 3, 28), 1, RecurrenceUnit.Day, [new LocalTime(2, 30)], Berlin);

        Assert.Equal("2027-03-28T02:30", schedule.SlotAt(new LocalDateTime(2027, 3, 28, 2, 30)).Key);
    }

    private static List<Slot> Slots(Recurrence schedule, string from, string until) =>
        [.. schedule.Between(InstantPattern.General.Parse(from).Value, InstantPattern.General.Parse(until).Value)];
}
