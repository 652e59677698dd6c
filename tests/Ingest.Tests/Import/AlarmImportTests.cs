using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Import;
using WorkOrders.Ingest.Tests.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>Another system's alarm journal imported as alarm episodes: no work orders, a reject file, re-runs that add nothing, and the warehouse's alarm figures.</summary>
[Collection(ImportCollection.Name)]
public sealed class AlarmImportTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-alarm-import-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Rejects => Path.Combine(_folder, "rejects.csv");

    /// <summary>A journal with its own column names, severities 1 to 3, and times in Taipei (UTC+8).</summary>
    private static AlarmImportMapping Mapping(TestOrg org) => new()
    {
        Source = $"SCADA journal {org.Suffix}",
        TimeZone = "Asia/Taipei",
        Columns = new AlarmColumns
        {
            EventId = null, Asset = "equipment", Point = "tag", Raised = "start", Cleared = "end", Severity = "prio", Code = "alarm_code", Message = "text",
        },
        Severities = new() { ["1"] = "critical", ["2"] = "major", ["3"] = "minor" },
        Template = org.TemplateName,
    };

    private static string Journal(TestOrg org, string vibrationCleared) => $"""
        equipment,tag,start,end,prio,alarm_code,text
        M-{org.Suffix},TT-101,2026-03-01 08:00,2026-03-01 08:30,1,overheat,Motor winding hot 馬達過熱
        M-{org.Suffix},TT-101,2026-03-01 09:00,2026-03-01 09:05,1,overheat,Motor winding hot again
        M-{org.Suffix},VT-7,2026-03-02 10:00,{vibrationCleared},3,,Vibration high
        M-{org.Suffix},TT-101,2026-03-01 08:00,2026-03-01 08:30,1,overheat,the first row once more
        NO-SUCH,TT-1,2026-03-01 08:00,,2,x,an asset the register does not know
        M-{org.Suffix},TT-101,2026-03-03 08:00,2026-03-03 07:00,2,overheat,cleared before it was raised
        M-{org.Suffix},TT-101,2026-03-04 08:00,,urgent,overheat,a severity the mapping does not know
        """;

    private async Task<string> WriteAsync(string name, string text)
    {
        var file = Path.Combine(_folder, name);
        await File.WriteAllTextAsync(file, text);
        return file;
    }

    private Task<AlarmImportResult> ImportAsync(string file, AlarmImportMapping mapping) =>
        new AlarmImport(database.DataSource, _clock).RunAsync(file, mapping, Rejects, CancellationToken.None);

    private async Task<List<string>> EpisodesAsync(long machine)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return [.. await connection.QueryAsync<string>(
            """
            SELECT concat_ws('|', r.signal, r.fault_code, r.severity, r.active, to_char(e.raised_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'),
                             coalesce(to_char(e.cleared_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'), '-'), e.outcome, coalesce(e.work_order_id::text, '-'), coalesce(e.note, ''),
                             (SELECT string_agg(v.state || ':' || v.outcome || ':' || v.channel, ',' ORDER BY v.occurred_at) FROM alarm_events v WHERE v.episode_id = e.id))
            FROM alarm_episodes e JOIN alarm_rules r ON r.id = e.rule_id
            WHERE e.asset_id = @machine ORDER BY e.raised_at
            """,
            new { machine })];
    }

    [Fact]
    public async Task a_journal_becomes_alarm_episodes_without_work_orders_bad_rows_are_rejected_and_a_second_run_adds_nothing()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var file = await WriteAsync("journal.csv", Journal(org, ""));

        var first = await ImportAsync(file, Mapping(org));

        Assert.Equal((7L, 3L, 0L, 4L), (first.Read, first.Added, first.AlreadyThere, first.Rejected));
        Assert.Equal(
            [
                "TT-101|overheat|critical|f|03-01 00:00|03-01 00:30|imported|-|Motor winding hot 馬達過熱|raised:imported:import,cleared:cleared:import",
                "TT-101|overheat|critical|f|03-01 01:00|03-01 01:05|imported|-|Motor winding hot again|raised:imported:import,cleared:cleared:import",
                "VT-7|VT-7|minor|f|03-02 02:00|-|imported|-|Vibration high|raised:imported:import",
            ],
            await EpisodesAsync(org.MachineId));
        var rejects = await File.ReadAllLinesAsync(Rejects);
        Assert.Equal(RejectFile.Header, rejects[0]);
        Assert.Contains(rejects, l => l.StartsWith("4,", StringComparison.Ordinal) && l.Contains(",start,\"the same alarm (asset, point, code and raised time) is on row 1 already.\"", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("5,", StringComparison.Ordinal) && l.Contains("NO-SUCH/TT-1,equipment,'NO-SUCH' is not an asset code of the register.", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("6,", StringComparison.Ordinal) && l.Contains(",end,2026-03-02 23:00:00Z is before the alarm was raised", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("7,", StringComparison.Ordinal) && l.Contains(",prio,\"'urgent' is not a severity", StringComparison.Ordinal));
        Assert.Equal(5, rejects.Length);

        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE asset_id = @MachineId", org));
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_work_orders WHERE asset_id = @MachineId", org));
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_states WHERE asset_id = @MachineId", org));
            Assert.NotNull(await connection.ExecuteScalarAsync<DateTime?>("SELECT revoked_at FROM alarm_sources WHERE name = @name", new { name = Mapping(org).Source }));
        }

        var second = await ImportAsync(file, Mapping(org));

        Assert.Equal((7L, 0L, 3L, 0L, 4L), (second.Read, second.Added, second.AlreadyThere, second.ClearedSince, second.Rejected));
        Assert.Equal(3, (await EpisodesAsync(org.MachineId)).Count);

        // A later export: the vibration alarm has cleared since; its episode clears, nothing else changes.
        var later = await WriteAsync("later.csv", Journal(org, "2026-03-02 11:15"));
        var third = await ImportAsync(later, Mapping(org));

        Assert.Equal((0L, 3L, 1L), (third.Added, third.AlreadyThere, third.ClearedSince));
        Assert.Equal(
            "VT-7|VT-7|minor|f|03-02 02:00|03-02 03:15|imported|-|Vibration high|raised:imported:import,cleared:cleared:import",
            (await EpisodesAsync(org.MachineId))[2]);
        Assert.Equal(0L, (await ImportAsync(later, Mapping(org))).ClearedSince);
    }

    [Fact]
    public async Task the_source_event_id_is_the_key_and_the_default_columns_need_no_mapping_file()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var file = await WriteAsync("default.csv", $"""
            event_id,asset_code,point,raised_at,cleared_at,severity,code,message
            A-1,M-{org.Suffix},PT-3,2026-04-01T06:00:00Z,2026-04-01T06:10:00Z,Major,low_pressure,
            A-2,M-{org.Suffix},PT-3,2026-04-01T07:00:00Z,,warning,low_pressure,NULL
            A-1,M-{org.Suffix},PT-3,2026-04-02T07:00:00Z,,warning,low_pressure,the same id again
            """);
        var mapping = new AlarmImportMapping { Source = $"BMS {org.Suffix}", Template = org.TemplateName, MissingValues = ["NULL"] };

        var first = await ImportAsync(file, mapping);
        var again = await ImportAsync(file, mapping);

        Assert.Equal((3L, 2L, 1L), (first.Read, first.Added, first.Rejected));
        Assert.Equal((0L, 2L), (again.Added, again.AlreadyThere));
        Assert.Contains(await File.ReadAllLinesAsync(Rejects), l => l.StartsWith("3,A-1,event_id,'A-1' is on row 1 already.", StringComparison.Ordinal));
        Assert.Equal(
            [
                "PT-3|low_pressure|major|f|04-01 06:00|04-01 06:10|imported|-||raised:imported:import,cleared:cleared:import",
                "PT-3|low_pressure|warning|f|04-01 07:00|-|imported|-||raised:imported:import",
            ],
            await EpisodesAsync(org.MachineId));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        Assert.Equal(
            ["A-1:cleared", "A-1:raised", "A-2:raised"],
            await connection.QueryAsync<string>(
                "SELECT v.event_id FROM alarm_events v JOIN alarm_sources s ON s.id = v.source_id WHERE s.name = @Source ORDER BY 1", mapping));
    }

    [Fact]
    public void the_sample_alarm_mapping_is_valid()
    {
        var mapping = AlarmImportMapping.Load(ImportFiles.AlarmMapping);

        mapping.Check();
        Assert.Equal(("alarm_id", "critical", "warning"), (mapping.Columns.EventId, mapping.Severities["1"], mapping.DefaultSeverity));
    }

    [Fact]
    public async Task imported_alarms_count_in_the_warehouse_alarm_figures_and_not_in_work_order_volume_or_mttr()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await ImportAsync(await WriteAsync("journal.csv", Journal(org, "")), Mapping(org));
        var path = Path.Combine(_folder, "w.duckdb");

        var ingest = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

        Assert.True(ingest.AlarmEpisodes >= 3);
        using (var warehouse = new DuckDBConnection($"Data Source={path}"))
        {
            warehouse.Open();
            Assert.Equal(
                ["VT-7|minor|imported|1", "overheat|critical|imported|2"],
                WarehouseFixture.Rows(warehouse, $"SELECT fault_code, severity, outcome, count(*) FROM fact_alarm_episode WHERE asset_id = {org.MachineId} GROUP BY ALL ORDER BY 1"));
            Assert.Equal(
                ["2026-03-01|overheat|cleared|2", "2026-03-01|overheat|imported|2", "2026-03-02|VT-7|imported|1"],
                WarehouseFixture.Rows(warehouse, $"SELECT day::VARCHAR, fault_code, outcome, events FROM fact_alarm_event_day WHERE asset_id = {org.MachineId} ORDER BY 1, 2, 3"));
        }

        using var analytics = new WarehouseAnalytics(new WarehouseReader(Options.Create(new WarehouseOptions { Path = path })));
        var march = new KpiFilter(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 1), DepartmentId: org.DepartmentId);
        var alarms = await analytics.AlarmFiguresAsync(march, CancellationToken.None);
        Assert.Equal((3L, 0L, 1L), (alarms.Total.Episodes, alarms.Total.WorkOrders, alarms.Total.StillActive));
        Assert.Equal((0.5 + (5.0 / 60)) / 2, alarms.Total.MeanHoursToClear!.Value, 6);
        var kpis = await analytics.SummaryAsync(march, CancellationToken.None);
        Assert.Equal(0, kpis.Volume.Count);
        Assert.Equal(0, kpis.Mttr.Count);
    }
}
