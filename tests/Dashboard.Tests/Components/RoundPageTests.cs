using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Dashboard.Components.Inspections;
using WorkOrders.Tests;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The round page over a real database: a stop confirmed by its label, a reading judged by the server, refusals in the reader's language.</summary>
public sealed class RoundPageTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    public RoundPageTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton<TimeProvider>(_clock);
        Services.AddSingleton(Options.Create(new TicketingOptions()));
        Services.AddSingleton(new Rounds(
            database.DataSource, _clock, new CreateWorkOrder(database.DataSource, _clock), new MeterRegister(database.DataSource, _clock), Options.Create(new TicketingOptions())));
    }

    private async Task<(TestOrg Org, long RoundId, string Code)> RoundAsync()
    {
        var org = await TestOrg.CreateAsync(_database.DataSource);
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        var inspection = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'inspection', 3, @department) RETURNING id",
            new { name = $"Rounds {org.Suffix}", department = org.DepartmentId });
        var finding = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'corrective', 3, @department) RETURNING id",
            new { name = $"Finding {org.Suffix}", department = org.DepartmentId });
        var route = await new InspectionRoutes(_database.DataSource, _clock).CreateAsync(
            new RouteRequest($"Walk {org.Suffix}", inspection, "", [new StopRequest(org.MachineId, "", [new ItemRequest(null, "Temp", CheckKind.Number, "°C", WarningHigh: 70, AlarmHigh: 80, FindingTemplateId: finding)])]),
            org[Role.Planner],
            CancellationToken.None);
        var roundId = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO inspection_rounds (route_id, route_version, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id, assignee_id, created_at)
            VALUES (@routeId, 1, 'a', @now, @now + interval '2 hours', @now + interval '3 hours', 'open', @department, @assignee, @now) RETURNING id
            """,
            new { routeId = route.Value!.Id, now = _clock.GetUtcNow().UtcDateTime, department = org.DepartmentId, assignee = org[Role.Technician].UserId });
        this.SignIn(org[Role.Technician]);
        return (org, roundId, route.Value.Stops[0].AssetCode);
    }

    [Theory]
    [InlineData("en-US", "is not the code of this stop's asset", "Fail")]
    [InlineData("zh-TW", "不是此站點設備的編號", "不合格")]
    public async Task a_wrong_code_is_refused_beside_the_field_and_a_reading_beyond_the_alarm_shows_the_servers_failure_and_its_work_order(
        string culture, string wrongCode, string fail)
    {
        using var scope = new CultureScope(culture);
        var (_, roundId, code) = await RoundAsync();
        var page = Render<RoundPage>(p => p.Add(x => x.Id, roundId));
        page.WaitForAssertion(() => page.Find("[data-testid=round-stop-confirm]"), TimeSpan.FromSeconds(15));

        page.Find("[data-testid=round-stop-code]").Change("NOT-THIS");
        page.Find("[data-testid=round-stop-confirm]").Click();
        page.WaitForAssertion(() => Assert.Contains(wrongCode, page.Find($"[data-testid='error-code-{StopId(page)}']").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(15));

        page.Find("[data-testid=round-stop-code]").Change($"https://plant.example/a/{code}");
        page.Find("[data-testid=round-stop-confirm]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=round-item-record]"), TimeSpan.FromSeconds(15));
        page.Find("input[name^=number-]").Change("85");
        page.Find("[data-testid=round-item-record]").Click();

        page.WaitForAssertion(() => Assert.Equal(fail, page.Find("[data-testid=round-item-verdict]").TextContent.Trim()), TimeSpan.FromSeconds(15));
        Assert.StartsWith("/work-orders/", page.Find("[data-testid=round-item-work-order]").GetAttribute("href"), StringComparison.Ordinal);
    }

    private static string StopId(IRenderedComponent<RoundPage> page) =>
        page.Find("[data-testid=round-stop-code]").GetAttribute("name")!["code-".Length..];
}
