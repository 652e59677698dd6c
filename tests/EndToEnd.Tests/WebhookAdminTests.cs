using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

public sealed class WebhookAdminTests : BrowserTest
{
    /// <summary>The dead receiver below is on this machine, which only an allowed host may be.</summary>
    protected override IReadOnlyList<(string Key, string Value)> Settings => [("Webhooks:AllowedHosts:0", "127.0.0.1")];

    [Fact]
    public async Task an_administrator_adds_a_webhook_sees_the_secret_once_and_the_refused_delivery_with_its_attempt()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);
        await Browser.OpenAsync(admin, "/admin/webhooks");

        // A URL that is not http(s) is refused under its field.
        await admin.GetByTestId("webhook-url").FillAsync("ftp://files.example.test/drop");
        await admin.GetByTestId("webhook-create").ClickAsync();
        await Expect(admin.GetByTestId("error-url")).ToContainTextAsync("is not an absolute http:// or https:// address.");

        // Nothing listens on this port: the delivery is refused and logged.
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)probe.LocalEndpoint).Port}/hook";
        probe.Stop();
        await admin.GetByTestId("webhook-url").FillAsync(url);
        await admin.GetByTestId("webhook-kind").FillAsync("created");
        await admin.GetByTestId("webhook-create").ClickAsync();
        await Expect(admin.GetByTestId("webhook-secret-value")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9a-f]{64}$"));
        await Expect(admin.GetByTestId("error-url")).ToHaveCountAsync(0);
        await Expect(admin.GetByTestId("webhook-row-url")).ToHaveTextAsync(url);

        // A work order is raised (here straight through the feature service); its delivery shows on the page.
        var created = await new Ticketing.WorkOrders.CreateWorkOrder(Database.DataSource, TimeProvider.System).HandleAsync(
            new Ticketing.WorkOrders.CreateWorkOrderRequest(
                org.TemplateId, "Pump leaks", "Oil.", 2, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = System.Text.Json.JsonSerializer.SerializeToElement("leak") }),
            org[Role.Requester], Ticketing.WorkOrders.WorkOrderSource.Web, null, CancellationToken.None);
        Assert.True(created.Succeeded, created.Failure?.Message);

        // The list is read when the button is pressed; the dispatcher's first attempt comes in the background.
        var attempt = admin.GetByTestId("delivery-attempt");
        await Eventually.Until(
            async () =>
            {
                await admin.GetByTestId("webhook-show-deliveries").ClickAsync();
                return await attempt.CountAsync();
            },
            attempts => attempts > 0,
            "the webhook delivery's first attempt to be listed on the page",
            TimeSpan.FromSeconds(10),
            pause: TimeSpan.FromMilliseconds(250));

        await Expect(admin.GetByTestId("delivery-row")).ToContainTextAsync(created.Value!.Number);
        await Expect(attempt.First).ToContainTextAsync("refused", new() { IgnoreCase = true });

        await Browser.OpenAsync(admin, "/admin/webhooks");
        await Expect(admin.GetByTestId("webhook-secret-value")).ToHaveCountAsync(0);
    }
}
