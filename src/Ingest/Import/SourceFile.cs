using System.Globalization;
using DuckDB.NET.Data;

namespace WorkOrders.Ingest.Import;

/// <summary>One row of the source: its 1-based position in the file, its columns as text and its lifecycle times as parsed.</summary>
public sealed record SourceRow(long Number, string?[] Values, SourceTimes Times);

/// <summary>
/// The lifecycle times of a row as written in the source's zone; null when empty or unparseable. <see cref="EventAt"/>
/// is the time of the update an event-log row records; <see cref="ResponseDue"/> and <see cref="ResolutionDue"/> the source's deadlines.
/// </summary>
public sealed record SourceTimes(
    DateTime? Created,
    DateTime? Acknowledged,
    DateTime? Started,
    DateTime? Resolved,
    DateTime? Closed,
    DateTime? EventAt = null,
    DateTime? ResponseDue = null,
    DateTime? ResolutionDue = null);

/// <summary>
/// Reads a CSV (plain or gzip) or Parquet export with an in-process DuckDB: every mapped column as text, the times parsed
/// with the mapping's formats, rows in order of creation so that numbers run with time. DuckDB sorts out of core and
/// the rows stream from its result; nothing here holds the file.
/// </summary>
public sealed class SourceFile : IDisposable
{
    private const string Describe = "DESCRIBE SELECT * FROM {0}";

    // The first creation time of an event log row's ticket, beside the source's own columns.
    private const string FirstCreated = "\"workorders first created\"";

    private readonly DuckDBConnection _duck;
    private readonly string _path;
    private readonly string _scan;
    private readonly string[] _columns;
    private readonly string?[] _timeColumns;
    private readonly IReadOnlyList<string> _formats;
    private readonly IReadOnlyList<string> _missing;
    private (string Key, string Order)? _eventLog;
    private string? _temporary;

    private SourceFile(
        DuckDBConnection duck, string path, string scan, string[] columns, string?[] timeColumns, IReadOnlyList<string> formats, IReadOnlyList<string> missing)
    {
        _duck = duck;
        _path = path;
        _scan = scan;
        _columns = columns;
        _timeColumns = timeColumns;
        _formats = formats;
        _missing = missing;
    }

    /// <summary>The mapped columns, in the order of <see cref="SourceRow.Values"/> (as the file spells them).</summary>
    public IReadOnlyList<string> Columns => _columns;

    public static SourceFile Open(string path, ImportMapping mapping)
    {
        var scan = ScanOf(path) ?? throw new MappingException($"{path}: only .csv, .csv.gz, .tsv, .tsv.gz and .parquet files can be imported");
        var duck = new DuckDBConnection("DataSource=:memory:");
        try
        {
            duck.Open();
            var available = ColumnsOf(duck, path, scan);
            var columns = new List<string>();
            foreach (var wanted in mapping.Columns())
            {
                columns.Add(available.FirstOrDefault(a => string.Equals(a, wanted, StringComparison.Ordinal))
                    ?? available.FirstOrDefault(a => string.Equals(a, wanted, StringComparison.OrdinalIgnoreCase))
                    ?? throw new MappingException($"the mapping reads column '{wanted}', which {Path.GetFileName(path)} does not have (it has: {string.Join(", ", available)})"));
            }

            string Named(string wanted) => columns.First(c => string.Equals(c, wanted, StringComparison.OrdinalIgnoreCase));
            string?[] times =
                [mapping.Times.Created, mapping.Times.Acknowledged, mapping.Times.Started, mapping.Times.Resolved, mapping.Times.Closed, mapping.EventLog?.AtColumn,
                 mapping.Times.ResponseDue, mapping.Times.ResolutionDue];
            var timeColumns = times.Select(t => t is null ? null : Named(t)).ToArray();
            return new SourceFile(duck, path, scan, [.. columns], timeColumns, mapping.DateFormats, mapping.MissingValues)
            {
                _eventLog = mapping.EventLog is { } log ? (Named(mapping.ExternalId.Column), Named(log.OrderBy)) : null,
            };
        }
        catch
        {
            duck.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A plain table with no lifecycle times (the asset register's and the meter readings' imports), rows in file order.
    /// With no <paramref name="required"/> columns every column is read; otherwise the required ones (an error names a
    /// missing one) and those of the <paramref name="optional"/> ones the file has, in <see cref="Columns"/>. Besides CSV
    /// and Parquet it reads the first sheet of an .xlsx workbook, first written out as a CSV beside the system's
    /// temporary files (and removed with this).
    /// </summary>
    public static SourceFile OpenTable(string path, IReadOnlyList<string>? required = null, IReadOnlyList<string>? optional = null)
    {
        string? temporary = null;
        var scan = ScanOf(path);
        if (scan is null && path.EndsWith(".xlsx", StringComparison.OrdinalIgnoreCase))
        {
            temporary = Path.Combine(Path.GetTempPath(), $"workorders-import-{Guid.NewGuid():N}.csv");
            WorkbookAsCsv(path, temporary);
            scan = ScanOf(temporary);
        }

        if (scan is null)
        {
            throw new MappingException($"{path}: only .csv, .csv.gz, .tsv, .tsv.gz, .parquet and .xlsx files can be imported");
        }

        var read = temporary ?? path;
        var duck = new DuckDBConnection("DataSource=:memory:");
        try
        {
            duck.Open();
            var available = ColumnsOf(duck, read, scan);
            string? Find(string wanted) => available.FirstOrDefault(a => string.Equals(a, wanted, StringComparison.OrdinalIgnoreCase));
            var columns = required is null
                ? [.. available]
                : required.Select(wanted => Find(wanted)
                        ?? throw new MappingException($"{Path.GetFileName(path)} has no column '{wanted}' (it has: {string.Join(", ", available)})"))
                    .Concat((optional ?? []).Select(Find).OfType<string>())
                    .ToArray();
            return new SourceFile(duck, read, scan, columns, new string?[8], [], []) { _temporary = temporary };
        }
        catch
        {
            duck.Dispose();
            if (temporary is not null)
            {
                File.Delete(temporary);
            }

            throw;
        }
    }

    public long CountRows()
    {
        using var command = Command($"SELECT count(*) FROM {_scan}");
        try
        {
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (DuckDBException e)
        {
            throw new MappingException($"{_path} cannot be read: {e.Message}");
        }
    }

    public IEnumerable<SourceRow> Rows(CancellationToken cancellationToken)
    {
        var select = string.Join(", ", _columns.Select(Text)
            .Concat(_timeColumns.Select(c => c is null ? "NULL::TIMESTAMP" : ParseTime(c))));
        var created = _timeColumns[0] is { } column ? ParseTime(column) : "NULL::TIMESTAMP";
        // An event log keeps each ticket's updates together and in order, the tickets in order of their first creation time.
        var (first, order) = _eventLog is var (key, by)
            ? ($", min({created}) OVER (PARTITION BY {Text(key)}) AS {FirstCreated}",
                $"{FirstCreated} NULLS LAST, {Text(key)}, TRY_CAST({Text(by)} AS DOUBLE) NULLS LAST, {ParseTime(by)} NULLS LAST, {Text(by)}")
            : ("", $"{created} NULLS LAST");
        using var command = Command($"""
            WITH source AS (SELECT row_number() OVER () AS source_row, *{first} FROM {_scan})
            SELECT source_row, {select} FROM source
            ORDER BY {order}, source_row
            """);
        command.UseStreamingMode = true;
        using var reader = command.ExecuteReader();
        var width = _columns.Length;
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var values = new string?[width];
            for (var i = 0; i < width; i++)
            {
                values[i] = reader.IsDBNull(i + 1) ? null : reader.GetString(i + 1);
            }

            DateTime? Time(int index) => reader.IsDBNull(1 + width + index) ? null : reader.GetDateTime(1 + width + index);
            yield return new SourceRow(reader.GetInt64(0), values, new SourceTimes(Time(0), Time(1), Time(2), Time(3), Time(4), Time(5), Time(6), Time(7)));
        }
    }

    public void Dispose()
    {
        _duck.Dispose();
        if (_temporary is not null)
        {
            File.Delete(_temporary);
        }
    }

    private static string? ScanOf(string path) => path.ToUpperInvariant() switch
    {
        var p when p.EndsWith(".PARQUET", StringComparison.Ordinal) => "read_parquet($path)",
        var p when p.EndsWith(".CSV", StringComparison.Ordinal) || p.EndsWith(".CSV.GZ", StringComparison.Ordinal)
            || p.EndsWith(".TSV", StringComparison.Ordinal) || p.EndsWith(".TSV.GZ", StringComparison.Ordinal) =>
            "read_csv($path, all_varchar = true, header = true)",
        _ => null,
    };

    // The first sheet's used range as CSV, each cell as the text it shows (dates as yyyy-MM-dd, with the time when it has one).
    private static void WorkbookAsCsv(string workbookPath, string csvPath)
    {
        try
        {
            using var workbook = new ClosedXML.Excel.XLWorkbook(workbookPath);
            var sheet = workbook.Worksheets.First();
            using var writer = new StreamWriter(csvPath, append: false, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            var range = sheet.RangeUsed();
            if (range is null)
            {
                return;
            }

            foreach (var row in range.Rows())
            {
                writer.WriteLine(string.Join(',', Enumerable.Range(1, range.ColumnCount()).Select(row.Cell).Select(cell => CsvField(cell.DataType switch
                {
                    ClosedXML.Excel.XLDataType.DateTime => cell.GetDateTime() is var time && time.TimeOfDay == TimeSpan.Zero
                        ? time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                        : time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    ClosedXML.Excel.XLDataType.Number => cell.GetDouble().ToString("R", CultureInfo.InvariantCulture),
                    ClosedXML.Excel.XLDataType.Boolean => cell.GetBoolean() ? "true" : "false",
                    _ => cell.GetString(),
                }))));
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new MappingException($"{workbookPath} cannot be read as a workbook: {e.Message}");
        }
    }

    private static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>The column as text; a cell holding one of the mapping's missing-value tokens (trimmed, any case) is NULL.</summary>
    private string Text(string column)
    {
        var text = $"CAST({Quote(column)} AS VARCHAR)";
        return _missing.Count == 0
            ? text
            : $"CASE WHEN upper(trim({text})) IN ({string.Join(", ", _missing.Select(m => Literal(m.Trim().ToUpperInvariant())))}) THEN NULL ELSE {text} END";
    }

    private string ParseTime(string column)
    {
        var text = $"NULLIF(trim({Text(column)}), '')";
        return _formats.Count == 0
            ? $"TRY_CAST({text} AS TIMESTAMP)"
            : $"try_strptime({text}, [{string.Join(", ", _formats.Select(Literal))}])";
    }

    private static List<string> ColumnsOf(DuckDBConnection duck, string path, string scan)
    {
        using var command = duck.CreateCommand();
#pragma warning disable CA2100 // the scan is one of two constants above; the path travels as a parameter.
        command.CommandText = string.Format(CultureInfo.InvariantCulture, Describe, scan);
#pragma warning restore CA2100
        command.Parameters.Add(new DuckDBParameter("path", path));
        try
        {
            using var reader = command.ExecuteReader();
            var names = new List<string>();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }

            return names;
        }
        catch (DuckDBException e)
        {
            throw new MappingException($"{path} cannot be read: {e.Message}");
        }
    }

    private DuckDBCommand Command(string sql)
    {
        var command = _duck.CreateCommand();
        // Column names are quoted as identifiers and formats escaped as literals; the path is a parameter.
#pragma warning disable CA2100
        command.CommandText = sql;
#pragma warning restore CA2100
        command.Parameters.Add(new DuckDBParameter("path", _path));
        return command;
    }

    private static string Quote(string identifier) => $"\"{identifier.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string Literal(string text) => $"'{text.Replace("'", "''", StringComparison.Ordinal)}'";
}
