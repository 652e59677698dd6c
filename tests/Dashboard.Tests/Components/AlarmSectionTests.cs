using Bunit;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Dashboard.Components.Pages.Analytics;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class AlarmSectionTests : BunitContext
{
    public AlarmSectionTests()
    {
        this.UseDashboardComponents();
    }

    [Fact]
    public void the_reliability_page_s_alarm_section_shows_the_totals_the_rows_with_the_most_episodes_and_the_chattering_assets()
    {
        var figures = new AlarmFigures(
            new AlarmEpisodeRow(0, "", "", 6, 2, 2, 2, 0, 1, 2.0, 2),
            [
                new AlarmEpisodeRow(11, "M-1 Pump", "overheat", 4, 1, 2, 1, 0, 1, 1.0, 2),
                new AlarmEpisodeRow(11, "M-1 Pump", "bearing", 1, 0, 0, 1, 0, 0, 6.0, 0),
                new AlarmEpisodeRow(12, "M-2 Pump", "overheat", 1, 1, 0, 0, 0, 0, 1.0, 0),
            ],
            [new ChatteringAsset(11, "M-1 Pump", 5, 2)]);

        var section = Render<AlarmSection>(p => p.Add(s => s.Alarms, figures));

        var totals = section.Find("[data-testid=alarm-totals]").TextContent;
        Assert.StartsWith("6 alarm episodes: 2 raised a work order (", totals, StringComparison.Ordinal);
        Assert.Contains("2 were attached to an open one, 2 were suppressed or rate limited", totals, StringComparison.Ordinal);
        Assert.Equal(["4", "1", "1"], section.FindAll("[data-testid=alarm-episodes]").Select(e => e.TextContent.Trim()));
        Assert.Equal(["2"], section.FindAll("[data-testid=asset-chatters]").Select(e => e.TextContent.Trim()));
        Assert.Contains("/assets?id=11", section.Find("[data-testid=chattering-grid] a").GetAttribute("href"), StringComparison.Ordinal);
    }

    [Fact]
    public void a_plant_s_many_alarm_rows_are_paged_ten_at_a_time_with_the_most_episodes_first()
    {
        var rows = Enumerable.Range(1, 25).Select(i => new AlarmEpisodeRow(i, $"M-{i} Pump", "overheat", 100 - i, 0, 0, 0, 0, 0, 1.0, 0)).ToList();

        var section = Render<AlarmSection>(p => p.Add(s => s.Alarms, new AlarmFigures(new AlarmEpisodeRow(0, "", "", 2200, 0, 0, 0, 0, 0, 1.0, 0), rows, [])));

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (100 - i).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            section.FindAll("[data-testid=alarm-episodes]").Select(e => e.TextContent.Trim()));
        Assert.NotEmpty(section.FindAll("[data-testid=alarm-grid] .rz-pager"));
    }

    [Fact]
    public void a_period_without_alarms_says_so()
    {
        var section = Render<AlarmSection>(p => p.Add(s => s.Alarms, new AlarmFigures(new AlarmEpisodeRow(0, "", "", 0, 0, 0, 0, 0, 0, null, 0), [], [])));

        Assert.NotNull(section.Find("[data-testid=alarms-empty]"));
        Assert.Empty(section.FindAll("[data-testid=alarm-grid]"));
    }
}
