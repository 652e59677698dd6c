using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.PmPlanning;

namespace WorkOrders.Ticketing.Tests.PmPlanning;

public sealed class PmPlannerCalendarTests
{
    private static readonly DateOnly Monday = new(2026, 3, 2);

    private static PmCalendarLine Line(long department, string name, DateTime due, decimal hours) => new(
        new PmOccurrence(1, "Plan", 3, "M3", "Pump", department, name, hours, due.ToString("yyyy-MM-ddTHH:mm", System.Globalization.CultureInfo.InvariantCulture), due,
            PmOccurrenceStatus.Forecast, null, null, null, null, null),
        "pump",
        PmPlannerCalendar.WeekOf(DateOnly.FromDateTime(due)));

    [Theory]
    [InlineData("2026-03-02", "2026-03-02")]
    [InlineData("2026-03-08", "2026-03-02")]
    [InlineData("2026-03-09", "2026-03-09")]
    public void a_week_starts_on_monday(string day, string monday) =>
        Assert.Equal(DateOnly.Parse(monday, System.Globalization.CultureInfo.InvariantCulture), PmPlannerCalendar.WeekOf(DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void each_department_has_every_week_with_the_hours_due_beside_its_crew_and_weeks_without_work_at_zero()
    {
        var lines = new[]
        {
            Line(1, "Maintenance", new DateTime(2026, 3, 3, 8, 0, 0, DateTimeKind.Utc), 30),
            Line(1, "Maintenance", new DateTime(2026, 3, 8, 23, 0, 0, DateTimeKind.Utc), 20),
            Line(2, "Facilities", new DateTime(2026, 3, 10, 8, 0, 0, DateTimeKind.Utc), 4),
        };
        CrewCapacity[] crews = [new(1, "Maintenance", 1, 40), new(3, "Utilities", 2, 80)];

        var loads = PmPlannerCalendar.Loads(Monday, 2, lines, crews);

        Assert.Equal(
            [
                ("Facilities", Monday, 0m, 0, 0m, false),
                ("Facilities", Monday.AddDays(7), 4m, 1, 0m, true),
                ("Maintenance", Monday, 50m, 2, 40m, true),
                ("Maintenance", Monday.AddDays(7), 0m, 0, 40m, false),
                ("Utilities", Monday, 0m, 0, 80m, false),
                ("Utilities", Monday.AddDays(7), 0m, 0, 80m, false),
            ],
            loads.Select(l => (l.DepartmentName, l.Week, l.HoursDue, l.Occurrences, l.CapacityHours, l.OverCapacity)));
    }
}
