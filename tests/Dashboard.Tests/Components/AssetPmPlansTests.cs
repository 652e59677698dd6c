using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Radzen;
using WorkOrders.Dashboard.Components.Assets;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The asset page's list of PM plans, over a real database and the real plans service.</summary>
public sealed class AssetPmPlansTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly CultureScope _culture = new("en-US");

    public AssetPmPlansTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton(new PmPlans(database.DataSource, TimeProvider.System));
    }

    [Fact]
    public async Task an_asset_lists_the_plans_that_cover_it_with_their_next_due_date_and_says_so_when_none_do()
    {
        var org = await TestOrg.CreateAsync(_database.DataSource);
        long template;
        await using (var connection = await _database.DataSource.OpenConnectionAsync())
        {
            template = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields)
                VALUES (@name, 'preventive', 3, @department, true, '[]') RETURNING id
                """,
                new { name = $"PM {org.Suffix}", department = org.DepartmentId });
        }

        var anchor = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(10);
        var plan = (await Services.GetRequiredService<PmPlans>().CreateAsync(
            new PmPlanRequest($"Lube {org.Suffix}", template, AssetId: org.MachineId, EstimatedHours: 2,
                Triggers: [new PmTriggerRequest(PmTriggerKind.Calendar, 1, RecurrenceUnit.Month, anchor, new TimeOnly(8, 0), PmScheduleMode.Fixed)]),
            org[Role.Planner], CancellationToken.None)).Value!;

        var covered = Render<AssetPmPlans>(p => p.Add(c => c.AssetId, org.MachineId));
        covered.WaitForAssertion(() => Assert.Equal([plan.Name], covered.FindAll("[data-testid=asset-pm-plan-name]").Select(a => a.TextContent)));
        Assert.StartsWith(anchor.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), covered.Find("[data-testid=asset-pm-next-due]").TextContent, StringComparison.Ordinal);

        var bare = Render<AssetPmPlans>(p => p.Add(c => c.AssetId, org.SiteId));
        bare.WaitForAssertion(() => Assert.Equal("No PM plan covers this asset.", bare.Find("[data-testid=asset-pm-plans-empty]").TextContent));
    }

    protected override void Dispose(bool disposing)
    {
        _culture.Dispose();
        base.Dispose(disposing);
    }
}
