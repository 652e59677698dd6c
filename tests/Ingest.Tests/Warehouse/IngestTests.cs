using System.Diagnostics;
using System.Text.Json;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

public sealed class IngestTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-warehouse-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 4, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string NewWarehouse() => Path.Combine(_folder, $"{Guid.NewGuid():N}.duckdb");

    private Task<IngestResult> IngestAsync(string path) => WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

    /// <summary>A work order taken through the real lifecycle, with a hold and a rejection on the way.</summary>
    private async Task<long> LivedWorkOrderAsync(TestOrg org, bool close)
    {
        var create = new CreateWorkOrder(database.DataSource, _clock);
        var transitions = new ApplyTransition(database.DataSource, _clock);
        var id = (await create.HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "Seal leaks", "Oil under the pump", 2, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("bearing") }),
            org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None)).Value!.Id;
        var version = 1;
        async Task Step(Actor actor, WorkOrderAction action, string? note = null, long? assignee = null)
        {
            _clock.Advance(TimeSpan.FromMinutes(45));
            var outcome = await transitions.HandleAsync(id, new TransitionRequest(WireNames.Of(action), note, assignee, null, version), actor, CancellationToken.None);
            version = outcome.Value?.RowVersion ?? throw new InvalidOperationException(outcome.Failure!.Message);
        }

        await Step(org[Role.Manager], WorkOrderAction.Assign, assignee: org[Role.Technician].UserId);
        await Step(org[Role.Technician], WorkOrderAction.Start);
        await Step(org[Role.Technician], WorkOrderAction.Hold, "parts");
        await Step(org[Role.Technician], WorkOrderAction.Resume);
        await Step(org[Role.Technician], WorkOrderAction.Resolve, "done");
        if (close)
        {
            await Step(org[Role.Requester], WorkOrderAction.Reject, "still leaks");
            await Step(org[Role.Technician], WorkOrderAction.Resolve, "done now");
            await Step(org[Role.Requester], WorkOrderAction.Approve);
        }

        return id;
    }

    [Fact]
    public async Task the_warehouse_holds_every_archived_row_of_postgresql_and_the_open_ones_as_a_snapshot()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var closed = await LivedWorkOrderAsync(org, close: true);
        var open = await LivedWorkOrderAsync(org, close: false);
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 5000, org.Suffix);
        var path = NewWarehouse();

        var result = await IngestAsync(path);

        Assert.True(result.WorkOrders >= 5001);
        WarehouseFixture.AssertSame(database.DataSource, path);
        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        Assert.Equal("resolved", warehouse.ExecuteScalar<string>($"SELECT status FROM open_work_order WHERE work_order_id = {open}"));
        Assert.Equal("bearing", warehouse.ExecuteScalar<string>($"SELECT failure_code FROM fact_work_order WHERE work_order_id = {closed}"));
    }

    [Fact]
    public async Task the_category_the_source_and_the_custom_fields_of_work_arrive_and_the_kpi_filters_find_them()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var closed = await LivedWorkOrderAsync(org, close: true);
        var open = (await new CreateWorkOrder(database.DataSource, _clock).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "Drips", "A small leak", 3, null, org.MachineId, CustomFields: new()
            {
                ["fault_code"] = JsonSerializer.SerializeToElement("leak"),
                ["downtime_hours"] = JsonSerializer.SerializeToElement(3),
                ["notes"] = JsonSerializer.SerializeToElement("夜班 night 'shift'"),
            }),
            org[Role.Requester], WorkOrderSource.Api, null, CancellationToken.None)).Value!.Id;
        var path = NewWarehouse();

        await IngestAsync(path);

        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        Assert.Equal("bearing", warehouse.ExecuteScalar<string>($"SELECT category FROM fact_work_order WHERE work_order_id = {closed}"));
        Assert.Equal("bearing", warehouse.ExecuteScalar<string>(
            $"SELECT json_extract_string(custom_fields, '$.fault_code') FROM fact_work_order WHERE work_order_id = {closed}"));
        Assert.Equal("leak|3|夜班 night 'shift'|api", warehouse.ExecuteScalar<string>(
            $"SELECT category || '|' || json_extract_string(custom_fields, '$.downtime_hours') || '|' || json_extract_string(custom_fields, '$.notes') || '|' || source " +
            $"FROM open_work_order WHERE work_order_id = {open}"));
        Assert.Equal("downtime_hours fault_code notes observed_on related_asset", warehouse.ExecuteScalar<string>(
            $"SELECT string_agg(key, ' ' ORDER BY key) FROM dim_template_field WHERE template_id = {org.TemplateId}"));
        Assert.Equal("故障類型", warehouse.ExecuteScalar<string>(
            $"SELECT json_extract_string(labels, '$.\"zh-TW\"') FROM dim_template_field WHERE template_id = {org.TemplateId} AND key = 'fault_code'"));

        // Raised by people in the app (web) and through its API: both live; the filters find each by what it carries.
        var kpis = new KpiQueries(warehouse);
        var ours = new KpiFilter(new DateOnly(2026, 3, 1), new DateOnly(2026, 5, 1), DepartmentId: org.DepartmentId);
        Assert.Equal(2, kpis.Volume(ours with { Source = "live" }).Count);
        Assert.Equal(0, kpis.Volume(ours with { Source = "import" }).Count);
        Assert.Equal(1, kpis.Volume(ours with { Category = "leak" }).Count);
        Assert.Equal(1, kpis.Mttr(ours with { Category = "bearing", Source = "live" }).Count);
        Assert.Equal(1, kpis.Volume(ours with { FieldKey = "downtime_hours", FieldValue = "3" }).Count);
        Assert.Equal(1, kpis.Volume(ours with { FieldKey = "notes", FieldValue = "夜班 night 'shift'" }).Count);
    }

    [Fact]
    public async Task status_intervals_follow_the_history_and_mark_paused_time()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var id = await LivedWorkOrderAsync(org, close: true);
        var path = NewWarehouse();

        await IngestAsync(path);

        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        var spans = warehouse.Query<(string Status, long Seconds, bool Paused, long Business)>(
            $"SELECT status, seconds, paused, business_seconds FROM fact_status_interval WHERE work_order_id = {id} ORDER BY started_at").ToList();
        Assert.Equal(
            ["new", "assigned", "in_progress", "on_hold", "in_progress", "resolved", "in_progress", "resolved"],
            spans.Select(s => s.Status));
        Assert.All(spans, s => Assert.Equal(45 * 60, s.Seconds));

        // All of it falls on a Wednesday between 08:00 and 14:00 UTC: inside the default business day.
        Assert.All(spans, s => Assert.Equal(45 * 60, s.Business));
        Assert.Equal([false, false, false, true, false, false, false, false], spans.Select(s => s.Paused));
        Assert.Equal(
            org[Role.Technician].UserId,
            warehouse.ExecuteScalar<long>($"SELECT assignee_id FROM fact_status_interval WHERE work_order_id = {id} AND status = 'on_hold'"));
    }

    [Fact]
    public async Task business_time_follows_the_working_day_of_the_configured_time_zone()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var id = await LivedWorkOrderAsync(org, close: true);
        var path = NewWarehouse();
        using (var warehouse = WarehouseFile.Open(path))
        {
            var taipei = new BusinessHours(TimeSpan.FromHours(8), TimeSpan.FromHours(17), "Asia/Taipei");
            await new WarehouseIngest(database.DataSource, _clock, NullLogger<WarehouseIngest>.Instance, taipei).RunAsync(warehouse, null, CancellationToken.None);
        }

        using var reader = new DuckDBConnection($"Data Source={path}");
        reader.Open();
        // The spans run from 08:00 UTC, 16:00 in Taipei, 45 minutes each: the first is inside the working day, the second
        // has its last 15 minutes of it, then it is evening.
        var business = reader.Query<long>($"SELECT business_seconds FROM fact_status_interval WHERE work_order_id = {id} ORDER BY started_at").ToList();
        Assert.Equal([2700L, 900, 0, 0, 0, 0, 0, 0], business);
    }

    [Fact]
    public async Task a_second_run_takes_only_what_was_archived_since_and_applies_dimension_changes()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 300, org.Suffix + "a");
        var path = NewWarehouse();
        var first = await IngestAsync(path);

        var nothing = await IngestAsync(path);
        Assert.Equal(0, nothing.WorkOrders);
        Assert.Equal(first.ToSnapshot, nothing.FromSnapshot);

        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 200, org.Suffix + "b");
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE assets SET name = 'Pump (rebuilt)' WHERE id = @MachineId", org);
        }

        var second = await IngestAsync(path);

        Assert.Equal(200, second.WorkOrders);
        Assert.Equal(1000, second.Events);
        WarehouseFixture.AssertSame(database.DataSource, path);
    }

    [Fact]
    public async Task the_days_run_from_the_first_work_order_and_reach_back_when_older_work_arrives()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var tag = org.Suffix + "d";
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 3, tag);
        var path = NewWarehouse();
        await IngestAsync(path);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var first = await connection.ExecuteScalarAsync<DateTime>("SELECT min(created_at AT TIME ZONE 'UTC')::date FROM work_orders");
        Assert.Equal((first, DateTime.UtcNow.Date.AddDays(399)), Days(path));

        // Imported history from years before: a run that archives it reaches back to its first day; one with nothing new keeps them.
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 2, tag + "old");
        await connection.ExecuteAsync("UPDATE work_orders SET created_at = created_at - interval '6 years' WHERE number LIKE @like", new { like = $"WO-T-{tag}old-%" });
        var older = await connection.ExecuteScalarAsync<DateTime>("SELECT min(created_at AT TIME ZONE 'UTC')::date FROM work_orders");
        Assert.True(older < first.AddYears(-5));
        await IngestAsync(path);
        Assert.Equal((older, DateTime.UtcNow.Date.AddDays(399)), Days(path));
        await IngestAsync(path);
        Assert.Equal((older, DateTime.UtcNow.Date.AddDays(399)), Days(path));

        static (DateTime First, DateTime Last) Days(string file)
        {
            using var warehouse = new DuckDBConnection($"Data Source={file}");
            warehouse.Open();
            var (from, to, days) = warehouse.QuerySingle<(DateTime, DateTime, long)>("SELECT min(date)::TIMESTAMP, max(date)::TIMESTAMP, count(*) FROM dim_date");
            Assert.Equal((to - from).Days + 1, days);
            return (from, to);
        }
    }

    [Fact]
    public async Task a_run_copies_the_open_work_written_since_and_dates_all_of_it_to_its_snapshot()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var create = new CreateWorkOrder(database.DataSource, _clock);
        async Task<long> OpenAsync(string title)
        {
            var outcome = await create.HandleAsync(
                new CreateWorkOrderRequest(org.TemplateId, title, "open work", 3, null, org.MachineId,
                    CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") }),
                org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None);
            return outcome.Value?.Id ?? throw new InvalidOperationException(outcome.Failure!.Message);
        }

        var (untouched, raised, cancelled) = (await OpenAsync("Untouched"), await OpenAsync("Raised"), await OpenAsync("Cancelled"));
        var path = NewWarehouse();
        await IngestAsync(path);

        // A mark on the warehouse's row of work nobody wrote since: a run that copied it again would wipe the mark.
        using (var warehouse = new DuckDBConnection($"Data Source={path}"))
        {
            warehouse.Open();
            warehouse.Execute($"UPDATE open_work_order SET title = 'as first copied' WHERE work_order_id = {untouched}");
        }

        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE work_orders SET priority = 1 WHERE id = @raised; UPDATE work_orders SET status = 'cancelled', closed_at = now() WHERE id = @cancelled",
                new { raised, cancelled });
        }

        var added = await OpenAsync("Added");
        _clock.Advance(TimeSpan.FromHours(2));
        var stages = new List<string>();
        var second = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock, stages.Add);

        Assert.Contains("copied stage_open_work_order", stages);
        Assert.DoesNotContain("copied open_work_order", stages);
        const string Open = "SELECT work_order_id, number, title, priority, status, assignee_id, created_at, snapshot_at FROM open_work_order ORDER BY work_order_id";
        var whole = NewWarehouse();
        await IngestAsync(whole);
        List<string> OpenRows(string file)
        {
            using var warehouse = new DuckDBConnection($"Data Source={file}");
            warehouse.Open();
            return WarehouseFixture.Rows(warehouse, Open);
        }

        var merged = OpenRows(path);
        var copied = OpenRows(whole);
        Assert.Equal(copied.Count, second.OpenWorkOrders);
        Assert.Equal(copied, merged.Select(r => r.Replace("|as first copied|", "|Untouched|", StringComparison.Ordinal)));
        Assert.Contains(merged, r => r.StartsWith($"{untouched}|", StringComparison.Ordinal) && r.Contains("|as first copied|", StringComparison.Ordinal));
        Assert.Contains(merged, r => r.StartsWith($"{raised}|", StringComparison.Ordinal) && r.Contains("|Raised|1|", StringComparison.Ordinal));
        Assert.Contains(merged, r => r.StartsWith($"{added}|", StringComparison.Ordinal));
        Assert.DoesNotContain(merged, r => r.StartsWith($"{cancelled}|", StringComparison.Ordinal));
        Assert.All(merged, r => Assert.EndsWith("|2026-04-01 10:00:00.000000", r, StringComparison.Ordinal));
        WarehouseFixture.AssertSame(database.DataSource, path);
    }

    [Fact]
    public async Task work_archived_by_a_transaction_that_commits_late_is_taken_by_the_next_run_exactly_once()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var path = NewWarehouse();
        await using var slow = await database.DataSource.OpenConnectionAsync();
        await using var late = await slow.BeginTransactionAsync();
        await WarehouseFixture.AddArchivedAsync(slow, late, org, 3, org.Suffix + "late");

        // Archived after the slow transaction began, and committed before it.
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 5, org.Suffix + "early");
        var first = await IngestAsync(path);
        await late.CommitAsync();
        var second = await IngestAsync(path);
        var third = await IngestAsync(path);

        Assert.True(first.WorkOrders >= 5);
        Assert.Equal((3L, 15L), (second.WorkOrders, second.Events));
        Assert.Equal(0, third.WorkOrders);
        WarehouseFixture.AssertSame(database.DataSource, path);
    }

    [Fact]
    public async Task the_parquet_export_is_partitioned_by_year_and_month_and_reads_back_whole()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 12_000, org.Suffix);
        var path = NewWarehouse();
        await IngestAsync(path);
        var target = Path.Combine(_folder, "parquet");

        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        var written = ParquetExport.Write(warehouse, target, CancellationToken.None);

        // 12,000 work orders seven minutes apart span January and February 2025.
        Assert.True(Directory.Exists(Path.Combine(target, "fact_work_order", "year=2025", "month=2")));
        var facts = warehouse.ExecuteScalar<long>("SELECT count(*) FROM fact_work_order");
        Assert.Equal(facts, written.Single(w => w.Table == "fact_work_order").Rows);
        Assert.Equal(facts, warehouse.ExecuteScalar<long>(
            $"SELECT count(*) FROM read_parquet('{target}/fact_work_order/**/*.parquet', hive_partitioning = true)"));
        Assert.Equal(
            warehouse.ExecuteScalar<long>("SELECT count(*) FROM fact_event"),
            warehouse.ExecuteScalar<long>($"SELECT count(*) FROM read_parquet('{target}/fact_event/**/*.parquet', hive_partitioning = true)"));
        Assert.Equal(
            warehouse.ExecuteScalar<long>("SELECT count(*) FROM fact_work_order WHERE month(created_at) = 2 AND year(created_at) = 2025"),
            warehouse.ExecuteScalar<long>($"SELECT count(*) FROM read_parquet('{target}/fact_work_order/**/*.parquet', hive_partitioning = true) WHERE year = 2025 AND month = 2"));
        Assert.True(File.Exists(Path.Combine(target, "dim_asset.parquet")));
    }

    [Fact]
    public async Task the_command_line_says_what_to_do_when_another_process_holds_the_warehouse()
    {
        var path = NewWarehouse();
        using var held = WarehouseFile.Open(path);
        using var process = StartIngest(path);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        var said = System.Text.RegularExpressions.Regex.Replace(await output + await errors, @"\s+", " ");
        Assert.Equal(Cli.Failed, process.ExitCode);
        Assert.Contains("in use by another process", said, StringComparison.Ordinal);
        Assert.Contains("Ingest now", said, StringComparison.Ordinal);
        Assert.DoesNotContain(" at WorkOrders.", said, StringComparison.Ordinal);
    }

    private Process StartIngest(string warehouse)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "WorkOrders.Ingest.dll"), "ingest", "--warehouse", warehouse])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__WorkOrders"] = database.ConnectionString;
        return Process.Start(start)!;
    }
}
