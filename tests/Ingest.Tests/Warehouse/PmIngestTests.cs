using System.Text.Json;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

public sealed class PmIngestTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-pm-warehouse-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 4, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task plans_occurrences_and_meter_readings_reach_the_warehouse_with_their_work_order_and_department()
    {
        var (org, plan, workOrder, bearingPm) = await ProgrammeAsync();
        var path = Path.Combine(_folder, "w.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        Assert.Equal(
            [$"Lubricate {org.Suffix}|{org.DepartmentId}|2.5|every 1 month fixed; run hours every 500.000|30.4375"],
            WarehouseFixture.Rows(warehouse, $"SELECT name, department_id, estimated_hours, triggers, interval_days FROM dim_pm_plan WHERE plan_id = {plan}"));
        Assert.Equal(
            [
                $"2026-02-15 08:00:00.000000|skipped|∅|∅|∅|{org.DepartmentId}|calendar",
                $"2026-03-15 08:00:00.000000|generated|{workOrder}|new|∅|{org.DepartmentId}|calendar",
                $"2026-04-15 08:00:00.000000|planned|∅|∅|2026-04-20 08:00:00.000000|{org.DepartmentId}|calendar",
            ],
            Occurrences(warehouse, plan));
        Assert.Equal(
            ["run hours|h|120.5|120.5|False|api"],
            WarehouseFixture.Rows(warehouse, $"SELECT meter_name, unit, value, lifetime, is_reset, source FROM fact_meter_reading WHERE asset_id = {org.MachineId}"));
        // Only the preventive work naming a mode; the corrective "other" is a failure, not preventive work.
        Assert.Equal([$"{bearingPm}|bearing"], Modes(warehouse, org));
        Assert.Equal("TIMESTAMP", warehouse.ExecuteScalar<string>(
            "SELECT data_type FROM duckdb_columns() WHERE table_name = 'fact_pm_occurrence' AND column_name = 'due_at'"));
    }

    [Fact]
    public async Task a_run_takes_the_occurrences_whose_work_order_moved_on_and_the_modes_of_open_work_as_they_now_stand()
    {
        var (org, plan, workOrder, bearingPm) = await ProgrammeAsync();
        var path = Path.Combine(_folder, "follow.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

        // The occurrence's work order is resolved and the bearing work is found to address the seal, neither touching
        // pm_occurrences; a planner moves the planned occurrence.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                """
                UPDATE work_orders SET status = 'resolved', resolved_at = '2026-03-16 10:00Z' WHERE id = @workOrder;
                UPDATE work_orders SET custom_fields = '{"fault_code": "seal"}' WHERE id = @bearingPm;
                UPDATE pm_occurrences SET moved_to = '2026-04-22 08:00Z' WHERE plan_id = @plan AND status = 'planned';
                """,
                new { workOrder, bearingPm, plan });

            // A trigger added to the plan changes its row in the warehouse (the description of its triggers), no other.
            await connection.ExecuteAsync("INSERT INTO pm_triggers (plan_id, kind, meter_name, every_units) VALUES (@plan, 'meter', 'strokes', 10000)", new { plan });

            // A new plan with its trigger and first occurrence: inserted rows change no occurrence already copied.
            await connection.ExecuteAsync(
                """
                WITH p AS (INSERT INTO pm_plans (name, template_id, asset_id, estimated_hours, lead_days, created_at, updated_at)
                           VALUES (@name, @TemplateId, @MachineId, 1, 3, '2026-01-01Z', '2026-01-01Z') RETURNING id),
                     r AS (INSERT INTO pm_triggers (plan_id, kind, every_n, unit, anchor, at_time, schedule)
                           SELECT id, 'calendar', 1, 'week', '2026-01-05', '08:00', 'fixed' FROM p RETURNING id, plan_id)
                INSERT INTO pm_occurrences (plan_id, asset_id, trigger_id, due_key, due_at, status, recorded_at)
                SELECT plan_id, @MachineId, id, '2026-04-06T08:00', '2026-04-06 08:00Z', 'planned', '2026-04-01Z' FROM r
                """,
                new { name = $"Inspect {org.Suffix}", org.TemplateId, org.MachineId });
        }

        var stages = new List<string>();
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock, stages.Add);
        Assert.Contains("copied stage_fact_pm_occurrence", stages);
        Assert.DoesNotContain("copied fact_pm_occurrence", stages);
        Assert.Contains("copied stage_dim_pm_plan", stages);
        Assert.DoesNotContain("copied dim_pm_plan", stages);
        using (var warehouse = new DuckDBConnection($"Data Source={path}"))
        {
            warehouse.Open();
            Assert.Equal(
                [
                    $"Inspect {org.Suffix}|every 1 week fixed|7",
                    $"Lubricate {org.Suffix}|every 1 month fixed; run hours every 500.000; strokes every 10000.000|30.4375",
                ],
                WarehouseFixture.Rows(warehouse, $"SELECT name, triggers, interval_days FROM dim_pm_plan WHERE asset_id = {org.MachineId} ORDER BY name"));
            Assert.Equal(
                [
                    $"2026-02-15 08:00:00.000000|skipped|∅|∅|∅|{org.DepartmentId}|calendar",
                    $"2026-03-15 08:00:00.000000|generated|{workOrder}|resolved|∅|{org.DepartmentId}|calendar",
                    $"2026-04-15 08:00:00.000000|planned|∅|∅|2026-04-22 08:00:00.000000|{org.DepartmentId}|calendar",
                ],
                Occurrences(warehouse, plan));
            Assert.Equal([$"{bearingPm}|seal"], Modes(warehouse, org));
        }

        // Both archived: the occurrence takes its work order's end once; the mode stays, now from the archive.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE work_orders SET status = 'closed', closed_at = '2026-03-17 09:00Z' WHERE id IN (@workOrder, @bearingPm)", new { workOrder, bearingPm });
        }

        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);
        var idle = new List<string>();
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock, idle.Add);
        Assert.Contains("kept fact_pm_occurrence", idle);

        // A plan's estimate revised: every occurrence carries it, so they are copied whole.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE pm_plans SET estimated_hours = 3 WHERE id = @plan", new { plan });
        }

        var revised = new List<string>();
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock, revised.Add);
        Assert.Contains("copied fact_pm_occurrence", revised);

        // The same as a first run over everything.
        var whole = Path.Combine(_folder, "whole.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, whole, _clock);
        using var followed = new DuckDBConnection($"Data Source={path}");
        followed.Open();
        using var copied = new DuckDBConnection($"Data Source={whole}");
        copied.Open();
        Assert.Contains($"2026-03-15 08:00:00.000000|generated|{workOrder}|closed|∅|{org.DepartmentId}|calendar", Occurrences(followed, plan));
        Assert.Equal(["3"], WarehouseFixture.Rows(followed, $"SELECT DISTINCT estimated_hours FROM fact_pm_occurrence WHERE plan_id = {plan}"));
        Assert.Equal(4L, followed.ExecuteScalar<long>($"SELECT count(*) FROM fact_pm_occurrence WHERE asset_id = {org.MachineId}"));
        Assert.Equal([$"{bearingPm}|seal"], Modes(followed, org));
        foreach (var table in new[] { "dim_pm_plan", "fact_pm_occurrence", "fact_pm_mode" })
        {
            var sql = $"SELECT * FROM {table} ORDER BY ALL";
            Assert.Equal(WarehouseFixture.Rows(copied, sql), WarehouseFixture.Rows(followed, sql));
        }
    }

    private static List<string> Occurrences(DuckDBConnection warehouse, long plan) => WarehouseFixture.Rows(warehouse, $"""
        SELECT due_at, status, work_order_id, work_order_status, moved_to, department_id, trigger_kind
        FROM fact_pm_occurrence WHERE plan_id = {plan} ORDER BY due_at
        """);

    private static List<string> Modes(DuckDBConnection warehouse, TestOrg org) =>
        WarehouseFixture.Rows(warehouse, $"SELECT work_order_id, fault_code FROM fact_pm_mode WHERE asset_id = {org.MachineId}");

    // A plan with two triggers and three occurrences (one with an open work order), a meter reading, and open preventive
    // work that names the fault mode it addresses.
    private async Task<(TestOrg Org, long Plan, long WorkOrder, long BearingPm)> ProgrammeAsync()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var workOrder = (await new CreateWorkOrder(database.DataSource, _clock).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "Lubricate", "Monthly", 3, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("other") }),
            org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None)).Value!.Id;
        // Preventive work that names the mode it addressed (the same custom field corrective work records the failure in).
        var bearingPm = (await new CreateWorkOrder(database.DataSource, _clock).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "Grease the bearing", "Monthly", 3, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("bearing") }),
            org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None)).Value!.Id;
        long plan;
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE work_orders SET work_type = 'preventive' WHERE id = @bearingPm", new { bearingPm });
            plan = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO pm_plans (name, template_id, asset_id, estimated_hours, lead_days, created_at, updated_at)
                VALUES (@name, @TemplateId, @MachineId, 2.5, 3, '2026-01-01Z', '2026-01-01Z') RETURNING id
                """,
                new { name = $"Lubricate {org.Suffix}", org.TemplateId, org.MachineId });
            var trigger = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO pm_triggers (plan_id, kind, every_n, unit, anchor, at_time, schedule)
                VALUES (@plan, 'calendar', 1, 'month', '2026-01-15', '08:00', 'fixed') RETURNING id
                """,
                new { plan });
            await connection.ExecuteAsync(
                """
                INSERT INTO pm_triggers (plan_id, kind, meter_name, every_units) VALUES (@plan, 'meter', 'run hours', 500);
                INSERT INTO pm_occurrences (plan_id, asset_id, trigger_id, due_key, due_at, status, work_order_id, recorded_at)
                VALUES (@plan, @MachineId, @trigger, '2026-03-15T08:00', '2026-03-15 08:00Z', 'generated', @workOrder, '2026-03-12Z'),
                       (@plan, @MachineId, @trigger, '2026-02-15T08:00', '2026-02-15 08:00Z', 'skipped', NULL, '2026-02-12Z');
                INSERT INTO pm_occurrences (plan_id, asset_id, trigger_id, due_key, due_at, status, moved_to, move_reason, recorded_at)
                VALUES (@plan, @MachineId, @trigger, '2026-04-15T08:00', '2026-04-15 08:00Z', 'planned', '2026-04-20 08:00Z', 'shutdown week', '2026-04-01Z');
                INSERT INTO meters (asset_id, name, unit, created_at) VALUES (@MachineId, 'run hours', 'h', '2026-01-01Z');
                INSERT INTO meter_readings (meter_id, read_at, value, lifetime, source, recorded_at)
                SELECT currval(pg_get_serial_sequence('meters', 'id')), '2026-03-01Z', 120.5, 120.5, 'api', '2026-03-01Z';
                """,
                new { plan, org.MachineId, trigger, workOrder });
        }

        return (org, plan, workOrder, bearingPm);
    }
}
