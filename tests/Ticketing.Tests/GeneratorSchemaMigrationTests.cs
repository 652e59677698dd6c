using Dapper;
using WorkOrders.Ticketing.Database;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Migration 0011 on a database that got the generator's tables in the live schema from the former 0003.</summary>
public sealed class GeneratorSchemaMigrationTests : IAsyncLifetime
{
    // The tables as the former 0003 made them, without the references to the live tables (their rows are made up).
    private const string FormerTables = """
        CREATE TABLE generator_runs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tag text NOT NULL UNIQUE);
        CREATE TABLE generator_failure_modes (run_id bigint NOT NULL REFERENCES generator_runs (id), fault_code text NOT NULL);
        CREATE TABLE generator_degradations (run_id bigint NOT NULL REFERENCES generator_runs (id), asset_id bigint PRIMARY KEY);
        CREATE TABLE generator_failures (run_id bigint NOT NULL REFERENCES generator_runs (id), work_order_id bigint PRIMARY KEY, asset_id bigint NOT NULL, failed_at timestamptz NOT NULL);
        CREATE INDEX generator_failures_asset ON generator_failures (asset_id, failed_at);
        INSERT INTO generator_runs (tag) VALUES ('G7R1');
        INSERT INTO generator_failure_modes SELECT id, 'bearing' FROM generator_runs;
        INSERT INTO generator_degradations SELECT id, 41 FROM generator_runs;
        INSERT INTO generator_failures SELECT id, 42, 41, '2025-06-01' FROM generator_runs;
        """;

    private readonly TestDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task the_generator_tables_of_an_older_database_move_into_the_generator_schema_with_their_rows()
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(FormerTables);

        await connection.ExecuteAsync(Migrator.All.Single(m => m.Version == 11).Sql);

        Assert.Equal("G7R1", await connection.ExecuteScalarAsync<string>("SELECT tag FROM generator.runs"));
        Assert.Equal("bearing", await connection.ExecuteScalarAsync<string>("SELECT fault_code FROM generator.failure_modes"));
        Assert.Equal(41L, await connection.ExecuteScalarAsync<long>("SELECT asset_id FROM generator.degradations"));
        Assert.Equal(42L, await connection.ExecuteScalarAsync<long>("SELECT work_order_id FROM generator.failures"));
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('generator.failures_asset') IS NOT NULL"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'generator%'"));
    }

    [Fact]
    public async Task a_database_without_generated_history_gets_no_generator_schema_from_the_migrations()
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        Assert.False(await connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'generator')"));
    }
}
