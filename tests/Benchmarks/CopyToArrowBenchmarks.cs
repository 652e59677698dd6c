using BenchmarkDotNet.Attributes;
using Npgsql;

namespace WorkOrders.Benchmarks;

/// <summary>The ingest's reader side: rows of every column kind streamed with binary COPY and turned into Arrow batches.</summary>
[NeedsPostgreSql]
[MemoryDiagnoser]
public class CopyToArrowBenchmarks
{
    private NpgsqlDataSource _server = null!;

    [Params(100_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup() => _server = NpgsqlDataSource.Create(BenchmarkDatabase.Server!);

    [GlobalCleanup]
    public void Cleanup() => _server.Dispose();

    [Benchmark]
    public async Task<long> Convert()
    {
        await using var connection = await _server.OpenConnectionAsync();
        return await WarehouseShapes.ReadAsync(connection, WarehouseShapes.Rows(Rows), CancellationToken.None);
    }
}
