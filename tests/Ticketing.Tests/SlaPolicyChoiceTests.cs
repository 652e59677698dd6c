using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Policies for a priority alone apply to every template, so these tests have a database of their own.</summary>
public class SlaPolicyChoiceTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    // Wednesday 2026-05-06 07:00 UTC = 15:00 in Taipei.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private async Task<WorkOrderDetail> CreateAsync(TestOrg org, int priority)
    {
        var created = await new CreateWorkOrder(database.DataSource, _clock).HandleAsync(
            SlaStoreTests.Request(org, priority), org[Role.Requester], WorkOrderSource.Api, null, CancellationToken.None);
        return (await new WorkOrderQueries(database.DataSource).GetAsync(created.Value!.Id, org[Role.Admin], CancellationToken.None)).Value!;
    }

    [Fact]
    public async Task the_templates_policy_wins_over_the_prioritys_and_each_site_counts_its_own_calendar()
    {
        var taipei = await TestOrg.CreateAsync(database.DataSource);
        var elsewhere = await TestOrg.CreateAsync(database.DataSource);
        await SlaStoreTests.TaipeiCalendarAsync(database.DataSource, taipei);
        await SlaStoreTests.PolicyAsync(database.DataSource, taipei, 4, response: 600, resolution: 6000, templateId: null);
        await SlaStoreTests.PolicyAsync(database.DataSource, taipei, 4, response: 180, resolution: 540);

        var specific = await CreateAsync(taipei, 4);
        var general = await CreateAsync(elsewhere, 4);
        var none = await CreateAsync(elsewhere, 3);

        // Taipei's template policy, Taipei hours: Wed 15:00 + 3 h = Thu 09:00 (01:00 UTC); + 9 h = Wed 15-17, Thu 08-15, Thu 15:00 (07:00 UTC).
        Assert.Equal(new DateTime(2026, 5, 7, 1, 0, 0, DateTimeKind.Utc), specific.ResponseDueAt);
        Assert.Equal(new DateTime(2026, 5, 7, 7, 0, 0, DateTimeKind.Utc), specific.ResolutionDueAt);
        // The other site has no calendar: the default runs around the clock in UTC, 10 h and 100 h after 07:00.
        Assert.Equal(new DateTime(2026, 5, 6, 17, 0, 0, DateTimeKind.Utc), general.ResponseDueAt);
        Assert.Equal(new DateTime(2026, 5, 10, 11, 0, 0, DateTimeKind.Utc), general.ResolutionDueAt);
        Assert.Null(none.ResolutionDueAt);
    }

    [Fact]
    public async Task a_second_policy_for_the_same_priority_without_a_template_is_refused_on_the_priority()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var policies = new SlaPolicies(database.DataSource);
        await SlaStoreTests.PolicyAsync(database.DataSource, org, 1, response: 15, resolution: 120, templateId: null);

        var again = await policies.CreateAsync(new SlaPolicyRequest("P1 again", 1, null, 30, 240), org[Role.Admin], CancellationToken.None);

        Assert.StartsWith("a policy for P1 without a template already exists", again.Failure!.Texts(CultureInfo.InvariantCulture)["priority"][0], StringComparison.Ordinal);
    }
}
