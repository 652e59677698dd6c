using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Playwright;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// What the field app's browser tests share: PostgreSQL look-ups, a work order assigned through the API, API clients
/// signed in as a user or as a device, and a browser context (one device) signed in to /field with its trip pack.
/// </summary>
public abstract class FieldAppTest : BrowserTest
{
    // The smallest valid PNG: one transparent pixel.
    protected static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    /// <summary>The same pixel with <paramref name="tag"/> after its end: another file, another SHA-256.</summary>
    protected static byte[] PngTagged(string tag) => [.. Png, .. System.Text.Encoding.ASCII.GetBytes(tag)];

    /// <summary>A browser context (one device) on /field, signed in as <paramref name="user"/> with its trip pack (of at least one work order), and the credential the server gave it.</summary>
    protected async Task<(IBrowserContext Context, IPage Page, DeviceCredential Device)> SignedInDeviceAsync(Actor user, Func<IBrowserContext, Task>? beforeStart = null)
    {
        var context = await Chromium.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), Locale = "en-US" });
        context.SetDefaultTimeout(Browser.Patience);
        if (beforeStart is not null)
        {
            await beforeStart(context);
        }

        var page = await context.NewPageAsync();
        await page.GotoAsync("/field/");
        await Expect(page.Locator("#userName")).ToBeVisibleAsync(new() { Timeout = Browser.FieldAppStart });
        await page.FillAsync("#userName", user.UserName);
        await page.FillAsync("#password", TestOrg.Password);
        var registered = await page.RunAndWaitForResponseAsync(
            () => page.GetByTestId("sign-in").ClickAsync(),
            r => r.Url.EndsWith("/api/v1/devices", StringComparison.Ordinal) && r.Request.Method == "POST");
        Assert.Equal(201, registered.Status);
        var device = JsonSerializer.Deserialize<DeviceCredential>(await registered.TextAsync(), JsonSerializerOptions.Web)!;
        await Expect(page.GetByTestId("nav-orders")).Not.ToContainTextAsync("(0)");
        await Expect(page.Locator("html[data-offline-ready]")).ToHaveCountAsync(1);
        return (context, page, device);
    }

    /// <summary>Opens the work order titled <paramref name="title"/> from the list of the device's work orders.</summary>
    protected static async Task OpenOrderAsync(IPage page, string title)
    {
        await page.Locator("header a.title").ClickAsync();
        await page.GetByTestId("nav-orders").ClickAsync();
        await page.GetByTestId("order").Filter(new() { HasText = title }).ClickAsync();
    }

    protected async Task<T> Scalar<T>(string sql, object parameters)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    protected async Task<IEnumerable<T>> Query<T>(string sql, object parameters)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        return await connection.QueryAsync<T>(sql, parameters);
    }

    /// <summary>A work order raised by the org's requester and assigned by its manager to the technician, through the API.</summary>
    protected async Task<long> AssignedWorkOrderAsync(TestOrg org, string title = "Leak at the pump")
    {
        using var requester = await ApiAsync(org[Role.Requester]);
        var created = await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title, description = "Oil under the pump.", assetId = org.MachineId, customFields = new { fault_code = "leak" },
        });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetInt64();
        using var manager = await ApiAsync(org[Role.Manager]);
        await TransitionAsync(manager, id, "assign", new { assigneeId = org[Role.Technician].UserId });
        return id;
    }

    /// <summary>A lifecycle action through the office API at the work order's current version.</summary>
    protected async Task TransitionAsync(HttpClient client, long workOrder, string action, object? extra = null)
    {
        var version = await Scalar<int>("SELECT row_version FROM work_orders WHERE id = @workOrder", new { workOrder });
        var body = JsonSerializer.SerializeToNode(extra ?? new { }, JsonSerializerOptions.Web)!.AsObject();
        body["action"] = action;
        body["rowVersion"] = version;
        var response = await client.PostAsJsonAsync($"/api/v1/work-orders/{workOrder}/transitions", body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    protected async Task<HttpClient> ApiAsync(Actor user)
    {
        var client = new HttpClient { BaseAddress = Host.BaseAddress };
        var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = user.UserName, password = TestOrg.Password });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>An API client that speaks as a registered device, with its credential.</summary>
    protected HttpClient DeviceClient(DeviceCredential device)
    {
        var client = new HttpClient { BaseAddress = Host.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Device", device.Credential);
        return client;
    }
}
