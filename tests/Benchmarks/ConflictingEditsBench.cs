using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using WorkOrders.Ingest;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Benchmarks;

/// <summary>
/// The long run of the conflicting-edits test against a running dashboard: a fresh organisation made in its database
/// (five users in four roles), 20 shared work orders made through the API, then 50 clients x 1,000 operations of
/// comments, attachments, transitions, reassignments and reads. Prints the answers by status and every change that
/// was lost, stored twice or stored although refused; exits 1 when there is one, or a 5xx.
/// </summary>
public static class ConflictingEditsBench
{
    public const string Name = "conflicting-edits";

    public static Command Verb()
    {
        var url = new Option<string>("--url") { Description = "the running dashboard", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var database = new Option<string>("--database") { Description = "a connection string of its database (the organisation is made there, the results checked there)", Required = true };
        var clients = Cli.Whole("--clients", "concurrent clients", 50, 1, 500);
        var operations = Cli.Whole("--operations", "operations per client", 1_000, 1, 1_000_000);
        var command = new Command(Name, "50 clients x 1,000 conflicting edits of 20 shared work orders through the API of a running dashboard; counts 2xx/409/422/5xx and lost or duplicated changes")
        {
            url, database, clients, operations,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            parsed.GetRequiredValue(url), parsed.GetRequiredValue(database), parsed.GetValue(clients), parsed.GetValue(operations), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string url, string database, int clientCount, int operations, CancellationToken cancellationToken)
    {
        await using var data = NpgsqlDataSource.Create(database);
        var org = await TestOrg.CreateAsync(data);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clientCount };
        (Actor User, bool Manages)[] users =
            [(org[Role.Admin], true), (org[Role.Manager], true), (org[Role.Technician], false), (org.OtherTechnician, false), (org[Role.Requester], false)];
        var tokens = new Dictionary<long, AuthenticationHeaderValue>();
        foreach (var (user, _) in users)
        {
            using var anonymous = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri(url) };
            var login = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { userName = user.UserName, password = TestOrg.Password }, cancellationToken);
            login.EnsureSuccessStatusCode();
            tokens[user.UserId] = new AuthenticationHeaderValue("Bearer", (await login.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accessToken").GetString());
        }

        var clients = Enumerable.Range(0, clientCount).Select(i =>
        {
            var (user, manages) = users[i % users.Length];
            var client = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
            client.DefaultRequestHeaders.Authorization = tokens[user.UserId];
            return new EditClient(client, manages);
        }).ToList();

        var workOrders = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            var created = await clients[4].Http.PostAsJsonAsync("/api/v1/work-orders", new
            {
                templateId = org.TemplateId, title = $"Shared {i}", description = "Edited by everyone at once.", assetId = org.MachineId, customFields = new { fault_code = "leak" },
            }, cancellationToken);
            created.EnsureSuccessStatusCode();
            workOrders.Add((await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetInt64());
        }

        var run = await ConflictingEdits.RunAsync(data, clients, workOrders, [org[Role.Technician].UserId, org.OtherTechnician.UserId], operations, $"ce{org.Suffix}", cancellationToken);
        Console.WriteLine($"conflicting edits, {clientCount} clients x {operations:N0} on 20 work orders: {run.Describe()}");
        foreach (var (status, count) in run.Statuses.OrderBy(s => s.Key))
        {
            Console.WriteLine($"  {status}: {count:N0}");
        }

        foreach (var problem in run.Problems.Take(50))
        {
            Console.WriteLine("  " + problem);
        }

        foreach (var client in clients)
        {
            client.Http.Dispose();
        }

        return run.Problems.Count == 0 && run.Count(s => s >= 500) == 0 ? 0 : 1;
    }
}
