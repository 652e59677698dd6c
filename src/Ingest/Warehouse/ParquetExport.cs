using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// Writes the warehouse as Parquet that DuckDB, Spark or Trino read as it is: every table of
/// <see cref="WarehouseSchema.Tables"/>, the large facts partitioned Hive-style by year and month of their time column
/// (<c>table/year=2025/month=2/*.parquet</c>), every other table as one file (<c>table.parquet</c>).
/// </summary>
internal static class ParquetExport
{
    /// <summary>The time column each partitioned table is split by; the partition columns year and month are added to its files.</summary>
    public static IReadOnlyDictionary<string, string> Partitioned { get; } = new Dictionary<string, string>
    {
        [WarehouseSchema.WorkOrders.Name] = "created_at",
        [WarehouseSchema.Events.Name] = "occurred_at",
        [WarehouseSchema.StatusIntervals.Name] = "started_at",
    };

    /// <summary>
    /// What DuckDB reads a table back from, in the folder <paramref name="directory"/> an export wrote: its columns, in
    /// order and of their type, as the warehouse holds them.
    /// </summary>
    public static string ReadBack(WarehouseTable table, string directory)
    {
        var path = Path.Combine(directory, table.Name).Replace("'", "''", StringComparison.Ordinal);
        var source = Partitioned.ContainsKey(table.Name)
            ? $"read_parquet('{path}/**/*.parquet', hive_partitioning = true)"
            : $"read_parquet('{path}.parquet')";
        return $"SELECT {string.Join(", ", table.Columns.Select(c => $"CAST({c.Name} AS {c.DuckDbType}) AS {c.Name}"))} FROM {source}";
    }

    public static IReadOnlyList<(string Table, long Rows)> Write(DuckDBConnection warehouse, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var written = new List<(string, long)>();
        foreach (var table in WarehouseSchema.Tables.Select(t => t.Name))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = Path.Combine(directory, table).Replace("'", "''", StringComparison.Ordinal);
            using var command = warehouse.CreateCommand();
            command.CommandText = Partitioned.TryGetValue(table, out var time)
                ? $"COPY (SELECT *, year({time}) AS year, month({time}) AS month FROM {table}) TO '{target}' (FORMAT PARQUET, PARTITION_BY (year, month), OVERWRITE_OR_IGNORE)"
                : $"COPY {table} TO '{target}.parquet' (FORMAT PARQUET)";
            command.ExecuteNonQuery();
            command.CommandText = $"SELECT count(*) FROM {table}";
            written.Add((table, Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture)));
        }

        return written;
    }
}
