using Bunit;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Ticketing.Sla;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class SlaBadgeTests : BunitContext
{
    private static readonly DateTime Due = new(2026, 5, 6, 8, 0, 0, DateTimeKind.Utc);
    private readonly CultureScope _culture = new("en-US");

    public SlaBadgeTests() => Services.AddUiText();

    private IRenderedComponent<SlaBadge> Badge(SlaView? view) => Render<SlaBadge>(p => p.Add(x => x.Sla, view));

    [Theory]
    [InlineData(SlaRisk.Ok, 200, "3 h 20 min left", "ok")]
    [InlineData(SlaRisk.AtRisk, 12, "12 min left", "at_risk")]
    [InlineData(SlaRisk.Breached, -125, "2 h 5 min overdue", "breached")]
    [InlineData(SlaRisk.Paused, 480, "Paused, 8 h left", "paused")]
    [InlineData(SlaRisk.Paused, -30, "Paused, 30 min overdue", "paused")]
    [InlineData(SlaRisk.Breached, -10178, "170 h overdue", "breached")]
    public void the_badge_says_the_business_time_left_and_is_coloured_by_risk(SlaRisk risk, int minutes, string words, string wire)
    {
        var badge = Badge(new SlaView(SlaTarget.Resolution, Due, TimeSpan.FromMinutes(minutes), risk)).Find("[data-testid=sla-badge]");

        Assert.Equal(words, badge.TextContent);
        Assert.Equal(wire, badge.GetAttribute("data-risk"));
        Assert.Contains($"sla-{wire}", badge.ClassList);
        Assert.EndsWith("Resolution due 2026-05-06 08:00 UTC", badge.GetAttribute("title"), StringComparison.Ordinal);
    }

    [Fact]
    public void a_resolved_work_order_says_whether_it_met_its_target()
    {
        Assert.Equal("SLA met", Badge(new SlaView(SlaTarget.Resolution, Due, TimeSpan.FromHours(1), SlaRisk.Met)).Find("[data-testid=sla-badge]").TextContent);
        Assert.Equal("SLA missed", Badge(new SlaView(SlaTarget.Resolution, Due, TimeSpan.FromHours(-1), SlaRisk.Missed)).Find("[data-testid=sla-badge]").TextContent);
    }

    [Fact]
    public void without_an_sla_the_badge_is_a_dash()
    {
        var badge = Badge(null).Find("[data-testid=sla-badge]");
        Assert.Equal("–", badge.TextContent);
        Assert.Equal("none", badge.GetAttribute("data-risk"));
    }

    [Fact]
    public void in_traditional_chinese_the_badge_is_translated()
    {
        using var chinese = new CultureScope("zh-TW");

        var badge = Badge(new SlaView(SlaTarget.Response, Due, TimeSpan.FromMinutes(-61), SlaRisk.Breached)).Find("[data-testid=sla-badge]");

        Assert.Equal("已逾期 1 小時 1 分鐘", badge.TextContent);
        Assert.StartsWith("已逾期 · 回應期限", badge.GetAttribute("title"), StringComparison.Ordinal);
    }

    protected override void Dispose(bool disposing)
    {
        _culture.Dispose();
        base.Dispose(disposing);
    }
}
