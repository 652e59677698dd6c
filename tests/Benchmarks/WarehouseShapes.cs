using Apache.Arrow;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using Npgsql;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;

namespace WorkOrders.Benchmarks;

/// <summary>
/// The benchmarks' one use of the ingest's warehouse definitions (<see cref="WarehouseTable"/>, <see cref="CopyToArrow"/>,
/// <see cref="ArrowChunkAppender"/>): a fact-like row with every column kind the ingest converts, as a PostgreSQL
/// query, as Arrow batches, and as a DuckDB table.
/// </summary>
internal static class WarehouseShapes
{
    private static readonly DateTime Start = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The table without rows to read: its <c>CREATE TABLE</c> and Arrow schema.</summary>
    public static WarehouseTable Table { get; } = Rows(0);

    /// <summary>Rows made by PostgreSQL itself, so any database on the server will do; every tenth has no due date.</summary>
    public static WarehouseTable Rows(int count) => new(
        "bench_fact",
        "A fact-like row with every column kind the ingest converts.",
        [
            WarehouseColumn.Required("id", ColumnType.BigInt, "i::bigint"),
            WarehouseColumn.Required("priority", ColumnType.SmallInt, "(i % 4 + 1)::smallint"),
            WarehouseColumn.Required("title", ColumnType.Varchar, "'Work order ' || i"),
            WarehouseColumn.Required("created_at", ColumnType.Timestamp, "timestamptz '2025-01-01 00:00+00' + i * interval '7 minutes'"),
            WarehouseColumn.Optional("due_on", ColumnType.Date, "CASE WHEN i % 10 <> 0 THEN date '2025-01-01' + i / 200 END"),
            WarehouseColumn.Required("closed", ColumnType.Boolean, "i % 3 = 0"),
        ],
        $"SELECT {{columns}} FROM generate_series(1, {count}) i");

    /// <summary>Reads the rows through the ingest's COPY to Arrow conversion, as the ingest's writer side would take them.</summary>
    public static async Task<long> ReadAsync(NpgsqlConnection connection, WarehouseTable rows, CancellationToken cancellationToken)
    {
        long read = 0;
        await foreach (var batch in CopyToArrow.Start(connection, rows, new SourceScope(0, "true", Start), cancellationToken).ReadAllAsync(cancellationToken))
        {
            using (batch)
            {
                read += batch.Length;
            }
        }

        return read;
    }

    /// <summary>The same rows built in memory, in batches as large as the appender takes.</summary>
    public static RecordBatch[] Batches(int count)
    {
        var schema = Table.ArrowSchema;
        return [.. Enumerable.Range(0, (count + ArrowChunkAppender.MaxRows - 1) / ArrowChunkAppender.MaxRows).Select(chunk =>
        {
            var first = (chunk * ArrowChunkAppender.MaxRows) + 1;
            var length = Math.Min(ArrowChunkAppender.MaxRows, count - first + 1);
            var ids = new Int64Array.Builder();
            var priorities = new Int16Array.Builder();
            var titles = new StringArray.Builder();
            var created = new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, (string?)null));
            var due = new Date32Array.Builder();
            var closed = new BooleanArray.Builder();
            foreach (var i in Enumerable.Range(first, length))
            {
                ids.Append(i);
                priorities.Append((short)((i % 4) + 1));
                titles.Append($"Work order {i}");
                created.Append(new DateTimeOffset(Start.AddMinutes(7 * i)));
                if (i % 10 == 0)
                {
                    due.AppendNull();
                }
                else
                {
                    due.Append(DateOnly.FromDateTime(Start).AddDays(i / 200));
                }

                closed.Append(i % 3 == 0);
            }

            return new RecordBatch(schema, [ids.Build(), priorities.Build(), titles.Build(), created.Build(), due.Build(), closed.Build()], length);
        })];
    }

    /// <summary>Appends the batches to <see cref="Table"/> through the ingest's appender.</summary>
    public static long Append(DuckDBConnection warehouse, IReadOnlyList<RecordBatch> batches)
    {
        using var appender = new ArrowChunkAppender(warehouse, Table);
        foreach (var batch in batches)
        {
            appender.Append(batch);
        }

        appender.Flush();
        return appender.Rows;
    }
}
