using AngleSharp.Dom;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Radzen;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Dashboard.Components.Shared;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class FailureHeatmapTests : BunitContext
{
    private static readonly DateOnly March = new(2026, 3, 1);
    private static readonly DateOnly April = new(2026, 4, 1);

    // Pump: 4 leaks in March, 1 bearing in April; valve: 2 leaks in April.
    private static readonly HeatmapCell[] Cells =
    [
        new("11", "M-1 Pump", "leak", March, 4, 4),
        new("11", "M-1 Pump", "bearing", April, 1, 1),
        new("12", "M-2 Valve", "leak", April, 2, 2),
    ];

    private readonly List<HeatmapSelection> _clicked = [];

    public FailureHeatmapTests()
    {
        this.UseDashboardComponents();
    }

    [Fact]
    public void cells_are_coloured_by_their_value_against_the_largest_one_shown()
    {
        var heatmap = Render();

        Assert.Equal(["M-1 Pump", "M-2 Valve"], heatmap.FindAll("[data-testid=heatmap-row]").Select(r => r.TextContent.Trim()));
        Assert.Equal(["leak", "bearing"], heatmap.FindAll("[data-testid=heatmap-code]").Select(c => c.TextContent.Trim()));
        Assert.Equal("4", Cell(heatmap, "11", "leak").GetAttribute("data-value"));
        Assert.Equal("1", Cell(heatmap, "11", "bearing").GetAttribute("data-value"));
        Assert.Equal("1.00", Cell(heatmap, "11", "leak").GetAttribute("data-intensity"));
        Assert.Equal("0.50", Cell(heatmap, "12", "leak").GetAttribute("data-intensity"));
        Assert.Equal("0.25", Cell(heatmap, "11", "bearing").GetAttribute("data-intensity"));
        Assert.Contains($"background-color: {FailureHeatmap.Colour(1)}", Cell(heatmap, "11", "leak").GetAttribute("style"), StringComparison.Ordinal);
        Assert.Contains($"background-color: {FailureHeatmap.Colour(0.5)}", Cell(heatmap, "12", "leak").GetAttribute("style"), StringComparison.Ordinal);
        Assert.Null(Cell(heatmap, "12", "bearing").GetAttribute("style"));
        Assert.Empty(Cell(heatmap, "12", "bearing").QuerySelectorAll("button"));
        Assert.True(Darker(FailureHeatmap.Colour(1), FailureHeatmap.Colour(0.5)) && Darker(FailureHeatmap.Colour(0.5), FailureHeatmap.Colour(0.25)));
    }

    [Fact]
    public void the_slider_shows_one_bucket_at_a_time_and_the_box_brings_back_the_sum()
    {
        var heatmap = Render();
        Assert.Equal("2026-03 to 2026-04 (2 buckets)", heatmap.Find("[data-testid=heatmap-shown]").TextContent.Trim());
        Assert.True(heatmap.Find("[data-testid=heatmap-slider]").HasAttribute("disabled"));

        heatmap.Find("[data-testid=heatmap-all]").Change(false);
        heatmap.Find("[data-testid=heatmap-slider]").Input("0");

        Assert.Equal("2026-03", heatmap.Find("[data-testid=heatmap-shown]").TextContent.Trim());
        Assert.Equal("4", Cell(heatmap, "11", "leak").TextContent.Trim());
        Assert.Equal("", Cell(heatmap, "12", "leak").TextContent.Trim());
        Assert.Equal("1.00", Cell(heatmap, "11", "leak").GetAttribute("data-intensity"));

        heatmap.Find("[data-testid=heatmap-slider]").Input("1");

        Assert.Equal("2026-04", heatmap.Find("[data-testid=heatmap-shown]").TextContent.Trim());
        Assert.Equal("", Cell(heatmap, "11", "leak").TextContent.Trim());
        Assert.Equal("2", Cell(heatmap, "12", "leak").TextContent.Trim());
        Assert.Equal("1.00", Cell(heatmap, "12", "leak").GetAttribute("data-intensity"));
        Assert.Equal("0.50", Cell(heatmap, "11", "bearing").GetAttribute("data-intensity"));

        heatmap.Find("[data-testid=heatmap-all]").Change(true);

        Assert.Equal("4", Cell(heatmap, "11", "leak").TextContent.Trim());
        Assert.Equal("2", Cell(heatmap, "12", "leak").TextContent.Trim());
    }

    [Fact]
    public void clicking_a_cell_raises_its_row_failure_code_and_bucket()
    {
        var heatmap = Render();

        Cell(heatmap, "12", "leak").QuerySelector("button")!.Click();
        heatmap.Find("[data-testid=heatmap-all]").Change(false);
        heatmap.Find("[data-testid=heatmap-slider]").Input("0");
        Cell(heatmap, "11", "leak").QuerySelector("button")!.Click();

        Assert.Equal(
            [new HeatmapSelection("12", "M-2 Valve", "leak", null, 2, 2), new HeatmapSelection("11", "M-1 Pump", "leak", March, 4, 4)],
            _clicked);
    }

    [Fact]
    public void downtime_hours_show_with_a_decimal_and_weeks_are_named_by_their_monday()
    {
        var heatmap = Render(
            [new("pump", "pump", "leak", new DateOnly(2026, 3, 2), 12.5, 2), new("(none)", "(none)", "leak", new DateOnly(2026, 3, 9), 0, 1)],
            HeatmapMeasure.DowntimeHours,
            TimeBucket.Week);

        Assert.Equal("12.5", Cell(heatmap, "pump", "leak").TextContent.Trim());
        Assert.Equal("(no type)", heatmap.FindAll("[data-testid=heatmap-row]")[1].TextContent.Trim());
        Assert.Single(Cell(heatmap, "(none)", "leak").QuerySelectorAll("button"));
        heatmap.Find("[data-testid=heatmap-all]").Change(false);
        heatmap.Find("[data-testid=heatmap-slider]").Input("0");
        Assert.Equal("week of 2026-03-02", heatmap.Find("[data-testid=heatmap-shown]").TextContent.Trim());
    }

    [Fact]
    public void no_cells_say_there_is_nothing_to_show() =>
        Assert.NotNull(Render([]).Find("[data-testid=heatmap-empty]"));

    private IRenderedComponent<FailureHeatmap> Render(
        IReadOnlyList<HeatmapCell>? cells = null, HeatmapMeasure measure = HeatmapMeasure.Count, TimeBucket bucket = TimeBucket.Month) =>
        Render<FailureHeatmap>(p => p
            .Add(x => x.Cells, cells ?? Cells)
            .Add(x => x.Rows, HeatmapRows.Asset)
            .Add(x => x.Measure, measure)
            .Add(x => x.Bucket, bucket)
            .Add(x => x.OnCellClick, EventCallback.Factory.Create<HeatmapSelection>(this, _clicked.Add)));

    private static IElement Cell(IRenderedComponent<FailureHeatmap> heatmap, string row, string code) =>
        heatmap.FindAll("[data-testid=heatmap-cell]").Single(c => c.GetAttribute("data-row") == row && c.GetAttribute("data-code") == code);

    // Darker: a smaller sum of the red, green and blue parts.
    private static bool Darker(string a, string b) => Sum(a) < Sum(b);

    private static int Sum(string rgb) => rgb["rgb(".Length..^1].Split(',').Sum(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture));
}
