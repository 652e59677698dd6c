using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>
/// The warehouse leaving the machine: its Hive-partitioned Parquet export, read back by DuckDB from the folder alone,
/// answers every dashboard question as the warehouse does.
/// </summary>
public sealed class ParquetReadBackTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-parquet-").FullName;

    public Task InitializeAsync() => _database.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task every_dashboard_question_gets_the_same_answer_from_the_parquet_folder_as_from_the_warehouse()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        await new HistoryGenerator(_database.DataSource).RunAsync(new GenerateOptions(2000, 12, 7, new DateOnly(2025, 6, 15)), null, CancellationToken.None);
        var path = Path.Combine(_folder, "warehouse.duckdb");
        await WarehouseFixture.IngestAsync(_database.DataSource, path, new FakeTimeProvider(new DateTimeOffset(2025, 6, 15, 12, 0, 0, TimeSpan.Zero)));
        var export = Path.Combine(_folder, "parquet");
        using (var warehouse = new DuckDBConnection($"Data Source={path}"))
        {
            warehouse.Open();
            var written = ParquetExport.Write(warehouse, export, CancellationToken.None);
            Assert.Equal(WarehouseSchema.Tables.Select(t => t.Name), written.Select(w => w.Table));
        }

        // A database of views only, each over its table's files in the folder; no row is copied into it.
        var views = Path.Combine(_folder, "views.duckdb");
        using (var readBack = new DuckDBConnection($"Data Source={views}"))
        {
            readBack.Open();
            using var command = readBack.CreateCommand();
            command.CommandText = string.Concat(WarehouseSchema.Tables.Select(t => $"CREATE VIEW {t.Name} AS {ParquetExport.ReadBack(t, export)};\n"));
            command.ExecuteNonQuery();
            command.CommandText = "SELECT count(*) FROM duckdb_tables()";
            Assert.Equal(0L, command.ExecuteScalar());
        }

        using var fromWarehouse = new WarehouseAnalytics(WarehouseReader.Over(path));
        using var fromParquet = new WarehouseAnalytics(WarehouseReader.Over(views));
        var (department, category) = Busiest(path);
        var whole = new KpiFilter(new DateOnly(2024, 6, 1), new DateOnly(2025, 7, 1));
        KpiFilter[] filters =
        [
            whole,
            whole with { DepartmentId = department, Category = category },
            whole with { WorkType = "preventive", Source = "pm" },
            new KpiFilter(new DateOnly(2025, 2, 1), new DateOnly(2025, 3, 1)) with { Priority = 1, WorkType = "corrective" },
        ];

        var asked = new HashSet<string>();
        var compared = 0;
        async Task Same<T>(string question, Func<WarehouseAnalytics, Task<T>> ask)
        {
            asked.Add(question);
            var expected = JsonSerializer.Serialize(await ask(fromWarehouse), Exact);
            var actual = JsonSerializer.Serialize(await ask(fromParquet), Exact);
            Assert.True(expected == actual, $"{question}:\nwarehouse {expected}\nparquet   {actual}");
            compared++;
        }

        var ct = CancellationToken.None;
        await Same(nameof(WarehouseAnalytics.CategoriesAsync), a => a.CategoriesAsync(ct));
        await Same(nameof(WarehouseAnalytics.CustomFieldsAsync), a => a.CustomFieldsAsync(ct));
        await Same(nameof(WarehouseAnalytics.DataRangeAsync), a => a.DataRangeAsync(ct));
        foreach (var filter in filters)
        {
            await Same(nameof(WarehouseAnalytics.SummaryAsync), a => a.SummaryAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.MonthlyAsync), a => a.MonthlyAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.MtbfByAssetAsync), a => a.MtbfByAssetAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.ParetoAsync), a => a.ParetoAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.RepeatFailuresAsync), a => a.RepeatFailuresAsync(filter, 30, ct));
            await Same(nameof(WarehouseAnalytics.StaffByTechnicianAsync), a => a.StaffByTechnicianAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.StaffByDepartmentAsync), a => a.StaffByDepartmentAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.PmSummaryAsync), a => a.PmSummaryAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.PmByPlanAsync), a => a.PmByPlanAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.PmByDepartmentAsync), a => a.PmByDepartmentAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.PmExceptionsAsync), a => a.PmExceptionsAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.AlarmFiguresAsync), a => a.AlarmFiguresAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.InspectionComplianceAsync), a => a.InspectionComplianceAsync(filter, ct));
            await Same(nameof(WarehouseAnalytics.FindingsHeatmapAsync), a => a.FindingsHeatmapAsync(filter, 20, ct));
            await Same(nameof(WarehouseAnalytics.ByCategoryAsync), a => a.ByCategoryAsync(filter, ct));
            foreach (var kpi in DrillDown.Kpis)
            {
                await Same(nameof(WarehouseAnalytics.WorkOrdersBehindAsync), a => a.WorkOrdersBehindAsync(filter, kpi, 5, 40, ct));
                await Same(nameof(WarehouseAnalytics.CountWorkOrderLinesAsync), a => a.CountWorkOrderLinesAsync(filter, kpi, 500, ct));
                await Same(nameof(WarehouseAnalytics.WorkOrderLinesAsync), async a =>
                {
                    using var lines = await a.WorkOrderLinesAsync(filter, kpi, 500, ct);
                    return lines.Rows.ToList();
                });
            }

            await Same(nameof(WarehouseAnalytics.WriteWorkOrderParquetAsync), async a =>
            {
                var file = Path.Combine(_folder, $"lines-{Guid.NewGuid():N}.parquet");
                var rows = await a.WriteWorkOrderParquetAsync(filter, "volume", 1000, file, null, ct);
                using var memory = Open(":memory:");
                return (rows, WarehouseFixture.Rows(memory, $"SELECT * FROM read_parquet('{file}')"));
            });
            foreach (var rows in Enum.GetValues<HeatmapRows>())
            {
                foreach (var measure in Enum.GetValues<HeatmapMeasure>())
                {
                    foreach (var bucket in Enum.GetValues<TimeBucket>())
                    {
                        await Same(nameof(WarehouseAnalytics.HeatmapAsync), a => a.HeatmapAsync(filter, rows, measure, bucket, 20, ct));
                    }
                }

                var cells = await fromWarehouse.HeatmapAsync(filter, rows, HeatmapMeasure.Count, TimeBucket.Month, 20, ct);
                foreach (var cell in cells.Take(3))
                {
                    await Same(nameof(WarehouseAnalytics.HeatmapCellWorkOrdersAsync), a =>
                        a.HeatmapCellWorkOrdersAsync(filter, rows, cell.RowKey, cell.FailureCode, TimeBucket.Month, cell.Bucket, 0, 50, ct));
                    await Same(nameof(WarehouseAnalytics.HeatmapCellWorkOrdersAsync), a =>
                        a.HeatmapCellWorkOrdersAsync(filter, rows, cell.RowKey, cell.FailureCode, TimeBucket.Month, null, 0, 50, ct));
                }
            }
        }

        // Every question the pages, the API and the exports ask was compared: a new one must be added here.
        var questions = typeof(WarehouseAnalytics).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && m.Name != nameof(IDisposable.Dispose)).Select(m => m.Name).ToHashSet();
        Assert.Empty(questions.Except(asked));
        Assert.True(compared > 200, $"{compared} answers compared");

        // The history is rich enough that the answers compared say something.
        var summary = await fromParquet.SummaryAsync(whole, ct);
        Assert.True(summary.Volume.Count > 500, $"{summary.Volume.Count} work orders");
        Assert.NotEmpty(await fromParquet.PmByPlanAsync(whole, ct));
        Assert.NotEmpty(await fromParquet.HeatmapAsync(filters[1], HeatmapRows.Asset, HeatmapMeasure.Count, TimeBucket.Month, 20, ct));
    }

    /// <summary>
    /// Answers as text, every value as it is except fractions, written to 12 significant digits: DuckDB sums the rows
    /// of a file and of its Parquet copy in another order, and a sum of doubles moves in its last bits with the order.
    /// </summary>
    private static readonly JsonSerializerOptions Exact = new() { Converters = { new TwelveDigits() } };

    private sealed class TwelveDigits : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString("G12", CultureInfo.InvariantCulture));
    }

    private static DuckDBConnection Open(string dataSource)
    {
        var connection = new DuckDBConnection($"Data Source={dataSource}");
        connection.Open();
        return connection;
    }

    /// <summary>The department with the most archived work orders and its most frequent category, for a filter that matches some.</summary>
    private static (long Department, string Category) Busiest(string path)
    {
        using var warehouse = Open(path);
        using var command = warehouse.CreateCommand();
        command.CommandText = "SELECT department_id, category FROM fact_work_order WHERE category IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, 1, 2 LIMIT 1";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return (reader.GetInt64(0), reader.GetString(1));
    }
}
