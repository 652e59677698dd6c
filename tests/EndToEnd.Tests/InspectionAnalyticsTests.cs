using Dapper;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>Round compliance per route and findings per asset and week on the reliability page, in a real browser, over ingested rounds.</summary>
public sealed class InspectionAnalyticsTests : BrowserTest
{
    public static TheoryData<string, string, string> Languages() => new()
    {
        { "en", "Inspection round compliance", "Inspection findings per asset and week" },
        { "zh-TW", "巡檢準時達成率", "各設備每週巡檢異常" },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task the_reliability_page_shows_round_compliance_per_route_and_findings_per_asset_and_week(string culture, string compliance, string findings)
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var (routeA, _) = await InspectionRoundSet.SeedAsync(Database.DataSource, org);
        // The host's closing job marks the open round (its grace long past) missed; do it now so the figures do not race it.
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE inspection_rounds SET status = 'missed', missed_at = grace_ends_at WHERE route_id = @routeA AND status = 'open'", new { routeA });
        }

        await new AnalyticsData(Host.BaseAddress, org).IngestAsync();

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.ReliabilityEngineer].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/culture?culture={culture}&returnUrl=/");
        await Browser.OpenAsync(page, $"/analytics/reliability?from=2026-03-01&to=2026-04-01&departmentId={org.DepartmentId}");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = compliance })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = findings })).ToBeVisibleAsync();

        // Route A: 2 on time, 1 late, 2 missed: (2 + 1) / 5 = 60%, late 1 / 3; route B: 1 on time, 100%. The least compliant first.
        var grid = page.GetByTestId("inspection-compliance-grid");
        await Expect(grid.GetByTestId("route-compliance")).ToHaveTextAsync(["60.0%", "100.0%"]);
        await Expect(grid.Locator("tbody tr").First).ToContainTextAsync($"Walk A {org.Suffix}");
        await Expect(grid.Locator("tbody tr").First).ToContainTextAsync("33.3%");

        // Findings in March: the machine 2 in the week of 2 March and 1 in the week of 9 March, the site 1 in the first week.
        Task Cell(long asset, string week, string value) =>
            Expect(page.Locator($"[data-testid=findings-cell][data-asset='{asset}'][data-week='{week}']")).ToHaveAttributeAsync("data-value", value);
        await Cell(org.MachineId, "2026-03-02", "2");
        await Cell(org.MachineId, "2026-03-09", "1");
        await Cell(org.SiteId, "2026-03-02", "1");
        await Cell(org.SiteId, "2026-03-09", "0");
        await Expect(page.GetByTestId("findings-cell")).ToHaveCountAsync(4);
    }
}
