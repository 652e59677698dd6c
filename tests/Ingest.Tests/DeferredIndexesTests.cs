using Dapper;
using Npgsql;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests;

/// <summary>Secondary indexes a large bulk load drops and builds again at its end.</summary>
public sealed class DeferredIndexesTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly string[] Tables = ["work_orders", "work_order_events"];

    [Theory]
    [InlineData(0, 1, true)]
    [InlineData(1_000, 1_000, true)]
    [InlineData(1_001, 1_000, false)]
    [InlineData(5_000_000, 10_000, false)]
    [InlineData(0, 0, false)]
    public void indexes_are_built_afterwards_only_when_the_load_is_at_least_the_table(long existing, long load, bool deferred) =>
        Assert.Equal(deferred, DeferredIndexes.Worthwhile(existing, load));

    [Fact]
    public async Task a_load_larger_than_its_table_drops_only_indexes_no_constraint_uses_and_builds_them_again_as_they_were()
    {
        var before = await IndexesAsync();
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var dropped = await DeferredIndexes.DropAsync(
                connection, transaction, [new PlannedLoad("work_orders", 1_000_000), new PlannedLoad("work_order_events", 1_000_000)], CancellationToken.None);

            var names = dropped.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("work_orders_text", names);
            Assert.Contains("work_order_events_work_order", names);
            Assert.DoesNotContain("work_orders_pkey", names);
            Assert.DoesNotContain("work_orders_number_key", names);
            Assert.DoesNotContain("work_orders_import_reference", names);
            Assert.DoesNotContain("work_order_events_pkey", names);
            var during = await IndexesAsync(connection, transaction);
            Assert.DoesNotContain(during, i => names.Contains(i.Name));

            await DeferredIndexes.RebuildAsync(connection, transaction, dropped, CancellationToken.None);
            await transaction.CommitAsync();
        }

        Assert.Equal(before, await IndexesAsync());
    }

    [Fact]
    public async Task a_load_that_fails_after_dropping_the_indexes_leaves_them_as_they_were()
    {
        var before = await IndexesAsync();
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var dropped = await DeferredIndexes.DropAsync(connection, transaction, [new PlannedLoad("work_orders", 1_000_000)], CancellationToken.None);
            Assert.NotEmpty(dropped);

            await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(
                "INSERT INTO work_orders (id) VALUES (NULL)", transaction: transaction));
        }

        Assert.Equal(before, await IndexesAsync());
    }

    [Fact]
    public async Task a_table_holding_more_rows_than_the_load_keeps_its_indexes()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("CREATE TEMP TABLE held (id bigint) ON COMMIT DROP", transaction: transaction);
        await connection.ExecuteAsync("CREATE INDEX held_id ON held (id)", transaction: transaction);
        await connection.ExecuteAsync("INSERT INTO held SELECT generate_series(1, 10)", transaction: transaction);

        var dropped = await DeferredIndexes.DropAsync(connection, transaction, [new PlannedLoad("held", 9)], CancellationToken.None);

        Assert.Empty(dropped);
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM pg_indexes WHERE indexname = 'held_id'", transaction: transaction));
    }

    private async Task<List<(string Name, string Definition)>> IndexesAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return await IndexesAsync(connection, null);
    }

    private static async Task<List<(string Name, string Definition)>> IndexesAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction) =>
        [.. await connection.QueryAsync<(string, string)>(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(@tables) ORDER BY indexname",
            new { tables = Tables },
            transaction)];
}
