using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The real app in-process over a fresh PostgreSQL database, with a clock the tests move.</summary>
public class ApiHost : IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-api-").FullName;
    private WebApplicationFactory<Program> _factory = null!;

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public Npgsql.NpgsqlDataSource Data => _database.DataSource;

    public virtual async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:WorkOrders", _database.ConnectionString);
            builder.UseSetting("Ticketing:MaxAttachmentBytes", "2048");
            builder.UseSetting("Warehouse:Path", Path.Combine(_folder, "warehouse.duckdb"));
            builder.UseSetting("Ingest:RunOnStart", "false");
            builder.UseSetting("ForecastJob:RunOnStart", "false");
            foreach (var (key, value) in Settings(_folder))
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureTestServices(services =>
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton<TimeProvider>(Clock);
                ConfigureServices(services);
            });
        });
        _ = _factory.Server;
    }

    /// <summary>A handler that sends requests to this app, for another app in the test that calls it.</summary>
    public HttpMessageHandler Handler() => _factory.Server.CreateHandler();

    /// <summary>The running app's services.</summary>
    public IServiceProvider Services => _factory.Services;

    /// <summary>Services a host for one feature's tests replaces or adds after the app's own.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>Settings a host for one feature's tests adds to the ones above.</summary>
    protected virtual IEnumerable<(string Key, string Value)> Settings(string folder) => [];

    public virtual async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _database.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    public HttpClient Anonymous() => _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    /// <summary>A GET without a user, as a browser fetches a file: the encodings it accepts and the ETag it holds.</summary>
    public async Task<HttpResponseMessage> GetAsync(string path, string? acceptEncoding = null, EntityTagHeaderValue? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        if (ifNoneMatch is not null)
        {
            request.Headers.IfNoneMatch.Add(ifNoneMatch);
        }

        return await Anonymous().SendAsync(request);
    }

    /// <summary>A client that keeps no cookies: it sends only the ones a test puts in its headers.</summary>
    public HttpClient WithoutCookies() => _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    public async Task<HttpClient> SignedInAsync(Actor user)
    {
        var client = Anonymous();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = user.UserName, password = TestOrg.Password });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>One work order from request to the requester's approval (rated 4), under a fault code: what the create answered.</summary>
    public async Task<JsonElement> ClosedWorkOrderAsync(TestOrg org, string faultCode)
    {
        var requester = await SignedInAsync(org[Role.Requester]);
        var manager = await SignedInAsync(org[Role.Manager]);
        var technician = await SignedInAsync(org[Role.Technician]);
        var created = await (await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = "Leak", description = "Oil", assetId = org.MachineId, customFields = new { fault_code = faultCode },
        })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetInt64();
        async Task Step(HttpClient client, object body) =>
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync($"/api/v1/work-orders/{id}/transitions", body)).StatusCode);
        await Step(manager, new { action = "assign", assigneeId = org[Role.Technician].UserId, rowVersion = 1 });
        await Step(technician, new { action = "start", rowVersion = 2 });
        await Step(technician, new { action = "resolve", rowVersion = 3 });
        await Step(requester, new { action = "approve", rating = 4, rowVersion = 4 });
        return created;
    }
}
