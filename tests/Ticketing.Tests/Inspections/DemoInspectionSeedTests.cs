using Dapper;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Inspections;

public class DemoInspectionSeedTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task the_demo_has_two_scheduled_inspection_routes_and_a_second_start_adds_nothing()
    {
        var seed = DemoSeeds.For(database, DemoSeeds.Clock());
        await using var connection = await database.DataSource.OpenConnectionAsync();
        const string counts = """
            SELECT (SELECT count(*) FROM inspection_routes) || '/' || (SELECT count(*) FROM inspection_stops) || '/' || (SELECT count(*) FROM inspection_items)
                || '/' || (SELECT count(*) FROM inspection_schedules WHERE active)
            """;

        await seed.SeedAsync(CancellationToken.None);
        var first = await connection.ExecuteScalarAsync<string>(counts);
        await seed.SeedAsync(CancellationToken.None);

        Assert.Equal("2/4/9/2", first);
        Assert.Equal(first, await connection.ExecuteScalarAsync<string>(counts));
        Assert.Equal("run hours", await connection.ExecuteScalarAsync<string>("SELECT meter_name FROM inspection_items WHERE meter_name IS NOT NULL"));
    }
}
