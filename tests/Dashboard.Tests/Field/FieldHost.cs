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
using WorkOrders.Ticketing.Inspections;

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
        var round = await org.RoundAsync(
            Data, Clock, "Walk", [new ItemRequest(null, "Seal", CheckKind.Choice, Options: ["ok", "fail"], FailingOptions: ["fail"])], window: TimeSpan.FromDays(1), grace: TimeSpan.FromDays(1));
        return (round.RouteId, round.RoundId, round.StopId, round.ItemIds[0], round.MachineCode);
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
