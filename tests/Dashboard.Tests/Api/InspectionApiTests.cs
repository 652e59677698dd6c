using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>Inspection routes and round commands over HTTP: problems name the field, in the caller's language.</summary>
public sealed class InspectionApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 9, 8, 7];

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private async Task<(TestOrg Org, long Inspection, long Finding, string MachineCode)> OrgAsync()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        await using var connection = await host.Data.OpenConnectionAsync();
        var inspection = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'inspection', 3, @department) RETURNING id",
            new { name = $"Rounds {org.Suffix}", department = org.DepartmentId });
        var finding = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'corrective', 3, @department) RETURNING id",
            new { name = $"Finding {org.Suffix}", department = org.DepartmentId });
        var code = await connection.ExecuteScalarAsync<string>("SELECT code FROM assets WHERE id = @id", new { id = org.MachineId });
        return (org, inspection, finding, code!);
    }

    [Fact]
    public async Task a_bad_route_is_refused_with_a_problem_naming_each_field_in_traditional_chinese()
    {
        var (org, inspection, _, _) = await OrgAsync();
        using var planner = await host.SignedInAsync(org[Role.Planner]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/inspections/routes")
        {
            Content = JsonContent.Create(new
            {
                name = "",
                templateId = inspection,
                stops = new object[]
                {
                    new { assetId = org.MachineId, items = new object[] { new { label = "Temp", kind = "number", warningHigh = 90, alarmHigh = 80 } } },
                },
                schedules = new object[] { new { every = 1, unit = "day", anchor = "2027-01-01", times = Array.Empty<string>(), windowMinutes = 60 } },
            }),
        };
        request.Headers.AcceptLanguage.ParseAdd("zh-TW");

        var response = await planner.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await JsonOf(response);
        var codes = problem.GetProperty("codes");
        Assert.Equal("field.required", codes.GetProperty("name")[0].GetString());
        Assert.Equal("inspection.limits_order", codes.GetProperty("stops[0].items[0].alarmHigh")[0].GetString());
        Assert.Equal("inspection.times", codes.GetProperty("schedules[0].times")[0].GetString());
        Assert.Contains("警報下限", problem.GetProperty("errors").GetProperty("stops[0].items[0].alarmHigh")[0].GetString(), StringComparison.Ordinal);

        var wrongKind = await planner.PostAsJsonAsync("/api/v1/inspections/routes", new { name = "x", templateId = inspection, stops = new object[] { new { assetId = org.MachineId, items = new object[] { new { label = "a", kind = "dial" } } } } });
        Assert.Equal(HttpStatusCode.BadRequest, wrongKind.StatusCode);
        Assert.True((await JsonOf(wrongKind)).GetProperty("codes").TryGetProperty("stops[0].items[0].kind", out _));
    }

    [Fact]
    public async Task an_inspector_does_a_round_over_http_and_a_failed_reading_with_a_photo_raises_a_work_order()
    {
        var (org, inspection, finding, code) = await OrgAsync();
        using var planner = await host.SignedInAsync(org[Role.Planner]);
        using var technician = await host.SignedInAsync(org[Role.Technician]);
        var created = await planner.PostAsJsonAsync("/api/v1/inspections/routes", new
        {
            name = $"Walk {org.Suffix}",
            templateId = inspection,
            stops = new object[]
            {
                new
                {
                    assetId = org.MachineId,
                    items = new object[] { new { label = "Temp", kind = "number", unit = "°C", warningHigh = 70, alarmHigh = 80, photo = "on_failure", severity = "high", findingTemplateId = finding } },
                },
            },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var route = await JsonOf(created);
        var routeId = route.GetProperty("id").GetInt64();
        long roundId;
        await using (var connection = await host.Data.OpenConnectionAsync())
        {
            roundId = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO inspection_rounds (route_id, route_version, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id, assignee_id, created_at)
                VALUES (@routeId, 1, 'a', @now, @now + interval '1 hour', @now + interval '2 hours', 'open', @department, @assignee, @now) RETURNING id
                """,
                new { routeId, now = host.Clock.GetUtcNow().UtcDateTime, department = org.DepartmentId, assignee = org[Role.Technician].UserId });
        }

        var mine = await JsonOf(await technician.GetAsync("/api/v1/inspections/rounds/mine"));
        Assert.Contains(mine.EnumerateArray(), r => r.GetProperty("id").GetInt64() == roundId);
        var round = await JsonOf(await technician.GetAsync($"/api/v1/inspections/rounds/{roundId}"));
        var stopId = round.GetProperty("stops")[0].GetProperty("stopId").GetInt64();
        var itemId = round.GetProperty("stops")[0].GetProperty("items")[0].GetProperty("itemId").GetInt64();

        var noCommand = await technician.PostAsJsonAsync($"/api/v1/inspections/rounds/{roundId}/stops/confirm", new { stopId, code });
        Assert.Equal("field.required", (await JsonOf(noCommand)).GetProperty("codes").GetProperty("commandId")[0].GetString());
        var confirmed = await technician.PostAsJsonAsync($"/api/v1/inspections/rounds/{roundId}/stops/confirm", new { commandId = Guid.NewGuid(), stopId, code = $"http://localhost/a/{code}" });
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);

        var noPhoto = await technician.PostAsJsonAsync($"/api/v1/inspections/rounds/{roundId}/results", new { commandId = Guid.NewGuid(), itemId, number = 85, verdict = "pass" });
        Assert.Equal("inspection.photo_on_failure", (await JsonOf(noPhoto)).GetProperty("codes").GetProperty("photoSha256")[0].GetString());

        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Png);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "file", "hot.png");
        var uploaded = await technician.PostAsync("/api/v1/inspections/photos", form);
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        var sha = (await JsonOf(uploaded)).GetProperty("sha256").GetString();

        // The client's own verdict is not read: the server fails 85 °C against the alarm limit of 80.
        var recorded = await JsonOf(await technician.PostAsJsonAsync($"/api/v1/inspections/rounds/{roundId}/results", new { commandId = Guid.NewGuid(), itemId, number = 85, photoSha256 = sha, verdict = "pass" }));
        var result = recorded.GetProperty("stops")[0].GetProperty("items")[0].GetProperty("result");
        Assert.Equal("fail", result.GetProperty("verdict").GetString());
        var number = result.GetProperty("findingWorkOrderNumber").GetString();
        Assert.StartsWith("WO-", number, StringComparison.Ordinal);

        var completed = await technician.PostAsJsonAsync($"/api/v1/inspections/rounds/{roundId}/complete", new { commandId = Guid.NewGuid() });
        Assert.Equal("completed", (await JsonOf(completed)).GetProperty("status").GetString());
        var photo = await technician.GetAsync($"/api/v1/inspections/photos/{sha}");
        Assert.Equal(Png, await photo.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await technician.GetAsync($"/api/v1/inspections/rounds/{long.MaxValue}")).StatusCode);
    }
}
