using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Database;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The settings the application adds to its connection string, and what a connection then runs with.</summary>
public class PostgresConnectionsTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public void preparing_and_custom_plans_are_added_unless_the_connection_string_sets_its_own()
    {
        var added = new NpgsqlConnectionStringBuilder(PostgresConnections.ForApplication("Host=db;Database=w"));
        Assert.Equal((PostgresConnections.AutoPrepared, "-c plan_cache_mode=force_custom_plan"), (added.MaxAutoPrepare, added.Options));

        var own = new NpgsqlConnectionStringBuilder(PostgresConnections.ForApplication("Host=db;Max Auto Prepare=8;Options=-c plan_cache_mode=auto"));
        Assert.Equal((8, "-c plan_cache_mode=auto"), (own.MaxAutoPrepare, own.Options));

        var other = new NpgsqlConnectionStringBuilder(PostgresConnections.ForApplication("Host=db;Options=-c work_mem=64MB"));
        Assert.Equal("-c work_mem=64MB -c plan_cache_mode=force_custom_plan", other.Options);
    }

    [Fact]
    public async Task a_connection_plans_for_each_call_and_a_transaction_that_asks_may_keep_plans_until_it_ends()
    {
        await using var data = NpgsqlDataSource.Create(PostgresConnections.ForApplication(database.ConnectionString));
        await using var connection = await data.OpenConnectionAsync();
        Assert.Equal("force_custom_plan", await connection.ExecuteScalarAsync<string>("SHOW plan_cache_mode"));
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync(PostgresConnections.KeptPlans, transaction: transaction);
            Assert.Equal("auto", await connection.ExecuteScalarAsync<string>("SHOW plan_cache_mode", transaction: transaction));
            await transaction.CommitAsync();
        }

        Assert.Equal("force_custom_plan", await connection.ExecuteScalarAsync<string>("SHOW plan_cache_mode"));
    }
}
