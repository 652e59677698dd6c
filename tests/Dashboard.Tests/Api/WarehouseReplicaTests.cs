using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The owner of the warehouse, which hands its snapshot to readers holding the token.</summary>
public sealed class WarehouseOwnerHost : ApiHost
{
    public const string Token = "a-shared-secret-of-the-two-dashboards";

    protected override IEnumerable<(string Key, string Value)> Settings(string folder) => [("Warehouse:SnapshotToken", Token)];
}

/// <summary>
/// A second dashboard (as on another machine) on the same PostgreSQL, with Warehouse:Role = reader: it takes the
/// owner's snapshot over HTTP into files of its own and answers the analytics from them.
/// </summary>
public class WarehouseReplicaTests(WarehouseOwnerHost owner) : IClassFixture<WarehouseOwnerHost>, IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-reader-").FullName;
    private WebApplicationFactory<Program> _reader = null!;

    public Task InitializeAsync()
    {
        _reader = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:WorkOrders", owner.Data.ConnectionString);
            builder.UseSetting("Warehouse:Path", Path.Combine(_folder, "warehouse.duckdb"));
            builder.UseSetting("Warehouse:Role", "reader");
            builder.UseSetting("Warehouse:Source", "http://owner.test:5080");
            builder.UseSetting("Warehouse:SnapshotToken", WarehouseOwnerHost.Token);
            builder.UseSetting("Ingest:RunOnStart", "false");
            builder.UseSetting("ForecastJob:RunOnStart", "false");
            builder.ConfigureTestServices(services =>
                services.AddHttpClient(WarehouseReplica.HttpClientName).ConfigurePrimaryHttpMessageHandler(owner.Handler));
        });
        _ = _reader.Server;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _reader.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<HttpClient> SignedInAtReaderAsync(Actor user)
    {
        var client = _reader.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = user.UserName, password = TestOrg.Password });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<JsonElement> RunAsync(HttpClient admin)
    {
        var response = await admin.PostAsync("/api/v1/ingest/runs?wait=true", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string[] Questions(TestOrg org, DateOnly today)
    {
        var period = $"from={today.AddDays(-7):yyyy-MM-dd}&to={today.AddDays(1):yyyy-MM-dd}";
        var filtered = $"{period}&departmentId={org.DepartmentId}";
        return
        [
            $"/api/v1/analytics/kpis?{period}", $"/api/v1/analytics/kpis?{filtered}", $"/api/v1/analytics/kpis/monthly?{filtered}",
            $"/api/v1/analytics/mtbf?{filtered}", $"/api/v1/analytics/reliability/pareto?{filtered}",
            $"/api/v1/analytics/reliability/heatmap?{filtered}&rows=asset_type&measure=count&bucket=week",
            $"/api/v1/analytics/reliability/repeat-failures?{filtered}", $"/api/v1/analytics/staff?{filtered}",
            $"/api/v1/analytics/work-orders?{filtered}&kpi=volume&take=50",
        ];
    }

    private static async Task<List<string>> AnswersAsync(HttpClient client, IEnumerable<string> questions)
    {
        var answers = new List<string>();
        foreach (var question in questions)
        {
            var response = await client.GetAsync(question);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{question}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            answers.Add(question + " " + await response.Content.ReadAsStringAsync());
        }

        return answers;
    }

    [Fact]
    public async Task a_reader_dashboard_answers_as_the_owner_after_each_snapshot_and_no_question_fails_while_it_swaps()
    {
        var org = await TestOrg.CreateAsync(owner.Data);
        var today = DateOnly.FromDateTime(owner.Clock.GetUtcNow().UtcDateTime);
        var questions = Questions(org, today);
        var ownerAdmin = await owner.SignedInAsync(org[Role.Admin]);
        var ownerExecutive = await owner.SignedInAsync(org[Role.Executive]);
        var readerAdmin = await SignedInAtReaderAsync(org[Role.Admin]);
        var readerExecutive = await SignedInAtReaderAsync(org[Role.Executive]);

        await owner.ClosedWorkOrderAsync(org, "leak");
        await owner.ClosedWorkOrderAsync(org, "bearing");
        await RunAsync(ownerAdmin);
        var first = await RunAsync(readerAdmin);
        Assert.Equal("reader", first.GetProperty("role").GetString(), ignoreCase: true);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("lastError").ValueKind);
        var firstFile = first.GetProperty("replica").GetProperty("file").GetString()!;
        Assert.StartsWith(_folder, firstFile, StringComparison.Ordinal);
        var ownerAnswers = await AnswersAsync(ownerExecutive, questions);
        Assert.Equal(ownerAnswers, await AnswersAsync(readerExecutive, questions));

        // The snapshot is unchanged: the reader keeps its file (the owner answers 304).
        var again = await RunAsync(readerAdmin);
        Assert.Equal(firstFile, again.GetProperty("replica").GetProperty("file").GetString());

        // New work, a new ingest at the owner; the reader swaps while questions run against it, none failing.
        await owner.ClosedWorkOrderAsync(org, "leak");
        await RunAsync(ownerAdmin);
        var ownerAfter = await AnswersAsync(ownerExecutive, questions);
        Assert.NotEqual(ownerAnswers, ownerAfter);
        using var stop = new CancellationTokenSource();
        var askers = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            var asked = 0;
            while (!stop.IsCancellationRequested || asked == 0)
            {
                var question = questions[(asked + i) % questions.Length];
                var response = await readerExecutive.GetAsync(question);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{question} during the swap: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                asked++;
            }

            return asked;
        })).ToList();
        await Task.Delay(200);
        var swapped = await RunAsync(readerAdmin);
        await Task.Delay(200);
        await stop.CancelAsync();
        Assert.All(await Task.WhenAll(askers), asked => Assert.True(asked > 0));
        Assert.Equal(JsonValueKind.Null, swapped.GetProperty("lastError").ValueKind);
        var secondFile = swapped.GetProperty("replica").GetProperty("file").GetString()!;
        Assert.NotEqual(firstFile, secondFile);
        Assert.True(Directory.GetFiles(_folder, "*.replica-*.duckdb").Length <= 2, "the replicas before the last two are removed");

        // The reader forgot what it kept from the last file: its answers are the owner's new ones.
        Assert.Equal(ownerAfter, await AnswersAsync(readerExecutive, questions));
    }

    [Fact]
    public async Task a_reader_leaves_training_to_the_owner_and_says_so()
    {
        var org = await TestOrg.CreateAsync(owner.Data);
        var readerPlanner = await SignedInAtReaderAsync(org[Role.Planner]);

        var refused = await readerPlanner.PostAsync("/api/v1/forecasts/training-runs", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("warehouse reader", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var status = await readerPlanner.GetFromJsonAsync<JsonElement>("/api/v1/forecasts/training-runs/status");
        Assert.Equal((JsonValueKind.False, JsonValueKind.Null), (status.GetProperty("running").ValueKind, status.GetProperty("lastStartedAt").ValueKind));
    }

    [Fact]
    public async Task the_snapshot_goes_only_to_an_administrator_or_a_holder_of_the_token_and_a_held_one_is_not_sent_again()
    {
        var org = await TestOrg.CreateAsync(owner.Data);
        await RunAsync(await owner.SignedInAsync(org[Role.Admin]));

        using var anonymous = owner.WithoutCookies();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/warehouse/snapshot")).StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/v1/warehouse/snapshot"))
        {
            wrong.Headers.Add(WarehouseReplica.TokenHeader, WarehouseOwnerHost.Token + "x");
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(wrong)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await (await owner.SignedInAsync(org[Role.Executive])).GetAsync("/api/v1/warehouse/snapshot")).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/warehouse/snapshot");
        request.Headers.Add(WarehouseReplica.TokenHeader, WarehouseOwnerHost.Token);
        var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(response.Headers.ETag);
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 0);

        using var held = new HttpRequestMessage(HttpMethod.Get, "/api/v1/warehouse/snapshot");
        held.Headers.Add(WarehouseReplica.TokenHeader, WarehouseOwnerHost.Token);
        held.Headers.IfNoneMatch.Add(response.Headers.ETag);
        Assert.Equal(HttpStatusCode.NotModified, (await anonymous.SendAsync(held)).StatusCode);

        var admin = await owner.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/warehouse/snapshot")).StatusCode);
    }
}
