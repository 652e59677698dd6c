using System.Text.RegularExpressions;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assignment;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

public sealed class UserAdminTests : BrowserTest
{
    [Fact]
    public async Task a_user_deactivated_by_an_administrator_while_a_page_is_open_lands_on_the_sign_in_page_at_the_next_navigation()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var technician = org[Role.Technician].UserName;
        var user = await Browser.SignInAsync(Chromium, Host.BaseAddress, technician, TestOrg.Password);
        await Browser.OpenAsync(user, "/work-orders");

        var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);
        await Browser.OpenAsync(admin, "/admin/users");
        await admin.Locator($"[data-testid=user-actions][data-user='{technician}']").GetByTestId("user-deactivate").ClickAsync();
        await Expect(admin.GetByTestId("user-notice")).ToContainTextAsync(technician);
        await Expect(admin.Locator($"[data-testid=user-actions][data-user='{technician}']").GetByTestId("user-reactivate")).ToBeVisibleAsync();

        // The technician's open page is still on its circuit; the next link they follow goes to the sign-in page.
        await user.Locator(".rz-sidebar").GetByText("Assets", new() { Exact = true }).ClickAsync();
        await Expect(user).ToHaveURLAsync(new Regex("/login"));
        await user.FillAsync("#userName", technician);
        await user.FillAsync("#password", TestOrg.Password);
        await user.ClickAsync("button[type=submit]");
        await Expect(user.GetByTestId("login-deactivated")).ToBeVisibleAsync();

        // Reactivated, they sign in again.
        await admin.Locator($"[data-testid=user-actions][data-user='{technician}']").GetByTestId("user-reactivate").ClickAsync();
        await Expect(admin.Locator($"[data-testid=user-actions][data-user='{technician}']").GetByTestId("user-deactivate")).ToBeVisibleAsync();
        await Browser.SignInAsync(Chromium, Host.BaseAddress, technician, TestOrg.Password);
    }

    [Fact]
    public async Task a_temporary_password_from_the_administrator_leads_to_choosing_a_new_one_and_then_into_the_app()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var requester = org[Role.Requester].UserName;
        var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);
        await Browser.OpenAsync(admin, "/admin/users");
        await admin.Locator($"[data-testid=user-actions][data-user='{requester}']").GetByTestId("user-reset").ClickAsync();
        var temporary = await admin.GetByTestId("user-temporary-value").InnerTextAsync();

        var context = await Chromium.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), Locale = "en-US" });
        var user = await context.NewPageAsync();
        await user.GotoAsync("/login");
        await user.FillAsync("#userName", requester);
        await user.FillAsync("#password", temporary.Trim());
        await user.ClickAsync("button[type=submit]");
        await Expect(user.GetByTestId("password-temporary")).ToBeVisibleAsync();

        await user.FillAsync("#currentPassword", temporary.Trim());
        await user.FillAsync("#newPassword", "chosen-by-me");
        await user.FillAsync("#confirmPassword", "chosen-by-me");
        await user.ClickAsync("button[type=submit]");
        await Expect(user).ToHaveURLAsync(new Regex("/$"));
        await Browser.WaitForCircuitAsync(user);
        await Expect(user.GetByTestId("current-user")).ToHaveTextAsync(requester);
    }

    [Fact]
    public async Task an_administrator_sets_a_users_hours_and_away_period_on_the_page_and_a_wrong_entry_is_named_and_stores_nothing()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var technician = org[Role.Technician];
        var schedules = new Schedules(Database.DataSource);
        var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);
        await Browser.OpenAsync(admin, "/admin/users");
        await admin.Locator($"[data-testid=user-actions][data-user='{technician.UserName}']").GetByTestId("user-schedule").ClickAsync();
        var editor = admin.GetByTestId("schedule-editor");
        await Expect(editor.GetByTestId("schedule-no-hours")).ToBeVisibleAsync();

        await editor.GetByTestId("schedule-time-zone").FillAsync("Asia/Taipei");
        var hours = editor.GetByTestId("schedule-hours-row");
        await editor.GetByTestId("schedule-add-hours").ClickAsync();
        await editor.GetByTestId("schedule-add-hours").ClickAsync();
        await Expect(hours).ToHaveCountAsync(2);
        await hours.Nth(0).GetByTestId("schedule-weekday").SelectOptionAsync("1");
        await hours.Nth(0).GetByTestId("schedule-start").FillAsync("08:00");
        await hours.Nth(0).GetByTestId("schedule-end").FillAsync("12:00");
        await hours.Nth(1).GetByTestId("schedule-weekday").SelectOptionAsync("1");
        await hours.Nth(1).GetByTestId("schedule-start").FillAsync("13:00");
        await hours.Nth(1).GetByTestId("schedule-end").FillAsync("17:30");
        await editor.GetByTestId("schedule-add-away").ClickAsync();
        var away = editor.GetByTestId("schedule-away-row");
        await away.Nth(0).GetByTestId("schedule-away-from").FillAsync("2027-03-01T09:00");
        await away.Nth(0).GetByTestId("schedule-away-to").FillAsync("2027-03-05T18:00");
        await away.Nth(0).GetByTestId("schedule-away-reason").FillAsync("培訓 training");
        await editor.GetByTestId("schedule-save").ClickAsync();
        await Expect(admin.GetByTestId("user-notice")).ToContainTextAsync($"Working hours of {technician.UserName} saved");

        var stored = (await schedules.GetAsync(technician.UserId, org[Role.Admin], CancellationToken.None)).Value!;
        Assert.Equal("Asia/Taipei", stored.TimeZone);
        Assert.Equal(new[] { new WorkingHours(1, new(8, 0), new(12, 0)), new WorkingHours(1, new(13, 0), new(17, 30)) }, stored.Hours);
        // Typed in the user's zone (UTC+8), stored in UTC.
        Assert.Equal(new AwayPeriod(new DateTime(2027, 3, 1, 1, 0, 0), new DateTime(2027, 3, 5, 10, 0, 0), "培訓 training"), Assert.Single(stored.Away));

        foreach (var (width, height) in new[] { (1280, 900), (390, 844) })
        {
            await admin.SetViewportSizeAsync(width, height);
            await admin.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), $"workorders-schedule-{width}.png"), FullPage = true });
        }

        await admin.SetViewportSizeAsync(1280, 900);

        // An end before its start, and a second away period the wrong way round: both named, nothing of the save stored.
        await hours.Nth(1).GetByTestId("schedule-end").FillAsync("12:30");
        await editor.GetByTestId("schedule-add-away").ClickAsync();
        await away.Nth(1).GetByTestId("schedule-away-from").FillAsync("2027-04-02T09:00");
        await away.Nth(1).GetByTestId("schedule-away-to").FillAsync("2027-04-01T09:00");
        await editor.GetByTestId("schedule-save").ClickAsync();
        await Expect(editor.GetByTestId("schedule-message")).ToContainTextAsync("Weekly hours, row 2 · End: must be after the start");
        await Expect(editor.GetByTestId("schedule-message")).ToContainTextAsync("Away periods, row 2 · To: must be after from");
        await Expect(hours.Nth(1).GetByTestId("schedule-row-error")).ToContainTextAsync("End: must be after the start");
        await admin.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "workorders-schedule-refused.png"), FullPage = true });
        Assert.Equal(stored, (await schedules.GetAsync(technician.UserId, org[Role.Admin], CancellationToken.None)).Value!, ScheduleComparer.Instance);

        // Someone else saves meanwhile: the page's save is refused rather than overwriting theirs.
        await hours.Nth(1).GetByTestId("schedule-end").FillAsync("17:30");
        await away.Nth(1).GetByTestId("schedule-remove-away").ClickAsync();
        var theirs = await schedules.SaveAsync(technician.UserId, new ScheduleRequest("UTC", [], [], stored.Version), org[Role.Admin], CancellationToken.None);
        Assert.True(theirs.Succeeded, theirs.Failure?.Message);
        await editor.GetByTestId("schedule-save").ClickAsync();
        await Expect(editor.GetByTestId("schedule-message")).ToContainTextAsync("changed by someone else");
        Assert.Equal("UTC", (await schedules.GetAsync(technician.UserId, org[Role.Admin], CancellationToken.None)).Value!.TimeZone);
        await editor.GetByTestId("schedule-reload").ClickAsync();
        await Expect(editor.GetByTestId("schedule-time-zone")).ToHaveValueAsync("UTC");
        await Expect(editor.GetByTestId("schedule-no-hours")).ToBeVisibleAsync();
    }

    /// <summary>Schedules compared by their content (the records hold lists, which compare by reference).</summary>
    private sealed class ScheduleComparer : IEqualityComparer<UserSchedule>
    {
        public static readonly ScheduleComparer Instance = new();

        public bool Equals(UserSchedule? x, UserSchedule? y) =>
            x is not null && y is not null && x.TimeZone == y.TimeZone && x.Version == y.Version && x.Hours.SequenceEqual(y.Hours) && x.Away.SequenceEqual(y.Away);

        public int GetHashCode(UserSchedule obj) => obj.UserId.GetHashCode();
    }
}
