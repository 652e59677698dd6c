using Dapper;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>Alarm episodes per asset and fault code and the chattering assets on the reliability page, in a real browser, over ingested alarms.</summary>
public sealed class AlarmAnalyticsTests : BrowserTest
{
    public static TheoryData<string, string, string, string> Languages() => new()
    {
        { "en", "Sensor alarms", "Chattering alarms", "6 alarm episodes: 2 raised a work order" },
        { "zh-TW", "感測器警報", "警報抖動設備", "共 6 次警報：2 次開立工單" },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task the_reliability_page_shows_alarm_episodes_per_asset_and_fault_and_the_chattering_assets(string culture, string alarms, string chattering, string totals)
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var set = await AlarmHistorySet.SeedAsync(Database.DataSource, org);
        await new AnalyticsData(Host.BaseAddress, org).IngestAsync();

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.ReliabilityEngineer].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/culture?culture={culture}&returnUrl=/");
        await Browser.OpenAsync(page, $"/analytics/reliability?from=2026-03-01&to=2026-04-01&departmentId={org.DepartmentId}");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = alarms, Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = chattering })).ToBeVisibleAsync();

        // March (see AlarmHistorySet): M overheat 4 episodes, M bearing 1, M2 overheat 1; M chatters twice.
        await Expect(page.GetByTestId("alarm-totals")).ToContainTextAsync(totals);
        await Expect(page.GetByTestId("alarm-grid").GetByTestId("alarm-episodes")).ToHaveTextAsync(["4", "1", "1"]);
        await Expect(page.GetByTestId("alarm-grid").Locator("tbody tr").First).ToContainTextAsync($"M-{org.Suffix} Pump");
        await Expect(page.GetByTestId("chattering-grid").GetByTestId("asset-chatters")).ToHaveTextAsync(["2"]);
        await Expect(page.GetByTestId("chattering-grid").Locator($"a[href='/assets?id={set.MachineId}']")).ToBeVisibleAsync();

        // An episode's own page lists its events on the first open.
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        var (episode, events) = await connection.QuerySingleAsync<(long, int)>(
            "SELECT episode_id, count(*)::int FROM alarm_events WHERE asset_id = @MachineId AND episode_id IS NOT NULL GROUP BY episode_id ORDER BY 2 DESC, 1 LIMIT 1",
            new { set.MachineId });
        Assert.True(events >= 2, $"episode {episode} has {events} event(s): too few to tell rows from the empty grid's message");
        await Browser.OpenAsync(page, $"/alarms/episodes/{episode}");
        await Expect(page.GetByTestId("alarm-events").Locator("tbody tr")).ToHaveCountAsync(events);
    }
}
