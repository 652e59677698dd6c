using Dapper;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Two app instances started together with <c>Ticketing:SeedDemo</c> on seed the demo once between them.</summary>
public class DemoSeedInstancesTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private const string Fingerprint = """
        SELECT concat_ws('/',
            (SELECT count(*) FROM users), (SELECT count(*) FROM assets), (SELECT count(*) FROM templates),
            (SELECT count(*) FROM work_orders), (SELECT count(*) FROM work_order_events), (SELECT count(*) FROM assignment_rules),
            (SELECT count(*) FROM inspection_routes), (SELECT count(*) FROM inspection_items), (SELECT count(*) FROM meters))
        """;

    [Fact]
    public async Task two_instances_seeding_at_once_leave_what_one_instance_seeds()
    {
        var one = DemoSeeds.For(database, DemoSeeds.Clock());
        var other = DemoSeeds.For(database, DemoSeeds.Clock());

        await Task.WhenAll(Task.Run(() => one.SeedAsync(CancellationToken.None)), Task.Run(() => other.SeedAsync(CancellationToken.None)));

        var alone = new TestDatabase();
        await alone.InitializeAsync();
        try
        {
            await DemoSeeds.For(alone, DemoSeeds.Clock()).SeedAsync(CancellationToken.None);
            await using var twice = await database.DataSource.OpenConnectionAsync();
            await using var once = await alone.DataSource.OpenConnectionAsync();
            Assert.Equal(await once.ExecuteScalarAsync<string>(Fingerprint), await twice.ExecuteScalarAsync<string>(Fingerprint));
        }
        finally
        {
            await alone.DisposeAsync();
        }
    }
}
