using System.Globalization;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The pure SLA decisions and the calendar rules, without a database.</summary>
public class SlaRulesTests
{
    // Mon-Fri 08:00-17:00 in Taipei (UTC+8).
    private static readonly BusinessCalendar Taipei = new(
        TimeZoneInfo.FindSystemTimeZoneById("Asia/Taipei"),
        new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday }
            .ToDictionary(d => d, IReadOnlyList<WorkingSpan> (_) => [new WorkingSpan(8 * 60, 17 * 60)]));

    // Mon 2026-05-04 09:00 Taipei.
    private static readonly DateTime Start = new(2026, 5, 4, 1, 0, 0, DateTimeKind.Utc);

    private static SlaClockState State(SlaInstants instants, DateTime? acknowledged = null, DateTime? resolved = null, DateTime? pausedSince = null,
        WorkOrderStatus status = WorkOrderStatus.Assigned, params (SlaTarget, SlaLevel)[] sent) =>
        new(instants, status, acknowledged, resolved, pausedSince, sent.ToHashSet());

    [Fact]
    public void starting_a_clock_puts_the_warning_at_the_policy_share_of_each_target_in_business_time()
    {
        // Response 60 min: warn at 48 min (09:48), due 10:00. Resolution 10 h: warn at 8 h = Mon 17:00, due Tue 10:00 (8 h Mon + 2 h Tue).
        var i = SlaRules.Start(Taipei, Start, 60, 600, 80);

        Assert.Equal(Start.AddMinutes(48), i.ResponseWarnAt);
        Assert.Equal(Start.AddHours(1), i.ResponseDueAt);
        Assert.Equal(new DateTime(2026, 5, 4, 9, 0, 0, DateTimeKind.Utc), i.ResolutionWarnAt);
        Assert.Equal(new DateTime(2026, 5, 5, 2, 0, 0, DateTimeKind.Utc), i.ResolutionDueAt);
    }

    [Fact]
    public void a_pause_pushes_every_instant_still_ahead_by_the_business_time_paused()
    {
        var i = SlaRules.Start(Taipei, Start, 60, 600, 80);
        // Paused Mon 09:30 -> 16:00 Taipei is 6.5 business hours; the response warning (09:48) and all later instants move.
        var pausedSince = Start.AddMinutes(30);
        var pushed = SlaRules.Push(i, Taipei, pausedSince, TimeSpan.FromHours(6.5));

        Assert.Equal(new DateTime(2026, 5, 4, 8, 18, 0, DateTimeKind.Utc), pushed.ResponseWarnAt); // 16:18 Taipei
        Assert.Equal(new DateTime(2026, 5, 4, 8, 30, 0, DateTimeKind.Utc), pushed.ResponseDueAt); // 16:30 Taipei
        Assert.Equal(new DateTime(2026, 5, 5, 6, 30, 0, DateTimeKind.Utc), pushed.ResolutionWarnAt); // Tue 14:30 Taipei
        Assert.Equal(new DateTime(2026, 5, 5, 8, 30, 0, DateTimeKind.Utc), pushed.ResolutionDueAt); // Tue 16:30 Taipei

        var passed = SlaRules.Push(i, Taipei, Start.AddMinutes(50), TimeSpan.FromHours(1));
        Assert.Equal(i.ResponseWarnAt, passed.ResponseWarnAt);
    }

    [Fact]
    public void warnings_and_breaches_fall_due_in_order_and_each_only_until_sent()
    {
        var i = SlaRules.Start(Taipei, Start, 60, 600, 80);

        Assert.Empty(SlaRules.Due(State(i), Start.AddMinutes(47)));
        Assert.Equal([(SlaTarget.Response, SlaLevel.Warning)], SlaRules.Due(State(i), Start.AddMinutes(48)).Select(a => (a.Target, a.Level)));
        Assert.Equal(
            [(SlaTarget.Response, SlaLevel.Breach)],
            SlaRules.Due(State(i, sent: (SlaTarget.Response, SlaLevel.Warning)), Start.AddHours(2)).Select(a => (a.Target, a.Level)));
        Assert.Equal(i.ResolutionWarnAt, SlaRules.NextAlertAt(State(i, sent: [(SlaTarget.Response, SlaLevel.Warning), (SlaTarget.Response, SlaLevel.Breach)])));
    }

    [Fact]
    public void acknowledging_ends_the_response_target_and_resolving_ends_the_resolution_target()
    {
        var i = SlaRules.Start(Taipei, Start, 60, 600, 80);

        Assert.Equal(i.ResolutionWarnAt, SlaRules.NextAlertAt(State(i, acknowledged: Start.AddMinutes(5))));
        Assert.Null(SlaRules.NextAlertAt(State(i, acknowledged: Start.AddMinutes(5), resolved: Start.AddHours(3), status: WorkOrderStatus.Resolved)));
    }

    [Fact]
    public void nothing_falls_due_while_paused_or_after_cancelling()
    {
        var i = SlaRules.Start(Taipei, Start, 60, 600, 80);

        Assert.Null(SlaRules.NextAlertAt(State(i, pausedSince: Start.AddMinutes(10), status: WorkOrderStatus.OnHold)));
        Assert.Empty(SlaRules.Due(State(i, status: WorkOrderStatus.Cancelled), Start.AddDays(10)));
    }

    [Fact]
    public void the_view_colours_by_risk_and_counts_time_left_in_business_time()
    {
        var i = SlaRules.Start(Taipei, Start, 60, 600, 80);

        var ok = SlaRules.View(State(i), Taipei, Start.AddMinutes(10))!;
        Assert.Equal((SlaTarget.Response, SlaRisk.Ok, TimeSpan.FromMinutes(50)), (ok.Target, ok.Risk, ok.Remaining));
        Assert.Equal(SlaRisk.AtRisk, SlaRules.View(State(i), Taipei, Start.AddMinutes(50))!.Risk);

        // Breached at 10:00; seen Mon 18:00 Taipei it is 7 business hours overdue (10:00-17:00).
        var breached = SlaRules.View(State(i), Taipei, Start.AddHours(9))!;
        Assert.Equal((SlaRisk.Breached, TimeSpan.FromHours(-7)), (breached.Risk, breached.Remaining));

        // Once acknowledged the resolution target shows; paused at Mon 12:00 it keeps the time left then: 12-17 and Tue 08-10, 7 h.
        var paused = SlaRules.View(State(i, acknowledged: Start.AddMinutes(5), pausedSince: Start.AddHours(3), status: WorkOrderStatus.OnHold), Taipei, Start.AddDays(3))!;
        Assert.Equal((SlaTarget.Resolution, SlaRisk.Paused, TimeSpan.FromHours(7)), (paused.Target, paused.Risk, paused.Remaining));

        var met = SlaRules.View(State(i, acknowledged: Start, resolved: Start.AddHours(9), status: WorkOrderStatus.Resolved), Taipei, Start.AddDays(5))!;
        Assert.Equal(SlaRisk.Met, met.Risk);
        var missed = SlaRules.View(State(i, acknowledged: Start, resolved: Start.AddDays(2), status: WorkOrderStatus.Closed), Taipei, Start.AddDays(5))!;
        Assert.Equal(SlaRisk.Missed, missed.Risk);
        Assert.Null(SlaRules.View(State(i, status: WorkOrderStatus.Cancelled), Taipei, Start));
    }

    [Fact]
    public void a_calendar_with_overlapping_spans_is_refused_naming_the_weekday()
    {
        var errors = new FieldErrors();
        CalendarRules.Validate(new CalendarRequest("Plant", "Asia/Taipei", Hours: new() { ["monday"] = ["08:00-12:00", "11:00-13:00"] }), errors);

        var failure = errors.ToFailure();
        Assert.Equal(["the spans 08:00-12:00 and 11:00-13:00 overlap."], failure.Texts(CultureInfo.InvariantCulture)["hours.monday"]);
    }

    [Fact]
    public void a_calendar_without_any_working_time_is_refused()
    {
        var errors = new FieldErrors();
        CalendarRules.Validate(new CalendarRequest("Empty", "Asia/Taipei", Hours: new() { ["monday"] = [] }), errors);

        Assert.StartsWith("the calendar has no working time at all", errors.ToFailure().Texts(CultureInfo.InvariantCulture)["hours"][0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("Taipei Standard Time")]
    public void an_unknown_or_non_iana_time_zone_is_refused(string zone)
    {
        var errors = new FieldErrors();
        CalendarRules.Validate(new CalendarRequest("Plant", zone, Hours: new() { ["monday"] = ["08:00-17:00"] }), errors);

        Assert.Contains("is not a known IANA time zone", errors.ToFailure().Texts(CultureInfo.InvariantCulture)["timeZone"][0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8-17", "is not a span like 08:00-17:00")]
    [InlineData("17:00-08:00", "ends before it starts")]
    [InlineData("08:00-24:30", "not on the clock")]
    [InlineData("08:61-12:00", "not on the clock")]
    public void a_malformed_span_is_refused_with_the_reason(string span, string reason)
    {
        var errors = new FieldErrors();
        CalendarRules.Validate(new CalendarRequest("Plant", "Europe/Berlin", Hours: new() { ["friday"] = [span], ["monday"] = ["08:00-17:00"] }), errors);

        Assert.Contains(reason, errors.ToFailure().Texts(CultureInfo.InvariantCulture)["hours.friday"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void a_valid_calendar_takes_spans_up_to_midnight_and_names_its_holidays()
    {
        var errors = new FieldErrors();
        var valid = CalendarRules.Validate(
            new CalendarRequest("Night shift 夜班", "Europe/Berlin", Hours: new() { ["sunday"] = ["22:00-24:00", "00:00-06:00"] },
                Holidays: [new Holiday(new DateOnly(2026, 12, 25), "Christmas")]),
            errors);

        Assert.False(errors.Any);
        Assert.Equal([new WorkingSpan(1320, 1440), new WorkingSpan(0, 360)], valid!.Hours[DayOfWeek.Sunday]);
        Assert.Equal(TimeSpan.FromHours(8), valid.ToCalendar().Between(new DateTime(2026, 12, 19, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 12, 22, 0, 0, 0, DateTimeKind.Utc)));
    }
}
