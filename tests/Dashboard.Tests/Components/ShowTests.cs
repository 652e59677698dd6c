using WorkOrders.Dashboard.Components.Shared;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class ShowTests
{
    private static readonly DateTime Afternoon = new(2026, 12, 3, 14, 5, 0, DateTimeKind.Utc);

    [Fact]
    public void a_time_is_shown_in_the_readers_zone_and_names_it()
    {
        var show = new Show();
        show.UseZone(TimeZoneInfo.FindSystemTimeZoneById("Asia/Taipei"));

        Assert.Equal("2026-12-03 22:05 Asia/Taipei", show.Time(Afternoon));
        Assert.Equal("2026-12-04 06:05", show.ShortTime(Afternoon.AddHours(8)));
        Assert.Equal("–", show.Time(null));
    }

    [Fact]
    public void without_a_zone_times_are_utc_and_say_so()
    {
        var show = new Show();

        Assert.Equal("2026-12-03 14:05 UTC", show.Time(Afternoon));
        Assert.Equal("2026-12-03 14:05", show.ShortTime(DateTime.SpecifyKind(Afternoon, DateTimeKind.Unspecified)));
    }

    [Fact]
    public void a_zone_with_daylight_saving_shows_the_local_time_of_that_day()
    {
        var show = new Show();
        show.UseZone(TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));

        Assert.Equal("2026-07-01 12:00 Europe/Berlin", show.Time(new DateTime(2026, 7, 1, 10, 0, 0, DateTimeKind.Utc)));
        Assert.Equal("2026-12-01 11:00 Europe/Berlin", show.Time(new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc)));
    }
}
