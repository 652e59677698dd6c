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
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ingest;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Benchmarks;

/// <summary>
/// What the per-request security-stamp check costs: the same authenticated GET (the department list) over real HTTP
/// on loopback, against three copies of the API on one database in this process: one checking the stamp as shipped
/// (remembered in memory, forgotten on notification), one reading it from PostgreSQL on every request (the memory
/// turned off), and the peer, whose check answers "current" without either. Calls alternate between the copies in
/// blocks, so all see the same machine load; prints mean, p50, p95 and p99 of each, and each as a ratio of the peer's.
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
        await using (var users = await StartAsync(connectionString, Check.Remembered))
        {
            var created = await users.Services.GetRequiredService<Users>().CreateAsync(
                new CreateUserRequest("bench-reader", "Bench reader", password, Roles.Admin), null, CancellationToken.None);
            if (created.Failure is { } failure)
            {
                throw new InvalidOperationException(failure.Message);
            }
        }

        var copies = new (string Name, Check Check)[]
        {
            ("stamp remembered", Check.Remembered),
            ("stamp read each call", Check.ReadEachCall),
            ("no stamp check", Check.None),
        };
        var apps = new List<WebApplication>();
        var clients = new List<HttpClient>();
        try
        {
            foreach (var (_, check) in copies)
            {
                apps.Add(await StartAsync(connectionString, check));
                clients.Add(await SignedInAsync(apps[^1], password));
            }

            // Warm-up: JIT, connection pools, plan caches.
            for (var i = 0; i < 300; i++)
            {
                foreach (var client in clients)
                {
                    await CallAsync(client);
                }
            }

            var times = clients.Select(_ => new List<double>(calls)).ToList();
            const int block = 50;
            while (times[0].Count < calls)
            {
                for (var c = 0; c < clients.Count; c++)
                {
                    for (var i = 0; i < block && times[c].Count < calls; i++)
                    {
                        times[c].Add(await CallAsync(clients[c]));
                    }
                }
            }

            foreach (var list in times)
            {
                list.Sort();
            }

            var peer = Figures(times[^1]);
            Console.WriteLine($"GET /api/v1/departments with a bearer token, {calls} calls each, alternating in blocks of {block}, one client at a time");
            Console.WriteLine($"{"",-22} {"mean ms",9} {"p50 ms",9} {"p95 ms",9} {"p99 ms",9}   {"mean",6} {"p50",6} {"p95",6} {"p99",6} (x the peer)");
            for (var c = 0; c < copies.Length; c++)
            {
                var f = Figures(times[c]);
                Console.WriteLine(
                    $"{copies[c].Name,-22} {f[0],9:N3} {f[1],9:N3} {f[2],9:N3} {f[3],9:N3}   " +
                    $"{f[0] / peer[0],6:N3} {f[1] / peer[1],6:N3} {f[2] / peer[2],6:N3} {f[3] / peer[3],6:N3}");
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }
        }

        return 0;
    }

    private enum Check
    {
        Remembered,
        ReadEachCall,
        None,
    }

    private static double[] Figures(List<double> sorted) =>
        [sorted.Average(), Percentile(sorted, 0.50), Percentile(sorted, 0.95), Percentile(sorted, 0.99)];

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
    private static async Task<WebApplication> StartAsync(string connectionString, Check check)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration["ConnectionStrings:" + TicketingExtensions.ConnectionName] = connectionString;
        if (check == Check.ReadEachCall)
        {
            builder.Configuration[$"{TicketingOptions.Section}:{nameof(TicketingOptions.SessionStampLifetime)}"] = "00:00:00";
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddTicketing();
        if (check == Check.None)
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
    private sealed class AlwaysCurrent(NpgsqlDataSource dataSource, ChannelListener listener, TimeProvider clock, IOptions<TicketingOptions> options)
        : SessionStamps(dataSource, listener, clock, options)
    {
        public override Task<bool> IsCurrentAsync(ClaimsPrincipal principal, CancellationToken cancellationToken) => Task.FromResult(true);
    }
}
