using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

public class AssignmentApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<string[]> ErrorFields(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await JsonOf(response)).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToArray();
    }

    private async Task<string> SkillAsync(TestOrg org, params Actor[] holders)
    {
        var skill = $"valves-{org.Suffix}";
        await using var connection = await host.Data.OpenConnectionAsync();
        await connection.ExecuteAsync("INSERT INTO skills (name) VALUES (@skill) ON CONFLICT DO NOTHING", new { skill });
        foreach (var holder in holders)
        {
            await connection.ExecuteAsync("INSERT INTO user_skills (user_id, skill, level) VALUES (@UserId, @skill, 4)", new { holder.UserId, skill });
        }

        return skill;
    }

    private static object Rule(TestOrg org, string skill, string strategy = "least_loaded", long? namedUserId = null, int? rowVersion = null) => new
    {
        name = $"Valves {org.Suffix}",
        departmentId = org.DepartmentId,
        strategy,
        namedUserId,
        templateId = org.TemplateId,
        priorities = new[] { 1, 2 },
        requiredSkills = new[] { new { skill, minLevel = 3 } },
        rowVersion,
    };

    private static async Task<JsonElement> CreateWorkOrderAsync(HttpClient client, TestOrg org, int priority = 2)
    {
        var response = await client.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId,
            title = "Valve stuck",
            description = "The valve does not close.",
            priority,
            assetId = org.MachineId,
            customFields = new { fault_code = "leak" },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await JsonOf(response)).GetProperty("id").GetInt64();
        return await JsonOf(await client.GetAsync($"/api/v1/work-orders/{id}"));
    }

    [Fact]
    public async Task administrators_keep_rules_through_the_api_and_bad_rules_are_refused_naming_the_field()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var skill = await SkillAsync(org);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        var bad = await admin.PostAsJsonAsync("/api/v1/assignment-rules", new
        {
            name = "",
            departmentId = -1,
            strategy = "named_person",
            requiredSkills = new[] { new { skill = "telepathy", minLevel = 3 } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await JsonOf(bad)).GetProperty("errors");
        Assert.Equal(["name", "namedUserId", "departmentId", "requiredSkills"], errors.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["'telepathy' is not a known skill."], errors.GetProperty("requiredSkills").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["strategy"], await ErrorFields(await admin.PostAsJsonAsync("/api/v1/assignment-rules", new { name = "x", departmentId = org.DepartmentId, strategy = "by_lottery" })));

        var created = await admin.PostAsJsonAsync("/api/v1/assignment-rules", Rule(org, skill));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var rule = await JsonOf(created);
        var id = rule.GetProperty("id").GetInt64();
        Assert.Equal("least_loaded", rule.GetProperty("strategy").GetString());
        Assert.Equal(3, rule.GetProperty("requiredSkills")[0].GetProperty("minLevel").GetInt32());

        var changed = await admin.PutAsJsonAsync($"/api/v1/assignment-rules/{id}", Rule(org, skill, "round_robin", rowVersion: 1));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsJsonAsync($"/api/v1/assignment-rules/{id}", Rule(org, skill, rowVersion: 1))).StatusCode);
        Assert.Equal(["rowVersion"], await ErrorFields(await admin.PutAsJsonAsync($"/api/v1/assignment-rules/{id}", Rule(org, skill))));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/assignment-rules/{id}/move", new { direction = "up" })).StatusCode);
        Assert.Equal(["direction"], await ErrorFields(await admin.PostAsJsonAsync($"/api/v1/assignment-rules/{id}/move", new { })));

        var deactivated = await JsonOf(await admin.DeleteAsync($"/api/v1/assignment-rules/{id}"));
        Assert.False(deactivated.GetProperty("active").GetBoolean());
        var listed = await JsonOf(await admin.GetAsync("/api/v1/assignment-rules"));
        Assert.Contains(listed.EnumerateArray(), r => r.GetProperty("id").GetInt64() == id && !r.GetProperty("active").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/assignment-rules/99999999")).StatusCode);
    }

    [Theory]
    [InlineData(Role.Executive)]
    [InlineData(Role.Manager)]
    [InlineData(Role.Technician)]
    [InlineData(Role.Requester)]
    [InlineData(Role.Planner)]
    public async Task only_administrators_read_or_write_assignment_rules(Role role)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[role]);

        var read = await client.GetAsync("/api/v1/assignment-rules");
        var write = await client.PostAsJsonAsync("/api/v1/assignment-rules", new { name = "x", departmentId = org.DepartmentId, strategy = "least_loaded" });

        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden), (read.StatusCode, write.StatusCode));
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous().GetAsync("/api/v1/assignment-rules")).StatusCode);
    }

    [Fact]
    public async Task a_work_order_created_through_the_api_is_assigned_by_the_rule_and_reassigned_by_a_manager_with_a_reason()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var skill = await SkillAsync(org, org[Role.Technician], org.OtherTechnician);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/assignment-rules", Rule(org, skill, "named_person", org.OtherTechnician.UserId))).StatusCode);

        var requester = await host.SignedInAsync(org[Role.Requester]);
        var detail = await CreateWorkOrderAsync(requester, org);
        var id = detail.GetProperty("id").GetInt64();
        Assert.Equal(("assigned", org.OtherTechnician.UserId), (detail.GetProperty("status").GetString(), detail.GetProperty("assigneeId").GetInt64()));
        Assert.Equal("auto_assigned", detail.GetProperty("history")[1].GetProperty("kind").GetString());

        var manager = await host.SignedInAsync(org[Role.Manager]);
        var options = await JsonOf(await manager.GetAsync($"/api/v1/work-orders/{id}/assignee-options"));
        Assert.Contains(options.EnumerateArray(), o => o.GetProperty("userId").GetInt64() == org[Role.Technician].UserId && (!o.TryGetProperty("refusal", out var refusal) || refusal.ValueKind == JsonValueKind.Null));

        var noReason = await manager.PostAsJsonAsync($"/api/v1/work-orders/{id}/reassign", new { assigneeId = org[Role.Technician].UserId, rowVersion = 1 });
        Assert.Equal(["reason"], await ErrorFields(noReason));
        var technician = await host.SignedInAsync(org[Role.Technician]);
        Assert.Equal(HttpStatusCode.Forbidden, (await technician.PostAsJsonAsync($"/api/v1/work-orders/{id}/reassign", new { assigneeId = org[Role.Technician].UserId, reason = "mine", rowVersion = 1 })).StatusCode);
        var moved = await manager.PostAsJsonAsync($"/api/v1/work-orders/{id}/reassign", new { assigneeId = org[Role.Technician].UserId, reason = "Tom knows this valve", rowVersion = 1 });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);

        var seen = await JsonOf(await technician.GetAsync($"/api/v1/work-orders/{id}"));
        Assert.Equal(["created", "auto_assigned", "reassign"], seen.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("kind").GetString()));
        var former = await JsonOf(await (await host.SignedInAsync(org.OtherTechnician)).GetAsync("/api/v1/notifications"));
        Assert.Equal("reassigned", former.GetProperty("items")[0].GetProperty("kind").GetString());
    }

    [Fact]
    public async Task queued_work_is_listed_for_the_department_and_claimed_once()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var technician = await host.SignedInAsync(org[Role.Technician]);
        var detail = await CreateWorkOrderAsync(await host.SignedInAsync(org[Role.Requester]), org, priority: 3);
        var id = detail.GetProperty("id").GetInt64();

        var queue = await JsonOf(await technician.GetAsync("/api/v1/work-orders/queue"));
        Assert.Contains(queue.EnumerateArray(), q => q.GetProperty("id").GetInt64() == id);
        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org[Role.Requester])).GetAsync("/api/v1/work-orders/queue")).StatusCode);

        var first = await technician.PostAsync($"/api/v1/work-orders/{id}/claim", null);
        var second = await (await host.SignedInAsync(org.OtherTechnician)).PostAsync($"/api/v1/work-orders/{id}/claim", null);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("already taken", (await JsonOf(second)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain((await JsonOf(await technician.GetAsync("/api/v1/work-orders/queue"))).EnumerateArray(), q => q.GetProperty("id").GetInt64() == id);
    }

    [Fact]
    public async Task managers_set_the_working_hours_of_their_department_and_bad_ones_are_refused()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var path = $"/api/v1/users/{org[Role.Technician].UserId}/schedule";

        var bad = await manager.PutAsJsonAsync(path, new { timeZone = "Nowhere/Else", hours = new[] { new { weekday = 1, start = "17:00:00", end = "08:00:00" } } });
        Assert.Equal(["timeZone", "hours[0].end"], await ErrorFields(bad));

        var saved = await manager.PutAsJsonAsync(path, new
        {
            timeZone = "Asia/Taipei",
            hours = new[] { new { weekday = 1, start = "08:00:00", end = "17:00:00" } },
            away = new[] { new { from = "2026-07-01T00:00:00Z", to = "2026-07-08T00:00:00Z", reason = "leave" } },
        });
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var read = await JsonOf(await manager.GetAsync(path));
        Assert.Equal("Asia/Taipei", read.GetProperty("timeZone").GetString());
        Assert.Equal("08:00:00", read.GetProperty("hours")[0].GetProperty("start").GetString());
        Assert.Equal("leave", read.GetProperty("away")[0].GetProperty("reason").GetString());

        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org.OutsideManager)).GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org[Role.Technician])).GetAsync(path)).StatusCode);
    }
}
