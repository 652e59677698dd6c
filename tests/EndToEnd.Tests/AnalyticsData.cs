using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// Work orders made through the REST API, as users would, for the analytics pages to count: each test makes its
/// own organisation's work and filters the pages by its department.
/// </summary>
public sealed class AnalyticsData(Uri baseAddress, TestOrg org)
{
    /// <summary>The description every work order made here has.</summary>
    public const string Description = "For the analytics pages.";

    public static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    /// <summary>The last week, as the pages and endpoints take it (to is exclusive).</summary>
    public static string Period => $"from={Today.AddDays(-7):yyyy-MM-dd}&to={Today.AddDays(1):yyyy-MM-dd}";

    public async Task<long> CreateAsync(string title, string faultCode)
    {
        using var requester = await ClientAsync(Role.Requester);
        var response = await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title, description = Description, assetId = org.MachineId, customFields = new { fault_code = faultCode },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>Assigned to the org's technician, started, resolved and approved by the requester with this rating: archived.</summary>
    public async Task CloseAsync(long id, int rating)
    {
        using var manager = await ClientAsync(Role.Manager);
        using var technician = await ClientAsync(Role.Technician);
        using var requester = await ClientAsync(Role.Requester);
        await StepAsync(manager, id, new { action = "assign", assigneeId = org[Role.Technician].UserId, rowVersion = 1 });
        await StepAsync(technician, id, new { action = "start", rowVersion = 2 });
        await StepAsync(technician, id, new { action = "resolve", rowVersion = 3 });
        await StepAsync(requester, id, new { action = "approve", rating, rowVersion = 4 });
    }

    public async Task IngestAsync()
    {
        using var admin = await ClientAsync(Role.Admin);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/ingest/runs?wait=true", null)).StatusCode);
    }

    /// <summary>An API client signed in as the org's user of this role.</summary>
    public async Task<HttpClient> ClientAsync(Role role)
    {
        var client = new HttpClient { BaseAddress = baseAddress };
        var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = org[role].UserName, password = TestOrg.Password });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task StepAsync(HttpClient client, long id, object body)
    {
        var response = await client.PostAsJsonAsync($"/api/v1/work-orders/{id}/transitions", body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}
