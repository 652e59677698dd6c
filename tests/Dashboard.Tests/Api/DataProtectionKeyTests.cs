using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The key ring that protects cookies and tokens lives in PostgreSQL: a second instance on the database reads what the first issued.</summary>
public sealed class DataProtectionKeyTests(ApiHost host) : IClassFixture<ApiHost>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-second-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Another instance of the app on the same database, with its own folder and warehouse, as on another machine.</summary>
    private WebApplicationFactory<Program> SecondInstance() => new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
    {
        builder.UseSetting("ConnectionStrings:WorkOrders", host.Data.ConnectionString);
        builder.UseSetting("Warehouse:Path", Path.Combine(_folder, "warehouse.duckdb"));
        builder.UseSetting("Ingest:RunOnStart", "false");
        builder.UseSetting("ForecastJob:RunOnStart", "false");
    });

    [Fact]
    public async Task a_token_issued_by_one_instance_is_accepted_and_refreshed_by_another_that_shares_the_key_ring_in_postgresql()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var login = await host.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { userName = org[Role.Technician].UserName, password = TestOrg.Password });
        login.EnsureSuccessStatusCode();
        var tokens = await login.Content.ReadFromJsonAsync<JsonElement>();

        await using var second = SecondInstance();
        using var client = second.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.GetProperty("accessToken").GetString());
        var read = await client.GetAsync("/api/v1/departments");
        var refreshed = await second.CreateClient().PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = tokens.GetProperty("refreshToken").GetString() });

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        // Both instances read one ring, and it is the one in the database.
        await using var connection = await host.Data.OpenConnectionAsync();
        var stored = (await connection.QueryAsync<string>("SELECT friendly_name FROM data_protection_keys")).ToHashSet();
        foreach (var services in new[] { host.Services, second.Services })
        {
            Assert.IsType<DataProtectionKeys>(services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository);
            var keys = services.GetRequiredService<IKeyManager>().GetAllKeys();
            Assert.NotEmpty(keys);
            Assert.All(keys, k => Assert.Contains($"key-{k.KeyId:D}", stored));
        }
    }

    [Fact]
    public async Task a_token_whose_key_is_not_in_the_database_ring_is_refused()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[Role.Technician]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/departments")).StatusCode);
        await using var connection = await host.Data.OpenConnectionAsync();
        var keys = await connection.QueryAsync<(string, string)>("SELECT friendly_name, xml FROM data_protection_keys");

        // The same token against an instance whose database ring is empty: it cannot be read there.
        await connection.ExecuteAsync("DELETE FROM data_protection_keys");
        try
        {
            await using var second = SecondInstance();
            using var stranger = second.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
            stranger.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
            Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/api/v1/departments")).StatusCode);
        }
        finally
        {
            await connection.ExecuteAsync("DELETE FROM data_protection_keys");
            foreach (var (name, xml) in keys)
            {
                await connection.ExecuteAsync("INSERT INTO data_protection_keys (friendly_name, xml) VALUES (@name, @xml)", new { name, xml });
            }
        }
    }
}
