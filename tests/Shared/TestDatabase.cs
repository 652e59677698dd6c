using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Tests;

/// <summary>
/// A fresh, migrated database on the PostgreSQL cluster that ./test.sh starts. Each fixture gets its own database,
/// so tests never see each other's rows beyond what they make themselves.
/// </summary>
public sealed class TestDatabase : IAsyncLifetime
{
    private readonly string _name = $"wo_test_{Guid.NewGuid():N}";

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("WORKORDERS_TEST_PG") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "WORKORDERS_TEST_PG is not set: run the tests with ./test.sh, which starts a throwaway PostgreSQL cluster.");

    public async Task InitializeAsync()
    {
        await using (var server = new NpgsqlConnection(ServerConnectionString))
        {
            await server.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_name}", server);
            await create.ExecuteNonQueryAsync();
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = _name }.ConnectionString;
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        await new Migrator(DataSource, NullLogger<Migrator>.Instance).ApplyAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var server = new NpgsqlConnection(ServerConnectionString);
        await server.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", server);
        await drop.ExecuteNonQueryAsync();
    }
}
