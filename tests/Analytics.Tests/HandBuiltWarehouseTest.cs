using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

/// <summary>A warehouse file of its own per test, filled with <see cref="HandBuiltWarehouse"/>, and the KPI queries on it.</summary>
public abstract class HandBuiltWarehouseTest : IDisposable
{
    protected static readonly KpiFilter March = HandBuiltWarehouse.March;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"handbuilt-{Guid.NewGuid():N}.duckdb");

    protected HandBuiltWarehouseTest()
    {
        Warehouse = WarehouseFile.Open(_path);
        HandBuiltWarehouse.Fill(Warehouse);
        Kpis = new KpiQueries(Warehouse);
    }

    protected DuckDBConnection Warehouse { get; }

    protected KpiQueries Kpis { get; }

    public void Dispose()
    {
        Warehouse.Dispose();
        File.Delete(_path);
        GC.SuppressFinalize(this);
    }
}
