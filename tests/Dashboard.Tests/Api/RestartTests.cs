using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// The app on a PostgreSQL cluster of its own (scripts/lib.sh's pg_up in a temp folder, on a free port), so the test
/// can restart it without touching the cluster every other test shares.
/// </summary>
public sealed class PrivateClusterHost : ApiHost
{
    private readonly string _cluster = Path.Combine(Path.GetTempPath(), $"workorders-pg-{Guid.NewGuid():N}");
    private readonly int _port = FreePort();

    public NpgsqlDataSource PrivateData { get; private set; } = null!;

    public string ConnectionString => $"Host=127.0.0.1;Port={_port};Username=postgres;Database=workorders;Timeout=2";

    public override async Task InitializeAsync()
    {
        await ShellAsync($"pg_up {_cluster} {_port} fsync=off max_connections=100");
        await using (var server = new NpgsqlConnection($"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres"))
        {
            await server.OpenAsync();
            await server.ExecuteAsync("CREATE DATABASE workorders");
        }

        PrivateData = NpgsqlDataSource.Create(ConnectionString);
        await new Migrator(PrivateData, NullLogger<Migrator>.Instance).ApplyAsync(CancellationToken.None);
        await base.InitializeAsync();
    }

    protected override IEnumerable<(string Key, string Value)> Settings(string folder) => [("ConnectionStrings:WorkOrders", ConnectionString)];

    /// <summary><c>pg_ctl restart -m fast</c>: returns when the restarted server accepts connections again.</summary>
    public Task RestartAsync() => ShellAsync($"as_pg \"$(pg_bin)/pg_ctl\" -D {_cluster} -m fast -w -t 60 restart >/dev/null");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await PrivateData.DisposeAsync();
        await ShellAsync($"pg_down {_cluster}");
        Directory.Delete(_cluster, recursive: true);
    }

    private static async Task ShellAsync(string command)
    {
        var lib = Path.Combine(RepositoryRoot(), "scripts", "lib.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", $"source '{lib}' && {command}"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{command}' failed: {error}");
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "scripts", "lib.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("scripts/lib.sh not found above " + AppContext.BaseDirectory);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class RestartTests(PrivateClusterHost host) : IClassFixture<PrivateClusterHost>
{
    [Fact]
    public async Task postgresql_restarted_under_ten_clients_gives_only_503s_while_down_recovers_within_5_s_and_loses_no_acknowledged_create()
    {
        var org = await TestOrg.CreateAsync(host.PrivateData);
        var clients = new List<HttpClient>();
        for (var i = 0; i < 10; i++)
        {
            clients.Add(await host.SignedInAsync(org[i % 2 == 0 ? Role.Requester : Role.Manager]));
        }

        var clock = Stopwatch.StartNew();
        var answers = new ConcurrentBag<(TimeSpan At, int Status, bool RetryAfter, string? Type)>();
        var created = new ConcurrentBag<long>();
        TimeSpan? restartBegan = null, accepting = null;
        using var stop = new CancellationTokenSource();
        var load = clients.Select((client, c) => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                using var response = i % 2 == 0
                    ? await client.PostAsJsonAsync("/api/v1/work-orders", new
                    {
                        templateId = org.TemplateId, title = $"Restart {c}-{i}", description = "Made while PostgreSQL restarts.", assetId = org.MachineId, customFields = new { fault_code = "leak" },
                    })
                    : await client.GetAsync("/api/v1/work-orders?take=5");
                answers.Add((clock.Elapsed, (int)response.StatusCode, response.Headers.RetryAfter is not null, response.Content.Headers.ContentType?.MediaType));
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    created.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
                }
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        restartBegan = clock.Elapsed;
        await host.RestartAsync();
        accepting = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(7));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var after = answers.Where(a => a.At > accepting).OrderBy(a => a.At).ToList();
        var recovered = after.FirstOrDefault(a => a.Status is >= 200 and < 300);
        var recovery = recovered.Status == 0 ? (TimeSpan?)null : recovered.At - accepting.Value;
        var lastOutage = answers.Where(a => a.Status == 503).Select(a => a.At).DefaultIfEmpty().Max();
        Console.WriteLine(
            $"restart: PostgreSQL down for {(accepting - restartBegan)!.Value.TotalSeconds:F2} s (pg_ctl restart -m fast until it accepts connections); " +
            $"first success {recovery?.TotalSeconds:F2} s after; last 503 {(lastOutage - accepting.Value).TotalSeconds:F2} s after; " +
            $"201 {answers.Count(a => a.Status == 201)}, 200 {answers.Count(a => a.Status == 200)}, 503 {answers.Count(a => a.Status == 503)}, " +
            $"other {answers.Count(a => a.Status is not (200 or 201 or 503))}");

        Assert.Empty(answers.Where(a => a.Status is not (200 or 201 or 503)).Select(a => a.Status));
        Assert.All(answers.Where(a => a.Status == 503), a => Assert.True(a.RetryAfter && a.Type == "application/problem+json", "a 503 without Retry-After or problem body"));
        Assert.True(recovery is not null && recovery < TimeSpan.FromSeconds(5), $"no success within 5 s of PostgreSQL accepting connections (first after {recovery})");
        Assert.True(lastOutage < accepting.Value + TimeSpan.FromSeconds(5), "503s went on for more than 5 s after PostgreSQL was back");
        Assert.All(answers.Where(a => a.Status == 503), a => Assert.True(a.At > restartBegan, "a 503 before the restart began"));

        // A new connection: the pooled ones of the test's own data source died with the restart.
        await using var connection = new NpgsqlConnection(host.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        var stored = (await connection.QueryAsync<long>("SELECT id FROM work_orders WHERE id = ANY(@ids)", new { ids = created.ToArray() })).ToHashSet();
        Assert.DoesNotContain(created, id => !stored.Contains(id));
        Assert.True(created.Count > 10, $"only {created.Count} creates were acknowledged");
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
