using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Tests.Meters;

public class DemoMaintenanceSeedTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task the_demo_has_meters_with_readings_and_plans_of_each_kind_and_a_second_start_adds_nothing()
    {
        var clock = DemoSeeds.Clock();
        var seed = DemoSeeds.For(database, clock);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        const string counts = """
            SELECT (SELECT count(*) FROM meters) || '/' || (SELECT count(*) FROM meter_readings) || '/' || (SELECT count(*) FROM pm_plans)
                || '/' || (SELECT count(*) FROM pm_triggers) || '/' || (SELECT count(*) FROM pm_plan_skills) || '/' || (SELECT count(*) FROM pm_schedules)
            """;

        await seed.SeedAsync(CancellationToken.None);
        var first = await connection.ExecuteScalarAsync<string>(counts);
        clock.Advance(TimeSpan.FromDays(1));
        await seed.SeedAsync(CancellationToken.None);

        Assert.Equal("6/366/7/8/7/8", first);
        Assert.Equal(first, await connection.ExecuteScalarAsync<string>(counts));
        var kinds = (await connection.QueryAsync<string>(
            """
            SELECT DISTINCT CASE WHEN kind = 'meter' THEN 'meter ' || CASE WHEN threshold IS NULL THEN 'every' ELSE 'threshold' END
                                 ELSE schedule || CASE WHEN active_months IS NULL THEN '' ELSE ' seasonal' END END
            FROM pm_triggers ORDER BY 1
            """)).ToList();
        Assert.Equal(["fixed", "fixed seasonal", "floating", "meter every", "meter threshold"], kinds);
        // The type plan covers both CNC lathes of the site.
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM pm_schedules s JOIN pm_plans p ON p.id = s.plan_id WHERE p.asset_type = 'cnc_lathe'"));
        var press = await connection.QuerySingleAsync<(decimal Value, decimal Lifetime, int Resets)>(
            """
            SELECT (array_agg(r.value ORDER BY r.read_at DESC))[1], max(r.lifetime), count(*) FILTER (WHERE r.is_reset)::int
            FROM meter_readings r JOIN meters m ON m.id = r.meter_id JOIN assets a ON a.id = m.asset_id WHERE a.code = 'TY-A-PR1'
            """);
        Assert.Equal(1, press.Resets);
        Assert.True(press.Lifetime > press.Value, $"lifetime {press.Lifetime} should carry over the reset beyond the counter's {press.Value}");
    }

    [Fact]
    public async Task the_demo_plans_raise_their_preventive_work_over_the_next_months_none_refused()
    {
        var clock = DemoSeeds.Clock();
        await DemoSeeds.For(database, clock).SeedAsync(CancellationToken.None);
        var generator = new PmGenerator(
            database.DataSource, new CreateWorkOrder(database.DataSource, clock), clock, Options.Create(new PmOptions()), NullLogger<PmGenerator>.Instance);
        for (var day = 0; day < 120; day++)
        {
            await generator.RunPassAsync(CancellationToken.None);
            clock.Advance(TimeSpan.FromDays(1));
        }

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var refused = (await connection.QueryAsync<string>("SELECT DISTINCT note FROM pm_occurrences WHERE status = 'missed' AND work_order_id IS NULL AND note IS NOT NULL")).ToList();
        Assert.Empty(refused);
        var statuses = await connection.ExecuteScalarAsync<string>("SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM (SELECT status, count(*) AS n FROM pm_occurrences GROUP BY 1) s");
        // Nobody works the generated work, so each plan's later occurrences are skipped (its overlap policy).
        Assert.Equal("generated 4, skipped 14", statuses);
        Assert.Equal(4, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM work_orders WHERE source = 'pm'"));
    }
}
