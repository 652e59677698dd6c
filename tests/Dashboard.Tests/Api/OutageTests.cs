using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The app reaches PostgreSQL through a relay the test can cut: an outage as the API and a balancer see it.</summary>
public sealed class OutageHost : ApiHost
{
    private TcpRelay? _relay;

    public TcpRelay Relay => _relay ?? throw new InvalidOperationException("The relay starts with the host.");

    protected override IEnumerable<(string Key, string Value)> Settings(string folder)
    {
        var server = new NpgsqlConnectionStringBuilder(Data.ConnectionString);
        _relay = new TcpRelay(server.Host!, server.Port);
        var relayed = new NpgsqlConnectionStringBuilder(Data.ConnectionString) { Host = "127.0.0.1", Port = _relay.Port, Timeout = 2 };
        yield return ("ConnectionStrings:WorkOrders", relayed.ConnectionString);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }
    }
}

public sealed class OutageTests(OutageHost host) : IClassFixture<OutageHost>
{
    [Fact]
    public async Task while_postgresql_is_unreachable_the_api_answers_503_with_retry_after_and_readiness_fails_then_both_recover()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Manager]);
        using var anonymous = host.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz/ready")).StatusCode);

        host.Relay.Cut();
        var list = await client.GetAsync("/api/v1/work-orders");
        var login = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { userName = org[Role.Requester].UserName, password = TestOrg.Password });
        var live = await anonymous.GetAsync("/healthz");
        var ready = await anonymous.GetAsync("/healthz/ready");
        host.Relay.Restore();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, list.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), list.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", list.Content.Headers.ContentType?.MediaType);
        Assert.Equal("status.database_unavailable", (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, login.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);

        var back = Stopwatch.StartNew();
        while ((await client.GetAsync("/api/v1/work-orders")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(5), "the API did not recover within 5 s of the database coming back");
            await Task.Delay(100);
        }

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz/ready")).StatusCode);
    }

    [Fact]
    public async Task a_read_rides_through_a_connection_drop_shorter_than_a_second()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Manager]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/work-orders")).StatusCode);

        // Every pooled connection is reset and new ones are refused for 400 ms; the read is sent in the middle of it.
        host.Relay.Cut();
        var read = client.GetAsync("/api/v1/work-orders");
        await Task.Delay(400);
        host.Relay.Restore();

        var answer = await read;
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task every_answer_carries_the_security_headers()
    {
        using var anonymous = host.Anonymous();

        foreach (var path in new[] { "/login", "/api/v1/me", "/healthz" })
        {
            var response = await anonymous.GetAsync(path);
            var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'self'", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("strict-origin-when-cross-origin", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
            Assert.Contains("microphone=()", Assert.Single(response.Headers.GetValues("Permissions-Policy")), StringComparison.Ordinal);
        }
    }
}
