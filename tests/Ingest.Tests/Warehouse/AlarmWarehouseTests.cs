using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>Alarm episodes and events (see <see cref="AlarmHistorySet"/>) ingested into DuckDB incrementally and asked through <see cref="WarehouseAnalytics"/>.</summary>
public sealed class AlarmWarehouseTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-alarm-warehouse-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 12, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Episodes(long machine, long machine2) => $"""
        SELECT asset_id = {machine2} AS second, fault_code, severity, raised_at, cleared_at, outcome, work_order_id IS NOT NULL AS linked
        FROM fact_alarm_episode WHERE asset_id IN ({machine}, {machine2}) ORDER BY asset_id, raised_at
        """;

    private static string EventDays(long machine, long machine2) => $"""
        SELECT day::VARCHAR, asset_id = {machine2} AS second, fault_code, outcome, events
        FROM fact_alarm_event_day WHERE asset_id IN ({machine}, {machine2}) ORDER BY day, second, fault_code NULLS FIRST, outcome
        """;

    [Fact]
    public async Task alarm_episodes_and_daily_event_counts_reach_the_warehouse_as_worked_out_by_hand()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var set = await AlarmHistorySet.SeedAsync(database.DataSource, org);
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            // An event naming an asset the register does not know stays in PostgreSQL for the administrator.
            await connection.ExecuteAsync(
                """
                INSERT INTO alarm_events (source_id, event_id, asset_code, signal, value, occurred_at, received_at, channel, outcome)
                VALUES (@source, 'unknown-1', 'NOT-REGISTERED', 'temperature', 85, '2026-03-02 08:00Z', '2026-03-02 08:00Z', 'api', 'unknown_asset')
                """,
                new { source = set.SourceId });
        }

        var path = Path.Combine(_folder, "w.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        Assert.Equal(["0"], WarehouseFixture.Rows(warehouse, "SELECT count(*) FROM fact_alarm_event_day WHERE asset_id IS NULL OR outcome = 'unknown_asset'"));
        Assert.Equal(
            [
                "False|overheat|major|2026-03-02 08:00:00.000000|2026-03-02 10:00:00.000000|work_order|True",
                "False|overheat|major|2026-03-02 10:20:00.000000|2026-03-02 10:50:00.000000|attached|True",
                "False|overheat|major|2026-03-02 11:00:00.000000|2026-03-02 11:30:00.000000|attached|True",
                "False|bearing|minor|2026-03-05 12:00:00.000000|2026-03-05 18:00:00.000000|rate_limited|False",
                "False|overheat|major|2026-03-09 09:00:00.000000|∅|suppressed|False",
                "True|overheat|major|2026-02-20 08:00:00.000000|2026-02-20 09:00:00.000000|refused|False",
                "True|overheat|major|2026-03-10 07:00:00.000000|2026-03-10 08:00:00.000000|work_order|True",
            ],
            WarehouseFixture.Rows(warehouse, Episodes(set.MachineId, set.Machine2Id)));
        Assert.Equal(
            [
                "2026-02-20|True|overheat|refused_by_core|1",
                "2026-03-02|False|∅|no_rule|1",
                "2026-03-02|False|overheat|active|1",
                "2026-03-02|False|overheat|attached|2",
                "2026-03-02|False|overheat|cleared|3",
                "2026-03-02|False|overheat|raised|1",
                "2026-03-05|False|bearing|cleared|1",
                "2026-03-05|False|bearing|rate_limited|1",
                "2026-03-09|False|overheat|suppressed|1",
                "2026-03-10|True|overheat|cleared|1",
                "2026-03-10|True|overheat|raised|1",
            ],
            WarehouseFixture.Rows(warehouse, EventDays(set.MachineId, set.Machine2Id)));
        Assert.Equal(
            ["cleared_at|TIMESTAMP", "raised_at|TIMESTAMP"],
            WarehouseFixture.Rows(warehouse, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'fact_alarm_episode' AND column_name LIKE '%ed_at' ORDER BY 1"));
        Assert.Equal(
            [$"{org.DepartmentId}|{org.SiteId}"],
            WarehouseFixture.Rows(warehouse, $"SELECT DISTINCT department_id, site_id FROM fact_alarm_episode WHERE asset_id = {set.MachineId}"));
    }

    [Fact]
    public async Task a_cleared_episode_replaces_its_warehouse_row_new_events_add_to_the_day_and_a_run_with_nothing_new_changes_nothing()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var set = await AlarmHistorySet.SeedAsync(database.DataSource, org);
        var path = Path.Combine(_folder, "incremental.duckdb");
        var first = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);
        Assert.True(first.AlarmEpisodes >= 7);

        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE alarm_episodes SET cleared_at = '2026-03-09 12:00Z' WHERE id = @SuppressedEpisode", new { set.SuppressedEpisode });
            await AlarmHistorySet.AddEventAsync(connection, set.SourceId, "later-1", set.MachineId, set.OverheatRule, set.SuppressedEpisode, "2026-03-09 10:00Z", "suppressed", null);
            await AlarmHistorySet.AddEventAsync(connection, set.SourceId, "later-2", set.MachineId, set.OverheatRule, set.SuppressedEpisode, "2026-03-09 12:00Z", "cleared", null);
            await connection.ExecuteAsync(
                """
                INSERT INTO alarm_episodes (asset_id, rule_id, site_id, raised_at, outcome, work_order_id, recorded_at)
                VALUES (@Machine2Id, @OverheatRule, NULL, '2026-03-11 06:00Z', 'attached', @WorkOrderB, '2026-03-11 06:00Z')
                """,
                set);
        }

        _clock.Advance(TimeSpan.FromHours(1));
        var second = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);
        Assert.Equal(2, second.AlarmEpisodes);
        Assert.Equal(2, second.AlarmEventGroups);

        List<string> Contents()
        {
            using var warehouse = new DuckDBConnection($"Data Source={path}");
            warehouse.Open();
            return [.. WarehouseFixture.Rows(warehouse, Episodes(set.MachineId, set.Machine2Id)), .. WarehouseFixture.Rows(warehouse, EventDays(set.MachineId, set.Machine2Id)),
                .. WarehouseFixture.Rows(warehouse, "SELECT count(*), count(DISTINCT episode_id) FROM fact_alarm_episode")];
        }

        var after = Contents();
        Assert.Contains("False|overheat|major|2026-03-09 09:00:00.000000|2026-03-09 12:00:00.000000|suppressed|False", after);
        Assert.DoesNotContain("False|overheat|major|2026-03-09 09:00:00.000000|∅|suppressed|False", after);
        Assert.Contains("True|overheat|major|2026-03-11 06:00:00.000000|∅|attached|True", after);
        Assert.Contains("2026-03-09|False|overheat|suppressed|2", after);
        Assert.Contains("2026-03-09|False|overheat|cleared|1", after);
        Assert.Equal(after[^1].Split('|')[0], after[^1].Split('|')[1]);

        _clock.Advance(TimeSpan.FromHours(1));
        var third = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);
        Assert.Equal(0, third.AlarmEpisodes);
        Assert.Equal(0, third.AlarmEventGroups);
        Assert.Equal(after, Contents());

        // A rule made more severe: every episode of it carries its severity, so the next run copies its episodes again.
        long episodes;
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE alarm_rules SET severity = 'critical' WHERE id = @OverheatRule", set);
            episodes = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_episodes WHERE rule_id = @OverheatRule", set);
        }

        var stages = new List<string>();
        Assert.Equal(episodes, (await WarehouseFixture.IngestAsync(database.DataSource, path, _clock, stages.Add)).AlarmEpisodes);
        Assert.Contains("copied stage_fact_alarm_episode", stages);
        Assert.Contains("True|overheat|critical|2026-03-11 06:00:00.000000|∅|attached|True", Contents());
        Assert.DoesNotContain("True|overheat|major|2026-03-11 06:00:00.000000|∅|attached|True", Contents());
    }

    [Fact]
    public async Task a_clear_committed_after_a_run_began_is_taken_by_the_next_run_exactly_once()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var set = await AlarmHistorySet.SeedAsync(database.DataSource, org);
        var path = Path.Combine(_folder, "late-commit.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

        string? Cleared()
        {
            using var warehouse = new DuckDBConnection($"Data Source={path}");
            warehouse.Open();
            return WarehouseFixture.Rows(warehouse, $"SELECT cleared_at FROM fact_alarm_episode WHERE episode_id = {set.SuppressedEpisode}").Single();
        }

        // The clear's transaction is open while the next run takes its snapshot: that run cannot see it.
        await using var late = await database.DataSource.OpenConnectionAsync();
        await using (var transaction = await late.BeginTransactionAsync())
        {
            await late.ExecuteAsync("UPDATE alarm_episodes SET cleared_at = '2026-03-09 12:00Z' WHERE id = @SuppressedEpisode", new { set.SuppressedEpisode }, transaction);
            _clock.Advance(TimeSpan.FromHours(1));
            var during = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);
            Assert.Equal(0, during.AlarmEpisodes);
            Assert.Equal("∅", Cleared());
            await transaction.CommitAsync();
        }

        _clock.Advance(TimeSpan.FromHours(1));
        var after = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);
        Assert.Equal(1, after.AlarmEpisodes);
        Assert.Equal("2026-03-09 12:00:00.000000", Cleared());
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, (await WarehouseFixture.IngestAsync(database.DataSource, path, _clock)).AlarmEpisodes);
    }

    [Fact]
    public async Task the_reliability_alarm_figures_count_episodes_outcomes_times_to_clear_and_chatter_as_worked_out_by_hand()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var set = await AlarmHistorySet.SeedAsync(database.DataSource, org);
        var path = Path.Combine(_folder, "figures.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);

        using var analytics = new WarehouseAnalytics(new WarehouseReader(Options.Create(new WarehouseOptions { Path = path })));
        var march = new KpiFilter(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 1), DepartmentId: org.DepartmentId);
        var figures = await analytics.AlarmFiguresAsync(march, CancellationToken.None);

        var machine = $"M-{org.Suffix} Pump";
        var machine2 = $"M2-{org.Suffix} Pump 2";
        Assert.Equal(new AlarmEpisodeRow(0, "", "", 6, 2, 2, 2, 0, 1, 2.0, 2), figures.Total);
        Assert.Equal(1.0 / 3, figures.Total.WorkOrderShare, 10);
        Assert.Equal(
            [
                new AlarmEpisodeRow(set.MachineId, machine, "overheat", 4, 1, 2, 1, 0, 1, 1.0, 2),
                new AlarmEpisodeRow(set.MachineId, machine, "bearing", 1, 0, 0, 1, 0, 0, 6.0, 0),
                new AlarmEpisodeRow(set.Machine2Id, machine2, "overheat", 1, 1, 0, 0, 0, 0, 1.0, 0),
            ],
            figures.ByAssetAndFault);
        Assert.Equal([new ChatteringAsset(set.MachineId, machine, 5, 2)], figures.Chattering);

        // February holds only the refused episode of M2; another department sees nothing.
        var february = await analytics.AlarmFiguresAsync(march with { From = new DateOnly(2026, 2, 1), To = new DateOnly(2026, 3, 1) }, CancellationToken.None);
        Assert.Equal([new AlarmEpisodeRow(set.Machine2Id, machine2, "overheat", 1, 0, 0, 0, 1, 0, 1.0, 0)], february.ByAssetAndFault);
        var other = await analytics.AlarmFiguresAsync(march with { DepartmentId = org.DepartmentId + 100_000 }, CancellationToken.None);
        Assert.Equal(0, other.Total.Episodes);
        Assert.Empty(other.ByAssetAndFault);
        Assert.Empty(other.Chattering);
        Assert.Equal(ReliabilityQueries.ChatterWithin, TimeSpan.FromHours(1));
    }
}
