using System.Threading.Channels;
using Apache.Arrow;
using Apache.Arrow.Types;
using Npgsql;
using NpgsqlTypes;

namespace WorkOrders.Ingest.Warehouse;

public enum ColumnKind
{
    BigInt,
    SmallInt,
    Text,
    Timestamp,
    Date,
    Bool,
}

public sealed record ColumnSpec(string Name, ColumnKind Kind);

/// <summary>A query whose rows, read with binary COPY, become Arrow batches for one warehouse table.</summary>
public sealed record CopySpec(string Table, string Query, IReadOnlyList<ColumnSpec> Columns)
{
    public Schema Schema { get; } = new(Columns.Select(c => new Field(c.Name, ArrowType(c.Kind), nullable: true)), null);

    private static IArrowType ArrowType(ColumnKind kind) => kind switch
    {
        ColumnKind.BigInt => Int64Type.Default,
        ColumnKind.SmallInt => Int16Type.Default,
        ColumnKind.Text => StringType.Default,
        ColumnKind.Timestamp => new TimestampType(TimeUnit.Microsecond, (string?)null),
        ColumnKind.Date => Date32Type.Default,
        ColumnKind.Bool => BooleanType.Default,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}

/// <summary>
/// Streams a binary COPY into Arrow record batches of at most <see cref="ArrowChunkAppender.MaxRows"/> rows.
/// The reader runs on its own task and hands batches over a bounded channel, so reading PostgreSQL and writing
/// DuckDB overlap while memory stays at a few batches.
/// </summary>
public static class CopyToArrow
{
    public static ChannelReader<RecordBatch> Start(NpgsqlConnection connection, CopySpec spec, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<RecordBatch>(new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
        _ = Task.Run(
            async () =>
            {
                try
                {
                    // The exporter is finished and disposed before the channel completes: the next COPY on this
                    // connection may start as soon as the writer sees the end.
                    await ExportAsync(connection, spec, channel.Writer, cancellationToken);
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
    private static async Task ExportAsync(NpgsqlConnection connection, CopySpec spec, ChannelWriter<RecordBatch> writer, CancellationToken cancellationToken)
    {
        // Synchronous reads: one call per value, and the values are mostly in Npgsql's buffer already.
        using var exporter = connection.BeginBinaryExport($"COPY ({spec.Query}) TO STDOUT (FORMAT BINARY)");
        using var cancel = cancellationToken.Register(exporter.Cancel);
        var builders = spec.Columns.Select(c => ColumnBuilder.For(c.Kind)).ToArray();
        var rows = 0;
        while (exporter.StartRow() != -1)
        {
            foreach (var builder in builders)
            {
                builder.Read(exporter);
            }

            if (++rows == ArrowChunkAppender.MaxRows)
            {
                await writer.WriteAsync(Batch(spec, builders, rows), cancellationToken);
                rows = 0;
            }
        }

        if (rows > 0)
        {
            await writer.WriteAsync(Batch(spec, builders, rows), cancellationToken);
        }
    }
#pragma warning restore CA2000

    private static RecordBatch Batch(CopySpec spec, ColumnBuilder[] builders, int rows) =>
        new(spec.Schema, builders.Select(b => b.Build()), rows);

    /// <summary>Reads one column value from the COPY stream into an Arrow builder.</summary>
    private abstract class ColumnBuilder
    {
        public static ColumnBuilder For(ColumnKind kind) => kind switch
        {
            ColumnKind.BigInt => new Of<long, Int64Array, Int64Array.Builder>(NpgsqlDbType.Bigint, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnKind.SmallInt => new Of<short, Int16Array, Int16Array.Builder>(NpgsqlDbType.Smallint, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnKind.Text => new Of<string, StringArray, StringArray.Builder>(NpgsqlDbType.Text, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnKind.Timestamp => new Of<DateTime, TimestampArray, TimestampArray.Builder>(
                NpgsqlDbType.TimestampTz,
                (b, v) => b.Append(new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc))),
                b => b.AppendNull(),
                () => new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, (string?)null))),
            ColumnKind.Date => new Of<DateOnly, Date32Array, Date32Array.Builder>(NpgsqlDbType.Date, (b, v) => b.Append(v), b => b.AppendNull()),
            ColumnKind.Bool => new Of<bool, BooleanArray, BooleanArray.Builder>(NpgsqlDbType.Boolean, (b, v) => b.Append(v), b => b.AppendNull()),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
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
