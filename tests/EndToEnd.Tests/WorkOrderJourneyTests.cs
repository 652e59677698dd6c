using System.Text.RegularExpressions;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

public sealed class WorkOrderJourneyTests : BrowserTest
{
    [Fact]
    public async Task a_work_order_goes_from_request_to_closed_through_the_pages_of_each_role()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var site = Host.BaseAddress;
        var title = $"Pump leaks 漏水 <b>{org.Suffix}</b>";

        // The requester raises it from the template and finds it in the list.
        var requester = await Browser.SignInAsync(Chromium, site, org[Role.Requester].UserName, TestOrg.Password);
        await Browser.OpenAsync(requester, "/work-orders/new");
        await Browser.PickAsync(requester, requester.GetByTestId("template-picker"), org.TemplateName);
        var form = requester.GetByTestId("template-form");
        await form.GetByTestId("field-title").Locator("input").FillAsync(title);
        await form.GetByTestId("field-description").Locator("textarea").FillAsync("Oil under the pump; <script>alert(1)</script>");
        await Browser.PickAsync(requester, form.GetByTestId("field-assetId").Locator(".rz-dropdown"), $"M-{org.Suffix} · Pump");
        await Browser.PickAsync(requester, form.GetByTestId("field-custom-fault_code").Locator(".rz-dropdown"), "leak");
        await form.GetByTestId("submit").ClickAsync();

        await Expect(requester).ToHaveURLAsync(new Regex(@"/work-orders/\d+$"));
        var detailPath = new Uri(requester.Url).AbsolutePath;
        await Expect(requester.GetByTestId("wo-title")).ToHaveTextAsync(title);
        await Expect(requester.GetByTestId("wo-status")).ToHaveTextAsync("New");
        await Expect(requester.GetByTestId("wo-description")).ToHaveTextAsync("Oil under the pump; <script>alert(1)</script>");
        var number = await requester.GetByTestId("wo-number").InnerTextAsync();

        await Browser.OpenAsync(requester, "/work-orders");
        var row = requester.GetByTestId("work-order-grid").Locator("tr", new() { Has = requester.GetByText(number, new() { Exact = true }) });
        await Expect(row.GetByTestId("work-order-title")).ToHaveTextAsync(title);
        await Expect(row.GetByTestId("work-order-status")).ToHaveTextAsync("New");
        await row.GetByTestId("work-order-link").ClickAsync();
        await Expect(requester).ToHaveURLAsync(new Regex($"{detailPath}$"));
        await Expect(requester.GetByTestId("wo-number")).ToHaveTextAsync(number);

        // The manager assigns it to the technician.
        var manager = await Browser.SignInAsync(Chromium, site, org[Role.Manager].UserName, TestOrg.Password);
        await Browser.OpenAsync(manager, detailPath);
        await manager.GetByTestId("action-assign").ClickAsync();
        await Browser.PickAsync(manager, manager.GetByTestId("action-assignee"), $"technician {org.Suffix} (Technician)");
        await manager.GetByTestId("action-confirm").ClickAsync();
        await Expect(manager.GetByTestId("wo-status")).ToHaveTextAsync("Assigned");
        await Expect(manager.GetByTestId("wo-assignee")).ToHaveTextAsync($"technician {org.Suffix}");

        // The technician starts and resolves it.
        var technician = await Browser.SignInAsync(Chromium, site, org[Role.Technician].UserName, TestOrg.Password);
        await Browser.OpenAsync(technician, detailPath);
        await technician.GetByTestId("action-start").ClickAsync();
        await technician.GetByTestId("action-confirm").ClickAsync();
        await Expect(technician.GetByTestId("wo-status")).ToHaveTextAsync("In progress");
        await technician.GetByTestId("action-resolve").ClickAsync();
        await technician.GetByTestId("action-note").FillAsync("Replaced the seal; no more oil.");
        await technician.GetByTestId("action-confirm").ClickAsync();
        await Expect(technician.GetByTestId("wo-status")).ToHaveTextAsync("Resolved");
        await Expect(technician.GetByTestId("actions").GetByRole(AriaRole.Button)).ToHaveCountAsync(0);

        // The manager's page is now stale: acting on it says so and shows the work order as it is.
        await manager.GetByTestId("action-start").ClickAsync();
        await manager.GetByTestId("action-confirm").ClickAsync();
        await Expect(manager.GetByTestId("action-notice")).ToContainTextAsync("Someone else changed this work order");
        await Expect(manager.GetByTestId("wo-status")).ToHaveTextAsync("Resolved");

        // The manager approves it, and the page shows it closed with the whole story.
        await manager.GetByTestId("action-approve").ClickAsync();
        await manager.GetByTestId("action-note").FillAsync("Checked on site.");
        await manager.GetByTestId("action-confirm").ClickAsync();
        await Expect(manager.GetByTestId("wo-status")).ToHaveTextAsync("Closed");
        await Expect(manager.GetByTestId("actions").GetByRole(AriaRole.Button)).ToHaveCountAsync(0);

        await Browser.OpenAsync(manager, detailPath);
        await Expect(manager.GetByTestId("wo-status")).ToHaveTextAsync("Closed");
        var events = manager.GetByTestId("timeline-event");
        await Expect(events).ToHaveCountAsync(6);
        Assert.Equal(
            ["created", "queued", "assign", "start", "resolve", "approve"],
            await events.EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.kind)"));
        await Expect(events.Locator(".event-kind")).ToHaveTextAsync(["Work order created", "Queued", "Assign", "Start", "Resolve", "Approve"]);
        await Expect(events.GetByTestId("timeline-change")).ToHaveTextAsync(
            ["New", "New → Assigned", "Assigned → In progress", "In progress → Resolved", "Resolved → Closed"]);
        await Expect(events.GetByTestId("timeline-actor")).ToHaveTextAsync(
            [$"requester {org.Suffix}", "System", $"manager {org.Suffix}", $"technician {org.Suffix}", $"technician {org.Suffix}", $"manager {org.Suffix}"]);
        await Expect(events.Nth(2)).ToContainTextAsync($"Assignee: technician {org.Suffix}");
        await Expect(events.Nth(4)).ToContainTextAsync("Replaced the seal; no more oil.");
        await Expect(events.Nth(5)).ToContainTextAsync("Checked on site.");
    }
}
