using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Dashboard.Components.Assets;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The asset page's alarm episodes, raised through the real ingestion on a real database, one page at a time.</summary>
public sealed class AssetAlarmsTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero));
    private readonly CultureScope _culture = new("en-US");

    public AssetAlarmsTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton(new AlarmQueries(database.DataSource));
    }

    [Fact]
    public async Task an_asset_lists_its_alarm_episodes_newest_first_with_severity_fault_and_work_order_ten_to_a_page()
    {
        var org = await TestOrg.CreateAsync(_database.DataSource);
        var data = _database.DataSource;
        var settings = Options.Create(new AlarmOptions());
        var made = await new AlarmSources(data, _clock).CreateAsync(new AlarmSourceRequest($"Scada {org.Suffix}"), org[Role.Admin], CancellationToken.None);
        var source = (await new AlarmSources(data, _clock).FindByKeyAsync(made.Value!.ApiKey, CancellationToken.None))!;
        var rule = await new AlarmRules(data, _clock).CreateAsync(
            new AlarmRuleRequest(org.MachineId, null, "temperature", "above", 80, 1, 0, 0, "major", "bearing", org.TemplateId), org[Role.Admin], CancellationToken.None);
        Assert.True(rule.Succeeded, rule.Failure?.Message);
        var ingestion = new AlarmIngestion(
            data, new AlarmEngine(new CreateWorkOrder(data, _clock), new ApplyTransition(data, _clock), settings), new MeterRegister(data, _clock), _clock, settings,
            NullLogger<AlarmIngestion>.Instance);

        // Twelve episodes: each hot reading raises, each cool one clears; the last is still under way.
        var start = _clock.GetUtcNow().UtcDateTime.AddHours(-2);
        var events = Enumerable.Range(0, 23).Select(i => new AlarmEventInput(
            $"{org.Suffix}-{i}", $"M-{org.Suffix}", null, "temperature", i % 2 == 0 ? 95 : 70, null, start.AddMinutes(i))).ToArray();
        var sent = await ingestion.IngestAsync(source, AlarmChannel.Api, events, CancellationToken.None);
        var workOrderId = sent.Events[0].WorkOrderId!.Value;

        var cut = Render<AssetAlarms>(p => p.Add(c => c.AssetId, org.MachineId));
        cut.WaitForAssertion(() => Assert.Equal(10, cut.FindAll("[data-testid=asset-alarm-episode]").Count));
        Assert.Equal("12 alarm episodes in all", cut.Find("[data-testid=asset-alarm-count]").TextContent);
        var cleared = cut.FindAll("[data-testid=asset-alarm-cleared]").Select(c => c.TextContent).ToList();
        Assert.Equal("Not cleared yet", cleared[0]);
        Assert.All(cleared.Skip(1), c => Assert.NotEqual("Not cleared yet", c));
        Assert.All(cut.FindAll("[data-testid=asset-alarm-severity]"), s => Assert.Equal("Major", s.TextContent));
        Assert.All(cut.FindAll("[data-testid=asset-alarm-signal]"), s => Assert.Equal("temperature", s.TextContent));
        Assert.All(cut.FindAll("[data-testid=asset-alarm-work-order]"), a => Assert.Equal($"/work-orders/{workOrderId}", a.GetAttribute("href")));
        Assert.Equal("Added to the open work order", cut.FindAll("[data-testid=asset-alarm-outcome]")[0].TextContent);

        // The second page holds the two oldest; the very first raised the work order.
        Assert.Equal("1–10 of 12", cut.Find("[data-testid=asset-alarm-range]").TextContent);
        cut.Find("button[data-testid=asset-alarm-older]").Click();
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=asset-alarm-episode]").Count));
        Assert.Equal("Raised a work order", cut.FindAll("[data-testid=asset-alarm-outcome]")[^1].TextContent);
        Assert.Equal("11–12 of 12", cut.Find("[data-testid=asset-alarm-range]").TextContent);

        var bare = Render<AssetAlarms>(p => p.Add(c => c.AssetId, org.SiteId));
        bare.WaitForAssertion(() => Assert.Contains("No alarm has been raised on this asset.", bare.Find("[data-testid=asset-alarm-grid]").TextContent, StringComparison.Ordinal));
    }

    protected override void Dispose(bool disposing)
    {
        _culture.Dispose();
        base.Dispose(disposing);
    }
}
