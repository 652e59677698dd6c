using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Radzen;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class SubTaskListTests : BunitContext
{
    private static readonly DateTime Created = new(2026, 5, 6, 7, 0, 0, DateTimeKind.Utc);

    private readonly List<SubTaskRequest> _submitted = [];

    public SubTaskListTests()
    {
        this.UseDashboardComponents();
    }

    private static SubTaskBoard Board(bool mayAdd, params SubTask[] items) => new(7, null, null, items, mayAdd);

    private static SubTask Item(long id, WorkOrderStatus status, string? assignee) =>
        new(id, $"WO-2026-00000{id}", $"Task {id}", status, 3, assignee is null ? null : id * 10, assignee, null, Created);

    private IRenderedComponent<SubTaskList> Render(SubTaskBoard board, bool accept = true, IReadOnlyDictionary<string, string[]>? errors = null) =>
        Render<SubTaskList>(p => p
            .Add(l => l.Board, board)
            .Add(l => l.Errors, errors ?? new Dictionary<string, string[]>())
            .Add(l => l.OnAdd, request =>
            {
                _submitted.Add(request);
                return Task.FromResult(accept);
            }));

    [Fact]
    public void the_list_shows_each_sub_task_with_its_status_and_assignee_and_progress_leaves_cancelled_work_out()
    {
        var list = Render(Board(
            false,
            Item(1, WorkOrderStatus.Closed, "Chen"),
            Item(2, WorkOrderStatus.InProgress, "Lin"),
            Item(3, WorkOrderStatus.Cancelled, null),
            Item(4, WorkOrderStatus.New, null)));

        var rows = list.FindAll("[data-testid=subtask]");
        Assert.Equal(["closed", "in_progress", "cancelled", "new"], rows.Select(r => r.GetAttribute("data-status")));
        Assert.Equal(["Chen", "Lin", "Nobody yet", "Nobody yet"], list.FindAll("[data-testid=subtask-assignee]").Select(a => a.TextContent));
        Assert.Equal("1 of 3 done", list.Find("[data-testid=subtasks-progress]").TextContent);
        Assert.Empty(list.FindAll("[data-testid=subtask-open]"));
    }

    [Fact]
    public void the_add_form_sends_what_was_typed_shows_the_refusal_under_its_field_and_closes_once_stored()
    {
        var refused = Render(Board(true), accept: false, new Dictionary<string, string[]> { ["title"] = ["is required."] });
        refused.Find("button[data-testid=subtask-open]").Click();
        Assert.Contains("is required.", refused.Find("[data-testid=error-subtask-title]").TextContent, StringComparison.Ordinal);

        var list = Render(Board(true));
        Assert.Equal("No sub-tasks.", list.Find("[data-testid=subtasks-none]").TextContent);
        list.Find("button[data-testid=subtask-open]").Click();
        list.Find("input[name=subtask-title]").Change("Fetch a splice kit");
        list.Find("textarea[name=subtask-description]").Change("From the store room.");
        list.Find("button[data-testid=subtask-confirm]").Click();

        var sent = Assert.Single(_submitted);
        Assert.Equal("Fetch a splice kit", sent.Title);
        Assert.Equal(("From the store room.", null, null), (sent.Description, sent.Priority, sent.AssigneeId));
        Assert.Empty(list.FindAll("[data-testid=subtask-form]"));
    }
}
