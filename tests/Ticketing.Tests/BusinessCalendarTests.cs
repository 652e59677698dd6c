using WorkOrders.Ticketing.Sla;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Business-time arithmetic, each figure worked out by hand in the comment beside it.</summary>
public class BusinessCalendarTests
{
    private static readonly WorkingSpan Morning = new(8 * 60, 12 * 60);
    private static readonly WorkingSpan Afternoon = new(13 * 60, 17 * 60);

    // Taipei is UTC+8 all year. Mon-Fri 08:00-12:00 and 13:00-17:00; Friday 2026-10-09 is the National Day holiday.
    private static readonly BusinessCalendar Taipei = new(
        TimeZoneInfo.FindSystemTimeZoneById("Asia/Taipei"),
        Weekdays(Morning, Afternoon),
        [new DateOnly(2026, 10, 9)]);

    private static DateTime Utc(int year, int month, int day, int hour, int minute = 0) => new(year, month, day, hour, minute, 0, DateTimeKind.Utc);

    private static Dictionary<DayOfWeek, IReadOnlyList<WorkingSpan>> Weekdays(params WorkingSpan[] spans) =>
        new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday }
            .ToDictionary(d => d, IReadOnlyList<WorkingSpan> (_) => spans);

    private static Dictionary<DayOfWeek, IReadOnlyList<WorkingSpan>> EveryDay(params WorkingSpan[] spans) =>
        Enum.GetValues<DayOfWeek>().ToDictionary(d => d, IReadOnlyList<WorkingSpan> (_) => spans);

    [Fact]
    public void adding_within_a_working_span_moves_by_exactly_that_much()
    {
        // Mon 2026-05-04 09:00 Taipei = 01:00 UTC; + 2 h = 11:00 Taipei = 03:00 UTC.
        Assert.Equal(Utc(2026, 5, 4, 3), Taipei.Add(Utc(2026, 5, 4, 1), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void the_lunch_break_between_two_spans_of_a_day_does_not_count()
    {
        // 11:00 + 2 h: 1 h to 12:00, lunch, 13:00 + 1 h = 14:00 Taipei = 06:00 UTC.
        Assert.Equal(Utc(2026, 5, 4, 6), Taipei.Add(Utc(2026, 5, 4, 3), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void adding_across_a_night_continues_the_next_working_morning()
    {
        // Mon 16:00 + 3 h: 1 h to 17:00, then Tue 08:00 + 2 h = Tue 10:00 Taipei = Tue 02:00 UTC.
        Assert.Equal(Utc(2026, 5, 5, 2), Taipei.Add(Utc(2026, 5, 4, 8), TimeSpan.FromHours(3)));
    }

    [Fact]
    public void adding_across_a_weekend_skips_saturday_and_sunday()
    {
        // Fri 2026-05-08 16:30 + 1 h: 30 min to 17:00, then Mon 2026-05-11 08:00 + 30 min = 08:30 Taipei = 00:30 UTC.
        Assert.Equal(Utc(2026, 5, 11, 0, 30), Taipei.Add(Utc(2026, 5, 8, 8, 30), TimeSpan.FromHours(1)));
    }

    [Fact]
    public void a_holiday_is_skipped_like_a_weekend_day()
    {
        // Thu 2026-10-08 16:00 + 2 h: 1 h to 17:00; Fri 10-09 holiday; weekend; Mon 10-12 08:00 + 1 h = 09:00 Taipei = 01:00 UTC.
        Assert.Equal(Utc(2026, 10, 12, 1), Taipei.Add(Utc(2026, 10, 8, 8), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void a_start_outside_working_hours_counts_from_the_next_span()
    {
        // Sat 2026-05-09 10:00 Taipei + 30 min = Mon 05-11 08:30 Taipei = 00:30 UTC.
        Assert.Equal(Utc(2026, 5, 11, 0, 30), Taipei.Add(Utc(2026, 5, 9, 2), TimeSpan.FromMinutes(30)));
    }

    [Fact]
    public void the_business_time_between_two_instants_leaves_out_nights_and_weekends()
    {
        // Fri 2026-05-08 15:00 -> Mon 05-11 10:00 Taipei: Fri 15-17 (2 h) + Mon 08-10 (2 h) = 4 h.
        Assert.Equal(TimeSpan.FromHours(4), Taipei.Between(Utc(2026, 5, 8, 7), Utc(2026, 5, 11, 2)));
        Assert.Equal(TimeSpan.Zero, Taipei.Between(Utc(2026, 5, 11, 2), Utc(2026, 5, 8, 7)));
    }

    [Fact]
    public void paused_intervals_do_not_count_between_two_instants()
    {
        // Mon 09:00 -> 17:00 Taipei is 7 h (09-12, 13-17); paused 10:00-14:00 removes 10-12 and 13-14 = 3 h, leaving 4 h.
        var paused = new[] { new UtcRange(Utc(2026, 5, 4, 2), Utc(2026, 5, 4, 6)) };
        Assert.Equal(TimeSpan.FromHours(4), Taipei.Between(Utc(2026, 5, 4, 1), Utc(2026, 5, 4, 9), paused));
    }

    [Fact]
    public void adding_skips_paused_intervals_and_resumes_after_them()
    {
        // Mon 09:00 + 2 h, paused 10:00-13:30: 09-10 (1 h), pause, 13:30 + 1 h = 14:30 Taipei = 06:30 UTC.
        var paused = new[] { new UtcRange(Utc(2026, 5, 4, 2), Utc(2026, 5, 4, 5, 30)) };
        Assert.Equal(Utc(2026, 5, 4, 6, 30), Taipei.Add(Utc(2026, 5, 4, 1), TimeSpan.FromHours(2), paused));
    }

    [Fact]
    public void a_pause_that_has_not_ended_stops_the_count_where_it_began()
    {
        // Mon 09:00 -> Tue 17:00 with a pause from Mon 11:00 still running: only 09-11 counts.
        var paused = new[] { UtcRange.From(Utc(2026, 5, 4, 3), null) };
        Assert.Equal(TimeSpan.FromHours(2), Taipei.Between(Utc(2026, 5, 4, 1), Utc(2026, 5, 5, 9), paused));
    }

    [Fact]
    public void a_night_span_is_an_hour_shorter_on_the_spring_forward_day_in_berlin()
    {
        // Every day 00:00-06:00 Berlin. Sun 2026-03-29 the clocks jump 02:00 CET -> 03:00 CEST:
        // 00:00 CET = Sat 23:00 UTC to 06:00 CEST = 04:00 UTC is 5 h; the Saturday before has 6 h.
        var berlin = new BusinessCalendar(TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"), EveryDay(new WorkingSpan(0, 6 * 60)));

        Assert.Equal(TimeSpan.FromHours(5), berlin.Between(Utc(2026, 3, 28, 22), Utc(2026, 3, 29, 12)));
        Assert.Equal(TimeSpan.FromHours(6), berlin.Between(Utc(2026, 3, 27, 22), Utc(2026, 3, 28, 12)));
        // 5 h 30 min from Sunday 00:00: the 5 h of Sunday, then Monday 00:00 CEST (Sun 22:00 UTC) + 30 min.
        Assert.Equal(Utc(2026, 3, 29, 22, 30), berlin.Add(Utc(2026, 3, 28, 23), TimeSpan.FromMinutes(330)));
    }

    [Fact]
    public void a_night_span_is_an_hour_longer_on_the_fall_back_day_in_berlin()
    {
        // Sun 2026-10-25 the clocks go back 03:00 CEST -> 02:00 CET: 00:00 CEST = Sat 22:00 UTC to 06:00 CET = 05:00 UTC is 7 h.
        var berlin = new BusinessCalendar(TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"), EveryDay(new WorkingSpan(0, 6 * 60)));

        Assert.Equal(TimeSpan.FromHours(7), berlin.Between(Utc(2026, 10, 24, 12), Utc(2026, 10, 25, 12)));
        // 6 h 30 min from Sunday 00:00 CEST (Sat 22:00 UTC) is 04:30 UTC = 05:30 CET, still inside the day's (longer) span.
        Assert.Equal(Utc(2026, 10, 25, 4, 30), berlin.Add(Utc(2026, 10, 24, 22), TimeSpan.FromMinutes(390)));
    }

    [Fact]
    public void a_span_that_starts_in_the_skipped_hour_starts_when_the_clocks_show_three()
    {
        // 02:30-04:00 Berlin on 2026-03-29: 02:30 does not exist, so the span runs 03:00 CEST (01:00 UTC) to 04:00 CEST (02:00 UTC).
        var berlin = new BusinessCalendar(
            TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"),
            new Dictionary<DayOfWeek, IReadOnlyList<WorkingSpan>> { [DayOfWeek.Sunday] = [new WorkingSpan(150, 240)] });

        Assert.Equal(TimeSpan.FromHours(1), berlin.Between(Utc(2026, 3, 28, 0), Utc(2026, 3, 30, 0)));
        Assert.Equal(Utc(2026, 3, 29, 1, 15), berlin.Add(Utc(2026, 3, 28, 0), TimeSpan.FromMinutes(15)));
    }

    [Fact]
    public void a_working_week_keeps_local_hours_across_the_new_york_clock_change()
    {
        // Mon-Fri 09:00-17:00 New York. Fri 2026-03-06 16:00 EST (21:00 UTC) + 2 h: 1 h to 17:00; the clocks move on Sunday
        // 03-08; Mon 03-09 09:00 EDT + 1 h = 10:00 EDT = 14:00 UTC (it was 15:00 UTC for 10:00 the week before).
        var newYork = new BusinessCalendar(TimeZoneInfo.FindSystemTimeZoneById("America/New_York"), Weekdays(new WorkingSpan(9 * 60, 17 * 60)));

        Assert.Equal(Utc(2026, 3, 9, 14), newYork.Add(Utc(2026, 3, 6, 21), TimeSpan.FromHours(2)));
        Assert.Equal(TimeSpan.FromHours(2), newYork.Between(Utc(2026, 3, 6, 21), Utc(2026, 3, 9, 14)));
    }

    [Fact]
    public void around_the_clock_business_time_is_elapsed_time()
    {
        var start = Utc(2026, 3, 28, 23);
        Assert.Equal(start.AddHours(50), BusinessCalendar.AroundTheClock.Add(start, TimeSpan.FromHours(50)));
        Assert.Equal(TimeSpan.FromHours(50), BusinessCalendar.AroundTheClock.Between(start, start.AddHours(50)));
    }

    [Fact]
    public void adding_and_counting_agree_with_each_other()
    {
        var start = Utc(2026, 10, 7, 5, 17);
        foreach (var minutes in new[] { 1, 59, 240, 481, 2000, 10_000 })
        {
            var due = Taipei.Add(start, TimeSpan.FromMinutes(minutes));
            Assert.Equal(TimeSpan.FromMinutes(minutes), Taipei.Between(start, due));
        }
    }
}
