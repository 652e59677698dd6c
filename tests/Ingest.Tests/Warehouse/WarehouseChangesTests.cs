using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>
/// The tables copied whole (dimensions, meter readings, inspections) are copied only by a run that finds one of
/// the PostgreSQL tables they read written since the previous run, as the change log <c>warehouse_changes</c> tells;
/// the assets, PM plans and PM occurrences are copied by key when only the tables they follow were written (see PmIngestTests).
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

        // An asset renamed by the app, and a department deleted by a bulk load with the row triggers off.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE assets SET name = 'Pump (rebuilt)' WHERE id = @MachineId", org);

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

        // The department's table whole, the asset by key with its tree derived again.
        var after = await StagesAsync(path);
        Assert.Equal(["copied dim_department"], Copied(after));
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

    private static IEnumerable<string> Copied(IEnumerable<string> stages) =>
        stages.Where(s => s.StartsWith("copied ", StringComparison.Ordinal) && Whole.Any(t => s == "copied " + t.Name));

    private async Task<List<string>> StagesAsync(string path)
    {
        var stages = new List<string>();
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock, stages.Add);
        return stages;
    }
}
