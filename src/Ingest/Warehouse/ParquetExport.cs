using System.Globalization;
using DuckDB.NET.Data;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// Writes the warehouse as Parquet that DuckDB, Spark or Trino read as it is: the facts partitioned Hive-style by
/// year and month of their time column, the dimensions and the snapshot as single files.
/// </summary>
internal static class ParquetExport
{
    private static readonly (string Table, string? TimeColumn)[] Tables =
    [
        ("fact_work_order", "created_at"),
        ("fact_event", "occurred_at"),
        ("fact_status_interval", "started_at"),
        ("open_work_order", null),
        ("dim_department", null),
        ("dim_user", null),
        ("dim_asset", null),
        ("dim_template", null),
        ("dim_date", null),
    ];

    public static IReadOnlyList<(string Table, long Rows)> Write(DuckDBConnection warehouse, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var written = new List<(string, long)>();
        foreach (var (table, time) in Tables)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = Path.Combine(directory, table).Replace("'", "''", StringComparison.Ordinal);
            using var command = warehouse.CreateCommand();
            command.CommandText = time is null
                ? $"COPY {table} TO '{target}.parquet' (FORMAT PARQUET)"
                : $"COPY (SELECT *, year({time}) AS year, month({time}) AS month FROM {table}) TO '{target}' (FORMAT PARQUET, PARTITION_BY (year, month), OVERWRITE_OR_IGNORE)";
            command.ExecuteNonQuery();
            command.CommandText = $"SELECT count(*) FROM {table}";
            written.Add((table, Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture)));
        }

        return written;
    }
}
