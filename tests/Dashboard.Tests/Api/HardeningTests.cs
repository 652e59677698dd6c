using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>Enumerations checked against their lists, authorization on the resource before the body, and replays answered as the first request.</summary>
public sealed class HardeningTests(ExportJobHost host) : IClassFixture<ExportJobHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    /// <summary>The 400 problem's fields and their codes.</summary>
    private static async Task<Dictionary<string, string>> FieldCodesAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await JsonOf(response);
        return body.GetProperty("codes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value[0].GetString()!);
    }

    private static object WorkOrder(TestOrg org) => new
    {
        templateId = org.TemplateId, title = "Pump leaks", description = "Oil.", priority = 2, assetId = org.MachineId, customFields = new { fault_code = "leak" },
    };

    private static async Task<long> CreateAsync(HttpClient client, TestOrg org)
    {
        var created = await client.PostAsJsonAsync("/api/v1/work-orders", WorkOrder(org));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await JsonOf(created)).GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task a_webhook_for_an_event_kind_the_product_never_emits_is_refused_naming_the_field_and_the_value_and_every_emitted_kind_is_taken()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        var refused = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.test/a", eventKind = "resolvd" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var body = await JsonOf(refused);
        Assert.Equal("webhook.event_kind_unknown", body.GetProperty("codes").GetProperty("eventKind")[0].GetString());
        Assert.Contains("'resolvd'", body.GetProperty("errors").GetProperty("eventKind")[0].GetString(), StringComparison.Ordinal);

        foreach (var kind in EventKinds.All.Append("*"))
        {
            var taken = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.test/a", eventKind = kind, active = false });
            Assert.True(taken.StatusCode == HttpStatusCode.Created, $"{kind}: {await taken.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task unknown_values_of_the_apis_other_enumerations_are_refused_naming_their_field()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var id = await CreateAsync(await host.SignedInAsync(org[Role.Requester]), org);

        Assert.Contains("action", (await FieldCodesAsync(await manager.PostAsJsonAsync($"/api/v1/work-orders/{id}/transitions", new { action = "teleport", rowVersion = 1 }))).Keys);
        Assert.Contains("status", (await FieldCodesAsync(await manager.GetAsync("/api/v1/work-orders?status=lost"))).Keys);
        Assert.Contains("role", (await FieldCodesAsync(await admin.PostAsJsonAsync("/api/v1/users", new { userName = $"u{org.Suffix}", displayName = "U", password = "a-long-password-1", role = "king" }))).Keys);
        Assert.Contains("kind", (await FieldCodesAsync(await manager.PostAsJsonAsync("/api/v1/exports", new { kind = "everything", kpi = "volume", format = "csv" }))).Keys);
        Assert.Contains("priority", (await FieldCodesAsync(await manager.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = "x", description = "y", priority = "urgent", assetId = org.MachineId,
        }))).Keys);
        Assert.Contains("status", (await FieldCodesAsync(await admin.GetAsync("/api/v1/webhooks/1/deliveries?status=lost"))).Keys);
    }

    [Fact]
    public async Task a_manager_of_another_department_is_refused_with_403_before_anything_is_said_about_a_wrong_body()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var id = await CreateAsync(await host.SignedInAsync(org[Role.Requester]), org);
        var outsider = await host.SignedInAsync(org.OutsideManager);
        var manager = await host.SignedInAsync(org[Role.Manager]);

        (string Path, object Body)[] wrong =
        [
            ($"/api/v1/work-orders/{id}/transitions", new { action = "teleport" }),
            ($"/api/v1/work-orders/{id}/transitions", new { }),
            ($"/api/v1/work-orders/{id}/reassign", new { }),
            ($"/api/v1/work-orders/{id}/comments", new { body = "" }),
            ($"/api/v1/work-orders/{id}/collaborators", new { }),
        ];
        foreach (var (path, body) in wrong)
        {
            var refused = await outsider.PostAsJsonAsync(path, body);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{path} {JsonSerializer.Serialize(body)}: {(int)refused.StatusCode} {await refused.Content.ReadAsStringAsync()}");

            // The department's own manager learns what is wrong with the body.
            Assert.Equal(HttpStatusCode.BadRequest, (await manager.PostAsJsonAsync(path, body)).StatusCode);
        }

        // A work order that does not exist is a 404, whatever the body.
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.PostAsJsonAsync("/api/v1/work-orders/999999999/transitions", new { })).StatusCode);
    }

    [Fact]
    public async Task a_body_the_guard_or_binding_refuses_is_answered_403_to_a_caller_the_endpoint_refuses_and_400_to_one_it_lets_in()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var id = await CreateAsync(await host.SignedInAsync(org[Role.Requester]), org);
        var outsider = await host.SignedInAsync(org.OutsideManager);
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var technician = await host.SignedInAsync(org[Role.Technician]);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        // Malformed JSON, a control character (the guard) and a value of the wrong type (binding): none may speak first.
        string[] malformed = ["{\"action\": ", "{\"note\": \"a\u0001b\"}"];
        (HttpClient Refused, HttpClient Allowed, string Method, string Path, string[] Bodies)[] cases =
        [
            (outsider, manager, "POST", $"/api/v1/work-orders/{id}/transitions", [.. malformed, "{\"action\": 5}"]),
            (outsider, manager, "POST", $"/api/v1/work-orders/{id}/comments", malformed),
            (outsider, manager, "POST", $"/api/v1/work-orders/{id}/reassign", [.. malformed, "{\"assigneeId\": \"someone\"}"]),
            (outsider, manager, "POST", $"/api/v1/work-orders/{id}/collaborators", [.. malformed, "{\"userId\": \"someone\"}"]),
            (outsider, manager, "POST", $"/api/v1/work-orders/{id}/sub-tasks", malformed),
            (outsider, manager, "PUT", $"/api/v1/users/{org[Role.Technician].UserId}/schedule", [.. malformed, "{\"hours\": 7}"]),
            (technician, admin, "POST", "/api/v1/templates", malformed),
            (technician, admin, "PUT", $"/api/v1/templates/{org.TemplateId}", malformed),
            (technician, admin, "POST", "/api/v1/webhooks", malformed),
            (technician, admin, "POST", "/api/v1/assets", malformed),
            (technician, admin, "PUT", $"/api/v1/assets/{org.MachineId}", malformed),
            (technician, admin, "POST", "/api/v1/users", malformed),
            (technician, admin, "POST", "/api/v1/pm/plans", malformed),
        ];
        var tried = 0;
        foreach (var (refused, allowed, method, path, bodies) in cases)
        {
            foreach (var body in bodies)
            {
                HttpRequestMessage Request() => new(new HttpMethod(method), path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
                using var asRefused = Request();
                var answer = await refused.SendAsync(asRefused);
                Assert.True(answer.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} {body}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");

                using var asAllowed = Request();
                var told = await allowed.SendAsync(asAllowed);
                Assert.True(told.StatusCode == HttpStatusCode.BadRequest, $"{method} {path} {body} (allowed): {(int)told.StatusCode} {await told.Content.ReadAsStringAsync()}");
                tried++;
            }
        }

        // A work order that does not exist hides nothing: the body's own 400 names what is wrong with it.
        using var missing = new HttpRequestMessage(HttpMethod.Post, "/api/v1/work-orders/999999999/transitions") { Content = new StringContent("{", System.Text.Encoding.UTF8, "application/json") };
        Assert.Contains("body", (await FieldCodesAsync(await outsider.SendAsync(missing))).Keys);
        Console.WriteLine($"403 before 400: {tried} bodies x 2 callers");
    }

    [Fact]
    public async Task a_replayed_create_answers_201_with_the_same_location_as_the_first_answer()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[Role.Requester]);

        async Task<HttpResponseMessage> Post()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/work-orders") { Content = JsonContent.Create(WorkOrder(org)) };
            request.Headers.Add("Idempotency-Key", $"replay-{org.Suffix}");
            return await client.SendAsync(request);
        }

        var first = await Post();
        var second = await Post();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(first.StatusCode, second.StatusCode);
        Assert.NotNull(first.Headers.Location);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        var replayed = await JsonOf(second);
        Assert.Equal((await JsonOf(first)).GetProperty("id").GetInt64(), replayed.GetProperty("id").GetInt64());
        Assert.True(replayed.GetProperty("replayed").GetBoolean());
    }

    [Fact]
    public async Task a_replayed_export_answers_202_with_the_same_location_and_starts_one_job_and_a_different_request_under_the_key_is_refused()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        await CreateAsync(await host.SignedInAsync(org[Role.Requester]), org);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/ingest/runs?wait=true", null)).StatusCode);
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var today = DateOnly.FromDateTime(host.Clock.GetUtcNow().UtcDateTime);

        async Task<HttpResponseMessage> Post(string format)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/exports")
            {
                Content = JsonContent.Create(new { kpi = "volume", format, from = $"{today.AddDays(-7):yyyy-MM-dd}", to = $"{today.AddDays(1):yyyy-MM-dd}" }),
            };
            request.Headers.Add("Idempotency-Key", $"export-{org.Suffix}");
            return await manager.SendAsync(request);
        }

        var first = await Post("csv");
        var again = await Task.WhenAll(Post("csv"), Post("csv"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.NotNull(first.Headers.Location);
        foreach (var replay in again)
        {
            Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
            Assert.Equal(first.Headers.Location, replay.Headers.Location);
        }

        var mine = await JsonOf(await manager.GetAsync("/api/v1/exports"));
        Assert.Single(mine.EnumerateArray());
        Assert.Equal(["Idempotency-Key"], (await FieldCodesAsync(await Post("xlsx"))).Keys);
    }
}
