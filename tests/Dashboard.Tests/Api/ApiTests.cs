using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

public class ApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static object Body(TestOrg org, string title = "Pump leaks") => new
    {
        templateId = org.TemplateId,
        title,
        description = "Oil under the pump.",
        priority = 2,
        assetId = org.MachineId,
        customFields = new { fault_code = "leak" },
    };

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<string[]> ErrorFields(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await JsonOf(response)).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToArray();
    }

    private async Task<long> CountForTemplateAsync(TestOrg org)
    {
        await using var connection = await host.Data.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE template_id = @TemplateId", new { org.TemplateId });
    }

    private async Task<(long Id, int Version)> CreateAsync(HttpClient client, TestOrg org)
    {
        var response = await client.PostAsJsonAsync("/api/v1/work-orders", Body(org));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return ((await JsonOf(response)).GetProperty("id").GetInt64(), 1);
    }

    private static Task<HttpResponseMessage> TransitionAsync(HttpClient client, long id, object body, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/work-orders/{id}/transitions") { Content = JsonContent.Create(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return client.SendAsync(request);
    }

    [Fact]
    public async Task signing_in_returns_a_bearer_token_and_a_wrong_password_gives_no_hint()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = host.Anonymous();

        var ok = await JsonOf(await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = org[Role.Manager].UserName, password = TestOrg.Password }));
        Assert.False(string.IsNullOrEmpty(ok.GetProperty("accessToken").GetString()));
        Assert.Equal(3600, ok.GetProperty("expiresIn").GetInt32());

        var wrongPassword = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = org[Role.Manager].UserName, password = "nope" });
        var unknownUser = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = "ghost-" + org.Suffix, password = "nope" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknownUser.StatusCode);
        Assert.Equal((await JsonOf(wrongPassword)).GetProperty("detail").GetString(), (await JsonOf(unknownUser)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task a_missing_malformed_or_expired_token_is_refused_with_a_problem_that_says_so()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var anonymous = await host.Anonymous().GetAsync("/api/v1/work-orders");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("Bearer", (await JsonOf(anonymous)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var garbage = host.Anonymous();
        garbage.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await garbage.GetAsync("/api/v1/work-orders")).StatusCode);

        var client = await host.SignedInAsync(org[Role.Manager]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/me")).StatusCode);

        // The clock only moves forward; tests sign in afresh, so later ones get tokens valid from the new time.
        host.Clock.Advance(TimeSpan.FromMinutes(61));
        var expired = await client.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", (await JsonOf(expired)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task creating_returns_201_with_a_location_that_serves_the_work_order_and_its_history()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[Role.Requester]);

        var response = await client.PostAsJsonAsync("/api/v1/work-orders", Body(org, "<b>Leak</b> 漏油 '; DROP TABLE work_orders; --"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var detailResponse = await client.GetAsync(response.Headers.Location);
        Assert.Equal("\"1\"", detailResponse.Headers.ETag?.Tag);
        var detail = await JsonOf(detailResponse);
        Assert.Equal("<b>Leak</b> 漏油 '; DROP TABLE work_orders; --", detail.GetProperty("title").GetString());
        Assert.Equal("api", detail.GetProperty("source").GetString());
        Assert.Equal("new", detail.GetProperty("status").GetString());
        Assert.Equal("created", detail.GetProperty("history")[0].GetProperty("kind").GetString());
        Assert.Equal(["cancel"], detail.GetProperty("allowedActions").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public async Task a_retried_create_with_the_same_idempotency_key_never_makes_two()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[Role.Requester]);

        async Task<HttpResponseMessage> Post()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/work-orders") { Content = JsonContent.Create(Body(org)) };
            request.Headers.Add("Idempotency-Key", "a3f1-retry");
            return await client.SendAsync(request);
        }

        var first = await Post();
        var second = await Post();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal((await JsonOf(first)).GetProperty("id").GetInt64(), (await JsonOf(second)).GetProperty("id").GetInt64());
        Assert.Equal(1, await CountForTemplateAsync(org));
    }

    public static TheoryData<string, string> BadBodies() => new()
    {
        { """{"templateId": %T%, "title": "x", "description": "y", "assetId": %A%, "customFields": {}}""", "customFields.fault_code" },
        { """{"templateId": 999999999, "title": "x", "description": "y"}""", "templateId" },
        { """{"templateId": %T%, "title": "x", "description": "y", "assetId": 999999999, "customFields": {"fault_code": "leak"}}""", "assetId" },
        { """{"templateId": %T%, "title": "x", "description": "y", "priority": 7, "assetId": %A%, "customFields": {"fault_code": "leak"}}""", "priority" },
        { """{"templateId": %T%, "title": "%LONG%", "description": "y", "assetId": %A%, "customFields": {"fault_code": "leak"}}""", "title" },
        { """{"templateId": %T%, "title": "x", "description": "y", "priority": "urgent", "assetId": %A%}""", "priority" },
        { """{"templateId": %T%, "title": ["x"], "description": "y"}""", "title" },
        { """{"templateId": %T%, "title": "x", """, "body" },
        { """{"templateId": %T%, "title": "x", "description": "y", "assetId": %A%, "customFields": {"fault_code": "fire", "downtime_hours": "many"}}""", "customFields.fault_code,customFields.downtime_hours" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task bad_input_is_refused_naming_the_field_and_nothing_is_stored(string body, string fields)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[Role.Requester]);
        var json = body.Replace("%T%", org.TemplateId.ToString(), StringComparison.Ordinal)
            .Replace("%A%", org.MachineId.ToString(), StringComparison.Ordinal)
            .Replace("%LONG%", new string('x', 201), StringComparison.Ordinal);

        var response = await client.PostAsync("/api/v1/work-orders", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(fields.Split(','), await ErrorFields(response));
        Assert.Equal(0, await CountForTemplateAsync(org));
    }

    [Fact]
    public async Task transitions_check_the_row_version_and_refuse_illegal_moves()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var (id, _) = await CreateAsync(await host.SignedInAsync(org[Role.Requester]), org);
        var manager = await host.SignedInAsync(org[Role.Manager]);

        var noVersion = await TransitionAsync(manager, id, new { action = "assign", assigneeId = org[Role.Technician].UserId });
        Assert.Equal(["rowVersion"], await ErrorFields(noVersion));

        var assigned = await TransitionAsync(manager, id, new { action = "assign", assigneeId = org[Role.Technician].UserId }, ifMatch: "\"1\"");
        Assert.Equal(HttpStatusCode.OK, assigned.StatusCode);
        Assert.Equal("\"2\"", assigned.Headers.ETag?.Tag);

        var stale = await TransitionAsync(manager, id, new { action = "cancel", note = "dup", rowVersion = 1 });
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Contains("version 2", (await JsonOf(stale)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var illegal = await TransitionAsync(manager, id, new { action = "approve", rowVersion = 2 });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, illegal.StatusCode);

        var unknown = await TransitionAsync(manager, id, new { action = "teleport", rowVersion = 2 });
        Assert.Equal(["action"], await ErrorFields(unknown));

        var technician = await host.SignedInAsync(org[Role.Technician]);
        Assert.Equal(HttpStatusCode.OK, (await TransitionAsync(technician, id, new { action = "start", rowVersion = 2 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await TransitionAsync(technician, id, new { action = "resolve", note = "fixed", rowVersion = 3 })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await TransitionAsync(technician, id, new { action = "approve", rowVersion = 4 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await TransitionAsync(manager, id, new { action = "approve", rating = 4, rowVersion = 4 })).StatusCode);

        var closed = await JsonOf(await manager.GetAsync($"/api/v1/work-orders/{id}"));
        Assert.Equal("closed", closed.GetProperty("status").GetString());
        Assert.Equal(["created", "queued", "assign", "start", "resolve", "approve"], closed.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("kind").GetString()));
    }

    /// <summary>What each role gets from the endpoints that only some roles may use.</summary>
    public static TheoryData<Role, string> RoleEndpoints()
    {
        var data = new TheoryData<Role, string>();
        foreach (var role in Enum.GetValues<Role>())
        {
            foreach (var endpoint in new[] { "templates", "users", "assets", "list-users", "read" })
            {
                data.Add(role, endpoint);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RoleEndpoints))]
    public async Task each_role_reaches_exactly_the_endpoints_it_is_entitled_to(Role role, string endpoint)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var (id, _) = await CreateAsync(await host.SignedInAsync(org.OtherTechnician), org);
        var client = await host.SignedInAsync(org[role]);
        var suffix = Guid.NewGuid().ToString("N")[..6];

        var (response, allowed) = endpoint switch
        {
            "templates" => (await client.PostAsJsonAsync("/api/v1/templates", new { name = $"T {suffix}", workType = "inspection", defaultPriority = 3, departmentId = org.DepartmentId }),
                role == Role.Admin),
            "users" => (await client.PostAsJsonAsync("/api/v1/users", new { userName = $"new-{suffix}", password = "secret", role = "requester" }),
                role == Role.Admin),
            "assets" => (await client.PostAsJsonAsync("/api/v1/assets", new { code = $"A-{suffix}", name = "Site", kind = "site" }),
                role is Role.Admin or Role.Planner),
            "list-users" => (await client.GetAsync("/api/v1/users"), role is Role.Admin or Role.Manager),
            // A work order raised by another technician of the department: the requester role sees only its own.
            _ => (await client.GetAsync($"/api/v1/work-orders/{id}"), role != Role.Requester),
        };

        Assert.Equal(allowed, response.IsSuccessStatusCode);
        if (!allowed)
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task attachments_upload_as_multipart_and_download_with_their_type()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[Role.Requester]);
        var (id, _) = await CreateAsync(client, org);
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 7, 7, 7];

        static MultipartFormDataContent Form(byte[] bytes, string type, string name)
        {
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = new MediaTypeHeaderValue(type);
            return new MultipartFormDataContent { { file, "file", name } };
        }

        var uploaded = await client.PostAsync($"/api/v1/work-orders/{id}/attachments", Form(png, "image/png", "leak.png"));
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        var download = await client.GetAsync(uploaded.Headers.Location);
        Assert.Equal("image/png", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(png, await download.Content.ReadAsByteArrayAsync());

        Assert.Equal(["file"], await ErrorFields(await client.PostAsync($"/api/v1/work-orders/{id}/attachments", Form(new byte[4096], "text/plain", "big.txt"))));
        Assert.Equal(["file"], await ErrorFields(await client.PostAsync($"/api/v1/work-orders/{id}/attachments", Form("<svg/>"u8.ToArray(), "image/svg+xml", "x.svg"))));
        var notMultipart = await client.PostAsJsonAsync($"/api/v1/work-orders/{id}/attachments", new { });
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notMultipart.StatusCode);
        Assert.Contains("multipart/form-data", (await JsonOf(notMultipart)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Single((await JsonOf(await client.GetAsync($"/api/v1/work-orders/{id}"))).GetProperty("attachments").EnumerateArray());
    }

    [Fact]
    public async Task the_openapi_document_and_health_check_are_served()
    {
        var client = host.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        var document = await JsonOf(await client.GetAsync("/openapi/v1.json"));
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/v1/work-orders", paths);
        Assert.Contains("/api/v1/work-orders/{id}/transitions", paths);
        Assert.Contains("/api/v1/auth/login", paths);
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task an_administrator_runs_the_ingest_on_demand_and_sees_its_status_while_others_may_not()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        var (id, _) = await CreateAsync(await host.SignedInAsync(org[Role.Requester]), org);
        var manager = await host.SignedInAsync(org[Role.Manager]);
        Assert.Equal(HttpStatusCode.OK, (await TransitionAsync(manager, id, new { action = "cancel", note = "duplicate", rowVersion = 1 })).StatusCode);

        var run = await admin.PostAsync("/api/v1/ingest/runs?wait=true", null);

        Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        var status = await JsonOf(run);
        Assert.Equal(JsonValueKind.Null, status.GetProperty("lastError").ValueKind);
        Assert.True(status.GetProperty("lastResult").GetProperty("workOrders").GetInt64() >= 1);
        Assert.False(status.GetProperty("running").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/ingest/status")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.PostAsync("/api/v1/ingest/runs", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync("/api/v1/ingest/status")).StatusCode);
    }
}
