using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Radzen;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Ticketing.Assets;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The asset facts and history as a reader sees them, in English and in Traditional Chinese.</summary>
public sealed class AssetComponentsTests : BunitContext
{
    private static readonly DateTimeOffset At = new(2026, 5, 6, 7, 0, 0, TimeSpan.Zero);

    public AssetComponentsTests()
    {
        this.UseDashboardComponents();
    }

    private static AssetRecord Record(AssetState state = AssetState.UnderRepair) => new(
        7, "M-1", "離心泵", AssetKind.Machine, 3, "L-1", "pump", "Grundfos", "CR 10", "SN-9", new DateOnly(2025, 1, 2), new DateOnly(2025, 1, 9),
        4, 1234.5m, null, "Hall 2", state, 3, At, 2);

    private static AssetEvent Event(long id, string kind, string payload, AssetState? from = null, AssetState? to = null, string? note = null) =>
        new(id, At.AddHours(id), 1, "Ada", kind, from, to, note, JsonDocument.Parse(payload).RootElement.Clone());

    private IReadOnlyList<AssetEvent> Story() =>
    [
        Event(1, "created", """{"code":"M-1"}""", to: AssetState.InService),
        Event(2, "edited", """{"before":{"name":"Pump","cost":null},"after":{"name":"離心泵","cost":1234.5}}"""),
        Event(3, "moved", """{"fromParentId":2,"fromParentCode":"L-0","toParentId":3,"toParentCode":"L-1"}"""),
        Event(4, "lifecycle", """{"action":"start_repair"}""", AssetState.InService, AssetState.UnderRepair, "bearing noise"),
    ];

    [Fact]
    public void the_facts_name_every_attribute_and_the_state_in_words()
    {
        using var culture = new CultureScope("en");
        var facts = Render<AssetFacts>(p => p.Add(f => f.Asset, Record()));

        Assert.Equal("Under repair", facts.Find("[data-testid=asset-lifecycle]").TextContent);
        Assert.Equal("Machine", facts.Find("[data-testid=asset-kind]").TextContent);
        Assert.Equal("L-1", facts.Find("[data-testid=asset-parent]").TextContent);
        Assert.Equal(14, facts.FindAll("dt").Count);
    }

    [Fact]
    public void the_history_reads_newest_first_with_each_change_spelled_out()
    {
        using var culture = new CultureScope("en");
        var history = Render<AssetHistory>(p => p.Add(h => h.Events, Story()));

        Assert.Equal(["lifecycle", "moved", "edited", "created"], history.FindAll("[data-testid=asset-event]").Select(e => e.GetAttribute("data-kind")));
        Assert.Equal(
            ["In service → Under repair", "from L-0 to L-1", "Name: Pump → 離心泵", "Cost: – → 1234.5"],
            history.FindAll("[data-testid=asset-event-detail]").Select(d => d.TextContent));
        Assert.Equal("bearing noise", history.Find("[data-testid=asset-event-note]").TextContent);
    }

    [Fact]
    public void the_history_speaks_traditional_chinese()
    {
        using var culture = new CultureScope("zh-TW");
        var history = Render<AssetHistory>(p => p.Add(h => h.Events, Story()));

        Assert.Equal(["狀態變更", "已移動", "已編輯", "已登錄"], history.FindAll("[data-testid=asset-event-kind]").Select(e => e.TextContent));
        Assert.Equal("使用中 → 維修中", history.FindAll("[data-testid=asset-event-detail]")[0].TextContent);
    }

    [Fact]
    public void an_asset_without_history_says_so()
    {
        using var culture = new CultureScope("en");
        var history = Render<AssetHistory>(p => p.Add(h => h.Events, []));

        Assert.Contains("No changes recorded yet.", history.Markup, StringComparison.Ordinal);
    }
}
