using Apache.Arrow;
using BenchmarkDotNet.Attributes;
using DuckDB.NET.Data;

namespace WorkOrders.Benchmarks;

/// <summary>The ingest's writer side: Arrow batches appended to a DuckDB table through the C API, into a fresh table each time.</summary>
public class ArrowAppenderBenchmarks
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-bench-").FullName;
    private RecordBatch[] _batches = [];
    private DuckDBConnection _warehouse = null!;

    [Params(100_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _batches = WarehouseShapes.Batches(Rows);
        _warehouse = new DuckDBConnection($"Data Source={Path.Combine(_folder, "append.duckdb")}");
        _warehouse.Open();
    }

    [IterationSetup]
    public void FreshTable() => Execute($"DROP TABLE IF EXISTS {WarehouseShapes.Table.Name}; {WarehouseShapes.Table.CreateSql}");

    [Benchmark]
    public long Append() => WarehouseShapes.Append(_warehouse, _batches);

    [GlobalCleanup]
    public void Cleanup()
    {
        _warehouse.Dispose();
        foreach (var batch in _batches)
        {
            batch.Dispose();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private void Execute(string sql)
    {
        using var command = _warehouse.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
