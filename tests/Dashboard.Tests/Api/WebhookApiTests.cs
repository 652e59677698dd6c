using System.Net;
using System.Net.Http.Json;
using Npgsql;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The API host with 127.0.0.1 allowed as a receiver host, as the dead receivers of these tests are there.</summary>
public sealed class WebhookApiHost : ApiHost
{
    protected override IEnumerable<(string Key, string Value)> Settings(string folder) => [("Webhooks:AllowedHosts:0", "127.0.0.1")];
}

public class WebhookApiTests(WebhookApiHost host) : IClassFixture<WebhookApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<string[]> ErrorFields(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await JsonOf(response)).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToArray();
    }

    /// <summary>A loopback address nothing listens on: deliveries to it are refused, and logged as such.</summary>
    private static string DeadUrl()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/hook";
    }

    [Fact]
    public async Task an_administrator_registers_a_webhook_and_sees_its_secret_only_in_the_answer_to_creating_it()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        var created = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.test/wo", eventKind = "resolve", description = "ERP" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await JsonOf(created);
        Assert.Matches("^[0-9a-f]{64}$", body.GetProperty("secret").GetString());
        var id = body.GetProperty("subscription").GetProperty("id").GetInt64();
        Assert.Equal($"/api/v1/webhooks/{id}", created.Headers.Location?.ToString());

        var one = await admin.GetStringAsync($"/api/v1/webhooks/{id}");
        var all = await admin.GetStringAsync("/api/v1/webhooks");
        Assert.DoesNotContain("secret", one, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(body.GetProperty("secret").GetString()!, all, StringComparison.Ordinal);
        Assert.Equal("resolve", JsonDocument.Parse(one).RootElement.GetProperty("eventKind").GetString());

        var changed = await admin.PutAsJsonAsync($"/api/v1/webhooks/{id}", new { url = "https://hooks.example.test/wo2", eventKind = "*", active = false });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.False((await JsonOf(changed)).GetProperty("active").GetBoolean());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/webhooks/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/webhooks/{id}")).StatusCode);
    }

    [Fact]
    public async Task urls_that_are_not_absolute_http_or_https_are_refused_naming_the_field()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        foreach (var url in new[] { "ftp://files.example.test/x", "/relative", "not a url", "file:///etc/passwd" })
        {
            Assert.Equal(["url"], await ErrorFields(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url, eventKind = "*" })));
        }

        Assert.Equal(["eventKind", "url"], (await ErrorFields(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "gopher://x", eventKind = "Created!" }))).Order());
        Assert.Equal(["secret"], await ErrorFields(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://x.example.test", eventKind = "*", secret = "short" })));
        Assert.Equal(["active"], await ErrorFields(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://x.example.test", eventKind = "*", active = "maybe" })));
    }

    /// <summary>A 400 problem naming the url field alone, as JSON.</summary>
    private static async Task<JsonElement> RefusalAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await JsonOf(response);
        Assert.Equal(["url"], body.GetProperty("errors").EnumerateObject().Select(p => p.Name));
        return body;
    }

    [Theory]
    [InlineData("http://localhost:8080/hook")]
    [InlineData("http://127.0.0.2/hook")]
    [InlineData("http://[::1]:9000/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("https://0.0.0.0/hook")]
    [InlineData("http://224.0.0.1/hook")]
    [InlineData("http://[fe80::1]/hook")]
    public async Task a_receiver_on_this_machine_or_its_link_is_refused_naming_the_url_unless_its_host_is_allowed(string url)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        var body = await RefusalAsync(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url, eventKind = "*" }));
        Assert.Equal("webhook.url_internal", body.GetProperty("codes").GetProperty("url")[0].GetString());
        Assert.Contains("Webhooks:AllowedHosts", body.GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);

        // A subscription already made cannot be moved there either.
        var allowed = await JsonOf(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/hook", eventKind = "*" }));
        var id = allowed.GetProperty("subscription").GetProperty("id").GetInt64();
        Assert.Equal(["url"], await ErrorFields(await admin.PutAsJsonAsync($"/api/v1/webhooks/{id}", new { url, eventKind = "*" })));
        Assert.Equal("http://127.0.0.1:9/hook", (await JsonOf(await admin.GetAsync($"/api/v1/webhooks/{id}"))).GetProperty("url").GetString());
    }

    [Fact]
    public async Task the_databases_own_host_and_port_are_refused_even_when_the_host_is_allowed_and_in_traditional_chinese_too()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        var database = new NpgsqlConnectionStringBuilder(host.Data.ConnectionString);

        foreach (var url in new[] { $"http://{database.Host}:{database.Port}/", $"https://localhost:{database.Port}/x" })
        {
            var refused = await RefusalAsync(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url, eventKind = "*" }));
            Assert.Equal("webhook.url_database", refused.GetProperty("codes").GetProperty("url")[0].GetString());
        }

        using var zh = new HttpRequestMessage(HttpMethod.Post, "/api/v1/webhooks")
        {
            Content = JsonContent.Create(new { url = $"http://{database.Host}:{database.Port}/", eventKind = "*" }),
        };
        zh.Headers.AcceptLanguage.ParseAdd("zh-TW");
        var chinese = await RefusalAsync(await admin.SendAsync(zh));
        Assert.Contains("資料庫", chinese.GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("webhook.url_database", chinese.GetProperty("codes").GetProperty("url")[0].GetString());
    }

    [Fact]
    public async Task other_roles_may_not_see_or_manage_webhooks_and_anonymous_callers_are_asked_to_sign_in()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        foreach (var role in new[] { Role.Manager, Role.Technician, Role.Requester, Role.Executive })
        {
            var client = await host.SignedInAsync(org[role]);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/webhooks")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://x.example.test", eventKind = "*" })).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/webhooks/1/deliveries")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous().GetAsync("/api/v1/webhooks")).StatusCode);
    }

    [Fact]
    public async Task a_work_order_created_while_the_receiver_is_down_is_stored_and_its_delivery_shows_each_attempt_and_can_be_sent_again()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        var hook = await JsonOf(await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = DeadUrl(), eventKind = "created" }));
        var id = hook.GetProperty("subscription").GetProperty("id").GetInt64();

        var requester = await host.SignedInAsync(org[Role.Requester]);
        var response = await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = "Pump leaks", description = "Oil.", priority = 2, assetId = org.MachineId, customFields = new { fault_code = "leak" },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var number = (await JsonOf(response)).GetProperty("number").GetString();

        // The app's own dispatcher is woken by the new outbox row and tries at once.
        var delivery = await WaitForAttemptsAsync(admin, id, 1);
        Assert.Equal(number, delivery.GetProperty("workOrderNumber").GetString());
        Assert.Equal("pending", delivery.GetProperty("status").GetString());
        var attempt = delivery.GetProperty("attemptLog")[0];
        Assert.Equal(JsonValueKind.Null, attempt.GetProperty("statusCode").ValueKind);
        Assert.Contains("refused", attempt.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);

        var again = await admin.PostAsync($"/api/v1/webhooks/{id}/deliveries/{delivery.GetProperty("id").GetInt64()}/redeliver", null);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        await WaitForAttemptsAsync(admin, id, 2);

        Assert.Equal(["status"], await ErrorFields(await admin.GetAsync($"/api/v1/webhooks/{id}/deliveries?status=lost")));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/api/v1/webhooks/{id}/deliveries/999999999/redeliver", null)).StatusCode);
    }

    private static async Task<JsonElement> WaitForAttemptsAsync(HttpClient admin, long subscriptionId, int attempts)
    {
        var deliveries = await Eventually.Until(
            async () => await JsonOf(await admin.GetAsync($"/api/v1/webhooks/{subscriptionId}/deliveries")),
            listed => listed.GetArrayLength() == 1 && listed[0].GetProperty("attemptLog").GetArrayLength() >= attempts,
            $"one delivery with {attempts} attempt(s) in the list",
            TimeSpan.FromSeconds(20));
        return deliveries[0];
    }
}
