using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

public sealed class WarehouseAnalyticsTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"figures-{Guid.NewGuid():N}.duckdb");
    private readonly DuckDBConnection _warehouse;

    public WarehouseAnalyticsTests()
    {
        _warehouse = WarehouseFile.Open(_path);
        HandBuiltWarehouse.Fill(_warehouse);
        Execute(IngestRun(1));
    }

    public void Dispose()
    {
        _warehouse.Dispose();
        File.Delete(_path);
    }

    [Fact]
    public void figures_are_kept_until_the_next_ingest_changes_the_warehouse()
    {
        using var analytics = new WarehouseAnalytics(new WarehouseReader(Options.Create(new WarehouseOptions { Path = _path })));
        Assert.Equal(6, analytics.Summary(HandBuiltWarehouse.March).Volume.Count);

        // A work order arrives, but no ingest run has finished yet: the kept figure stands.
        Execute("""
            INSERT INTO fact_work_order VALUES (8, 'WO-8', 1, 'corrective', 'h', 4, 'cancelled', 9, 3, 1, NULL, 'web', NULL,
                '2026-03-06 00:00', NULL, NULL, NULL, '2026-03-06 01:00', NULL, NULL, NULL, NULL, 2)
            """);
        Assert.Equal(6, analytics.Summary(HandBuiltWarehouse.March).Volume.Count);

        Execute(IngestRun(2));
        Assert.Equal(7, analytics.Summary(HandBuiltWarehouse.March).Volume.Count);
        Assert.Equal(5, analytics.Summary(HandBuiltWarehouse.March with { WorkType = "corrective" }).Volume.Count);
    }

    private static string IngestRun(int id) =>
        $"INSERT INTO ingest_run VALUES ({id}, TIMESTAMP '2026-04-01 00:00', TIMESTAMP '2026-04-01 00:01', 0, 0, 0, '1:1:', '1:1:', NULL)";

    private void Execute(string sql)
    {
        using var command = _warehouse.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
