using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Scheduling;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Maintenance;

/// <summary>
/// A database of its own for one PM test (the generator works on every schedule in a database, so tests must not share
/// one), an organisation with a preventive template, a site in a time zone, and a fake clock.
/// </summary>
public sealed class PmWorld : IAsyncDisposable
{
    private PmWorld(TestDatabase database, TestOrg org, long templateId, long lineId, FakeTimeProvider clock)
    {
        Database = database;
        Org = org;
        TemplateId = templateId;
        LineId = lineId;
        Clock = clock;
    }

    public TestDatabase Database { get; }

    public NpgsqlDataSource Data => Database.DataSource;

    public TestOrg Org { get; }

    public long TemplateId { get; }

    public long LineId { get; }

    public FakeTimeProvider Clock { get; }

    public Actor Planner => Org[Role.Planner];

    public PmPlans Plans => new(Data, Clock);

    public PmOccurrences Occurrences => new(Data, Clock);

    public DateTime Now => Clock.GetUtcNow().UtcDateTime;

    public static async Task<PmWorld> CreateAsync(DateTime start, string? timeZone = null)
    {
        var database = new TestDatabase();
        await database.InitializeAsync();
        var org = await TestOrg.CreateAsync(database.DataSource);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var template = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields)
            VALUES (@name, 'preventive', 3, @department, true, '[{"key":"checked_by","label":"Checked by","kind":"text"}]') RETURNING id
            """,
            new { name = $"Lubrication {org.Suffix}", department = org.DepartmentId });
        if (timeZone is not null)
        {
            await connection.ExecuteAsync(
                """
                WITH c AS (INSERT INTO business_calendars (name, time_zone) VALUES (@name, @timeZone) RETURNING id)
                INSERT INTO site_calendars (site_asset_id, calendar_id) SELECT @site, id FROM c
                """,
                new { name = $"Site {org.Suffix}", timeZone, site = org.SiteId });
        }

        var line = await connection.ExecuteScalarAsync<long>("SELECT parent_id FROM assets WHERE id = @id", new { id = org.MachineId });
        return new PmWorld(database, org, template, line, new FakeTimeProvider(new DateTimeOffset(DateTime.SpecifyKind(start, DateTimeKind.Utc))));
    }

    public PmGenerator Generator(int batchSize = 200, TimeSpan? missedAfter = null) => new(
        Data,
        new CreateWorkOrder(Data, Clock),
        Clock,
        Options.Create(new PmOptions { BatchSize = batchSize, MissedAfter = missedAfter ?? TimeSpan.FromDays(1) }),
        NullLogger<PmGenerator>.Instance);

    public async Task<long> AddMachineAsync(string code, string type = "pump", long? parentId = null)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind, parent_id, asset_type) VALUES (@code, @code, 'machine', @parent, @type) RETURNING id",
            new { code = $"{code}-{Org.Suffix}", parent = parentId ?? LineId, type });
    }

    public static PmTriggerRequest Calendar(
        int every, RecurrenceUnit unit, DateOnly anchor, int hour = 8, int minute = 0, PmScheduleMode mode = PmScheduleMode.Fixed, int[]? months = null) =>
        new(PmTriggerKind.Calendar, every, unit, anchor, new TimeOnly(hour, minute), mode, months);

    public async Task<PmPlan> PlanAsync(
        string name,
        PmTriggerRequest trigger,
        long? assetId = null,
        int leadDays = 0,
        OverlapPolicy overlap = OverlapPolicy.Skip,
        CatchUpPolicy catchUp = CatchUpPolicy.Latest,
        string? assetType = null)
    {
        var request = new PmPlanRequest(
            $"{name} {Org.Suffix}", TemplateId, assetType is null ? assetId ?? Org.MachineId : null, assetType, assetType is null ? null : Org.SiteId, 1.5m,
            leadDays, overlap, catchUp, [trigger], [new PmPlanSkill("mechanical", 2)]);
        var outcome = await Plans.CreateAsync(request, Planner, CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    /// <summary>Moves the clock to <paramref name="until"/> in steps, with a generator pass at each.</summary>
    public async Task RunUntilAsync(DateTime until, TimeSpan step, PmGenerator? generator = null)
    {
        generator ??= Generator();
        while (Now < until)
        {
            var next = Now + step;
            Clock.Advance((next < until ? next : until) - Now);
            await generator.RunPassAsync(CancellationToken.None);
        }
    }

    public async Task<List<OccurrenceRow>> OccurrencesAsync(long planId)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return [.. await connection.QueryAsync<OccurrenceRow>(
            """
            SELECT o.asset_id AS AssetId, o.due_key AS DueKey, o.due_at AS DueAt, o.status AS Status, o.work_order_id AS WorkOrderId,
                   w.due_at AS WorkOrderDueAt, w.source AS Source, w.created_at AS CreatedAt, o.moved_to AS MovedTo, o.move_reason AS MoveReason, o.moved_by AS MovedBy
            FROM pm_occurrences o LEFT JOIN work_orders w ON w.id = o.work_order_id
            WHERE o.plan_id = @planId ORDER BY o.due_at, o.asset_id
            """,
            new { planId })];
    }

    /// <summary>Takes a generated work order through assign, start and resolve at the clock's time.</summary>
    public async Task CompleteAsync(long workOrderId)
    {
        var transitions = new ApplyTransition(Data, Clock);
        await using var connection = await Data.OpenConnectionAsync();
        while (true)
        {
            var (status, version) = await connection.QuerySingleAsync<(string, int)>(
                "SELECT status, row_version FROM work_orders WHERE id = @workOrderId", new { workOrderId });
            (string Action, Actor Actor, long? Assignee)? step = status switch
            {
                "new" => ("assign", Org[Role.Manager], Org[Role.Technician].UserId),
                "assigned" => ("start", Org[Role.Technician], null),
                "in_progress" => ("resolve", Org[Role.Technician], null),
                _ => null,
            };
            if (step is not { } s)
            {
                return;
            }

            var actor = s.Action == "assign" ? s.Actor : await connection.QuerySingleAsync<long>("SELECT assignee_id FROM work_orders WHERE id = @workOrderId", new { workOrderId }) is var assignee
                && assignee == Org.OtherTechnician.UserId ? Org.OtherTechnician : s.Actor;
            var outcome = await transitions.HandleAsync(
                workOrderId, new TransitionRequest(s.Action, "done", s.Assignee, RowVersion: version), actor, CancellationToken.None);
            Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        }
    }

    public async ValueTask DisposeAsync() => await Database.DisposeAsync();

    public sealed class OccurrenceRow
    {
        public long AssetId { get; init; }
        public string DueKey { get; init; } = "";
        public DateTime DueAt { get; init; }
        public string Status { get; init; } = "";
        public long? WorkOrderId { get; init; }
        public DateTime? WorkOrderDueAt { get; init; }
        public string? Source { get; init; }
        public DateTime? CreatedAt { get; init; }
        public DateTime? MovedTo { get; init; }
        public string? MoveReason { get; init; }
        public long? MovedBy { get; init; }
    }
}
