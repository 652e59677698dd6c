using Dapper;
using WorkOrders.Ticketing.Meters;

namespace WorkOrders.Ticketing.Demo;

public sealed partial class DemoSeed
{
    /// <summary>
    /// Meters with two months of daily readings on the demo machines, and a few preventive plans of each kind (fixed
    /// monthly, floating, seasonal, every N hours, a threshold) with their schedules, so the PM calendar has work in it.
    /// Written straight into the PM tables as their schema says. Runs on every start and adds only what is missing:
    /// meters and plans by their unique names, readings only on a meter that has none.
    /// </summary>
    private async Task SeedMaintenanceAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        (string Asset, string Name, string Unit, decimal Start, decimal PerDay, int? ResetOnDay)[] meters =
        [
            ("TY-A-CNC1", "run hours", "h", 12_040m, 16m, null),
            ("TY-A-CNC2", "run hours", "h", 8_512m, 12.5m, null),
            ("TY-A-PR1", "cycles", "cycles", 418_200m, 1_850m, 41),
            ("TY-B-CV1", "run hours", "h", 20_310m, 20m, null),
            ("TY-B-CMP", "run hours", "h", 15_377m, 22m, null),
            ("HC-HVAC-AHU1", "run hours 運轉時數", "h", 6_020m, 10m, null),
        ];
        var register = new MeterRegister(dataSource, clock);
        var lastRead = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc);
        foreach (var meter in meters)
        {
            var meterId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                INSERT INTO meters (asset_id, name, unit, created_at)
                SELECT id, @Name, @Unit, @now FROM assets WHERE code = @Asset
                ON CONFLICT (asset_id, name) DO UPDATE SET unit = meters.unit
                RETURNING id
                """,
                new { meter.Asset, meter.Name, meter.Unit, now = now.AddDays(-61) }, cancellationToken: cancellationToken));
            if (meterId is not { } id
                || await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM meter_readings WHERE meter_id = @id)", new { id }, cancellationToken: cancellationToken)))
            {
                continue;
            }

            var readings = new List<ReadingEntry>();
            var value = meter.Start;
            for (var day = 0; day <= 60; day++)
            {
                var reset = day == meter.ResetOnDay;
                value = reset ? meter.PerDay / 2 : value + meter.PerDay + (day % 7 == 0 ? 0 : day % 3);
                readings.Add(new ReadingEntry(id, lastRead.AddDays(day - 60), value, reset, reset ? "Counter replaced during the overhaul 大修時更換計數器" : null));
            }

            var recorded = await register.RecordAsync(readings, null, ReadingSource.Sensor, cancellationToken);
            if (recorded.Failure is { } failure)
            {
                throw new InvalidOperationException($"demo readings of {meter.Asset} {meter.Name}: {failure.Message}");
            }
        }

        await SeedPlansAsync(now, cancellationToken);
        await SeedAlarmsAsync(cancellationToken);
    }

    private async Task SeedPlansAsync(DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var template = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT id FROM templates WHERE name = 'Preventive maintenance'", cancellationToken: cancellationToken));
        if (template is null)
        {
            return;
        }

        var year = now.Year;
        (string Name, string? Asset, string? Type, string? Location, decimal Hours, int Lead, string Skill, string[] Triggers)[] plans =
        [
            ("CNC lathe 1 lubrication, monthly on the 31st 每月潤滑", "TY-A-CNC1", null, null, 1.5m, 5, "mechanical",
                [$"('calendar', 1, 'month', '{year - 1}-01-31', '08:00', 'fixed', NULL, NULL, NULL, NULL)"]),
            ("Conveyor 1 belt inspection, every 2 weeks", "TY-B-CV1", null, null, 1m, 2, "mechanical",
                [$"('calendar', 2, 'week', '{year - 1}-01-05', '09:00', 'fixed', NULL, NULL, NULL, NULL)"]),
            ("Air compressor filters, 6 weeks after the last change", "TY-B-CMP", null, null, 2m, 3, "mechanical",
                [$"('calendar', 6, 'week', '{year - 1}-01-05', '10:00', 'floating', NULL, NULL, NULL, NULL)"]),
            ("AHU 1 coil cleaning, monthly in the cooling season 空調季清洗", "HC-HVAC-AHU1", null, null, 3m, 7, "hvac",
                [$"('calendar', 1, 'month', '{year - 1}-05-01', '08:30', 'fixed', ARRAY[5, 6, 7, 8, 9, 10]::smallint[], NULL, NULL, NULL)"]),
            ("CNC lathe spindle service, every 500 run hours or yearly", null, "cnc_lathe", "TY", 4m, 7, "mechanical",
            [
                "('meter', NULL, NULL, NULL, NULL, NULL, NULL, 'run hours', 500, NULL)",
                $"('calendar', 1, 'year', '{year - 1}-03-01', '08:00', 'fixed', NULL, NULL, NULL, NULL)",
            ]),
            ("Air compressor oil change, every 1,000 run hours", "TY-B-CMP", null, null, 1.5m, 3, "mechanical",
                ["('meter', NULL, NULL, NULL, NULL, NULL, NULL, 'run hours', 1000, NULL)"]),
            ("Hydraulic press 1 seal check at 100,000 cycles", "TY-A-PR1", null, null, 2.5m, 0, "mechanical",
                ["('meter', NULL, NULL, NULL, NULL, NULL, NULL, 'cycles', NULL, 100000)"]),
        ];
        foreach (var plan in plans)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var planId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                INSERT INTO pm_plans (name, template_id, asset_id, asset_type, location_asset_id, estimated_hours, lead_days, created_at, updated_at)
                VALUES (@Name, @template, (SELECT id FROM assets WHERE code = @Asset), @Type, (SELECT id FROM assets WHERE code = @Location), @Hours, @Lead, @now, @now)
                ON CONFLICT (name) DO NOTHING
                RETURNING id
                """,
                new { plan.Name, template, plan.Asset, plan.Type, plan.Location, plan.Hours, plan.Lead, now }, transaction, cancellationToken: cancellationToken));
            if (planId is not { } id)
            {
                continue;
            }

#pragma warning disable CA2100 // the trigger rows are the constants above
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                INSERT INTO pm_triggers (plan_id, kind, every_n, unit, anchor, at_time, schedule, active_months, meter_name, every_units, threshold)
                SELECT @id, t.kind, t.every_n::integer, t.unit, t.anchor::date, t.at_time::time, t.schedule, t.active_months::smallint[],
                       t.meter_name, t.every_units::numeric, t.threshold::numeric
                FROM (VALUES {string.Join(", ", plan.Triggers)})
                    AS t (kind, every_n, unit, anchor, at_time, schedule, active_months, meter_name, every_units, threshold)
                """,
                new { id }, transaction, cancellationToken: cancellationToken));
#pragma warning restore CA2100
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO pm_plan_skills (plan_id, skill, min_level) VALUES (@id, @Skill, 2) ON CONFLICT DO NOTHING;
                -- One schedule per asset the plan covers, due for a look now; the generator works out the due dates.
                WITH RECURSIVE under AS (
                    SELECT id FROM assets WHERE id = (SELECT location_asset_id FROM pm_plans WHERE id = @id)
                    UNION ALL SELECT a.id FROM assets a JOIN under ON a.parent_id = under.id)
                INSERT INTO pm_schedules (plan_id, asset_id, next_check_at)
                SELECT @id, a.id, @now FROM assets a, pm_plans p
                WHERE p.id = @id AND (a.id = p.asset_id OR (a.asset_type = p.asset_type AND a.id IN (SELECT id FROM under)))
                ON CONFLICT DO NOTHING;
                """,
                new { id, plan.Skill, now }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
        }
    }
}
