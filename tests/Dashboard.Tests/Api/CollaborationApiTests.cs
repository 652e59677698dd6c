using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

public class CollaborationApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    /// <summary>A work order given to the organisation's technician and started.</summary>
    private async Task<long> StartedWorkOrderAsync(TestOrg org)
    {
        var requester = await host.SignedInAsync(org[Role.Requester]);
        var created = await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId,
            title = "Conveyor belt torn",
            description = "Belt on line 2 torn along 30 cm.",
            priority = 2,
            assetId = org.MachineId,
            customFields = new { fault_code = "other" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await JsonOf(created)).GetProperty("id").GetInt64();
        await TransitionAsync(await host.SignedInAsync(org[Role.Manager]), id, new { action = "assign", assigneeId = org[Role.Technician].UserId }, HttpStatusCode.OK);
        await TransitionAsync(await host.SignedInAsync(org[Role.Technician]), id, new { action = "start" }, HttpStatusCode.OK);
        return id;
    }

    private static async Task<JsonElement> TransitionAsync(HttpClient client, long id, object body, HttpStatusCode expected)
    {
        var version = (await JsonOf(await client.GetAsync($"/api/v1/work-orders/{id}"))).GetProperty("rowVersion").GetInt32();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/work-orders/{id}/transitions") { Content = JsonContent.Create(body) };
        request.Headers.IfMatch.ParseAdd($"\"{version}\"");
        var response = await client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        return await JsonOf(response);
    }

    [Fact]
    public async Task the_assignee_splits_work_through_the_api_and_the_parent_resolves_only_when_its_sub_tasks_are_done_or_a_manager_overrides()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var id = await StartedWorkOrderAsync(org);
        var technician = await host.SignedInAsync(org[Role.Technician]);
        var manager = await host.SignedInAsync(org[Role.Manager]);

        var requester = await host.SignedInAsync(org[Role.Requester]);
        Assert.Equal(HttpStatusCode.Forbidden, (await requester.PostAsJsonAsync($"/api/v1/work-orders/{id}/sub-tasks", new { title = "x", description = "y" })).StatusCode);
        var bad = await technician.PostAsJsonAsync($"/api/v1/work-orders/{id}/sub-tasks", new { title = "", description = "Splice kit." });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["title"], (await JsonOf(bad)).GetProperty("errors").EnumerateObject().Select(p => p.Name));

        var created = await technician.PostAsJsonAsync($"/api/v1/work-orders/{id}/sub-tasks", new
        {
            title = "Fetch a splice kit 接頭套件",
            description = "From the store room.",
            assigneeId = org.OtherTechnician.UserId,
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var child = await JsonOf(created);
        Assert.Equal($"/api/v1/work-orders/{child.GetProperty("id").GetInt64()}", created.Headers.Location?.OriginalString);

        var board = await JsonOf(await requester.GetAsync($"/api/v1/work-orders/{id}/sub-tasks"));
        var item = Assert.Single(board.GetProperty("items").EnumerateArray());
        Assert.Equal(("Fetch a splice kit 接頭套件", "assigned", org.OtherTechnician.UserId),
            (item.GetProperty("title").GetString(), item.GetProperty("status").GetString(), item.GetProperty("assigneeId").GetInt64()));
        Assert.Equal((0, 1), (board.GetProperty("done").GetInt32(), board.GetProperty("counted").GetInt32()));
        var childBoard = await JsonOf(await technician.GetAsync($"/api/v1/work-orders/{child.GetProperty("id").GetInt64()}/sub-tasks"));
        Assert.Equal(id, childBoard.GetProperty("parentId").GetInt64());

        var refused = await TransitionAsync(technician, id, new { action = "resolve" }, HttpStatusCode.UnprocessableEntity);
        Assert.Contains(child.GetProperty("number").GetString()!, refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await TransitionAsync(technician, id, new { action = "resolve", note = "Mine.", overrideOpenSubTasks = true }, HttpStatusCode.Forbidden);
        var noReason = await TransitionAsync(manager, id, new { action = "resolve", overrideOpenSubTasks = true }, HttpStatusCode.BadRequest);
        Assert.True(noReason.GetProperty("errors").TryGetProperty("note", out _));

        var resolved = await TransitionAsync(manager, id, new { action = "resolve", note = "Belt runs; kit follows.", overrideOpenSubTasks = true }, HttpStatusCode.OK);
        Assert.Equal("resolved", resolved.GetProperty("status").GetString());
        var history = (await JsonOf(await manager.GetAsync($"/api/v1/work-orders/{id}"))).GetProperty("history").EnumerateArray().ToList();
        Assert.Contains(history, e => e.GetProperty("kind").GetString() == "subtask_override" && e.GetProperty("note").GetString() == "Belt runs; kit follows.");
    }

    [Fact]
    public async Task collaborators_are_added_listed_and_removed_through_the_api_and_see_the_work_order_only_meanwhile()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var id = await StartedWorkOrderAsync(org);
        var technician = await host.SignedInAsync(org[Role.Technician]);
        var helper = await host.SignedInAsync(org.OutsideManager);
        var requester = await host.SignedInAsync(org[Role.Requester]);

        Assert.Equal(HttpStatusCode.Forbidden, (await helper.GetAsync($"/api/v1/work-orders/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await requester.PostAsJsonAsync($"/api/v1/work-orders/{id}/collaborators", new { userId = org.OutsideManager.UserId })).StatusCode);
        var missing = await technician.PostAsJsonAsync($"/api/v1/work-orders/{id}/collaborators", new { });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(["userId"], (await JsonOf(missing)).GetProperty("errors").EnumerateObject().Select(p => p.Name));

        var candidates = await JsonOf(await technician.GetAsync($"/api/v1/work-orders/{id}/collaborators/candidates?text=outside-{org.Suffix}"));
        Assert.Equal(org.OutsideManager.UserId, Assert.Single(candidates.EnumerateArray()).GetProperty("userId").GetInt64());

        var added = await technician.PostAsJsonAsync($"/api/v1/work-orders/{id}/collaborators", new { userId = org.OutsideManager.UserId });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await helper.GetAsync($"/api/v1/work-orders/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await helper.PostAsJsonAsync($"/api/v1/work-orders/{id}/comments", new { body = "I have a spare belt." })).StatusCode);
        var list = await JsonOf(await requester.GetAsync($"/api/v1/work-orders/{id}/collaborators"));
        Assert.False(list.GetProperty("mayManage").GetBoolean());
        Assert.Equal(org.OutsideManager.UserId, Assert.Single(list.GetProperty("items").EnumerateArray()).GetProperty("userId").GetInt64());

        Assert.Equal(HttpStatusCode.Forbidden, (await requester.DeleteAsync($"/api/v1/work-orders/{id}/collaborators/{org.OutsideManager.UserId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await technician.DeleteAsync($"/api/v1/work-orders/{id}/collaborators/{org.OutsideManager.UserId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await technician.DeleteAsync($"/api/v1/work-orders/{id}/collaborators/{org.OutsideManager.UserId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await helper.GetAsync($"/api/v1/work-orders/{id}")).StatusCode);
    }
}
