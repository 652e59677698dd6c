using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>
/// A generated history ingested in two runs (a second organisation generated between them), for the rollup tests:
/// the questions answer alike from the rollups and from the facts, and the rollups added run by run equal a rebuild.
/// The first run derives in slices of 700 work orders, as a first run over millions does in slices of a million.
/// </summary>
public sealed class GeneratedWarehouse : IAsyncLifetime
{
    private static readonly DateOnly End = new(2025, 6, 15);

    private readonly TestDatabase _database = new();

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rollups-{Guid.NewGuid():N}.duckdb");

    /// <summary>The stages of the first run (see <see cref="Ingest.Warehouse.WarehouseIngest.AtStage"/>).</summary>
    public List<string> FirstRunStages { get; } = [];

    public async Task InitializeAsync()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        await _database.InitializeAsync();
        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 6, 15, 12, 0, 0, TimeSpan.Zero));
        var generator = new HistoryGenerator(_database.DataSource);
        await generator.RunAsync(new GenerateOptions(3000, 36, 7, End), null, CancellationToken.None);
        await WarehouseFixture.IngestAsync(_database.DataSource, Path, clock, FirstRunStages.Add, deriveSlice: 700);
        await generator.RunAsync(new GenerateOptions(1500, 36, 8, End), null, CancellationToken.None);
        await WarehouseFixture.IngestAsync(_database.DataSource, Path, clock);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        File.Delete(Path);
        File.Delete(Path + ".wal");
    }
}

public sealed class RollupTests(GeneratedWarehouse generated) : IClassFixture<GeneratedWarehouse>
{
    private static readonly JsonSerializerOptions Rounded = new() { Converters = { new RoundedDouble() } };

    [Fact]
    public void every_question_answers_the_same_from_the_rollups_as_from_the_facts_on_a_generated_history()
    {
        using var warehouse = WarehouseFile.Open(generated.Path);
        Assert.True(WarehouseRollups.Kept(warehouse, CancellationToken.None));
        Assert.True(Scalar(warehouse, "SELECT count(*) FROM (SELECT DISTINCT ingest_run_id FROM fact_work_order)") == 2, "the history arrives in two runs");

        var department = Scalar(warehouse, "SELECT min(department_id) FROM fact_work_order");
        var category = Text(warehouse, "SELECT category FROM fact_work_order WHERE category IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC LIMIT 1");
        var site = Scalar(warehouse, "SELECT min(site_id) FROM dim_asset");
        var year = new KpiFilter(new DateOnly(2024, 6, 1), new DateOnly(2025, 6, 1));
        var ragged = new KpiFilter(new DateOnly(2023, 3, 17), new DateOnly(2025, 2, 11));
        KpiFilter[] filters =
        [
            year, ragged, year with { DepartmentId = department }, year with { WorkType = "corrective" }, year with { Priority = 2 },
            year with { Category = category }, year with { Source = "live" }, ragged with { Source = "pm", WorkType = "preventive" },
            year with { SiteId = site }, year with { FieldKey = "fault_code", FieldValue = category },
        ];

        var compared = 0;
        foreach (var filter in filters)
        {
            foreach (var (question, answer) in Questions(filter))
            {
                var rolled = JsonSerializer.Serialize(answer(warehouse, null), Rounded);
                var facts = JsonSerializer.Serialize(answer(warehouse, false), Rounded);
                Assert.True(facts == rolled, $"{question} with {filter.Describe()}:\nfacts   {facts}\nrollups {rolled}");
                compared++;
            }
        }

        Assert.Equal(filters.Length * 12, compared);
        Assert.True(new KpiQueries(warehouse).Summary(year).Volume.Count > 1000, "the year holds enough work to compare");
    }

    [Fact]
    public void rollups_added_run_by_run_equal_a_rebuild_from_the_facts()
    {
        using var warehouse = WarehouseFile.Open(generated.Path);
        var added = Sums(warehouse);
        Execute(warehouse, "BEGIN TRANSACTION");
        try
        {
            Execute(warehouse, WarehouseSchema.RebuildRollups);
            var rebuilt = Sums(warehouse);
            Assert.True(rebuilt.Count > 100, "the rebuild sums a history");
            foreach (var measure in new[] { "rollup_work_order_day|in_progress|", "rollup_work_order_day|preventive_due|", "rollup_repeat_day|" })
            {
                Assert.True(rebuilt.Count(l => l.StartsWith(measure, StringComparison.Ordinal)) > 10, $"the rebuild sums {measure}");
            }

            Assert.Equal(rebuilt, added);
        }
        finally
        {
            Execute(warehouse, "ROLLBACK");
        }
    }

    [Fact]
    public void a_run_derived_in_slices_holds_the_intervals_and_history_of_one_pass()
    {
        Assert.True(generated.FirstRunStages.Count(s => s == "derived fact_status_interval") >= 4, "the first run derives in slices");
        using var warehouse = WarehouseFile.Open(generated.Path);
        Execute(warehouse, "BEGIN TRANSACTION");
        try
        {
            Execute(warehouse, """
                CREATE TEMP TABLE sliced_intervals AS SELECT * FROM fact_status_interval;
                CREATE TEMP TABLE sliced_history AS SELECT * FROM fact_work_order_history;
                DELETE FROM fact_status_interval;
                DELETE FROM fact_work_order_history;
                """);
            foreach (var run in new[] { 1L, 2L })
            {
                Execute(warehouse, WarehouseSchema.DeriveIntervals(run, BusinessHours.Default));
                Execute(warehouse, WarehouseSchema.DeriveHistory(run));
            }

            Assert.True(Scalar(warehouse, "SELECT count(*) FROM sliced_intervals") > 10_000, "the history has intervals");
            Assert.Equal(Scalar(warehouse, "SELECT count(*) FROM fact_work_order"), Scalar(warehouse, "SELECT count(*) FROM sliced_history"));
            foreach (var (sliced, whole) in new[] { ("sliced_intervals", "fact_status_interval"), ("sliced_history", "fact_work_order_history") })
            {
                Assert.Equal(Scalar(warehouse, $"SELECT count(*) FROM {whole}"), Scalar(warehouse, $"SELECT count(*) FROM {sliced}"));
                Assert.Equal(0, Scalar(warehouse, $"SELECT count(*) FROM (SELECT * FROM {sliced} EXCEPT ALL SELECT * FROM {whole})"));
            }
        }
        finally
        {
            Execute(warehouse, "ROLLBACK");
        }
    }

    [Fact]
    public void a_failure_archived_after_a_later_one_moves_the_later_ones_gap_and_the_repeats_still_match_the_facts()
    {
        using var warehouse = WarehouseFile.Open(generated.Path);
        Execute(warehouse, "BEGIN TRANSACTION");
        try
        {
            // Failures archived in the year with no earlier one of their asset and code within 30 days, whose
            // partition has no open failure: each gets an earlier twin, archived by a later run, 1 to 3 days before it
            // (on another day, so that the twin's +1 and the failure's -1 do not fall on one key and cancel).
            Execute(warehouse, """
                CREATE TEMP TABLE late AS
                SELECT w.*, row_number() OVER (ORDER BY w.work_order_id) AS k FROM (
                    SELECT w.*, lag(w.created_at) OVER (PARTITION BY w.asset_id, w.failure_code ORDER BY w.created_at, w.work_order_id) AS previous
                    FROM fact_work_order w WHERE w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL) w
                WHERE w.created_at >= '2024-06-01' AND w.created_at < '2025-06-01' AND (w.previous IS NULL OR w.previous < w.created_at - INTERVAL 30 DAY)
                  AND NOT EXISTS (SELECT 1 FROM open_work_order o WHERE o.asset_id = w.asset_id AND o.failure_code = w.failure_code)
                ORDER BY w.work_order_id LIMIT 40;
                INSERT INTO fact_work_order BY NAME
                SELECT * EXCLUDE (previous, k) REPLACE (work_order_id + 100000000 AS work_order_id, number || '-late' AS number,
                       created_at - to_days(1 + k % 3) AS created_at, 99 AS ingest_run_id)
                FROM late;
                """);
            Assert.True(Scalar(warehouse, "SELECT count(*) FROM late") >= 20, "the year holds failures to move");
            Execute(warehouse, WarehouseSchema.DeriveRollups(99));
            Assert.True(Scalar(warehouse, "SELECT count(*) FROM rollup_repeat_day WHERE n < 0") >= 20, "the later failures left their old gaps");

            var year = new KpiFilter(new DateOnly(2024, 6, 1), new DateOnly(2025, 6, 1));
            foreach (var filter in new[] { year, year with { Priority = 2 }, year with { SiteId = Scalar(warehouse, "SELECT min(site_id) FROM dim_asset") } })
            {
                foreach (var days in new[] { 1, 14, 30, 365 })
                {
                    var facts = new KpiQueries(warehouse) { Rollups = false }.RepeatFailures(filter, days);
                    Assert.Equal(facts, new KpiQueries(warehouse).RepeatFailures(filter, days));
                    Assert.Equal(
                        new KpiQueries(warehouse) { Rollups = false }.Monthly(filter, days).Select(m => m.Kpis.RepeatFailures),
                        new KpiQueries(warehouse).Monthly(filter, days).Select(m => m.Kpis.RepeatFailures));
                }
            }

            var added = Sums(warehouse);
            Execute(warehouse, WarehouseSchema.RebuildRollups);
            Assert.Equal(Sums(warehouse), added);
        }
        finally
        {
            Execute(warehouse, "ROLLBACK");
        }
    }

    [Fact]
    public void the_newest_repeat_failures_and_the_heaviest_heatmap_rows_equal_a_count_of_the_failures_themselves()
    {
        using var warehouse = WarehouseFile.Open(generated.Path);
        var failures = new List<(long Id, long AssetId, string Label, string Code, DateTime CreatedAt, double Hours)>();
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = """
                SELECT f.work_order_id, f.asset_id, a.code || ' ' || a.name, f.failure_code, f.created_at,
                       date_diff('second', f.created_at, coalesce(f.resolved_at, f.snapshot_at)) / 3600.0
                FROM (SELECT work_order_id, asset_id, failure_code, created_at, resolved_at, NULL::TIMESTAMP AS snapshot_at FROM fact_work_order
                      WHERE work_type = 'corrective' AND failure_code IS NOT NULL AND status = 'closed'
                      UNION ALL
                      SELECT work_order_id, asset_id, failure_code, created_at, NULL, snapshot_at FROM open_work_order
                      WHERE work_type = 'corrective' AND failure_code IS NOT NULL) f
                JOIN dim_asset a ON a.asset_id = f.asset_id
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                failures.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetDateTime(4), reader.GetDouble(5)));
            }
        }

        var year = new KpiFilter(new DateOnly(2024, 6, 1), new DateOnly(2025, 6, 1));
        var queries = new ReliabilityQueries(warehouse);
        foreach (var days in new[] { 30, 365 })
        {
            // Each failure against the one before it of its asset and code; the list asks the newest weeks first.
            var repeats = failures.GroupBy(f => (f.AssetId, f.Code))
                .SelectMany(g => g.OrderBy(f => f.CreatedAt).ThenBy(f => f.Id).Zip(g.OrderBy(f => f.CreatedAt).ThenBy(f => f.Id).Skip(1), (previous, f) => (f, previous)))
                .Where(p => p.f.CreatedAt >= year.Start && p.f.CreatedAt < year.End && p.previous.CreatedAt >= p.f.CreatedAt.AddDays(-days))
                .OrderByDescending(p => p.f.CreatedAt).Select(p => (p.f.Id, p.previous.Id)).ToList();
            Assert.True(repeats.Count > 20, $"the year repeats within {days} days: {repeats.Count}");
            Assert.True(repeats.Count(r => failures.First(f => f.Id == r.Item1).CreatedAt < year.End.AddDays(-14)) > 0, "some lie before the newest two weeks");
            foreach (var take in new[] { 1, 20, repeats.Count, 5000 })
            {
                Assert.Equal(repeats.Take(take), queries.RepeatFailures(year, days, take).Select(r => (r.WorkOrderId, r.PreviousWorkOrderId)));
            }
        }

        // The assets with the most downtime, by week, as the reliability page opens on them.
        foreach (var rows in new[] { 1, 5, 40 })
        {
            var inYear = failures.Where(f => f.CreatedAt >= year.Start && f.CreatedAt < year.End).ToList();
            var top = inYear.GroupBy(f => (f.AssetId, f.Label)).OrderByDescending(g => g.Sum(f => f.Hours)).ThenBy(g => g.Key.Label, StringComparer.Ordinal)
                .Take(rows).Select(g => g.Key.AssetId).ToHashSet();
            var expected = inYear.Where(f => top.Contains(f.AssetId))
                .GroupBy(f => (f.AssetId, f.Code, Week: DateOnly.FromDateTime(f.CreatedAt.Date.AddDays(-(((int)f.CreatedAt.DayOfWeek + 6) % 7)))))
                .Select(g => $"{g.Key.AssetId}|{g.Key.Code}|{g.Key.Week:yyyy-MM-dd}|{g.Count()}|{g.Sum(f => f.Hours):F4}").Order(StringComparer.Ordinal);
            var cells = queries.Heatmap(year, HeatmapRows.Asset, HeatmapMeasure.DowntimeHours, TimeBucket.Week, rows);
            Assert.Equal(rows, cells.Select(c => c.RowKey).Distinct().Count());
            Assert.Equal(expected, cells.Select(c => $"{c.RowKey}|{c.FailureCode}|{c.Bucket:yyyy-MM-dd}|{c.WorkOrders}|{c.Value:F4}").Order(StringComparer.Ordinal));
        }
    }

    // Each rollup summed per key, as text lines.
    private static List<string> Sums(DuckDBConnection warehouse)
    {
        var lines = new List<string>();
        foreach (var table in WarehouseSchema.Rollups)
        {
            var measures = table.Columns.Where(c => c.Type == ColumnType.BigInt && c.Name is not ("department_id" or "asset_id" or "assignee_id")).Select(c => c.Name).ToList();
            var keys = table.Columns.Select(c => c.Name).Except(measures).ToList();
            using var command = warehouse.CreateCommand();

            // A key whose sums came to nothing (added in one run, taken back in a later one) is no key.
            command.CommandText = $"""
                SELECT concat_ws('|', '{table.Name}', {string.Join(", ", keys.Select(k => $"coalesce({k}::VARCHAR, '-')"))},
                                 {string.Join(", ", measures.Select(m => $"sum({m})::VARCHAR"))}) AS line
                FROM {table.Name} GROUP BY {string.Join(", ", keys)} HAVING {string.Join(" OR ", measures.Select(m => $"sum({m}) <> 0"))} ORDER BY line
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                lines.Add(reader.GetString(0));
            }
        }

        return lines;
    }

    // Every question that reads a rollup when its filter allows; rollups: null reads them, false the facts.
    private static IEnumerable<(string Name, Func<DuckDBConnection, bool?, object> Answer)> Questions(KpiFilter filter)
    {
        yield return ("summary", (w, r) => new KpiQueries(w) { Rollups = r }.Summary(filter));
        yield return ("monthly", (w, r) => new KpiQueries(w) { Rollups = r }.Monthly(filter));
        yield return ("MTBF", (w, r) => new KpiQueries(w) { Rollups = r }.MtbfByAsset(filter));
        foreach (var rows in new[] { HeatmapRows.Asset, HeatmapRows.AssetType })
        {
            foreach (var (measure, bucket) in new[] { (HeatmapMeasure.Count, TimeBucket.Month), (HeatmapMeasure.DowntimeHours, TimeBucket.Week) })
            {
                yield return ($"heatmap {rows} {measure} {bucket}", (w, r) => new ReliabilityQueries(w) { Rollups = r }.Heatmap(filter, rows, measure, bucket));
            }
        }

        yield return ("Pareto", (w, r) => new ReliabilityQueries(w) { Rollups = r }.Pareto(filter));
        yield return ("staff by technician", (w, r) => new StaffQueries(w) { Rollups = r }.ByTechnician(filter));
        yield return ("staff by department", (w, r) => new StaffQueries(w) { Rollups = r }.ByDepartment(filter));
        yield return ("summary with a 14-day repeat", (w, r) => new KpiQueries(w) { Rollups = r }.Summary(filter, 14));
        yield return ("drill-down totals and export counts", (w, r) => DrillDown.Kpis.ToDictionary(
            kpi => kpi, kpi => new DrillDown(w) { Rollups = r } is var drill ? new[] { drill.Page(filter, kpi, 0, 5).Total, drill.CountLines(filter, kpi, 1_000_000) } : []));
    }

    [Fact]
    public void the_planned_share_the_repeats_and_the_drill_down_totals_are_read_from_the_rollups_when_the_filter_allows()
    {
        using var warehouse = WarehouseFile.Open(generated.Path);
        var year = new KpiFilter(new DateOnly(2024, 6, 1), new DateOnly(2025, 6, 1));
        var planned = new KpiQueries(warehouse).PlannedMaintenanceShare(year);
        var totals = DrillDown.Kpis.ToDictionary(k => k, k => new DrillDown(warehouse).Page(year, k, 0, 1).Total);
        Assert.True(planned.Count > 100 && planned.Value is > 0 and < 1, $"the year holds planned and unplanned hours: {planned}");
        Assert.True(totals.Values.All(t => t > 0), $"every list of the year holds work: {string.Join(", ", totals)}");

        Execute(warehouse, "BEGIN TRANSACTION");
        try
        {
            // Corrective hours in progress doubled, and the archived work of the lists gone, in the rollups only.
            Execute(warehouse, """
                UPDATE rollup_work_order_day SET seconds = seconds * 2 WHERE measure = 'in_progress' AND work_type = 'corrective';
                DELETE FROM rollup_work_order_day WHERE measure <> 'in_progress';
                """);
            var tampered = new KpiQueries(warehouse).PlannedMaintenanceShare(year);
            Assert.True(tampered.Value < planned.Value, $"the share follows the rollup: {tampered} against {planned}");
            Assert.Equal(planned, new KpiQueries(warehouse) { Rollups = false }.PlannedMaintenanceShare(year));
            var site = year with { SiteId = Scalar(warehouse, "SELECT min(site_id) FROM dim_asset") };
            Assert.Equal(new KpiQueries(warehouse) { Rollups = false }.PlannedMaintenanceShare(site), new KpiQueries(warehouse).PlannedMaintenanceShare(site));

            var repeats = new KpiQueries(warehouse).RepeatFailures(year);
            Execute(warehouse, "DELETE FROM rollup_repeat_day WHERE gap_days <= 10");
            Assert.True(new KpiQueries(warehouse).RepeatFailures(year).Count < repeats.Count, "the repeats follow the rollup");
            Assert.Equal(repeats, new KpiQueries(warehouse) { Rollups = false }.RepeatFailures(year));

            foreach (var kpi in DrillDown.Kpis)
            {
                var open = Scalar(warehouse, "SELECT count(*) FROM open_work_order");
                var total = new DrillDown(warehouse).Page(year, kpi, 0, 1).Total;
                var facts = new DrillDown(warehouse) { Rollups = false }.Page(year, kpi, 0, 1).Total;
                Assert.Equal(totals[kpi], facts);
                if (kpi is "backlog" or "repeat")
                {
                    Assert.Equal(facts, total);
                }
                else
                {
                    Assert.True(total < facts && total <= open, $"{kpi}: the total follows the rollup ({total} against {facts} from the facts)");
                }
            }
        }
        finally
        {
            Execute(warehouse, "ROLLBACK");
        }
    }

    private static long Scalar(DuckDBConnection warehouse, string sql)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static string Text(DuckDBConnection warehouse, string sql)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        return (string)command.ExecuteScalar()!;
    }

    private static void Execute(DuckDBConnection warehouse, string sql)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Doubles to ten significant digits: a mean from summed seconds and one from averaged hours differ in the last bits.
    /// </summary>
    private sealed class RoundedDouble : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) =>
            writer.WriteStringValue(double.IsFinite(value) ? value.ToString("G10", CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture));
    }
}
