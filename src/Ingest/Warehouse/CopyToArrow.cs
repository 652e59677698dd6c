using System.Threading.Channels;
using Apache.Arrow;
using Apache.Arrow.Types;
using Npgsql;
using NpgsqlTypes;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// Streams a binary COPY of a table's source query into Arrow record batches of the table's schema, at most
/// <see cref="ArrowChunkAppender.MaxRows"/> rows each. The reader runs on its own task and hands batches over a
/// bounded channel, so reading PostgreSQL and writing DuckDB overlap while memory stays at a few batches.
/// </summary>
public static class CopyToArrow
{
    public static ChannelReader<RecordBatch> Start(NpgsqlConnection connection, WarehouseTable table, SourceScope scope, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<RecordBatch>(new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
        _ = Task.Run(
            async () =>
            {
                try
                {
                    // The exporter is finished and disposed before the channel completes: the next COPY on this
                    // connection may start as soon as the writer sees the end.
                    await ExportAsync(connection, table, table.SourceQuery(scope), channel.Writer, cancellationToken);
                    channel.Writer.Complete();
                }
                catch (Exception e)
                {
                    channel.Writer.Complete(e);
                }
            },
            cancellationToken);
        return channel.Reader;
    }

    // Each batch passes to the channel's reader, which disposes it after appending.
#pragma warning disable CA2000
    private static async Task ExportAsync(
        NpgsqlConnection connection, WarehouseTable table, string query, ChannelWriter<RecordBatch> writer, CancellationToken cancellationToken)
    {
        // Synchronous reads: one call per value, and the values are mostly in Npgsql's buffer already.
        using var exporter = connection.BeginBinaryExport($"COPY ({query}) TO STDOUT (FORMAT BINARY)");
        using var cancel = cancellationToken.Register(exporter.Cancel);
        var builders = table.Columns.Select(ColumnBuilder.For).ToArray();
        var rows = 0;
        while (exporter.StartRow() != -1)
        {
            foreach (var builder in builders)
            {
                builder.Read(exporter);
            }

            if (++rows == ArrowChunkAppender.MaxRows)
            {
                await writer.WriteAsync(Batch(table, builders, rows), cancellationToken);
                rows = 0;
            }
        }

        if (rows > 0)
        {
            await writer.WriteAsync(Batch(table, builders, rows), cancellationToken);
        }
    }
#pragma warning restore CA2000

    private static RecordBatch Batch(WarehouseTable table, ColumnBuilder[] builders, int rows) =>
        new(table.ArrowSchema, builders.Select(b => b.Build()), rows);

    /// <summary>Reads one column value from the COPY stream into an Arrow builder of the column's type.</summary>
    private abstract class ColumnBuilder
    {
        public static ColumnBuilder For(WarehouseColumn column) => column.Type switch
        {
            ColumnType.BigInt => new Of<long, Int64Array, Int64Array.Builder>(NpgsqlDbType.Bigint, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnType.Integer => new Of<int, Int32Array, Int32Array.Builder>(NpgsqlDbType.Integer, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnType.Double => new Of<double, DoubleArray, DoubleArray.Builder>(NpgsqlDbType.Double, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnType.SmallInt => new Of<short, Int16Array, Int16Array.Builder>(NpgsqlDbType.Smallint, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnType.Boolean => new Of<bool, BooleanArray, BooleanArray.Builder>(NpgsqlDbType.Boolean, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnType.Varchar => new Of<string, StringArray, StringArray.Builder>(NpgsqlDbType.Text, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnType.Date => new Of<DateOnly, Date32Array, Date32Array.Builder>(NpgsqlDbType.Date, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnType.Timestamp => new Of<DateTime, TimestampArray, TimestampArray.Builder>(
                NpgsqlDbType.TimestampTz,
                (b, v) => b.Append(new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc))),
                b => b.AppendNull(),
                () => new TimestampArray.Builder((TimestampType)column.ArrowType)),
            _ => throw new NotSupportedException($"{column.Name}: no table copied from PostgreSQL has had a {column.DuckDbType} column yet; add its reader here."),
        };

        public abstract void Read(NpgsqlBinaryExporter exporter);

        public abstract IArrowArray Build();

        private sealed class Of<TValue, TArray, TBuilder>(
            NpgsqlDbType type,
            Action<TBuilder, TValue> append,
            Action<TBuilder> appendNull,
            Func<TBuilder>? create = null) : ColumnBuilder
            where TArray : IArrowArray
            where TBuilder : IArrowArrayBuilder<TArray>, new()
        {
            private TBuilder _builder = (create ?? (() => new TBuilder()))();

            public override void Read(NpgsqlBinaryExporter exporter)
            {
                if (exporter.IsNull)
                {
                    exporter.Skip();
                    appendNull(_builder);
                }
                else
                {
                    append(_builder, exporter.Read<TValue>(type));
                }
            }

            public override IArrowArray Build()
            {
                var array = _builder.Build(default);
                _builder = (create ?? (() => new TBuilder()))();
                return array;
            }
        }
    }
}
