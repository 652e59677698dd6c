using System.Text.RegularExpressions;
using ClosedXML.Excel;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Scheduling;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>A planner at the PM calendar: the weekly load beside the crew, a filtered list, its file, and one occurrence moved.</summary>
public sealed class PmCalendarTests : BrowserTest
{
    [Fact]
    public async Task a_planner_filters_the_pm_calendar_exports_it_and_moves_one_occurrence_with_a_reason()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        long template, fan;
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            template = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields)
                VALUES (@name, 'preventive', 3, @department, true, '[]') RETURNING id
                """,
                new { name = $"PM {org.Suffix}", department = org.DepartmentId });
            fan = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO assets (code, name, kind, parent_id, asset_type) VALUES (@c, 'Fan', 'machine', @SiteId, 'fan') RETURNING id",
                new { c = $"F-{org.Suffix}", org.SiteId });
        }

        var plans = Host.Services.GetRequiredService<PmPlans>();
        var today = DateOnly.FromDateTime(Host.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime);
        async Task<PmPlan> PlanAsync(string name, long asset, int weeks, decimal hours)
        {
            var outcome = await plans.CreateAsync(
                new PmPlanRequest(name, template, AssetId: asset, EstimatedHours: hours,
                    Triggers: [new PmTriggerRequest(PmTriggerKind.Calendar, weeks, RecurrenceUnit.Week, today.AddDays(3), new TimeOnly(8, 0), PmScheduleMode.Fixed)]),
                org[Role.Planner], CancellationToken.None);
            return outcome.Value ?? throw new InvalidOperationException(outcome.Failure!.ToString());
        }

        var pump = await PlanAsync($"Pump lube {org.Suffix}", org.MachineId, 1, 3);
        var fans = await PlanAsync($"Fan belts {org.Suffix}", fan, 2, 2);

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Planner].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, "/pm/calendar");

        // Two technicians at the default 40 h; the pump's 3 h a week, the fan's 2 h every other week.
        var load = page.GetByTestId("pm-load-row").Filter(new() { HasText = org.DepartmentName });
        await Expect(load.GetByTestId("pm-load-cell").Filter(new() { HasText = "5 / 80" }).First).ToBeVisibleAsync();
        var grid = page.GetByTestId("pm-occurrence-grid");
        await Expect(grid.GetByTestId("pm-occurrence-plan").Filter(new() { HasText = fans.Name }).First).ToBeVisibleAsync();

        // Only pumps: the fan's occurrences leave the list.
        await page.GetByTestId("pm-filter-asset-type").FillAsync("pump");
        await page.GetByTestId("pm-filter-asset-type").PressAsync("Tab");
        await Expect(page).ToHaveURLAsync(new Regex("assetType=pump"));
        await Expect(grid.GetByTestId("pm-occurrence-plan").Filter(new() { HasText = fans.Name })).ToHaveCountAsync(0);
        await Expect(grid.GetByTestId("pm-occurrence-plan").Filter(new() { HasText = pump.Name }).First).ToBeVisibleAsync();

        // The file holds what the page shows, with the same filter.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("pm-export-xlsx").ClickAsync());
        Assert.EndsWith(".xlsx", download.SuggestedFilename, StringComparison.Ordinal);
        var file = new MemoryStream();
        await using (var stream = await download.CreateReadStreamAsync())
        {
            await stream.CopyToAsync(file);
        }

        using (var workbook = new XLWorkbook(file))
        {
            Assert.Equal(["Occurrences", "Hours per week"], workbook.Worksheets.Select(w => w.Name));
            var planNames = workbook.Worksheet("Occurrences").Column(3).CellsUsed().Skip(1).Select(c => c.GetString()).ToList();
            Assert.Contains(pump.Name, planNames);
            Assert.DoesNotContain(fans.Name, planNames);
        }

        // A move needs a reason; with one, the occurrence shows where it was moved from.
        await grid.GetByTestId("pm-move").First.ClickAsync();
        var dialog = page.GetByTestId("pm-move-dialog");
        await Expect(dialog).ToBeVisibleAsync();
        var target = today.AddDays(5).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        await dialog.GetByTestId("pm-move-to").FillAsync($"{target}T14:30");
        await dialog.GetByTestId("pm-move-confirm").ClickAsync();
        await Expect(dialog.GetByTestId("error-pm-move-reason")).ToBeVisibleAsync();
        await dialog.GetByTestId("pm-move-reason").FillAsync("Line shutdown that week");
        await dialog.GetByTestId("pm-move-confirm").ClickAsync();
        await Expect(page.GetByTestId("pm-message")).ToContainTextAsync($"{target} 14:30");
        await Expect(grid.GetByTestId("pm-occurrence-moved").First).ToBeVisibleAsync();
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            Assert.Equal("Line shutdown that week", await connection.ExecuteScalarAsync<string>(
                "SELECT move_reason FROM pm_occurrences WHERE plan_id = @Id AND status = 'planned'", pump));
        }

        // The same calendar in Traditional Chinese.
        await Browser.OpenAsync(page, "/culture?culture=zh-TW&returnUrl=/pm/calendar");
        await Expect(page.Locator("h1")).ToHaveTextAsync("預防保養行事曆");
        await Expect(page.GetByTestId("pm-load")).ToContainTextAsync("/ 80");
        await Expect(page.GetByTestId("pm-occurrence-status").First).ToHaveTextAsync(new Regex("預測|已排定"));
    }
}
