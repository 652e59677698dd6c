using System.Text.RegularExpressions;
using ClosedXML.Excel;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>A list too long for the page becomes an export job: started from the drill-down, followed on "My exports", downloaded there.</summary>
public sealed class ExportJourneyTests : BrowserTest
{
    protected override IReadOnlyList<(string Key, string Value)> Settings => [("Exports:JobThresholdRows", "2")];

    [Fact]
    public async Task a_long_list_is_prepared_in_the_background_and_downloaded_from_my_exports()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        for (var i = 0; i < 3; i++)
        {
            await data.CreateAsync($"Leak {i} {org.Suffix}", "leak");
        }

        await data.IngestAsync();

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Manager].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/analytics?{AnalyticsData.Period}");
        await page.GetByTestId("kpi-volume").ClickAsync();
        var drill = page.GetByTestId("drill-down");
        await Expect(drill.GetByTestId("drill-too-long")).ToBeVisibleAsync();
        await Expect(drill.GetByTestId("drill-export-xlsx")).ToHaveCountAsync(0);

        await drill.GetByTestId("drill-job-xlsx").ClickAsync();
        await Expect(drill.GetByTestId("drill-job-started")).ToBeVisibleAsync();
        await drill.GetByTestId("my-exports-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/exports$"));

        // The list reads itself again while the export waits or runs.
        await Expect(page.GetByTestId("export-state")).ToHaveAttributeAsync("data-state", "ready", new() { Timeout = 60_000 });
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("export-download").ClickAsync());
        Assert.EndsWith(".xlsx", download.SuggestedFilename, StringComparison.Ordinal);
        var file = new MemoryStream();
        await using (var stream = await download.CreateReadStreamAsync())
        {
            await stream.CopyToAsync(file);
        }

        using var workbook = new XLWorkbook(file);
        Assert.Equal(3, workbook.Worksheet("Summary").Cell(4, 2).GetValue<int>());
        Assert.Equal(
            [$"Leak 0 {org.Suffix}", $"Leak 1 {org.Suffix}", $"Leak 2 {org.Suffix}"],
            Enumerable.Range(5, 3).Select(r => workbook.Worksheet("Work orders").Cell(r, 2).GetString()).Order());

        // The notification leads to the same file.
        await Browser.OpenAsync(page, "/notifications");
        await Expect(page.GetByTestId("notification-link").First).ToHaveAttributeAsync("href", new Regex(@"^/api/v1/exports/\d+/file$"));

        // The administrator finds it among everyone's exports on the first open of the page.
        var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);
        await Browser.OpenAsync(admin, "/admin/exports");
        var job = admin.GetByTestId("export-admin-list").Locator("tbody tr").Filter(new() { HasText = org.Suffix });
        await Expect(job.GetByTestId("export-admin-job-state")).ToHaveAttributeAsync("data-state", "ready");
    }
}
