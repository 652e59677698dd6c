using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ingest.Tests.Warehouse;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Tests.Delivery;

namespace WorkOrders.EndToEnd.Tests.Faults;

/// <summary>
/// What the fault tests set up alike around the app processes they start: a webhook receiver and an SMTP server, an
/// organisation with archived history (made before the webhook subscription, so that it owes no deliveries), e-mail
/// addresses for its users, a webhook subscription to every event, and the settings that point an app at all of it.
/// </summary>
public sealed class FaultRig : IAsyncDisposable
{
    private FaultRig(TestReceiver receiver, TestSmtpServer smtp, TestOrg org)
    {
        Receiver = receiver;
        Smtp = smtp;
        Org = org;
    }

    public TestReceiver Receiver { get; }

    public TestSmtpServer Smtp { get; }

    public TestOrg Org { get; }

    public static async Task<FaultRig> StartAsync(NpgsqlDataSource data, int archivedWorkOrders, string archiveTag, string webhookSecret)
    {
        var receiver = await TestReceiver.StartAsync();
        var smtp = TestSmtpServer.Start();
        var org = await TestOrg.CreateAsync(data);
        await WarehouseFixture.AddArchivedAsync(data, org, archivedWorkOrders, $"{org.Suffix}{archiveTag}");
        await using (var connection = await data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE users SET email = user_name || '@plant.test' WHERE user_name LIKE '%' || @Suffix", new { org.Suffix });
            await connection.ExecuteAsync(
                "INSERT INTO webhook_subscriptions (url, event_kind, secret, created_at) VALUES (@url, '*', @webhookSecret, now())",
                new { url = receiver.Url.ToString(), webhookSecret });
        }

        return new FaultRig(receiver, smtp, org);
    }

    /// <summary>An app's settings for the database, the receiver and the SMTP server; a test adds its own to them.</summary>
    public Dictionary<string, string> Settings(string connectionString) => new()
    {
        ["ConnectionStrings:WorkOrders"] = connectionString,
        ["ForecastJob:RunOnStart"] = "false",
        ["Webhooks:PollInterval"] = "00:00:01",
        // Loopback receivers are allowed by name, for when webhook URLs to loopback need an administrator's list.
        ["Webhooks:AllowedHosts"] = "127.0.0.1",
        ["Webhooks:AllowedHosts:0"] = "127.0.0.1",
        ["Email:Host"] = "127.0.0.1",
        ["Email:Port"] = Smtp.Port.ToString(CultureInfo.InvariantCulture),
        ["Email:Tls"] = "None",
        ["Email:From"] = "WorkOrders <workorders@plant.test>",
        ["Email:PollInterval"] = "00:00:01",
    };

    /// <summary>A client of the app signed in with a bearer token as the user.</summary>
    public static async Task<HttpClient> SignInAsync(DashboardProcess app, string userName, TimeSpan timeout)
    {
        var client = new HttpClient { BaseAddress = app.BaseAddress, Timeout = timeout };
        using var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName, password = TestOrg.Password });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>Waits until every webhook delivery is delivered and every e-mail sent.</summary>
    public static Task OutboxesDrainedAsync(NpgsqlConnection connection, TimeSpan within) =>
        Eventually.Until(
            () => connection.ExecuteScalarAsync<long>(
                "SELECT (SELECT count(*) FROM webhook_outbox WHERE status <> 'delivered') + (SELECT count(*) FROM email_outbox WHERE status <> 'sent')"),
            left => left == 0,
            "the webhook and e-mail outboxes to be empty",
            within,
            TimeSpan.FromMilliseconds(200));

    public async ValueTask DisposeAsync()
    {
        await Receiver.DisposeAsync();
        await Smtp.DisposeAsync();
    }
}
