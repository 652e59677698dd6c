using BenchmarkDotNet.Attributes;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ingest.Warehouse;

namespace WorkOrders.Benchmarks;

/// <summary>
/// The KPI dashboard's queries over a warehouse made for the run: a year of generated history written into a
/// throwaway PostgreSQL database and ingested into a DuckDB file of its own.
/// </summary>
[NeedsPostgreSql]
public class KpiBenchmarks
{
    private static readonly DateOnly End = new(2026, 1, 1);
    private static readonly KpiFilter LastYear = new(End.AddMonths(-12), End);

    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-bench-").FullName;
    private DuckDBConnection _warehouse = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        // The feature services of Ticketing map snake_case columns, as the app configures Dapper.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        await using var database = await BenchmarkDatabase.CreateAsync("kpi");
        await new HistoryGenerator(database.Data).RunAsync(new GenerateOptions(5_000, 12, 7, End), null, CancellationToken.None);
        _warehouse = WarehouseFile.Open(Path.Combine(_folder, "warehouse.duckdb"));
        await new WarehouseIngest(database.Data, TimeProvider.System, NullLogger<WarehouseIngest>.Instance).RunAsync(_warehouse, null, CancellationToken.None);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _warehouse.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public KpiSummary Tiles() => new KpiQueries(_warehouse).Summary(LastYear);

    [Benchmark]
    public IReadOnlyList<PeriodSummary> MonthlyTrend() => new KpiQueries(_warehouse).Monthly(LastYear);

    [Benchmark]
    public IReadOnlyList<AssetMtbf> MtbfByAsset() => new KpiQueries(_warehouse).MtbfByAsset(LastYear);
}
