using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// 50 clients of five users in four roles doing 40 conflicting operations each on 20 shared work orders: nothing
/// acknowledged is lost or stored twice, nothing refused is stored, and every refusal is a 409 or a 422.
/// The long run (50 x 1,000) is the <c>conflicting-edits</c> bench command of tests/Benchmarks.
/// </summary>
public sealed class ConcurrentEditTests(ApiHost host) : IClassFixture<ApiHost>
{
    [Fact]
    public async Task fifty_clients_editing_twenty_work_orders_at_once_lose_and_duplicate_nothing_and_are_refused_only_with_409_or_422()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var users = new (Actor User, bool Manages)[]
        {
            (org[Role.Admin], true), (org[Role.Manager], true), (org[Role.Technician], false), (org.OtherTechnician, false), (org[Role.Requester], false),
        };
        var tokens = new List<EditClient>();
        foreach (var (user, manages) in users)
        {
            using var signedIn = await host.SignedInAsync(user);
            for (var i = 0; i < 10; i++)
            {
                var client = host.Anonymous();
                client.DefaultRequestHeaders.Authorization = signedIn.DefaultRequestHeaders.Authorization;
                tokens.Add(new EditClient(client, manages));
            }
        }

        using var requester = await host.SignedInAsync(org[Role.Requester]);
        var workOrders = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            var created = await requester.PostAsJsonAsync("/api/v1/work-orders", new
            {
                templateId = org.TemplateId, title = $"Shared {i}", description = "Edited by everyone at once.", assetId = org.MachineId, customFields = new { fault_code = "leak" },
            });
            created.EnsureSuccessStatusCode();
            workOrders.Add((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        }

        var run = await ConflictingEdits.RunAsync(host.Data, tokens, workOrders, [org[Role.Technician].UserId, org.OtherTechnician.UserId], 40, $"ce{org.Suffix}", CancellationToken.None);
        Console.WriteLine("conflicting edits, 50 clients x 40: " + run.Describe());

        Assert.Equal(2_000, run.Operations);
        Assert.True(run.Problems.Count == 0, string.Join('\n', run.Problems.Take(50)));
        Assert.Equal(0, run.Count(s => s >= 500));
        Assert.True(run.Count(s => s == 409) > 0, "no conflict happened: the run did not test what it is for");
        foreach (var client in tokens)
        {
            client.Http.Dispose();
        }
    }
}
