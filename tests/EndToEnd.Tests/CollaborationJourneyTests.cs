using System.Text.Json;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

public sealed class CollaborationJourneyTests : BrowserTest
{
    [Fact]
    public async Task a_manager_splits_work_asks_a_colleague_to_help_and_resolves_over_an_open_sub_task_with_a_reason()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var created = await new CreateWorkOrder(Database.DataSource, TimeProvider.System).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, $"Conveyor torn {org.Suffix}", "Belt on line 2 torn.", 2, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("other") }),
            org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None);
        var id = created.Value!.Id;
        var transitions = new ApplyTransition(Database.DataSource, TimeProvider.System);
        var assigned = await transitions.HandleAsync(id, new TransitionRequest("assign", null, org[Role.Technician].UserId, null, 1), org[Role.Manager], CancellationToken.None);
        Assert.True(assigned.Succeeded, assigned.Failure?.Message);
        var started = await transitions.HandleAsync(id, new TransitionRequest("start", RowVersion: assigned.Value!.RowVersion), org[Role.Technician], CancellationToken.None);
        Assert.True(started.Succeeded, started.Failure?.Message);

        var manager = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Manager].UserName, TestOrg.Password);
        await Browser.OpenAsync(manager, $"/work-orders/{id}");

        // A sub-task, given to the second technician.
        await manager.GetByTestId("subtask-open").ClickAsync();
        await manager.GetByTestId("field-subtask-title").Locator("input").FillAsync("Fetch a splice kit 接頭套件");
        await manager.GetByTestId("field-subtask-description").Locator("textarea").FillAsync("From the store room.");
        await Browser.PickAsync(manager, manager.GetByTestId("subtask-assignee"), $"tech2 {org.Suffix} (Technician)");
        await manager.GetByTestId("subtask-confirm").ClickAsync();
        var subTask = manager.GetByTestId("subtask");
        await Expect(subTask).ToContainTextAsync("Fetch a splice kit 接頭套件");
        await Expect(subTask.GetByTestId("subtask-assignee")).ToHaveTextAsync($"tech2 {org.Suffix}");
        await Expect(manager.GetByTestId("subtasks-progress")).ToHaveTextAsync("0 of 1 done");

        // A colleague of another department is asked to help, found by typing part of the name.
        await manager.GetByTestId("collaborator-user").ClickAsync();
        await manager.Locator(".rz-dropdown-filter").FillAsync($"outside-{org.Suffix}");
        await manager.GetByRole(AriaRole.Option, new() { Name = $"outside {org.Suffix} (Manager, Other {org.Suffix})", Exact = true }).ClickAsync();
        await Expect(manager.GetByTestId("collaborator-user")).ToContainTextAsync($"outside {org.Suffix}");
        await manager.GetByTestId("collaborator-add").ClickAsync();
        await Expect(manager.GetByTestId("collaborator")).ToContainTextAsync($"outside {org.Suffix}");

        var helper = await Browser.SignInAsync(Chromium, Host.BaseAddress, org.OutsideManager.UserName, TestOrg.Password);
        await Browser.OpenAsync(helper, $"/work-orders/{id}");
        await Expect(helper.GetByTestId("wo-title")).ToHaveTextAsync($"Conveyor torn {org.Suffix}");
        await helper.GetByTestId("field-comment-body").Locator("textarea").FillAsync("There is a spare belt in hall 3.");
        await helper.GetByTestId("add-comment").ClickAsync();
        await Expect(helper.GetByTestId("comment")).ToContainTextAsync("There is a spare belt in hall 3.");

        // Resolving is refused while the sub-task is open; the manager resolves anyway, with a reason.
        await Browser.OpenAsync(manager, $"/work-orders/{id}");
        await manager.GetByTestId("action-resolve").ClickAsync();
        await manager.GetByTestId("action-confirm").ClickAsync();
        await Expect(manager.GetByTestId("resolve-open-subtasks")).ToContainTextAsync("Sub-tasks are still open");
        await Expect(manager.GetByTestId("wo-status")).ToHaveTextAsync("In progress");
        await manager.GetByTestId("action-override").ClickAsync();
        await manager.GetByTestId("action-note").FillAsync("Belt runs again; the kit follows.");
        await manager.GetByTestId("action-confirm").ClickAsync();
        await Expect(manager.GetByTestId("wo-status")).ToHaveTextAsync("Resolved");
        await Expect(manager.GetByTestId("timeline-event").Filter(new() { HasText = "Resolved over open sub-tasks" })).ToContainTextAsync("Belt runs again; the kit follows.");
    }
}
