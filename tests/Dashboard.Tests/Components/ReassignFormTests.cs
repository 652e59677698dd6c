using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Radzen;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assignment;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class ReassignFormTests : BunitContext
{
    private static readonly AssigneeOption[] Options =
    [
        new(1, "Chen", Role.Technician, 2, 5, null),
        new(2, "Lin", Role.Technician, 0, 0, new Refusal("skill.too_low", "electrical", 2, 3)),
        new(3, "Wang", Role.Technician, 5, 9, new Refusal("reassign.current_assignee")),
        new(4, "Mandy", Role.Manager, 1, 2, null),
    ];

    private readonly List<ReassignRequest> _submitted = [];

    public ReassignFormTests()
    {
        this.UseDashboardComponents();
    }

    private IRenderedComponent<ReassignForm> Render(IReadOnlyDictionary<string, string[]>? errors = null) =>
        Render<ReassignForm>(p => p
            .Add(f => f.Options, Options)
            .Add(f => f.Errors, errors ?? new Dictionary<string, string[]>())
            .Add(f => f.OnSubmit, EventCallback.Factory.Create<ReassignRequest>(this, r => _submitted.Add(r))));

    [Fact]
    public void only_people_who_may_take_the_work_are_offered_and_the_others_are_named_with_the_reason()
    {
        var form = Render();

        Assert.Equal(
            ["Chen (Technician, 2 open)", "Mandy (Manager, 1 open)"],
            form.Find("[data-testid=field-assigneeId]").QuerySelectorAll("li[role=option]").Select(li => li.TextContent.Trim()));
        var unavailable = form.Find("[data-testid=reassign-unavailable]").TextContent;
        Assert.Contains("Lin (has 'electrical' at level 2, below the required 3)", unavailable, StringComparison.Ordinal);
        Assert.Contains("Wang (is the current assignee)", unavailable, StringComparison.Ordinal);
    }

    [Fact]
    public void the_reason_is_required_and_the_refusal_of_each_field_is_shown_under_it()
    {
        var form = Render(new Dictionary<string, string[]>
        {
            ["reason"] = ["is required: say why the work order changes hands."],
            ["assigneeId"] = ["user 'Gone' is inactive."],
        });

        Assert.Equal("true", form.Find("[data-testid=field-reason]").GetAttribute("data-required"));
        Assert.Contains("say why the work order changes hands", form.Find("[data-testid=error-reason]").TextContent, StringComparison.Ordinal);
        Assert.Contains("user 'Gone' is inactive.", form.Find("[data-testid=error-assigneeId]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void confirming_sends_the_reason_typed()
    {
        var form = Render();

        form.Find("textarea[name=reassign-reason]").Change("Chen knows this pump");
        form.Find("[data-testid=reassign-confirm]").Click();

        var sent = Assert.Single(_submitted);
        Assert.Equal(("Chen knows this pump", (long?)null, (int?)null), (sent.Reason, sent.AssigneeId, sent.RowVersion));
    }
}
