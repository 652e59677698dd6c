using System.Text.RegularExpressions;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
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
        await user.WaitForURLAsync(new Regex("/login"));
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
        await user.WaitForURLAsync(new Regex("/$"));
        await Browser.WaitForCircuitAsync(user);
        await Expect(user.GetByTestId("current-user")).ToHaveTextAsync(requester);
    }
}
