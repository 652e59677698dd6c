using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Import;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Tests;
using Xunit.Abstractions;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>The published figures of the NYC 311 elevator slice (samples/nyc311-elevator-2024/README.md), by created month in New York time.</summary>
public sealed record NycFigures(long Total, long Bronx, long July, long February, long Dob, long SingleDevice, long StatenIsland)
{
    public static readonly NycFigures Published = new(22_504, 9_339, 2_432, 1_502, 20_825, 13_195, 208);
}

/// <summary>A fresh database with the NYC 311 parquet imported once by the sample mapping, shared by the tests that only read it.</summary>
public sealed class NycImported : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();

    public ImportResult Result { get; private set; } = null!;

    public string Folder { get; } = Directory.CreateTempSubdirectory("workorders-nyc-").FullName;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        Result = await ImportFiles.ImportAsync(Database.DataSource, ImportFiles.NycParquet, ImportMapping.Load(ImportFiles.NycMapping), Path.Combine(Folder, "rejects.csv"));
    }

    public async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}

[Collection(ImportCollection.Name)]
public sealed class NycImportTests(NycImported nyc, ITestOutputHelper output) : IClassFixture<NycImported>
{
    private const string PostgresFigures = """
        SELECT count(*) AS total,
               count(*) FILTER (WHERE a.name = 'Bronx') AS bronx,
               count(*) FILTER (WHERE extract(month FROM w.created_at AT TIME ZONE 'America/New_York') = 7) AS july,
               count(*) FILTER (WHERE extract(month FROM w.created_at AT TIME ZONE 'America/New_York') = 2) AS february,
               count(*) FILTER (WHERE d.name = 'Department of Buildings') AS dob,
               count(*) FILTER (WHERE w.custom_fields->>'fault_code' = 'single_device') AS single_device,
               count(*) FILTER (WHERE a.name = 'Staten Island') AS staten_island
        FROM work_orders w JOIN departments d ON d.id = w.department_id LEFT JOIN assets a ON a.id = w.asset_id
        WHERE w.source = 'import' AND w.reference LIKE 'NYC311-%'
        """;

    // The warehouse keeps timestamps in UTC; months are counted in New York time, as the published figures are.
    // open_work_order has no failure code, so the descriptor of the open ones is read from their title.
    private const string WarehouseFigures = """
        WITH everything AS (
            SELECT asset_id, department_id, created_at, failure_code = 'single_device' AS single_device FROM fact_work_order
            UNION ALL
            SELECT asset_id, department_id, created_at, title LIKE '%Single Device%' FROM open_work_order)
        SELECT count(*),
               count(*) FILTER (WHERE a.name = 'Bronx'),
               count(*) FILTER (WHERE month(timezone('America/New_York', e.created_at AT TIME ZONE 'UTC')) = 7),
               count(*) FILTER (WHERE month(timezone('America/New_York', e.created_at AT TIME ZONE 'UTC')) = 2),
               count(*) FILTER (WHERE d.name = 'Department of Buildings'),
               count(*) FILTER (WHERE e.single_device),
               count(*) FILTER (WHERE a.name = 'Staten Island')
        FROM everything e JOIN dim_department d ON d.department_id = e.department_id LEFT JOIN dim_asset a ON a.asset_id = e.asset_id
        """;

    private static async Task<NycFigures> FiguresAsync(NpgsqlDataSource data)
    {
        await using var connection = await data.OpenConnectionAsync();
        var f = await connection.QuerySingleAsync<(long, long, long, long, long, long, long)>(PostgresFigures);
        return new NycFigures(f.Item1, f.Item2, f.Item3, f.Item4, f.Item5, f.Item6, f.Item7);
    }

    [Fact]
    public async Task importing_the_nyc_311_parquet_loads_every_row_and_reproduces_the_published_figures()
    {
        var result = nyc.Result;
        output.WriteLine($"parquet: {result.Read:N0} rows, {result.Loaded:N0} loaded, {result.Events:N0} events in {result.Duration.TotalSeconds:F2} s = {result.Read / result.Duration.TotalSeconds:N0} rows/s");

        Assert.Equal((22_504L, 22_504L, 0L, 0L), (result.Read, result.Loaded, result.Rejected, result.Skipped));
        Assert.Null(result.RejectsPath);
        Assert.Equal(NycFigures.Published, await FiguresAsync(nyc.Database.DataSource));
    }

    [Fact]
    public async Task the_messy_nyc_rows_are_imported_as_the_sample_mapping_documents()
    {
        // The rows whose status is not Closed, read from the source itself.
        var messy = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var duck = new DuckDBConnection("DataSource=:memory:"))
        {
            duck.Open();
            using var command = duck.CreateCommand();
            command.CommandText = $"""
                SELECT 'NYC311-' || unique_key,
                       status || CASE WHEN closed_date IS NULL THEN ', no closed date' WHEN closed_date = created_date THEN ', closed = created' ELSE ', closed later' END
                FROM read_parquet('{ImportFiles.NycParquet.Replace("'", "''", StringComparison.Ordinal)}') WHERE status <> 'Closed'
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                messy[reader.GetString(0)] = reader.GetString(1);
            }
        }

        await using var connection = await nyc.Database.DataSource.OpenConnectionAsync();
        var imported = (await connection.QueryAsync<(string Reference, string Status, bool Closed)>(
            "SELECT reference, status, closed_at IS NOT NULL FROM work_orders WHERE reference = ANY(@references)",
            new { references = messy.Keys.ToArray() })).ToDictionary(r => r.Reference);
        var outcome = messy.GroupBy(m => (Source: m.Value, imported[m.Key].Status, imported[m.Key].Closed)).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(new Dictionary<(string, string, bool), int>
        {
            [("Open, no closed date", "new", false)] = 9,
            [("Open, closed = created", "new", false)] = 207,
            [("Assigned, closed later", "closed", true)] = 79,
        }, outcome);
        Assert.Equal(216, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE source = 'import' AND status <> 'closed'"));
    }

    [Fact]
    public async Task imported_nyc_histories_agree_with_their_rows_and_the_lifecycle()
    {
        var problems = await ImportFiles.HistoryProblemsAsync(nyc.Database.DataSource, "NYC311-");

        Assert.Empty(problems.Take(20));
        await using var connection = await nyc.Database.DataSource.OpenConnectionAsync();
        Assert.Equal(nyc.Result.Events, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_order_events"));
        Assert.True(await connection.ExecuteScalarAsync<bool>(
            """
            SELECT bool_and(c.last_value = n.max_number)
            FROM work_order_number_years c
            JOIN (SELECT split_part(number, '-', 2)::int AS year, max(split_part(number, '-', 3)::int) AS max_number, count(*) AS numbers
                  FROM work_orders GROUP BY 1) n ON n.year = c.year AND n.numbers = n.max_number
            """));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM work_orders WHERE split_part(number, '-', 2)::int <> extract(year FROM created_at AT TIME ZONE 'UTC')"));
    }

    [Fact]
    public async Task the_warehouse_ingest_of_the_imported_history_reproduces_the_published_figures()
    {
        var path = Path.Combine(nyc.Folder, $"{Guid.NewGuid():N}.duckdb");
        using (var warehouse = WarehouseFile.Open(path))
        {
            var run = await new WarehouseIngest(nyc.Database.DataSource, TimeProvider.System, NullLogger<WarehouseIngest>.Instance).RunAsync(warehouse, null, CancellationToken.None);
            Assert.Equal((22_288L, 216L), (run.WorkOrders, run.OpenWorkOrders));
        }

        using var duck = new DuckDBConnection($"Data Source={path}");
        duck.Open();
        using var command = duck.CreateCommand();
        command.CommandText = WarehouseFigures;
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        var figures = new NycFigures(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
        Assert.Equal(NycFigures.Published, figures);
    }

    [Fact]
    public async Task the_nyc_csv_gz_imports_the_same_work_orders_and_a_second_run_of_either_file_adds_nothing()
    {
        const string content = """
            SELECT w.reference, w.status, w.priority, w.title, w.description, w.created_at, w.acknowledged_at, w.resolved_at, w.closed_at,
                   w.custom_fields::text, w.row_version, a.code, d.name
            FROM work_orders w JOIN departments d ON d.id = w.department_id LEFT JOIN assets a ON a.id = w.asset_id
            WHERE w.source = 'import' ORDER BY w.reference
            """;
        var mapping = ImportMapping.Load(ImportFiles.NycMapping);
        var csv = new TestDatabase();
        await csv.InitializeAsync();
        try
        {
            var fromCsv = await ImportFiles.ImportAsync(csv.DataSource, ImportFiles.NycCsvGz, mapping, Path.Combine(nyc.Folder, "csv-rejects.csv"));
            output.WriteLine($"csv.gz: {fromCsv.Read:N0} rows in {fromCsv.Duration.TotalSeconds:F2} s = {fromCsv.Read / fromCsv.Duration.TotalSeconds:N0} rows/s");
            var again = await ImportFiles.ImportAsync(csv.DataSource, ImportFiles.NycParquet, mapping, Path.Combine(nyc.Folder, "again-rejects.csv"));
            var againCsv = await ImportFiles.ImportAsync(csv.DataSource, ImportFiles.NycCsvGz, mapping, Path.Combine(nyc.Folder, "again-rejects.csv"));

            Assert.Equal((22_504L, 0L), (fromCsv.Loaded, fromCsv.Rejected));
            Assert.Equal((0L, 22_504L), (again.Loaded, again.Skipped));
            Assert.Equal((0L, 22_504L), (againCsv.Loaded, againCsv.Skipped));
            Assert.Equal(NycFigures.Published, await FiguresAsync(csv.DataSource));
            await using var left = await nyc.Database.DataSource.OpenConnectionAsync();
            await using var right = await csv.DataSource.OpenConnectionAsync();
            var expected = (await left.QueryAsync(content)).Select(r => string.Join('|', ((IDictionary<string, object?>)r).Values)).ToList();
            var actual = (await right.QueryAsync(content)).Select(r => string.Join('|', ((IDictionary<string, object?>)r).Values)).ToList();
            Assert.Equal(22_504, actual.Count);
            Assert.Equal(expected, actual);
        }
        finally
        {
            await csv.DisposeAsync();
        }
    }
}
