using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

public sealed class NotificationBellTests : BrowserTest
{
    [Fact]
    public async Task a_notification_committed_for_the_signed_in_user_raises_the_bell_count_without_a_reload()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var technician = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Technician].UserName, TestOrg.Password);
        var count = technician.GetByTestId("bell-count");
        await Expect(technician.Locator("[data-testid=bell][data-live=true]")).ToHaveCountAsync(1);
        await Expect(count).ToHaveTextAsync("0");

        // Marks the document: a reload would lose it.
        await technician.EvaluateAsync("() => window.__sameDocument = true");

        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Ticketing.Notifications.Notifications.AddAsync(
                connection, transaction, [org[Role.Technician].UserId, org[Role.Manager].UserId], null, "assigned", "Pump P1 is yours", DateTime.UtcNow, CancellationToken.None);
            await transaction.CommitAsync();
        }

        await Expect(count).ToHaveTextAsync("1");
        Assert.True(await technician.EvaluateAsync<bool>("() => window.__sameDocument === true"));

        await technician.GetByTestId("bell-button").ClickAsync();
        await Expect(technician.GetByTestId("bell-item")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("Pump P1 is yours"));
        await technician.GetByTestId("bell-all").ClickAsync();
        await Expect(technician.GetByTestId("notification")).ToHaveCountAsync(1);
        await technician.GetByTestId("mark-all-read").ClickAsync();
        await Expect(count).ToHaveTextAsync("0", new() { Timeout = 20_000 });
    }
}
