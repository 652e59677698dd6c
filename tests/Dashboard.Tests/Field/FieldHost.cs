using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using WorkOrders.Dashboard.Tests.Api;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Field;

/// <summary>Two app instances on one database (the second its own process state, its own warehouse file), photos up to 12 MB.</summary>
public sealed class FieldHost : ApiHost
{
    private readonly string _secondFolder = Directory.CreateTempSubdirectory("workorders-field-").FullName;
    private WebApplicationFactory<Program> _second = null!;

    protected override IEnumerable<(string Key, string Value)> Settings(string folder) => [("Ticketing:MaxAttachmentBytes", "12000000")];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _second = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:WorkOrders", Data.ConnectionString);
            builder.UseSetting("Ticketing:MaxAttachmentBytes", "12000000");
            builder.UseSetting("Warehouse:Path", Path.Combine(_secondFolder, "warehouse.duckdb"));
            builder.UseSetting("Ingest:RunOnStart", "false");
            builder.UseSetting("ForecastJob:RunOnStart", "false");
            builder.ConfigureTestServices(services =>
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton<TimeProvider>(Clock);
            });
        });
        _ = _second.Server;
    }

    public override async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await base.DisposeAsync();
        Directory.Delete(_secondFolder, recursive: true);
    }

    /// <summary>The second instance's services.</summary>
    public IServiceProvider SecondServices => _second.Services;

    /// <summary>A client of the first or the second instance that signs in with a device credential only.</summary>
    public HttpClient Device(string credential, bool second = false)
    {
        var client = second
            ? _second.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false })
            : WithoutCookies();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Device", credential);
        return client;
    }

    /// <summary>Signs the user in (a bearer token), registers a device and answers its credential.</summary>
    public async Task<DeviceCredential> RegisterAsync(Actor user, string name = "Phone")
    {
        using var signedIn = await SignedInAsync(user);
        var response = await signedIn.PostAsJsonAsync("/api/v1/devices", new RegisterDeviceRequest(name));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<DeviceCredential>(Json))!;
    }

    /// <summary>A work order of the org raised by its requester and assigned by its manager to the technician, as the API does it.</summary>
    /// <summary>One value read from the database, for the tests' checks.</summary>
    public async Task<T> ScalarAsync<T>(string sql, object parameters)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task<long> AssignedWorkOrderAsync(TestOrg org, Actor? assignee = null)
    {
        using var requester = await SignedInAsync(org[Role.Requester]);
        var created = await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = "Leak", description = "Oil under the pump.", assetId = org.MachineId, customFields = new { fault_code = "leak" },
        });
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await using var connection = await Data.OpenConnectionAsync();
        var version = await connection.ExecuteScalarAsync<int>("SELECT row_version FROM work_orders WHERE id = @id", new { id });
        using var manager = await SignedInAsync(org[Role.Manager]);
        var assigned = await manager.PostAsJsonAsync(
            $"/api/v1/work-orders/{id}/transitions", new { action = "assign", assigneeId = (assignee ?? org[Role.Technician]).UserId, rowVersion = version });
        assigned.EnsureSuccessStatusCode();
        return id;
    }

    /// <summary>A meter on the org's machine, added by its manager.</summary>
    public async Task<long> MeterAsync(TestOrg org)
    {
        using var manager = await SignedInAsync(org[Role.Manager]);
        var response = await manager.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/meters", new { name = "Run hours", unit = "h" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>A route with one stop on the machine and one choice item whose "fail" option fails, and a round of it due now for the technician.</summary>
    public async Task<(long RouteId, long RoundId, long StopId, long ItemId, string Code)> RoundAsync(TestOrg org)
    {
        await using var connection = await Data.OpenConnectionAsync();
        var finding = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'corrective', 3, @department) RETURNING id",
            new { name = $"Finding {org.Suffix}", department = org.DepartmentId });
        var inspection = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'inspection', 3, @department) RETURNING id",
            new { name = $"Rounds {org.Suffix}", department = org.DepartmentId });
        using var planner = await SignedInAsync(org[Role.Planner]);
        var created = await planner.PostAsJsonAsync("/api/v1/inspections/routes", new
        {
            name = $"Walk {org.Suffix}",
            templateId = inspection,
            stops = new object[]
            {
                new
                {
                    assetId = org.MachineId,
                    items = new object[] { new { label = "Seal", kind = "choice", options = new[] { "ok", "fail" }, failingOptions = new[] { "fail" }, findingTemplateId = finding } },
                },
            },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var routeId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var now = Clock.GetUtcNow().UtcDateTime;
        var roundId = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO inspection_rounds (route_id, route_version, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id, assignee_id, created_at)
            VALUES (@routeId, 1, 'f', @now, @now + interval '1 day', @now + interval '2 days', 'open', @department, @assignee, @now) RETURNING id
            """,
            new { routeId, now, department = org.DepartmentId, assignee = org[Role.Technician].UserId });
        var (stopId, itemId) = await connection.QuerySingleAsync<(long, long)>(
            "SELECT s.id, i.id FROM inspection_stops s JOIN inspection_items i ON i.stop_id = s.id WHERE s.route_id = @routeId", new { routeId });
        var code = await connection.ExecuteScalarAsync<string>("SELECT code FROM assets WHERE id = @id", new { id = org.MachineId });
        return (routeId, roundId, stopId, itemId, code!);
    }

    public static SyncCommand Command(string kind, object payload, long? deviceId = null, int? baseVersion = null, DateTimeOffset? deviceTime = null) =>
        new(Guid.CreateVersion7(), deviceId, baseVersion, deviceTime ?? DateTimeOffset.UtcNow.AddMinutes(-30), kind, JsonSerializer.SerializeToElement(payload, Json));

    public static async Task<(string Text, SyncBatchResult Result)> SyncAsync(HttpClient device, params SyncCommand[] commands)
    {
        var response = await device.PostAsJsonAsync("/api/v1/sync/commands", new SyncBatch(commands), Json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {text}");
        return (text, JsonSerializer.Deserialize<SyncBatchResult>(text, Json)!);
    }
}
