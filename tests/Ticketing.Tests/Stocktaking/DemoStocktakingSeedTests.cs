using Dapper;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Stocktaking;

public class DemoStocktakingSeedTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task the_demo_has_one_finished_stocktake_with_its_work_order_and_one_open_and_a_second_start_adds_none()
    {
        var seed = DemoSeeds.For(database, DemoSeeds.Clock());

        await seed.SeedAsync(CancellationToken.None);
        await seed.SeedAsync(CancellationToken.None);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var stocktakes = (await connection.QueryAsync<(string Status, long Items, long Pending)>(
            """
            SELECT s.status, count(i.id), count(i.id) FILTER (WHERE i.outcome = 'pending')
            FROM stocktakes s JOIN stocktake_items i ON i.stocktake_id = s.id GROUP BY s.id ORDER BY s.id
            """)).ToList();
        Assert.Equal([("closed", 5L, 0L), ("open", 4L, 3L)], stocktakes);
        var order = await connection.QuerySingleAsync<(string Code, string Department)>(
            """
            SELECT a.code, d.name FROM work_orders w JOIN assets a ON a.id = w.asset_id JOIN departments d ON d.id = w.department_id
            WHERE w.reference LIKE 'stocktake-%'
            """);
        Assert.Equal(("TY-WH-GEN", "Maintenance"), order);
        Assert.Equal("TY-WH-BAY", await connection.ExecuteScalarAsync<string>(
            "SELECT p.code FROM assets a JOIN assets p ON p.id = a.parent_id WHERE a.code = 'TY-WH-WLD'"));
    }
}
