using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.Scheduling;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Inspections;

/// <summary>
/// A database of its own for one inspection test (the generator and closing job work on every round in a database), an
/// organisation with an inspection template and a corrective template for findings, a site in Taipei, and a fake clock.
/// </summary>
public sealed class InspectionWorld : IAsyncDisposable
{
    private InspectionWorld(TestDatabase database, TestOrg org, long inspectionTemplateId, long findingTemplateId, FakeTimeProvider clock)
    {
        Database = database;
        Org = org;
        InspectionTemplateId = inspectionTemplateId;
        FindingTemplateId = findingTemplateId;
        Clock = clock;
    }

    public TestDatabase Database { get; }

    public NpgsqlDataSource Data => Database.DataSource;

    public TestOrg Org { get; }

    public long InspectionTemplateId { get; }

    public long FindingTemplateId { get; }

    public FakeTimeProvider Clock { get; }

    public Actor Planner => Org[Role.Planner];

    public Actor Technician => Org[Role.Technician];

    public DateTime Now => Clock.GetUtcNow().UtcDateTime;

    public InspectionRoutes Routes => new(Data, Clock);

    public Rounds Rounds => new(Data, Clock, new CreateWorkOrder(Data, Clock), new MeterRegister(Data, Clock), Options.Create(new TicketingOptions()));

    public string MachineCode { get; private set; } = "";

    public static async Task<InspectionWorld> CreateAsync(DateTime start)
    {
        var database = new TestDatabase();
        await database.InitializeAsync();
        var org = await TestOrg.CreateAsync(database.DataSource);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var inspection = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'inspection', 3, @department) RETURNING id",
            new { name = $"Rounds {org.Suffix}", department = org.DepartmentId });
        var finding = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id, asset_required) VALUES (@name, 'corrective', 3, @department, true) RETURNING id",
            new { name = $"Finding {org.Suffix}", department = org.DepartmentId });
        await connection.ExecuteAsync(
            """
            WITH c AS (INSERT INTO business_calendars (name, time_zone) VALUES (@name, 'Asia/Taipei') RETURNING id)
            INSERT INTO site_calendars (site_asset_id, calendar_id) SELECT @site, id FROM c
            """,
            new { name = $"Site {org.Suffix}", site = org.SiteId });
        var world = new InspectionWorld(database, org, inspection, finding, new FakeTimeProvider(new DateTimeOffset(DateTime.SpecifyKind(start, DateTimeKind.Utc))))
        {
            MachineCode = await connection.ExecuteScalarAsync<string>("SELECT code FROM assets WHERE id = @id", new { id = org.MachineId }) ?? "",
        };
        return world;
    }

    public RoundGenerator Generator() => new(
        Data, Clock, Options.Create(new InspectionOptions { BatchSize = 50 }), NullLogger<RoundGenerator>.Instance);

    public ItemRequest Temperature(decimal warningHigh = 70, decimal alarmHigh = 80, PhotoRule photo = PhotoRule.OnFailure, long? checkId = null, string? meter = null) =>
        new(checkId, "Bearing temperature", CheckKind.Number, "°C", WarningLow: null, WarningHigh: warningHigh, AlarmLow: null, AlarmHigh: alarmHigh,
            Photo: photo, Severity: Severity.High, FaultCode: "overheat", FindingTemplateId: FindingTemplateId, MeterName: meter);

    public ItemRequest Guard(long? checkId = null) =>
        new(checkId, "Guard in place", CheckKind.PassFail, Severity: Severity.Critical, FindingTemplateId: FindingTemplateId);

    public static ScheduleRequest TwiceDaily(DateOnly anchor, int windowMinutes = 120, int graceMinutes = 60, int leadMinutes = 30) =>
        new(1, RecurrenceUnit.Day, anchor, [new TimeOnly(8, 0), new TimeOnly(20, 0)], windowMinutes, graceMinutes, leadMinutes);

    public async Task<InspectionRoute> RouteAsync(string name, IReadOnlyList<ItemRequest>? items = null, IReadOnlyList<ScheduleRequest>? schedules = null)
    {
        var outcome = await Routes.CreateAsync(
            new RouteRequest($"{name} {Org.Suffix}", InspectionTemplateId, "", [new StopRequest(Org.MachineId, "Check the pump", items ?? [Temperature(), Guard()])], schedules),
            Planner,
            CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    /// <summary>A round of the route at a slot, made as the generator makes them (for tests that are not about the generator).</summary>
    public async Task<long> RoundAsync(long routeId, string slotKey, DateTime? slotAt = null)
    {
        await using var connection = await Data.OpenConnectionAsync();
        var at = slotAt ?? Now;
        return await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO inspection_rounds (route_id, route_version, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id, assignee_id, created_at)
            SELECT id, current_version, @slotKey, @at, @at + interval '2 hours', @at + interval '3 hours', 'open', @department, @assignee, @at
            FROM inspection_routes WHERE id = @routeId
            RETURNING id
            """,
            new { routeId, slotKey, at, department = Org.DepartmentId, assignee = Technician.UserId });
    }

    /// <summary>An assignment rule that gives inspection rounds to the least loaded mechanic, and the technician made one.</summary>
    public async Task AddRoundRuleAsync()
    {
        await using var connection = await Data.OpenConnectionAsync();
        await connection.ExecuteAsync(
            """
            WITH r AS (INSERT INTO assignment_rules (name, position, template_id, department_id, strategy) VALUES (@name, 1, @template, @department, 'least_loaded') RETURNING id)
            INSERT INTO assignment_rule_skills (rule_id, skill, min_level) SELECT id, 'mechanical', 2 FROM r
            """,
            new { name = $"Rounds {Org.Suffix}", template = InspectionTemplateId, department = Org.DepartmentId });
        await connection.ExecuteAsync("INSERT INTO user_skills (user_id, skill, level) VALUES (@id, 'mechanical', 3)", new { id = Technician.UserId });
    }

    public static Guid Command() => Guid.NewGuid();

    public async ValueTask DisposeAsync() => await Database.DisposeAsync();
}
