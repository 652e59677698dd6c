using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Dashboard.Components.Assets;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Meters;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The meters component over a real database: entering readings, refusals in the reader's language, resets.</summary>
public sealed class AssetMetersTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    public AssetMetersTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton<TimeProvider>(_clock);
        Services.AddSingleton(new MeterRegister(database.DataSource, _clock));
    }

    private MeterRegister Register => new(_database.DataSource, _clock);

    private async Task<TestOrg> SignedInAsync(Role role)
    {
        var org = await TestOrg.CreateAsync(_database.DataSource);
        var user = org[role];
        this.SignIn(user);
        return org;
    }

    private IRenderedComponent<AssetMeters> Render(long assetId)
    {
        var component = Render<AssetMeters>(p => p.Add(c => c.AssetId, assetId));
        component.WaitForState(() => component.Find("[data-testid=asset-meters]").GetAttribute("data-loaded") == "true");
        return component;
    }

    private static void Record(IRenderedComponent<AssetMeters> component, string value, string? resetReason = null)
    {
        component.Find("input[name=reading-value]").Change(value);
        if (resetReason is not null)
        {
            component.Find("[data-testid=reading-reset] .rz-chkbox-box").Click();
            component.WaitForState(() => component.FindAll("input[name=reading-reason]").Count == 1);
            component.Find("input[name=reading-reason]").Change(resetReason);
        }

        component.Find("[data-testid=reading-record]").Click();
    }

    [Fact]
    public async Task a_planner_adds_a_meter_and_its_first_reading_shows_as_latest_with_no_usage_yet()
    {
        using var culture = new CultureScope("en-US");
        var org = await SignedInAsync(Role.Planner);
        var component = Render(org.MachineId);
        Assert.NotNull(component.Find("[data-testid=meters-none]"));

        component.Find("input[name=meter-name]").Change("Run hours");
        component.Find("input[name=meter-unit]").Change("h");
        component.Find("[data-testid=meter-add-confirm]").Click();
        component.WaitForAssertion(() => component.Find("[data-testid='meter-Run hours']"));
        Record(component, "1200");

        component.WaitForAssertion(() => Assert.Equal("1,200 h", component.Find("[data-testid='meter-Run hours'] [data-testid=meter-latest]").TextContent));
        Assert.Equal("0 h", component.Find("[data-testid='meter-Run hours'] [data-testid=meter-lifetime]").TextContent);
        component.WaitForAssertion(() => Assert.Equal("Reading recorded.", component.Find("[data-testid=reading-done]").TextContent));
    }

    [Fact]
    public async Task a_backwards_reading_is_refused_in_chinese_under_the_value_and_a_reset_with_its_reason_is_kept()
    {
        using var culture = new CultureScope("zh-TW");
        var org = await SignedInAsync(Role.Technician);
        var meter = (await Register.AddAsync(org.MachineId, new MeterRequest("循環次數", "次"), org[Role.Planner], CancellationToken.None)).Value!;
        await Register.RecordAsync(new ReadingEntry(meter.Id, _clock.GetUtcNow().UtcDateTime.AddHours(-1), 500m), org[Role.Technician], ReadingSource.Web, CancellationToken.None);
        var component = Render(org.MachineId);
        Assert.Empty(component.FindAll("[data-testid=meter-add]"));

        Record(component, "20");
        component.WaitForAssertion(() => Assert.Contains("低於前一筆讀數 500", component.Find("[data-testid=error-value]").TextContent, StringComparison.Ordinal));

        _clock.Advance(TimeSpan.FromMinutes(5));
        Record(component, "20", resetReason: "更換計數器");
        component.WaitForAssertion(() => Assert.Equal("已記錄讀數。", component.Find("[data-testid=reading-done]").TextContent));
        Assert.Empty(component.FindAll("[data-testid=error-value]"));
        // The meters reload after the confirmation shows: wait for the new figures rather than read them at once.
        component.WaitForAssertion(() => Assert.Equal("20 次", component.Find("[data-testid=meter-latest]").TextContent));
        Assert.Equal("20 次", component.Find("[data-testid=meter-lifetime]").TextContent);
        component.WaitForAssertion(() => Assert.Equal("歸零：更換計數器", component.Find("[data-testid=reading-reset-mark]").TextContent));
    }

    [Fact]
    public async Task a_reset_without_a_reason_is_refused_naming_the_reason_field()
    {
        using var culture = new CultureScope("en-US");
        var org = await SignedInAsync(Role.Manager);
        var meter = (await Register.AddAsync(org.MachineId, new MeterRequest("km", "km"), org[Role.Planner], CancellationToken.None)).Value!;
        var component = Render(org.MachineId);

        Record(component, "3", resetReason: " ");

        component.WaitForAssertion(() => Assert.Contains("is required for a reset", component.Find("[data-testid=error-resetReason]").TextContent, StringComparison.Ordinal));
        Assert.Equal(0, (await Register.ReadingsAsync(meter.Id, 0, 10, CancellationToken.None)).Value!.Count);
    }
}
