using System.Text.RegularExpressions;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>The warehouse page over a host and database of its own, so the warehouse starts empty and every count is this test's.</summary>
public sealed class WarehousePageTests : BrowserTest
{
    // Waited for: an ingest run to finish, which on a busy machine takes longer than a page takes to render.
    private static readonly LocatorAssertionsToContainTextOptions IngestRun = new() { Timeout = 60_000 };

    [Fact]
    public async Task before_the_first_ingest_the_pages_say_so_and_ingest_now_fills_the_warehouse_and_shows_the_counts()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);

        var executive = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Executive].UserName, TestOrg.Password);
        foreach (var path in new[] { "/analytics", "/analytics/reliability", "/analytics/staff" })
        {
            await Browser.OpenAsync(executive, path);
            await Expect(executive.GetByTestId("warehouse-empty")).ToContainTextAsync("The warehouse has not been ingested yet");
            await Expect(executive.GetByTestId("warehouse-link")).ToHaveAttributeAsync("href", "/admin/warehouse");
        }

        await Browser.OpenAsync(admin, "/analytics");
        await admin.GetByTestId("warehouse-link").ClickAsync();
        await Expect(admin).ToHaveURLAsync(new Regex("/admin/warehouse$"));
        await Browser.WaitForCircuitAsync(admin);
        await Expect(admin.GetByTestId("ingest-last-run")).ToHaveTextAsync("Never");
        await Expect(admin.GetByTestId("ingest-work-orders")).ToHaveTextAsync("–");

        await data.CloseAsync(await data.CreateAsync($"Leak {org.Suffix}", "leak"), rating: 4);
        await data.CreateAsync($"Bearing {org.Suffix}", "bearing");
        await admin.GetByTestId("ingest-now").ClickAsync();

        await Expect(admin.GetByTestId("ingest-result")).ToContainTextAsync("The ingest finished: 1 archived work orders", IngestRun);
        await Expect(admin.GetByTestId("ingest-work-orders")).ToHaveTextAsync("1");
        await Expect(admin.GetByTestId("ingest-open")).ToHaveTextAsync("1");
        await Expect(admin.GetByTestId("ingest-events")).Not.ToHaveTextAsync("–");
        await Expect(admin.GetByTestId("ingest-last-run")).ToHaveTextAsync(new Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"));
        await Expect(admin.GetByTestId("ingest-error")).ToHaveTextAsync("None");

        // A second run takes only what is new: nothing archived since.
        await admin.GetByTestId("ingest-now").ClickAsync();
        await Expect(admin.GetByTestId("ingest-work-orders")).ToHaveTextAsync("0", new() { Timeout = IngestRun.Timeout });
        await Expect(admin.GetByTestId("ingest-run")).ToHaveTextAsync("2");

        await Browser.OpenAsync(executive, $"/analytics?{AnalyticsData.Period}&departmentId={org.DepartmentId}");
        await Expect(executive.GetByTestId("kpi-volume").GetByTestId("kpi-value")).ToHaveTextAsync("2");
    }
}
