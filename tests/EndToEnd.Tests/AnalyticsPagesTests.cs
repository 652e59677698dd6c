using System.Text.RegularExpressions;
using ClosedXML.Excel;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>The analytics pages in a real browser, over work made through the API and ingested into the warehouse.</summary>
public sealed class AnalyticsPagesTests(ITestOutputHelper output) : BrowserTest
{
    [Fact]
    public async Task each_analytics_page_opens_for_its_roles_and_is_refused_for_the_others()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        (Role Role, string Path, string Heading)[] opens =
        [
            (Role.Executive, "/analytics", "KPI dashboard"),
            (Role.Planner, "/analytics", "KPI dashboard"),
            (Role.Manager, "/analytics", "KPI dashboard"),
            (Role.ReliabilityEngineer, "/analytics/reliability", "Reliability"),
            (Role.Executive, "/analytics/reliability", "Reliability"),
            (Role.Manager, "/analytics/staff", "Staff performance"),
            (Role.Executive, "/analytics/staff", "Staff performance"),
            (Role.Admin, "/analytics/staff", "Staff performance"),
            (Role.Admin, "/admin/warehouse", "Warehouse"),
        ];
        (Role Role, string Path)[] refused =
        [
            (Role.Technician, "/analytics"),
            (Role.Requester, "/analytics"),
            (Role.Requester, "/analytics/reliability"),
            (Role.Technician, "/analytics/staff"),
            (Role.ReliabilityEngineer, "/analytics/staff"),
            (Role.Planner, "/analytics/staff"),
            (Role.Executive, "/admin/warehouse"),
            (Role.Manager, "/admin/warehouse"),
        ];
        var pages = new Dictionary<Role, IPage>();
        async Task<IPage> As(Role role) =>
            pages.TryGetValue(role, out var page) ? page : pages[role] = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[role].UserName, TestOrg.Password);

        foreach (var (role, path, heading) in opens)
        {
            var page = await As(role);
            await Browser.OpenAsync(page, path);
            await Expect(page.Locator("h1")).ToHaveTextAsync(heading);
            await Expect(page.GetByText("Your role may not open this page.")).ToHaveCountAsync(0);
        }

        foreach (var (role, path) in refused)
        {
            var page = await As(role);
            await Browser.OpenAsync(page, path);
            await Expect(page.GetByText("Your role may not open this page.")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("analytics-filters")).ToHaveCountAsync(0);
            await Expect(page.GetByTestId("ingest-now")).ToHaveCountAsync(0);
        }

        // The menu offers each role what it may open.
        var menu = (await As(Role.Executive)).Locator(".rz-sidebar");
        await Expect(menu.GetByText("KPI dashboard")).ToBeVisibleAsync();
        await Expect(menu.GetByText("Staff performance")).ToBeVisibleAsync();
        await Expect(menu.GetByText("Warehouse")).ToHaveCountAsync(0);
        var plannerMenu = (await As(Role.Planner)).Locator(".rz-sidebar");
        await Expect(plannerMenu.GetByText("Reliability")).ToBeVisibleAsync();
        await Expect(plannerMenu.GetByText("Staff performance")).ToHaveCountAsync(0);
        var technicianMenu = (await As(Role.Technician)).Locator(".rz-sidebar");
        await Browser.OpenAsync(await As(Role.Technician), "/");
        await Expect(technicianMenu.GetByText("KPI dashboard")).ToHaveCountAsync(0);

        // A manager's figures are their own department's; asking for another is refused.
        var manager = await As(Role.Manager);
        await Browser.OpenAsync(manager, $"/analytics?departmentId={org.OutsideManager.DepartmentId}");
        await Expect(manager.GetByTestId("filter-refused")).ToContainTextAsync("Managers see their own department only.");
        await Expect(manager.GetByTestId("kpi-tiles")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task every_tile_drills_down_to_as_many_work_orders_as_it_counts_and_each_opens()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        var closed = await data.CreateAsync($"Leak {org.Suffix}", "leak");
        await data.CloseAsync(closed, rating: 4);
        await data.CreateAsync($"Leak again {org.Suffix}", "leak");
        await data.CreateAsync($"Bearing {org.Suffix}", "bearing");
        await data.IngestAsync();

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Executive].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/analytics?{AnalyticsData.Period}&departmentId={org.DepartmentId}");
        await Expect(page.GetByTestId("kpi-volume").GetByTestId("kpi-value")).ToHaveTextAsync("3");
        await Expect(page.GetByTestId("kpi-satisfaction").GetByTestId("kpi-value")).ToHaveTextAsync("4.00 / 5");
        await Expect(page.GetByTestId("kpi-backlog").GetByTestId("kpi-value")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("kpi-mttr").GetByTestId("kpi-definition")).ToContainTextAsync("Mean time to restore");

        var drill = page.GetByTestId("drill-down");
        foreach (var kpi in new[] { "volume", "mtta", "mttr", "sla_response", "sla_resolution", "pm", "backlog", "ftf", "repeat", "satisfaction" })
        {
            var tile = page.GetByTestId($"kpi-{kpi}");
            var count = await tile.GetByTestId("kpi-count").GetAttributeAsync("data-count");
            await tile.ClickAsync();
            await Expect(drill).ToHaveAttributeAsync("data-kpi", kpi);
            await Expect(drill.GetByTestId("drill-total")).ToHaveAttributeAsync("data-total", count!);
            await Expect(drill.GetByTestId("drill-link")).ToHaveCountAsync(Math.Min(int.Parse(count!, System.Globalization.CultureInfo.InvariantCulture), 20));
            output.WriteLine($"{kpi}: the tile and its drill-down both count {count}");
        }

        // The one restored corrective work order is behind MTTR, and its row opens it.
        await page.GetByTestId("kpi-mttr").ClickAsync();
        await Expect(drill.GetByTestId("drill-total")).ToHaveAttributeAsync("data-total", "1");
        await Expect(drill.GetByTestId("drill-title")).ToHaveTextAsync($"Leak {org.Suffix}");
        var number = await drill.GetByTestId("drill-link").InnerTextAsync();
        await drill.GetByTestId("drill-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/work-orders/{closed}$"));
        await Expect(page.GetByTestId("wo-number")).ToHaveTextAsync(number);
    }

    [Fact]
    public async Task a_heatmap_cell_lists_the_failures_it_counts_by_asset_and_by_asset_type()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        await data.CloseAsync(await data.CreateAsync($"Leak {org.Suffix}", "leak"), rating: 5);
        await data.CreateAsync($"Leak again {org.Suffix}", "leak");
        await data.CreateAsync($"Bearing {org.Suffix}", "bearing");
        await data.IngestAsync();

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.ReliabilityEngineer].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/analytics/reliability?{AnalyticsData.Period}&departmentId={org.DepartmentId}");
        var leak = page.Locator($"[data-testid=heatmap-cell][data-row='{org.MachineId}'][data-code=leak]");
        await Expect(leak).ToHaveAttributeAsync("data-value", "2");
        await Expect(leak).ToHaveAttributeAsync("data-intensity", "1.00");
        await Expect(page.Locator($"[data-testid=heatmap-cell][data-row='{org.MachineId}'][data-code=bearing]")).ToHaveAttributeAsync("data-intensity", "0.50");
        await Expect(page.GetByTestId("pareto-grid").Locator("tbody tr")).ToHaveCountAsync(2);

        await leak.GetByRole(AriaRole.Button).ClickAsync();
        var cell = page.GetByTestId("cell-drill-down");
        await Expect(cell.GetByTestId("drill-total")).ToHaveAttributeAsync("data-total", "2");
        await Expect(cell.GetByTestId("drill-title")).ToHaveTextAsync([$"Leak again {org.Suffix}", $"Leak {org.Suffix}"]);

        await page.GetByTestId("heatmap-rows").GetByText("Asset type").ClickAsync();
        var pumps = page.Locator("[data-testid=heatmap-cell][data-row=pump][data-code=bearing]");
        await Expect(pumps).ToHaveAttributeAsync("data-value", "1");
        await pumps.GetByRole(AriaRole.Button).ClickAsync();
        await Expect(cell.GetByTestId("drill-total")).ToHaveAttributeAsync("data-total", "1");
        await cell.GetByTestId("drill-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/work-orders/\d+$"));
        await Expect(page.GetByTestId("wo-title")).ToHaveTextAsync($"Bearing {org.Suffix}");
    }

    [Fact]
    public async Task the_staff_excel_file_downloads_with_the_pages_filter_and_reads_back()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        await data.CloseAsync(await data.CreateAsync($"Leak {org.Suffix}", "leak"), rating: 4);
        await data.IngestAsync();

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Manager].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/analytics/staff?{AnalyticsData.Period}");
        var technicians = page.GetByTestId("technician-grid");
        await Expect(technicians.GetByTestId("staff-name-cell")).ToHaveTextAsync([$"technician {org.Suffix}"]);
        await Expect(technicians.GetByTestId("staff-work-done")).ToHaveTextAsync(["1"]);
        await Expect(page.GetByTestId("export-xlsx")).ToHaveAttributeAsync("href", new Regex($"departmentId={org.DepartmentId}"));

        // The table filters narrow what is shown without another trip to the warehouse.
        await page.GetByTestId("staff-name").FillAsync("nobody by this name");
        await Expect(technicians.GetByTestId("staff-name-cell")).ToHaveCountAsync(0);
        await page.GetByTestId("staff-name").FillAsync(org.Suffix);
        await Expect(technicians.GetByTestId("staff-name-cell")).ToHaveCountAsync(1);

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("export-xlsx").ClickAsync());
        Assert.EndsWith(".xlsx", download.SuggestedFilename, StringComparison.Ordinal);
        var file = new MemoryStream();
        await using (var stream = await download.CreateReadStreamAsync())
        {
            await stream.CopyToAsync(file);
        }

        using (var workbook = new XLWorkbook(file))
        {
            Assert.Equal(["Summary", "Technicians", "Departments"], workbook.Worksheets.Select(w => w.Name));
            var sheet = workbook.Worksheet("Technicians");
            Assert.Contains(AnalyticsData.Today.AddDays(-7).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), sheet.Cell(2, 1).GetString(), StringComparison.Ordinal);
            Assert.Equal($"technician {org.Suffix}", sheet.Cell(5, 1).GetString());
            Assert.Equal(org.DepartmentName, sheet.Cell(5, 2).GetString());
            Assert.Equal(1, sheet.Cell(5, 3).GetValue<int>());
            Assert.Equal(4.0, sheet.Cell(5, 7).GetValue<double>());
            Assert.True(sheet.Cell(6, 1).IsEmpty());
            var departments = workbook.Worksheet("Departments");
            Assert.Equal(org.DepartmentName, departments.Cell(5, 1).GetString());
            Assert.Equal(1, departments.Cell(5, 3).GetValue<int>());
            Assert.Equal(1, workbook.Worksheet("Summary").Cell(5, 3).GetValue<int>());
        }

        // The CSV link carries the same filter and the browser's sign-in cookie is enough for it.
        var csv = await page.Context.APIRequest.GetAsync((await page.GetByTestId("export-csv").GetAttributeAsync("href"))!);
        Assert.Equal(200, csv.Status);
        var lines = (await csv.TextAsync()).TrimStart('\uFEFF').Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"\"technician {org.Suffix}\"", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_filter_picked_on_the_page_goes_into_the_address_and_the_figures_follow_it()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        await data.CreateAsync($"Leak {org.Suffix}", "leak");
        await data.CreateAsync($"Bearing {org.Suffix}", "bearing");
        await data.IngestAsync();
        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Executive].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/analytics?{AnalyticsData.Period}&departmentId={org.OutsideManager.DepartmentId}");
        await Expect(page.GetByTestId("kpi-volume").GetByTestId("kpi-value")).ToHaveTextAsync("0");

        await Browser.PickAsync(page, page.GetByTestId("filter-department").Locator(".rz-dropdown"), org.DepartmentName);
        await Expect(page).ToHaveURLAsync(new Regex($"departmentId={org.DepartmentId}"));
        await Expect(page.GetByTestId("kpi-volume").GetByTestId("kpi-value")).ToHaveTextAsync("2");

        await Browser.PickAsync(page, page.GetByTestId("filter-work-type").Locator(".rz-dropdown"), "Preventive");
        await Expect(page).ToHaveURLAsync(new Regex("workType=preventive"));
        await Expect(page.GetByTestId("kpi-volume").GetByTestId("kpi-value")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("kpi-mttr").GetByTestId("kpi-value")).ToHaveTextAsync("No data");
    }

    [Fact]
    public async Task category_and_source_filters_go_into_the_address_and_the_reliability_page_shows_mttr_and_volume_by_category()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        await data.CloseAsync(await data.CreateAsync($"Leak {org.Suffix}", "leak"), rating: 4);
        await data.CreateAsync($"Leak again {org.Suffix}", "leak");
        await data.CloseAsync(await data.CreateAsync($"Bearing {org.Suffix}", "bearing"), rating: 5);
        var imported = await data.CreateAsync($"Old bearing {org.Suffix}", "bearing");

        // One of them as the importer would have made it: the work-order core records the channel it came by.
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE work_orders SET source = 'import' WHERE id = @id";
            command.Parameters.AddWithValue("id", imported);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        await data.IngestAsync();

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Executive].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/analytics?{AnalyticsData.Period}&departmentId={org.DepartmentId}");
        var volume = page.GetByTestId("kpi-volume").GetByTestId("kpi-value");
        var restored = page.GetByTestId("kpi-mttr").GetByTestId("kpi-count");
        await Expect(volume).ToHaveTextAsync("4");

        // Raised through the API by people: live. The imported one drops out.
        await Browser.PickAsync(page, page.GetByTestId("filter-source").Locator(".rz-dropdown"), "Live (raised by a person)");
        await Expect(page).ToHaveURLAsync(new Regex("source=live"));
        await Expect(volume).ToHaveTextAsync("3");

        // Live leaks: both leaks; one of them restored.
        await Browser.PickAsync(page, page.GetByTestId("filter-category").Locator(".rz-dropdown"), "leak");
        await Expect(page).ToHaveURLAsync(new Regex("category=leak"));
        await Expect(volume).ToHaveTextAsync("2");
        await Expect(restored).ToHaveAttributeAsync("data-count", "1");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "workorders-kpi-filters-en.png"), FullPage = true });

        // The address alone gives the same figures: imported bearings are the one made by the importer.
        await Browser.OpenAsync(page, $"/analytics?{AnalyticsData.Period}&departmentId={org.DepartmentId}&category=bearing&source=import");
        await Expect(volume).ToHaveTextAsync("1");
        await Expect(page.GetByTestId("filter-category")).ToContainTextAsync("bearing");
        await Expect(page.GetByTestId("filter-source")).ToContainTextAsync("Import");

        // A custom field without a known key is marked on its field.
        await Browser.OpenAsync(page, $"/analytics?{AnalyticsData.Period}&field=Bad!&fieldValue=x");
        await Expect(page.GetByTestId("error-field")).ToContainTextAsync("must be a custom field's key");
        await Expect(page.GetByTestId("kpi-tiles")).ToHaveCountAsync(0);

        // MTTR and volume by category on the reliability page, each row listing its work orders as the other views do.
        await Browser.OpenAsync(page, $"/analytics/reliability?{AnalyticsData.Period}&departmentId={org.DepartmentId}");
        var grid = page.GetByTestId("category-grid");
        await Expect(grid.GetByTestId("category-name")).ToHaveTextAsync(["bearing", "leak"]);
        await Expect(grid.GetByTestId("category-volume")).ToHaveTextAsync(["2", "2"]);
        await Expect(grid.GetByTestId("category-restored")).ToHaveTextAsync(["1", "1"]);
        await Expect(grid.GetByTestId("category-mttr").First).ToContainTextAsync("h");
        await Expect(page.GetByTestId("category-chart")).ToBeVisibleAsync();

        await grid.GetByTestId("category-volume").Nth(1).ClickAsync();
        var drill = page.GetByTestId("category-drill-down");
        await Expect(drill).ToHaveAttributeAsync("data-code", "leak");
        await Expect(drill.GetByTestId("drill-total")).ToHaveAttributeAsync("data-total", "2");
        await Expect(drill.GetByTestId("drill-title")).ToHaveTextAsync([$"Leak again {org.Suffix}", $"Leak {org.Suffix}"]);
        await grid.GetByTestId("category-restored").First.ClickAsync();
        await Expect(drill).ToHaveAttributeAsync("data-code", "bearing");
        await Expect(drill.GetByTestId("drill-title")).ToHaveTextAsync([$"Bearing {org.Suffix}"]);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "workorders-reliability-by-category-en.png"), FullPage = true });

        // In Traditional Chinese: the filter bar and the section speak it, with the same figures.
        await Browser.OpenAsync(page, $"/culture?culture=zh-TW&returnUrl={Uri.EscapeDataString($"/analytics/reliability?{AnalyticsData.Period}&departmentId={org.DepartmentId}&source=live")}");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "zh-TW");
        await Expect(page.GetByTestId("filter-source")).ToContainTextAsync("即時（人員建立）");
        await Expect(page.GetByText("各類別的 MTTR 與工單量")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("category-grid").GetByTestId("category-volume")).ToHaveTextAsync(["2", "1"]);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "workorders-reliability-by-category-zh-TW.png"), FullPage = true });
        await Browser.OpenAsync(page, $"/analytics?{AnalyticsData.Period}&departmentId={org.DepartmentId}&source=live&category=leak");
        await Expect(volume).ToHaveTextAsync("2");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "workorders-kpi-filters-zh-TW.png"), FullPage = true });
    }

    [Fact]
    public async Task a_period_that_ends_before_it_starts_is_marked_on_the_to_field()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Executive].UserName, TestOrg.Password);

        await Browser.OpenAsync(page, "/analytics?from=2026-03-01&to=2026-02-01");

        await Expect(page.GetByTestId("error-to")).ToHaveTextAsync("must be after from: the period ends before it starts.");
        await Expect(page.GetByTestId("filter-problem")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("kpi-tiles")).ToHaveCountAsync(0);
    }
}
