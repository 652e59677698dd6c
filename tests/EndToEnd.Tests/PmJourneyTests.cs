using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Maintenance;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// The preventive-maintenance journey on the real app and Chromium, with the app on a clock the test moves: a machine
/// registered, a meter added, a monthly plan with lead time written in the editor, the planner's calendar, the work
/// order made when the lead time is reached, completed by the technician, and the next due date moving as the plan says.
/// </summary>
public sealed class PmJourneyTests : BrowserTest
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2027, 1, 4, 9, 0, 0, TimeSpan.Zero));

    protected override TimeProvider Clock => _clock;

    public static TheoryData<string, string> Languages() => new()
    {
        { "en", "Floating: from the last completion" },
        { "zh-TW", "浮動：依上次完成時間" },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task an_administrator_plans_monthly_work_on_a_new_machine_the_generator_makes_it_at_the_lead_time_and_completing_it_moves_the_next_due_date(
        string culture, string floating)
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var s = org.Suffix;
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        // PM work is filled in by nobody: its template has no required field.
        var templateName = $"Lubrication 潤滑 {s}";
        await connection.ExecuteAsync(
            "INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields) VALUES (@templateName, 'preventive', 3, @department, true, '[]'::jsonb)",
            new { templateName, department = org.DepartmentId });
        var line = await connection.ExecuteScalarAsync<long>("SELECT parent_id FROM assets WHERE id = @id", new { id = org.MachineId });

        async Task ShotAsync(IPage page, string screen) =>
            await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), $"journey-{screen}-{culture}.png"), FullPage = true });

        // The app scrolls inside its own frame, so a section lower on a page is shot by itself.
        async Task ShotOfAsync(ILocator section, string screen) =>
            await section.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), $"journey-{screen}-{culture}.png") });

        async Task<IPage> SignInAsync(Role role)
        {
            var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[role].UserName, TestOrg.Password);
            await Browser.OpenAsync(page, $"/culture?culture={culture}&returnUrl=/");
            await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", culture);
            return page;
        }

        // The administrator registers the machine under the line.
        var admin = await SignInAsync(Role.Admin);
        await Browser.OpenAsync(admin, $"/assets?id={line}");
        await admin.GetByTestId("asset-new-child").ClickAsync();
        var form = admin.GetByTestId("asset-form");
        await form.GetByTestId("field-code").Locator("input").FillAsync($"CMP-{s}");
        await form.GetByTestId("field-name").Locator("input").FillAsync($"空壓機 Compressor {s}");
        await form.GetByTestId("field-assetType").Locator("input").FillAsync("compressor");
        await form.GetByTestId("asset-save").ClickAsync();
        await Expect(admin).ToHaveURLAsync(new Regex(@"/assets\?id=\d+$"));
        await Expect(admin.GetByTestId("asset-name")).ToHaveTextAsync($"CMP-{s} · 空壓機 Compressor {s}");
        var assetId = long.Parse(new Uri(admin.Url).Query.Split('=')[1], CultureInfo.InvariantCulture);
        await ShotAsync(admin, "1-register");

        // On its asset page: a meter, and no plan yet.
        await Browser.OpenAsync(admin, $"/assets/{assetId}");
        await Expect(admin.GetByTestId("asset-pm-plans-empty")).ToBeVisibleAsync();
        await admin.Locator("input[name=meter-name]").FillAsync("Run hours 運轉時數");
        await admin.Locator("input[name=meter-unit]").FillAsync("h");
        await admin.GetByTestId("meter-add-confirm").ClickAsync();
        await Expect(admin.GetByTestId("meter-Run hours 運轉時數")).ToBeVisibleAsync();
        await ShotAsync(admin, "2-asset-meter");

        // A monthly plan, floating from the last completion, made a week ahead: the editor opens on this asset.
        await admin.GetByTestId("asset-new-pm-plan").ClickAsync();
        await Expect(admin).ToHaveURLAsync(new Regex($@"/pm/plans/new\?assetId={assetId}$"));
        await Browser.WaitForCircuitAsync(admin);
        var planName = $"Monthly lubrication 每月潤滑 {s}";
        await Expect(admin.GetByTestId("pm-asset")).ToContainTextAsync($"CMP-{s}");
        await admin.Locator("input[name=pm-name]").FillAsync(planName);
        await Browser.PickAsync(admin, admin.GetByTestId("pm-template"), templateName);
        await admin.Locator("input[name=pm-hours]").FillAsync("2");
        await admin.Locator("input[name=pm-lead]").FillAsync("7");
        var anchor = admin.GetByTestId("pm-anchor").Locator("input");
        await anchor.FillAsync("2027-01-15");
        await anchor.PressAsync("Tab");
        await Browser.PickAsync(admin, admin.GetByTestId("pm-schedule"), floating);
        await ShotAsync(admin, "3-editor");
        await ShotOfAsync(admin.GetByTestId("pm-editor"), "3b-editor-whole");
        await admin.GetByTestId("pm-save").ClickAsync();
        await Expect(admin).ToHaveURLAsync(new Regex(@"/pm/plans/\d+\?saved=1$"));
        await Browser.WaitForCircuitAsync(admin);
        await Expect(admin.GetByTestId("pm-editor-title")).ToContainTextAsync(planName);
        var planId = await connection.ExecuteScalarAsync<long>("SELECT id FROM pm_plans WHERE name = @planName", new { planName });
        var trigger = await connection.QuerySingleAsync<(int Every, string Unit, DateTime Anchor, string Schedule)>(
            "SELECT every_n, unit, anchor::timestamp, schedule FROM pm_triggers WHERE plan_id = @planId", new { planId });
        Assert.Equal((1, "month", new DateTime(2027, 1, 15), "floating"), trigger);
        Assert.Equal(7, await connection.ExecuteScalarAsync<int>("SELECT lead_days FROM pm_plans WHERE id = @planId", new { planId }));

        // The planner sees it due on the 12-week calendar.
        var planner = await SignInAsync(Role.Planner);
        await Browser.OpenAsync(planner, "/pm/calendar");
        var occurrence = planner.GetByTestId("pm-occurrence-grid").Locator("tr", new() { Has = planner.GetByText(planName) }).First;
        await Expect(occurrence.GetByTestId("pm-occurrence-due")).ToContainTextAsync("2027-01-15");
        await ShotAsync(planner, "4-calendar");

        // Not yet: a pass before the lead time makes nothing; at the lead time the work order appears, due on the due date.
        var generator = Host.Services.GetRequiredService<PmGenerator>();
        await generator.RunPassAsync(CancellationToken.None);
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM pm_occurrences WHERE plan_id = @planId AND work_order_id IS NOT NULL", new { planId }));
        _clock.SetUtcNow(new DateTimeOffset(2027, 1, 8, 9, 0, 0, TimeSpan.Zero));
        // Moving the clock also wakes the app's own generator, which may hold the schedule while this pass skips it: run
        // passes until the work order is there, then one more, which must not make a second.
        List<(long Id, DateTime DueAt)> made = [];
        for (var attempt = 0; attempt < 40 && made.Count == 0; attempt++)
        {
            await generator.RunPassAsync(CancellationToken.None);
            made = [.. await connection.QueryAsync<(long Id, DateTime DueAt)>(
                "SELECT w.id, w.due_at FROM pm_occurrences o JOIN work_orders w ON w.id = o.work_order_id WHERE o.plan_id = @planId", new { planId })];
            if (made.Count == 0)
            {
                await Task.Delay(250);
            }
        }

        await generator.RunPassAsync(CancellationToken.None);
        made = [.. await connection.QueryAsync<(long Id, DateTime DueAt)>(
            "SELECT w.id, w.due_at FROM pm_occurrences o JOIN work_orders w ON w.id = o.work_order_id WHERE o.plan_id = @planId", new { planId })];
        Assert.Single(made);
        Assert.Equal(new DateTime(2027, 1, 15), made[0].DueAt.Date);
        var workOrder = $"/work-orders/{made[0].Id}";

        // Sessions last 8 hours of the app's time: everyone signs in again after the clock moved.
        admin = await SignInAsync(Role.Admin);
        await Browser.OpenAsync(admin, $"/assets/{assetId}");
        await Expect(admin.GetByTestId("asset-pm-plan-name")).ToHaveTextAsync(planName);
        await Expect(admin.Locator($"a[href='{workOrder}']").First).ToBeVisibleAsync();
        await ShotAsync(admin, "5-asset-work-order");
        await ShotOfAsync(admin.GetByTestId("asset-pm-plans"), "5b-asset-pm-plans");

        // The manager gives it to the technician, who does it two days later.
        var manager = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Manager].UserName, TestOrg.Password);
        await Browser.OpenAsync(manager, workOrder);
        if (await manager.GetByTestId("wo-assignee").InnerTextAsync() != $"technician {s}")
        {
            await manager.GetByTestId("action-assign").ClickAsync();
            await Browser.PickAsync(manager, manager.GetByTestId("action-assignee"), $"technician {s} (Technician)");
            await manager.GetByTestId("action-confirm").ClickAsync();
            await Expect(manager.GetByTestId("wo-assignee")).ToHaveTextAsync($"technician {s}");
        }

        _clock.SetUtcNow(new DateTimeOffset(2027, 1, 10, 10, 0, 0, TimeSpan.Zero));
        var technician = await SignInAsync(Role.Technician);
        await Browser.OpenAsync(technician, workOrder);
        await technician.GetByTestId("action-start").ClickAsync();
        await technician.GetByTestId("action-confirm").ClickAsync();
        await Expect(technician.GetByTestId("action-resolve")).ToBeVisibleAsync();
        await technician.GetByTestId("action-resolve").ClickAsync();
        await technician.GetByTestId("action-note").FillAsync("Greased 已潤滑");
        await technician.GetByTestId("action-confirm").ClickAsync();
        await Expect(technician.GetByTestId("actions").GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await ShotAsync(technician, "6-completed");

        // Floating: the next one is a month after the completion (Jan 10), not after the first due date (Jan 15).
        admin = await SignInAsync(Role.Admin);
        planner = await SignInAsync(Role.Planner);
        await Browser.OpenAsync(admin, $"/assets/{assetId}");
        await Expect(admin.GetByTestId("asset-pm-next-due")).ToContainTextAsync("2027-02-10");
        await ShotOfAsync(admin.GetByTestId("asset-pm-plans"), "7-asset-next-due");
        await Browser.OpenAsync(planner, "/pm/plans");
        var row = planner.GetByTestId("pm-plan-list").Locator("tr", new() { Has = planner.GetByText(planName) });
        await Expect(row.GetByTestId("pm-plan-next-due")).ToContainTextAsync("2027-02-10");
        await ShotAsync(planner, "8-plan-list");
    }
}
