using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Demo;

/// <summary>
/// Demo data for a first look: departments, one user per role (password "demo"), an asset tree, templates, and work
/// orders whose histories are made by the real lifecycle rules on a clock that walks through the last 75 days.
/// Runs once: not when a user named admin exists.
/// </summary>
public sealed partial class DemoSeed(NpgsqlDataSource dataSource, Users users, TimeProvider clock, ILogger<DemoSeed> logger)
{
    public const string Password = "demo";

    private const long LockKey = 0x574f_4445_4d4f; // "WODEMO"

    /// <summary>
    /// Seeds the demo once per database. Instances that start together take turns on an advisory lock held for the
    /// whole seed, so the second finds the first's users and only tops up what is missing.
    /// </summary>
    public async Task SeedAsync(CancellationToken cancellationToken)
    {
        await using var turn = await dataSource.OpenConnectionAsync(cancellationToken);
        // The other instance's seed takes minutes on a busy machine: wait for it without a command timeout.
        await turn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@LockKey)", new { LockKey }, commandTimeout: 0, cancellationToken: cancellationToken));
        try
        {
            await SeedOnceAsync(cancellationToken);
        }
        finally
        {
            await turn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@LockKey)", new { LockKey }, cancellationToken: CancellationToken.None));
        }
    }

    private async Task SeedOnceAsync(CancellationToken cancellationToken)
    {
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM users WHERE user_name = 'admin')", cancellationToken: cancellationToken)))
            {
                // A database seeded before meters and plans existed gets them on its next start.
                await SeedMaintenanceAsync(cancellationToken);
                await SeedInspectionsAsync(cancellationToken);
                await SeedStocktakingAsync(cancellationToken);
                return;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO departments (name) VALUES ('Maintenance'), ('Facilities'), ('IT Service Desk') ON CONFLICT DO NOTHING;
                INSERT INTO skills (name) VALUES ('mechanical'), ('electrical'), ('hvac'), ('plc'), ('network'), ('plumbing') ON CONFLICT DO NOTHING;
                """,
                cancellationToken: cancellationToken));
        }

        var departments = (await users.DepartmentsAsync(cancellationToken)).ToDictionary(d => d.Name, d => d.Id);
        var maintenance = departments["Maintenance"];
        var facilities = departments["Facilities"];
        var it = departments["IT Service Desk"];

        async Task<Actor> User(string name, string display, Role role, long? department, params UserSkill[] skills)
        {
            var created = await users.CreateAsync(new CreateUserRequest(name, display, Password, Roles.ToName(role), department, $"{name}@example.com", skills), null, cancellationToken);
            var user = created.Value ?? throw new InvalidOperationException(created.Failure!.Message);
            return new Actor(user.Id, user.UserName, user.Role, user.DepartmentId);
        }

        var admin = await User("admin", "Ada Admin", Role.Admin, null);
        await User("executive", "Evelyn Executive 林經理", Role.Executive, null);
        await User("engineer", "Eric Engineer", Role.ReliabilityEngineer, maintenance);
        var manager = await User("manager", "Mandy Manager 王主管", Role.Manager, maintenance);
        await User("planner", "Pat Planner", Role.Planner, maintenance);
        var technician = await User("technician", "Tom Technician 陳技師", Role.Technician, maintenance, new UserSkill("mechanical", 4), new UserSkill("electrical", 3));
        var requester = await User("requester", "Rita Requester", Role.Requester, null);
        var lin = await User("lin", "Lin Mei-hua 林美華", Role.Technician, maintenance, new UserSkill("electrical", 5), new UserSkill("plc", 4));
        var facilitiesManager = await User("fmanager", "Frank Facilities", Role.Manager, facilities);
        var wang = await User("wang", "Wang Chih-ming 王志明", Role.Technician, facilities, new UserSkill("hvac", 4), new UserSkill("plumbing", 3));
        var itManager = await User("itmanager", "Ivy IT", Role.Manager, it);
        var huang = await User("huang", "Huang Yu-ting 黃郁婷", Role.Technician, it, new UserSkill("network", 4));

        var assets = await SeedAssetsAsync(cancellationToken);
        var templates = await SeedTemplatesAsync(admin, maintenance, facilities, it, cancellationToken);
        await SeedSlaAsync(admin, assets.Where(a => a.Kind == AssetKind.Site).Select(a => a.Id), cancellationToken);

        // Histories are written by the real rules, with a clock that moves through the last 75 days.
        var walk = new WalkingClock(clock, clock.GetUtcNow().AddDays(-75));
        var create = new CreateWorkOrder(dataSource, walk);
        var transition = new ApplyTransition(dataSource, walk);
        var comment = new AddComment(dataSource, walk);
        var random = new Random(20261124);
        var machines = assets.Where(a => a.Kind == AssetKind.Machine).ToList();
        string[] faults = ["bearing", "overheating", "leak", "electrical", "vibration"];
        string[] titles = ["Spindle bearing noise", "Hydraulic pressure drops", "Motor overheating 馬達過熱", "Oil leak under the press", "Conveyor belt slipping", "Emergency stop circuit trips"];

        var count = 0;
        for (var i = 0; i < 36; i++)
        {
            walk.Advance(TimeSpan.FromHours(random.Next(10, 40)));
            var (requestedBy, departmentManager, crew, request) = (i % 6) switch
            {
                0 or 1 or 2 => (requester, manager, new[] { technician, lin }, new CreateWorkOrderRequest(
                    templates["Equipment repair"], titles[random.Next(titles.Length)], "Noticed during the morning shift; the operator stopped the machine.",
                    random.Next(1, 5), "ext. 2231", machines[random.Next(machines.Count)].Id, null, null,
                    Fields(("fault_code", faults[random.Next(faults.Length)]), ("downtime_hours", random.Next(0, 12))))),
                3 => (manager, manager, new[] { technician, lin }, new CreateWorkOrderRequest(
                    templates["Preventive maintenance"], "Quarterly lubrication and inspection", "Lubricate guides, check belts and filters per checklist PM-04.",
                    null, null, machines[random.Next(machines.Count)].Id, null, null, Fields(("interval_days", 90)))),
                4 => (requester, facilitiesManager, new[] { wang }, new CreateWorkOrderRequest(
                    templates["Facility request"], "Air conditioning too warm in office 3F", "The 3rd-floor office is at 29 °C since noon.",
                    3, "Rita, ext. 1180", null, null, null, Fields(("area", "Office")))),
                _ => (requester, itManager, new[] { huang }, new CreateWorkOrderRequest(
                    templates["IT service request"], "VPN access for a new hire", "Please grant VPN access to the new planner from Monday.",
                    4, "rita@example.com", null, "HR-2026-118", null, Fields(("category", "access")))),
            };

            var created = (await create.HandleAsync(request, requestedBy, WorkOrderSource.Web, null, cancellationToken)).Value!;
            var version = 1;
            var assignee = crew[random.Next(crew.Length)];
            async Task<bool> Step(Actor actor, WorkOrderAction action, string? note = null, long? assigneeId = null, int? rating = null)
            {
                walk.Advance(TimeSpan.FromMinutes(random.Next(5, 240)));
                var result = await transition.HandleAsync(created.Id, new TransitionRequest(WireNames.Of(action), note, assigneeId, rating, version), actor, cancellationToken);
                version = result.Value?.RowVersion ?? throw new InvalidOperationException($"Demo step {action} failed: {result.Failure!.Message}");
                return true;
            }

            // The newest few stay open at different stages; the rest run the whole cycle.
            var stage = i >= 30 ? i - 30 : 6;
            if (stage >= 1)
            {
                await Step(departmentManager, WorkOrderAction.Assign, assigneeId: assignee.UserId);
            }

            if (stage >= 2)
            {
                await Step(assignee, WorkOrderAction.Start);
            }

            if (stage == 3)
            {
                await Step(assignee, WorkOrderAction.Hold, "Waiting for a replacement part (PO 4471).");
            }

            if (stage >= 4)
            {
                await comment.HandleAsync(created.Id, new CommentRequest("Checked on site; starting the repair."), assignee, cancellationToken);
                if (i % 7 == 0)
                {
                    await Step(assignee, WorkOrderAction.AwaitFeedback, "Can you confirm when the machine is free?");
                    await Step(assignee, WorkOrderAction.Resume);
                }

                await Step(assignee, WorkOrderAction.Resolve, "Replaced the worn part and tested for 30 minutes.");
            }

            if (stage >= 6)
            {
                if (i % 5 == 0)
                {
                    await Step(departmentManager, WorkOrderAction.Reject, "Noise is still there at full speed; please check again.");
                    await Step(assignee, WorkOrderAction.Resolve, "Re-aligned the shaft; noise gone at full speed.");
                }

                await Step(requestedBy.Role == Role.Requester ? requestedBy : departmentManager, WorkOrderAction.Approve, "Thanks, works again.", rating: random.Next(3, 6));
            }

            count++;
        }

        await SeedStocktakingAsync(cancellationToken);
        count += await SeedFreshWorkAsync(templates["Equipment repair"], requester, manager, technician, machines, cancellationToken);
        await AssignmentDemo.SeedAsync(
            dataSource, clock, new Dictionary<string, Actor> { ["admin"] = admin, ["requester"] = requester, ["technician"] = technician, ["lin"] = lin, ["wang"] = wang, ["huang"] = huang },
            templates, assets, cancellationToken);
        await SeedMaintenanceAsync(cancellationToken);
        await SeedInspectionsAsync(cancellationToken);
        LogSeeded(count + 4);
    }

    private static Dictionary<string, JsonElement> Fields(params (string Key, object Value)[] values) =>
        values.ToDictionary(v => v.Key, v => JsonSerializer.SerializeToElement(v.Value));

    private async Task<List<Asset>> SeedAssetsAsync(CancellationToken cancellationToken)
    {
        const string insert = """
            INSERT INTO assets (code, name, kind, parent_id, asset_type, location, criticality, installed_on)
            VALUES (@code, @name, @kind, (SELECT id FROM assets WHERE code = @parent), @type, @location, @criticality, @installed::date)
            """;
        (string Code, string Name, string Kind, string? Parent, string? Type, int Criticality)[] tree =
        [
            ("TY", "Taoyuan Plant 桃園廠", "site", null, null, 5),
            ("TY-A", "Line A (machining)", "line", "TY", null, 4),
            ("TY-A-CNC1", "CNC lathe 1", "machine", "TY-A", "cnc_lathe", 5),
            ("TY-A-CNC1-SP", "Spindle", "component", "TY-A-CNC1", "spindle", 5),
            ("TY-A-CNC2", "CNC lathe 2", "machine", "TY-A", "cnc_lathe", 4),
            ("TY-A-PR1", "Hydraulic press 1", "machine", "TY-A", "hydraulic_press", 4),
            ("TY-A-PR1-HP", "Hydraulic pump", "component", "TY-A-PR1", "pump", 4),
            ("TY-B", "Line B (assembly)", "line", "TY", null, 3),
            ("TY-B-CV1", "Conveyor 1", "machine", "TY-B", "conveyor", 3),
            ("TY-B-CV1-M", "Drive motor", "component", "TY-B-CV1", "motor", 3),
            ("TY-B-CMP", "Air compressor", "machine", "TY-B", "compressor", 4),
            ("HC", "Hsinchu Office 新竹辦公室", "site", null, null, 2),
            ("HC-HVAC", "Building services", "line", "HC", null, 2),
            ("HC-HVAC-AHU1", "Air handling unit 1", "machine", "HC-HVAC", "ahu", 2),
        ];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var node in tree)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                insert,
                new { code = node.Code, name = node.Name, kind = node.Kind, parent = node.Parent, type = node.Type, location = node.Code[..2], criticality = node.Criticality, installed = "2019-04-01" },
                cancellationToken: cancellationToken));
        }

        // Only the demo's own assets: a generated history may already have put thousands beside them.
        return [.. await new AssetRegister(dataSource).ByCodesAsync(tree.Select(node => node.Code), cancellationToken)];
    }

    private async Task<Dictionary<string, long>> SeedTemplatesAsync(Actor admin, long maintenance, long facilities, long it, CancellationToken cancellationToken)
    {
        var templates = new Templates.Templates(dataSource);
        TemplateRequest[] definitions =
        [
            new("Equipment repair", WorkType.Corrective, 2, maintenance, AssetRequired: true, Fields:
            [
                new("fault_code", "Fault", FieldKind.Choice, Required: true, Options: ["bearing", "overheating", "leak", "electrical", "vibration", "other"], Labels: TemplateSchema.Label("zh-TW", "故障類型")),
                new("downtime_hours", "Downtime (hours)", FieldKind.Number, Min: 0, Max: 1000, Labels: TemplateSchema.Label("zh-TW", "停機時數")),
                new("observed_on", "Observed on", FieldKind.Date, Labels: TemplateSchema.Label("zh-TW", "發現日期")),
            ]),
            // The demo's PM plans raise their work on this template with no field values (a plan's triggers hold its
            // interval), so none of its fields may be required.
            new("Preventive maintenance", WorkType.Preventive, 3, maintenance, AssetRequired: true, Fields:
            [
                new("interval_days", "Interval (days)", FieldKind.Number, Min: 1, Max: 3650, Labels: TemplateSchema.Label("zh-TW", "週期（天）")),
                new("checklist", "Checklist", FieldKind.Text, MaxLength: 4000, Labels: TemplateSchema.Label("zh-TW", "檢查清單")),
            ]),
            new("Safety inspection", WorkType.Inspection, 3, facilities, Fields:
            [
                new("area", "Area", FieldKind.Choice, Required: true, Options: ["Production", "Warehouse", "Office"], Labels: TemplateSchema.Label("zh-TW", "區域")),
                new("inspected_asset", "Asset inspected", FieldKind.Asset, Labels: TemplateSchema.Label("zh-TW", "檢查設備")),
            ]),
            new("Facility request", WorkType.ServiceRequest, 3, facilities, ContactRequired: true, Fields:
            [
                new("area", "Area", FieldKind.Choice, Required: true, Options: ["Production", "Warehouse", "Office"], Labels: TemplateSchema.Label("zh-TW", "區域")),
            ]),
            new("IT service request", WorkType.ServiceRequest, 3, it, ContactRequired: true, Fields:
            [
                new("category", "Category", FieldKind.Choice, Required: true, Options: ["hardware", "software", "access", "network"], Labels: TemplateSchema.Label("zh-TW", "類別")),
            ]),
            new("Purchase approval", WorkType.Approval, 4, facilities, Fields:
            [
                new("amount", "Amount (TWD)", FieldKind.Number, Required: true, Min: 0, Labels: TemplateSchema.Label("zh-TW", "金額（新台幣）")),
                new("supplier", "Supplier", FieldKind.Text, Required: true, MaxLength: 200, Labels: TemplateSchema.Label("zh-TW", "供應商")),
                new("order_number", "Order number", FieldKind.Text, MaxLength: 50, Labels: TemplateSchema.Label("zh-TW", "訂單編號")),
            ]),
        ];
        var ids = new Dictionary<string, long>();
        foreach (var definition in definitions)
        {
            var created = await templates.CreateAsync(definition, admin, cancellationToken);
            ids[definition.Name!] = created.Value?.Id ?? throw new InvalidOperationException(created.Failure!.Message);
        }

        return ids;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded the demo data with {Count} work orders")]
    private partial void LogSeeded(int count);

    /// <summary>A clock for back-dated histories that never runs past the real one.</summary>
    private sealed class WalkingClock(TimeProvider real, DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now = _now + by < real.GetUtcNow() ? _now + by : real.GetUtcNow();
    }
}
