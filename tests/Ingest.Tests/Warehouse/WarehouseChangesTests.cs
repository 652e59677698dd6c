using System.Text.Json;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>
/// The tables copied whole (dimensions, meter readings, inspections) are copied only by a run that finds one of
/// the PostgreSQL tables they read written since the previous run, as the change log <c>warehouse_changes</c> tells;
/// the users, assets, PM plans, PM occurrences and alarm episodes are copied by key when only the tables they follow were
/// written (see PmIngestTests).
/// </summary>
public sealed class WarehouseChangesTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private static readonly WarehouseTable[] Whole = [.. WarehouseSchema.Dimensions, .. WarehouseSchema.Programme, .. WarehouseSchema.Inspections];

    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-warehouse-changes-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 4, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task every_table_a_whole_copy_reads_notes_its_writes_in_every_role()
    {
        Assert.Equal(["assets"], WarehouseSchema.Assets.SourceTables);
        Assert.Equal(["pm_occurrences", "pm_plans", "pm_triggers", "templates", "work_orders"], WarehouseSchema.PmOccurrences.SourceTables);
        Assert.Equal(
            ["inspection_findings", "inspection_items", "inspection_results", "inspection_rounds"], WarehouseSchema.InspectionFindings.SourceTables);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var noted = (await connection.QueryAsync<string>(
            """
            SELECT t.tgrelid::regclass::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE p.proname = 'note_warehouse_change' AND t.tgenabled = 'A'
            """)).ToHashSet(StringComparer.Ordinal);
        Assert.All(Whole.Concat(WarehouseSchema.Keyed.Select(k => k.Table)).SelectMany(t => t.SourceTables), source => Assert.Contains(source, noted));
    }

    [Fact]
    public async Task a_run_with_nothing_written_copies_nothing_whole_and_a_write_brings_back_only_the_tables_that_read_it()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 50, org.Suffix + "a");
        var path = Path.Combine(_folder, "changes.duckdb");
        long spare;
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            spare = await connection.ExecuteScalarAsync<long>("INSERT INTO departments (name) VALUES (@name) RETURNING id", new { name = "Spare " + org.Suffix });
        }

        Assert.Equal(Whole.Select(t => "copied " + t.Name), Copied(await StagesAsync(path)));

        var idle = await StagesAsync(path);
        Assert.Empty(Copied(idle));
        Assert.Equal(
            Whole.Concat(WarehouseSchema.Keyed.Select(k => k.Table)).Select(t => "kept " + t.Name), idle.Where(s => s.StartsWith("kept ", StringComparison.Ordinal)));

        // An asset and a person renamed by the app, and a department deleted by a bulk load with the row triggers off.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE assets SET name = 'Pump (rebuilt)' WHERE id = @MachineId", org);
            await connection.ExecuteAsync("UPDATE users SET display_name = 'Renamed ' || id WHERE id = @id", new { id = org[Role.Technician].UserId });

            // The machine's site takes a new code: every asset under it has a new path, written or not.
            await connection.ExecuteAsync(
                """
                UPDATE assets SET code = code || '-N' WHERE id = (
                    WITH RECURSIVE up AS (SELECT id, parent_id FROM assets WHERE id = @MachineId
                                          UNION ALL SELECT a.id, a.parent_id FROM assets a JOIN up ON a.id = up.parent_id)
                    SELECT id FROM up WHERE parent_id IS NULL)
                """,
                org);
            await using var bulk = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("SET LOCAL session_replication_role = replica; DELETE FROM departments WHERE id = @spare", new { spare }, bulk);
            await bulk.CommitAsync();
        }

        // The department's table whole, the person and the asset by key, the asset's tree derived again.
        var after = await StagesAsync(path);
        Assert.Equal(["copied dim_department"], Copied(after));
        Assert.Equal(["copied stage_dim_user", "merged dim_user"], after.Where(s => s.EndsWith("dim_user", StringComparison.Ordinal) && !s.StartsWith("first batch", StringComparison.Ordinal)));
        Assert.Equal(
            ["copied stage_dim_asset", "merged dim_asset", "derived dim_asset", "kept fact_pm_occurrence"],
            after.Where(s => !s.StartsWith("first batch", StringComparison.Ordinal) && (s.Contains("dim_asset", StringComparison.Ordinal) || s.Contains("pm_occurrence", StringComparison.Ordinal))));
        WarehouseFixture.AssertSame(database.DataSource, path);
        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        Assert.Equal(0L, warehouse.ExecuteScalar<long>($"SELECT count(*) FROM dim_department WHERE department_id = {spare}"));
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            Assert.Equal(
                WarehouseFixture.Rows(connection, "SELECT id, user_name, display_name, role, department_id, active FROM users ORDER BY id"),
                WarehouseFixture.Rows(warehouse, "SELECT user_id, user_name, display_name, role, department_id, active FROM dim_user ORDER BY user_id"));
            Assert.Contains("Renamed ", WarehouseFixture.Rows(warehouse, $"SELECT display_name FROM dim_user WHERE user_id = {org[Role.Technician].UserId}").Single(), StringComparison.Ordinal);
            Assert.Equal(
                WarehouseFixture.Rows(connection, """
                    WITH RECURSIVE tree AS (
                        SELECT id, id AS site_id, code AS path FROM assets WHERE parent_id IS NULL
                        UNION ALL
                        SELECT a.id, t.site_id, t.path || ' > ' || a.code FROM assets a JOIN tree t ON a.parent_id = t.id)
                    SELECT id, site_id, path FROM tree ORDER BY id
                    """),
                WarehouseFixture.Rows(warehouse, "SELECT asset_id, site_id, path FROM dim_asset ORDER BY asset_id"));
            Assert.Contains("-N > ", WarehouseFixture.Rows(warehouse, $"SELECT path FROM dim_asset WHERE asset_id = {org.MachineId}").Single(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task a_run_whose_previous_snapshot_is_older_than_the_trimmed_log_copies_everything_whole()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var path = Path.Combine(_folder, "trimmed.duckdb");
        await StagesAsync(path);

        // A write of two days ago: the next run deletes it from the log and records its transaction as trimmed, so the
        // run after it cannot know what changed before that and copies every table.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE templates SET name = name WHERE id = @TemplateId; UPDATE warehouse_changes SET changed_at = now() - interval '2 days' WHERE source = 'templates'",
                org);
        }

        var trimming = await StagesAsync(path);
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM warehouse_changes WHERE changed_at < now() - interval '1 day'"));
        }

        Assert.Equal(Whole.Select(t => "copied " + t.Name), Copied(trimming));
        Assert.All(
            WarehouseSchema.Keyed.Select(k => k.Table).Append(WarehouseSchema.AlarmEventDays),
            table => Assert.Contains("copied " + table.Name, trimming));

        // Once no transaction older than the trimmed one runs anywhere in the cluster (other tests' databases share its
        // transaction ids), the log is whole again for the next run's previous snapshot, and a run copies nothing.
        var copies = new List<int>();
        do
        {
            copies.Add(Copied(await StagesAsync(path)).Count());
        }
        while (copies[^1] > 0 && copies.Count < 20);

        Assert.Equal(0, copies[^1]);
    }

    [Fact]
    public async Task a_transaction_notes_each_table_and_kind_once_and_a_savepoint_rolled_back_takes_its_note_with_it()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        const string Noted = "SELECT source || ' ' || kind FROM warehouse_changes WHERE xid = pg_current_xact_id() ORDER BY 1";
        await using var connection = await database.DataSource.OpenConnectionAsync();
        for (var round = 0; round < 2; round++)
        {
            // The same pooled connection again: the next transaction notes its own writes afresh.
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("UPDATE templates SET name = name WHERE id = @TemplateId", org, transaction);
            await transaction.SaveAsync("before");
            await connection.ExecuteAsync("UPDATE departments SET name = name WHERE id = @DepartmentId", org, transaction);
            await transaction.RollbackAsync("before");
            Assert.Equal(["templates update"], await connection.QueryAsync<string>(Noted, transaction: transaction));

            await connection.ExecuteAsync(
                """
                UPDATE departments SET name = name WHERE id = @DepartmentId;
                UPDATE templates SET name = name WHERE id = @TemplateId;
                UPDATE departments SET name = name WHERE id = @DepartmentId;
                INSERT INTO departments (name) VALUES ('Noted ' || @Suffix || @round);
                """,
                new { org.DepartmentId, org.TemplateId, org.Suffix, round },
                transaction);
            Assert.Equal(["departments insert", "departments update", "templates update"], await connection.QueryAsync<string>(Noted, transaction: transaction));
            await transaction.CommitAsync();
        }
    }

    [Fact]
    public async Task rows_written_in_a_savepoint_of_a_transaction_in_progress_at_a_run_arrive_with_the_next()
    {
        // A row written inside a savepoint carries the savepoint's own transaction id as its row version, which no
        // snapshot lists: found by it, these rows would look seen to the run after the one that saw their transaction
        // in progress, and never arrive (migration 0041).
        var org = await TestOrg.CreateAsync(database.DataSource);
        var open = (await new CreateWorkOrder(database.DataSource, _clock).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "Open", "open work", 3, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") }),
            org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None)).Value!.Id;
        var path = Path.Combine(_folder, "savepoint.duckdb");
        await StagesAsync(path);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await transaction.SaveAsync("edit");
        var plan = await connection.ExecuteScalarAsync<long>(
            """
            UPDATE assets SET name = 'Pump (in a savepoint)' WHERE id = @MachineId;
            UPDATE users SET display_name = 'Saved ' || id WHERE id = @technician;
            UPDATE work_orders SET title = 'Retitled in a savepoint', priority = 1 WHERE id = @open;
            INSERT INTO pm_plans (name, template_id, asset_id, estimated_hours, lead_days, created_at, updated_at)
            VALUES ('Saved plan ' || @Suffix, @TemplateId, @MachineId, 1, 3, '2026-01-01Z', '2026-01-01Z') RETURNING id;
            """,
            new { org.MachineId, technician = org[Role.Technician].UserId, open, org.Suffix, org.TemplateId },
            transaction);
        await transaction.ReleaseAsync("edit");

        // Another transaction commits after the savepoint's, so the next snapshot's horizon (xmax) passes the savepoint's
        // id and lists only the transaction in progress, not its savepoint.
        await using (var other = await database.DataSource.OpenConnectionAsync())
        {
            await other.ExecuteAsync("UPDATE departments SET name = name WHERE id = @DepartmentId", org);
        }

        // A run while the transaction is in progress sees none of it; the next, after it committed, all of it.
        await StagesAsync(path);
        await transaction.CommitAsync();
        await StagesAsync(path);

        WarehouseFixture.AssertSame(database.DataSource, path);
        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        Assert.Equal("Pump (in a savepoint)", warehouse.ExecuteScalar<string>($"SELECT name FROM dim_asset WHERE asset_id = {org.MachineId}"));
        Assert.StartsWith("Saved ", warehouse.ExecuteScalar<string>($"SELECT display_name FROM dim_user WHERE user_id = {org[Role.Technician].UserId}"), StringComparison.Ordinal);
        Assert.Equal("Retitled in a savepoint|1", WarehouseFixture.Rows(warehouse, $"SELECT title, priority FROM open_work_order WHERE work_order_id = {open}").Single());
        Assert.Equal(1L, warehouse.ExecuteScalar<long>($"SELECT count(*) FROM dim_pm_plan WHERE plan_id = {plan}"));
    }

    private static IEnumerable<string> Copied(IEnumerable<string> stages) =>
        stages.Where(s => s.StartsWith("copied ", StringComparison.Ordinal) && Whole.Any(t => s == "copied " + t.Name));

    private async Task<List<string>> StagesAsync(string path)
    {
        var stages = new List<string>();
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock, stages.Add);
        return stages;
    }
}
