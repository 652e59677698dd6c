using Dapper;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

public class DemoSeedTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task the_demo_routes_its_fresh_work_orders_by_its_assignment_rules_beside_a_generated_history()
    {
        var seed = DemoSeeds.For(database, DemoSeeds.Clock());
        // ./run.sh generates a history first: the demo must find its own assets among many others.
        await using (var before = await database.DataSource.OpenConnectionAsync())
        {
            await before.ExecuteAsync("INSERT INTO assets (code, name, kind) SELECT 'A-' || lpad(n::text, 4, '0'), 'Generated site', 'site' FROM generate_series(1, 300) n");
        }

        await seed.SeedAsync(CancellationToken.None);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var fresh = (await connection.QueryAsync<(string Title, string? Assignee, string Kind)>(
            """
            SELECT w.title, u.user_name, e.kind
            FROM work_orders w LEFT JOIN users u ON u.id = w.assignee_id
            JOIN LATERAL (SELECT kind FROM work_order_events WHERE work_order_id = w.id ORDER BY id DESC LIMIT 1) e ON true
            WHERE w.source <> 'alarm'
            ORDER BY w.id DESC LIMIT 4
            """)).Reverse().ToList();

        Assert.Equal(
            [
                ("CNC lathe 1 drive trips 驅動器跳脫", "lin", "auto_assigned"),
                ("Conveyor bearing noise", "technician", "auto_assigned"),
                ("Meeting room too cold 會議室太冷", "wang", "auto_assigned"),
                ("Printer on 3F offline", null, "queued"),
            ],
            fresh);
        Assert.Equal(3, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM assignment_rules WHERE active"));

        // The alarm history: the overheating spindle's open work order, the compressor's cleared dip, the pump's spike.
        var alarms = (await connection.QueryAsync<(string Asset, string Outcome, bool Cleared)>(
            "SELECT a.code, e.outcome, e.cleared_at IS NOT NULL FROM alarm_episodes e JOIN assets a ON a.id = e.asset_id ORDER BY a.code")).ToList();
        Assert.Contains(("TY-A-CNC1-SP", "work_order", false), alarms);
        Assert.Contains(("TY-B-CMP", "work_order", true), alarms);
        Assert.Contains(("TY-A-PR1-HP", "work_order", false), alarms);
    }
}
