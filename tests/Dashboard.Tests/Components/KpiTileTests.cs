using System.Globalization;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Localization;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Dashboard.Localization;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class KpiTileTests : BunitContext
{
    private const string MttrDefinition = "Mean time to restore, for this test.";
    private readonly List<string> _drilled = [];
    private readonly CultureScope _culture = new("en-US");

    public KpiTileTests()
    {
        this.UseDashboardComponents();
    }

    [Fact]
    public void a_tile_shows_its_value_the_change_against_the_previous_period_and_its_definition()
    {
        var tile = Tile(new KpiFigure("mttr", "MTTR (mean)", FigureUnit.Hours, 5.5, 4.0, 12, "mttr", Better.Lower), MttrDefinition);

        Assert.Equal("MTTR (mean)", Text(tile, "kpi-title"));
        Assert.Equal("5.5 h", Text(tile, "kpi-value"));
        Assert.Equal("+1.5 h vs previous period", Text(tile, "kpi-change").Replace("▲", "", StringComparison.Ordinal).Trim());
        Assert.Contains("worse", tile.Find("[data-testid=kpi-change]").ClassList);
        Assert.Equal("Previous period: 4.0 h", tile.Find("[data-testid=kpi-change]").GetAttribute("title"));
        Assert.Equal("12 work orders", Text(tile, "kpi-count"));
        Assert.Equal("12", tile.Find("[data-testid=kpi-count]").GetAttribute("data-count"));
        Assert.Equal(MttrDefinition, Text(tile, "kpi-definition"));
    }

    [Fact]
    public void a_share_shows_as_a_percentage_and_changes_in_percentage_points()
    {
        var tile = Tile(new KpiFigure("sla_response", "SLA response", FigureUnit.Share, 0.9, 0.85, 20, "sla_response"));

        Assert.Equal("90.0%", Text(tile, "kpi-value"));
        Assert.EndsWith("+5.0 pp vs previous period", Text(tile, "kpi-change"), StringComparison.Ordinal);
        Assert.Contains("better", tile.Find("[data-testid=kpi-change]").ClassList);
    }

    [Fact]
    public void a_figure_without_data_says_no_data_rather_than_zero_or_nan()
    {
        var tile = Tile(new KpiFigure("satisfaction", "Satisfaction", FigureUnit.Rating, null, 4.2, 0, "satisfaction"));

        Assert.Equal("No data", Text(tile, "kpi-value"));
        Assert.Equal("No figure to compare with the previous period", Text(tile, "kpi-change"));
        Assert.Equal("0 work orders", Text(tile, "kpi-count"));
        Assert.DoesNotContain("NaN", tile.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void a_previous_period_without_data_is_said_so_instead_of_a_change()
    {
        var tile = Tile(new KpiFigure("mtta", "MTTA", FigureUnit.Hours, 2, null, 3, "mtta", Better.Lower));

        Assert.Equal("2.0 h", Text(tile, "kpi-value"));
        Assert.Equal("No figure to compare with the previous period", Text(tile, "kpi-change"));
    }

    [Fact]
    public void the_backlog_is_a_snapshot_with_no_previous_figure()
    {
        var tile = Tile(new KpiFigure("backlog", "Backlog", FigureUnit.Count, 7, null, 7, "backlog", Better.Lower, HasPrevious: false));

        Assert.Equal("7", Text(tile, "kpi-value"));
        Assert.Equal("Open now; no previous figure", Text(tile, "kpi-change"));
    }

    [Fact]
    public void a_count_changes_by_its_difference_and_share_of_the_previous_one()
    {
        var tile = Tile(new KpiFigure("volume", "Volume", FigureUnit.Count, 12, 16, 12, "volume", Better.Neither));

        Assert.EndsWith("−4 (−25%) vs previous period", Text(tile, "kpi-change"), StringComparison.Ordinal);
        Assert.Contains("neutral", tile.Find("[data-testid=kpi-change]").ClassList);
    }

    [Fact]
    public void clicking_a_tile_or_pressing_enter_on_it_raises_its_drill_down()
    {
        var tile = Tile(new KpiFigure("sla_resolution", "SLA resolution", FigureUnit.Share, 0.5, 0.5, 4, "sla_resolution"));

        var element = tile.Find("[data-testid=kpi-sla_resolution]");
        Assert.Equal("button", element.GetAttribute("role"));
        element.Click();
        element.KeyDown(new Microsoft.AspNetCore.Components.Web.KeyboardEventArgs { Key = "Enter" });

        Assert.Equal(["sla_resolution", "sla_resolution"], _drilled);
    }

    [Fact]
    public void a_tile_without_a_drill_down_is_not_a_button()
    {
        var tile = Tile(new KpiFigure("planned", "Planned maintenance", FigureUnit.Share, 0.4, null, 120, null, CountIsHours: true));

        var element = tile.Find("[data-testid=kpi-planned]");
        element.Click();

        Assert.Null(element.GetAttribute("role"));
        Assert.Empty(_drilled);
        Assert.Equal("over 120 hours", Text(tile, "kpi-count"));
    }

    [Fact]
    public void in_traditional_chinese_the_tile_and_its_definition_are_translated()
    {
        using var chinese = new CultureScope("zh-TW");
        var definition = Services.GetRequiredService<IStringLocalizer<UiText>>().KpiDefinition("mttr");

        var tile = Tile(new KpiFigure("mttr", "MTTR", FigureUnit.Hours, null, null, 0, "mttr"), definition);

        Assert.Equal("無資料", Text(tile, "kpi-value"));
        Assert.StartsWith("平均修復時間", Text(tile, "kpi-definition"), StringComparison.Ordinal);
        Assert.Equal("0 張工單", Text(tile, "kpi-count"));
    }

    [Fact]
    public void every_kpi_definition_the_analytics_library_states_is_a_resource_with_the_same_english()
    {
        foreach (var (kpi, english) in KpiQueries.Definitions)
        {
            Assert.Equal(english, UiText.Resources.GetString($"Kpi.Definition.{kpi}", CultureInfo.InvariantCulture));
        }
    }

    protected override void Dispose(bool disposing)
    {
        _culture.Dispose();
        base.Dispose(disposing);
    }

    private IRenderedComponent<KpiTile> Tile(KpiFigure figure, string definition = "A definition.") =>
        Render<KpiTile>(p => p
            .Add(x => x.Figure, figure)
            .Add(x => x.Definition, definition)
            .Add(x => x.OnDrillDown, EventCallback.Factory.Create<string>(this, _drilled.Add)));

    private static string Text(IRenderedComponent<KpiTile> tile, string testId) =>
        string.Join(' ', tile.Find($"[data-testid={testId}]").TextContent.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}

/// <summary>Sets the current culture and UI culture for a test and puts them back afterwards.</summary>
internal sealed class CultureScope : IDisposable
{
    private readonly CultureInfo _culture = CultureInfo.CurrentCulture;
    private readonly CultureInfo _uiCulture = CultureInfo.CurrentUICulture;

    public CultureScope(string name)
    {
        CultureInfo.CurrentCulture = new CultureInfo(name);
        CultureInfo.CurrentUICulture = new CultureInfo(name);
    }

    public void Dispose()
    {
        CultureInfo.CurrentCulture = _culture;
        CultureInfo.CurrentUICulture = _uiCulture;
    }
}
