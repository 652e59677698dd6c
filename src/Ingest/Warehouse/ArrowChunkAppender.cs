using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.C;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// Appends Arrow record batches to a DuckDB table through the C API: each batch (at most 2,048 rows, one DuckDB
/// vector) becomes a data chunk with <c>duckdb_data_chunk_from_arrow</c> and goes in with
/// <c>duckdb_append_data_chunk</c>. The appender writes into the connection's open transaction. DuckDB fills a
/// table's columns by position, so every batch must carry the table's columns by name, in order, with their types;
/// one that does not is refused before any of it is written.
/// </summary>
internal sealed unsafe partial class ArrowChunkAppender : IDisposable
{
    public const int MaxRows = 2048;

    private readonly IntPtr _connection;
    private readonly WarehouseTable _table;
    private IntPtr _appender;
    private IntPtr _convertedSchema;
    private Schema? _checked;

    public ArrowChunkAppender(DuckDBConnection connection, WarehouseTable table)
    {
        _connection = connection.NativeConnection.DangerousGetHandle();
        _table = table;
        var cSchema = CArrowSchema.Create();
        try
        {
            CArrowSchemaExporter.ExportSchema(table.ArrowSchema, cSchema);
            Check(NativeMethods.SchemaFromArrow(_connection, cSchema, out _convertedSchema), "reading the Arrow schema");
        }
        finally
        {
            CArrowSchema.Free(cSchema);
        }

        if (NativeMethods.AppenderCreate(_connection, null, table.Name, out _appender) != 0)
        {
            var message = Marshal.PtrToStringUTF8(NativeMethods.AppenderError(_appender));
            NativeMethods.AppenderDestroy(ref _appender);
            NativeMethods.DestroyConvertedSchema(ref _convertedSchema);
            throw new InvalidOperationException($"Cannot append to {table.Name}: {message}");
        }
    }

    public long Rows { get; private set; }

    public void Append(RecordBatch batch)
    {
        if (batch.Length > MaxRows)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch.Length, $"A batch for DuckDB holds at most {MaxRows} rows.");
        }

        Check(batch.Schema);

        var array = CArrowArray.Create();
        IntPtr chunk = IntPtr.Zero;
        try
        {
            CArrowArrayExporter.ExportRecordBatch(batch, array);
            // The chunk takes over the Arrow buffers (and their release callback); only the struct stays ours.
            Check(NativeMethods.DataChunkFromArrow(_connection, array, _convertedSchema, out chunk), $"converting a batch for {_table.Name}");
            if (NativeMethods.AppendDataChunk(_appender, chunk) != 0)
            {
                throw new InvalidOperationException($"Appending to {_table.Name} failed: {Marshal.PtrToStringUTF8(NativeMethods.AppenderError(_appender))}");
            }

            Rows += batch.Length;
        }
        finally
        {
            if (chunk != IntPtr.Zero)
            {
                NativeMethods.DestroyDataChunk(ref chunk);
            }

            CArrowArray.Free(array);
        }
    }

    /// <summary>Writes what the appender still buffers; errors surface here rather than at dispose.</summary>
    public void Flush()
    {
        if (NativeMethods.AppenderFlush(_appender) != 0)
        {
            throw new InvalidOperationException($"Flushing {_table.Name} failed: {Marshal.PtrToStringUTF8(NativeMethods.AppenderError(_appender))}");
        }
    }

    public void Dispose()
    {
        if (_appender != IntPtr.Zero)
        {
            NativeMethods.AppenderDestroy(ref _appender);
        }

        if (_convertedSchema != IntPtr.Zero)
        {
            NativeMethods.DestroyConvertedSchema(ref _convertedSchema);
        }
    }

    /// <summary>Refuses a batch whose columns are not the table's, by name, order and type (once per schema: the batches of a copy share one).</summary>
    private void Check(Schema schema)
    {
        if (ReferenceEquals(schema, _checked))
        {
            return;
        }

        var expected = _table.ArrowSchema.FieldsList;
        var fields = schema.FieldsList;
        if (fields.Count != expected.Count || fields.Zip(expected).Any(f => f.First.Name != f.Second.Name || f.First.DataType.TypeId != f.Second.DataType.TypeId))
        {
            static string Describe(IEnumerable<Field> fields) => string.Join(", ", fields.Select(f => $"{f.Name} {f.DataType.Name}"));
            throw new InvalidOperationException(
                $"A batch for {_table.Name} has the columns ({Describe(fields)}), but the table has ({Describe(expected)}); DuckDB would fill them by position.");
        }

        _checked = schema;
    }

    private static void Check(IntPtr error, string doing)
    {
        if (error == IntPtr.Zero)
        {
            return;
        }

        try
        {
            if (NativeMethods.ErrorHasError(error))
            {
                throw new InvalidOperationException($"DuckDB failed {doing}: {Marshal.PtrToStringUTF8(NativeMethods.ErrorMessage(error))}");
            }
        }
        finally
        {
            NativeMethods.DestroyErrorData(ref error);
        }
    }

    private static partial class NativeMethods
    {
        private const string Library = "duckdb";

        [LibraryImport(Library, EntryPoint = "duckdb_schema_from_arrow")]
        public static partial IntPtr SchemaFromArrow(IntPtr connection, CArrowSchema* schema, out IntPtr convertedSchema);

        [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_from_arrow")]
        public static partial IntPtr DataChunkFromArrow(IntPtr connection, CArrowArray* array, IntPtr convertedSchema, out IntPtr chunk);

        [LibraryImport(Library, EntryPoint = "duckdb_destroy_arrow_converted_schema")]
        public static partial void DestroyConvertedSchema(ref IntPtr convertedSchema);

        [LibraryImport(Library, EntryPoint = "duckdb_destroy_data_chunk")]
        public static partial void DestroyDataChunk(ref IntPtr chunk);

        [LibraryImport(Library, EntryPoint = "duckdb_appender_create", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int AppenderCreate(IntPtr connection, string? schema, string table, out IntPtr appender);

        [LibraryImport(Library, EntryPoint = "duckdb_append_data_chunk")]
        public static partial int AppendDataChunk(IntPtr appender, IntPtr chunk);

        [LibraryImport(Library, EntryPoint = "duckdb_appender_flush")]
        public static partial int AppenderFlush(IntPtr appender);

        [LibraryImport(Library, EntryPoint = "duckdb_appender_error")]
        public static partial IntPtr AppenderError(IntPtr appender);

        [LibraryImport(Library, EntryPoint = "duckdb_appender_destroy")]
        public static partial int AppenderDestroy(ref IntPtr appender);

        [LibraryImport(Library, EntryPoint = "duckdb_error_data_has_error")]
        [return: MarshalAs(UnmanagedType.U1)]
        public static partial bool ErrorHasError(IntPtr error);

        [LibraryImport(Library, EntryPoint = "duckdb_error_data_message")]
        public static partial IntPtr ErrorMessage(IntPtr error);

        [LibraryImport(Library, EntryPoint = "duckdb_destroy_error_data")]
        public static partial void DestroyErrorData(ref IntPtr error);
    }
}
