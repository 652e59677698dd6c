using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;
using WorkOrders.Ingest;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Benchmarks;

/// <summary>
/// What the per-request security-stamp check costs: the same authenticated GET (the department list) over real HTTP
/// on loopback, against two copies of the API on one database in this process, one checking the stamp on every
/// request (as shipped) and one whose check answers "current" without reading PostgreSQL. Calls alternate between the
/// two in blocks, so both see the same machine load; prints mean, p50, p95 and p99 of each.
/// </summary>
public static class SessionStampTimings
{
    public const string Name = "session-stamp";

    public static Command Verb()
    {
        var calls = Cli.Whole("--calls", "timed calls to each copy", 4000, 100, 1_000_000);
        var command = new Command(Name, "p95 of an authenticated API GET with and without the per-request security-stamp check (needs WORKORDERS_BENCH_PG)") { calls };
        command.SetRun((parsed, _) => RunAsync(parsed.GetValue(calls)));
        return command;
    }

    private static async Task<int> RunAsync(int calls)
    {
        await using var database = await BenchmarkDatabase.CreateAsync("stamp");
        var connectionString = database.Data.ConnectionString;
        var password = "bench-password";
        await using (var users = await StartAsync(connectionString, check: true))
        {
            var created = await users.Services.GetRequiredService<Users>().CreateAsync(
                new CreateUserRequest("bench-reader", "Bench reader", password, Roles.Admin), null, CancellationToken.None);
            if (created.Failure is { } failure)
            {
                throw new InvalidOperationException(failure.Message);
            }
        }

        await using var checking = await StartAsync(connectionString, check: true);
        await using var unchecked_ = await StartAsync(connectionString, check: false);
        using var withCheck = await SignedInAsync(checking, password);
        using var withoutCheck = await SignedInAsync(unchecked_, password);

        // Warm-up: JIT, connection pools, plan caches.
        for (var i = 0; i < 300; i++)
        {
            await CallAsync(withCheck);
            await CallAsync(withoutCheck);
        }

        var timesWith = new List<double>(calls);
        var timesWithout = new List<double>(calls);
        const int block = 50;
        while (timesWith.Count < calls)
        {
            for (var i = 0; i < block && timesWith.Count < calls; i++)
            {
                timesWith.Add(await CallAsync(withCheck));
            }

            for (var i = 0; i < block && timesWithout.Count < calls; i++)
            {
                timesWithout.Add(await CallAsync(withoutCheck));
            }
        }

        Console.WriteLine($"GET /api/v1/departments with a bearer token, {calls} calls each, alternating in blocks of {block}, one client at a time");
        Console.WriteLine($"{"",-22} {"mean ms",9} {"p50 ms",9} {"p95 ms",9} {"p99 ms",9}");
        Print("stamp checked", timesWith);
        Print("no stamp check", timesWithout);
        return 0;
    }

    private static void Print(string name, List<double> times)
    {
        times.Sort();
        Console.WriteLine($"{name,-22} {times.Average(),9:N3} {Percentile(times, 0.50),9:N3} {Percentile(times, 0.95),9:N3} {Percentile(times, 0.99),9:N3}");
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task<double> CallAsync(HttpClient client)
    {
        var clock = Stopwatch.StartNew();
        using var response = await client.GetAsync("/api/v1/departments");
        await response.Content.ReadAsByteArrayAsync();
        var elapsed = clock.Elapsed.TotalMilliseconds;
        response.EnsureSuccessStatusCode();
        return elapsed;
    }

    private static async Task<HttpClient> SignedInAsync(WebApplication app, string password)
    {
        var address = app.Urls.First();
        var client = new HttpClient { BaseAddress = new Uri(address) };
        var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = "bench-reader", password });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>The work-order API on a free loopback port, as the dashboard composes it (without the pages).</summary>
    private static async Task<WebApplication> StartAsync(string connectionString, bool check)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration["ConnectionStrings:" + TicketingExtensions.ConnectionName] = connectionString;
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddTicketing();
        if (!check)
        {
            builder.Services.RemoveAll<SessionStamps>();
            builder.Services.AddSingleton<SessionStamps, AlwaysCurrent>();
        }

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapTicketingApi();
        await app.StartAsync();
        return app;
    }

    /// <summary>The peer: a check that never reads PostgreSQL.</summary>
    private sealed class AlwaysCurrent(NpgsqlDataSource dataSource) : SessionStamps(dataSource)
    {
        public override Task<bool> IsCurrentAsync(ClaimsPrincipal principal, CancellationToken cancellationToken) => Task.FromResult(true);
    }
}
