using Dapper;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Demo;

public sealed partial class DemoSeed
{
    /// <summary>
    /// Two inspection routes with schedules: a twice-daily walk of line A (a machine's temperatures, an hour meter that
    /// feeds its meter, a press's leaks and pressure, the line's walkways as a location) and a weekly round of the air
    /// compressor. Made through the route service, so they pass its rules. Runs on every start and adds only a route whose
    /// name is not there yet.
    /// </summary>
    private async Task SeedInspectionsAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var facts = await connection.QuerySingleOrDefaultAsync<SeedFacts>(new CommandDefinition(
            """
            WITH t AS (
                INSERT INTO templates (name, work_type, default_priority, department_id)
                SELECT 'Inspection round 巡檢', 'inspection', 3, id FROM departments WHERE name = 'Maintenance'
                ON CONFLICT (name) DO NOTHING RETURNING id)
            SELECT (SELECT id FROM users WHERE user_name = 'admin') AS admin_id,
                   coalesce((SELECT id FROM t), (SELECT id FROM templates WHERE name = 'Inspection round 巡檢')) AS round_template_id,
                   (SELECT id FROM templates WHERE name = 'Equipment repair') AS finding_template_id
            """,
            cancellationToken: cancellationToken));
        if (facts is not { AdminId: { } adminId, RoundTemplateId: { } roundTemplate, FindingTemplateId: { } repair })
        {
            return;
        }

        var assets = (await connection.QueryAsync<(string Code, long Id)>(new CommandDefinition(
            "SELECT code, id FROM assets WHERE code IN ('TY-A', 'TY-A-CNC1', 'TY-A-PR1', 'TY-B-CMP')", cancellationToken: cancellationToken))).ToDictionary(a => a.Code, a => a.Id);
        if (assets.Count < 4)
        {
            return;
        }

        var existing = (await connection.QueryAsync<string>(new CommandDefinition("SELECT name FROM inspection_routes", cancellationToken: cancellationToken))).ToHashSet();
        var admin = new Actor(adminId, "admin", Role.Admin, null);
        var routes = new InspectionRoutes(dataSource, clock);
        var today = DateOnly.FromDateTime(now).AddDays(-1);
        RouteRequest[] requests =
        [
            new(
                "Line A daily walk 產線A每日巡檢",
                roundTemplate,
                "Operator walk of line A at the start of each shift. 每班開始時巡視產線A。",
                [
                    new StopRequest(assets["TY-A-CNC1"], "Spindle housing, coolant tank on the left side.",
                    [
                        new ItemRequest(null, "Spindle temperature 主軸溫度", CheckKind.Number, "°C", WarningHigh: 60, AlarmHigh: 75, Photo: PhotoRule.OnFailure,
                            Severity: Severity.High, FaultCode: "overheating", FindingTemplateId: repair),
                        new ItemRequest(null, "Hour meter 運轉時數", CheckKind.Number, "h", MeterName: "run hours"),
                        new ItemRequest(null, "Coolant level 冷卻液位", CheckKind.Choice, Options: ["ok", "low", "empty"], FailingOptions: ["empty"],
                            Photo: PhotoRule.OnFailure, Severity: Severity.Medium, FaultCode: "leak", FindingTemplateId: repair),
                    ]),
                    new StopRequest(assets["TY-A-PR1"], "Hydraulic unit behind the guard.",
                    [
                        new ItemRequest(null, "No oil leak 無漏油", CheckKind.PassFail, Photo: PhotoRule.OnFailure, Severity: Severity.High, FaultCode: "leak", FindingTemplateId: repair),
                        new ItemRequest(null, "Hydraulic pressure 油壓", CheckKind.Number, "bar", WarningLow: 180, WarningHigh: 220, AlarmLow: 160, AlarmHigh: 240,
                            Severity: Severity.Critical, FaultCode: "other", FindingTemplateId: repair),
                    ]),
                    new StopRequest(assets["TY-A"], "Walkways and emergency stops of the whole line.",
                    [
                        new ItemRequest(null, "Walkways clear 走道淨空", CheckKind.PassFail, Severity: Severity.Low, FaultCode: "other", FindingTemplateId: repair),
                        new ItemRequest(null, "Remarks 備註", CheckKind.Text),
                    ]),
                ],
                [new ScheduleRequest(1, RecurrenceUnit.Day, today, [new TimeOnly(8, 0), new TimeOnly(20, 0)], 120, 60, 30)]),
            new(
                "Compressor room weekly 空壓機房週巡",
                roundTemplate,
                "Weekly round of the air compressor. 每週空壓機巡檢。",
                [
                    new StopRequest(assets["TY-B-CMP"], "",
                    [
                        new ItemRequest(null, "Discharge temperature 排氣溫度", CheckKind.Number, "°C", WarningHigh: 95, AlarmHigh: 110, Photo: PhotoRule.Never,
                            Severity: Severity.High, FaultCode: "overheating", FindingTemplateId: repair),
                        new ItemRequest(null, "Vibration 振動", CheckKind.Choice, Options: ["normal", "rough", "severe"], FailingOptions: ["severe"],
                            Photo: PhotoRule.Always, Severity: Severity.High, FaultCode: "vibration", FindingTemplateId: repair),
                    ]),
                ],
                [new ScheduleRequest(1, RecurrenceUnit.Week, today, [new TimeOnly(9, 0)], 480, 240, 60)]),
        ];
        foreach (var request in requests.Where(r => !existing.Contains(r.Name!)))
        {
            var made = await routes.CreateAsync(request, admin, cancellationToken);
            if (made.Failure is { } failure)
            {
                throw new InvalidOperationException($"demo route {request.Name}: {failure.Message}");
            }
        }
    }

    private sealed class SeedFacts
    {
        public long? AdminId { get; init; }
        public long? RoundTemplateId { get; init; }
        public long? FindingTemplateId { get; init; }
    }
}
