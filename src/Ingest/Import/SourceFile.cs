using System.Globalization;
using DuckDB.NET.Data;

namespace WorkOrders.Ingest.Import;

/// <summary>One row of the source: its 1-based position in the file, its columns as text and its lifecycle times as parsed.</summary>
public sealed record SourceRow(long Number, string?[] Values, SourceTimes Times);

/// <summary>The lifecycle times of a row as written in the source's zone; null when empty or unparseable.</summary>
public sealed record SourceTimes(DateTime? Created, DateTime? Acknowledged, DateTime? Started, DateTime? Resolved, DateTime? Closed);

/// <summary>
/// Reads a CSV (plain or gzip) or Parquet export with an in-process DuckDB: every mapped column as text, the times parsed
/// with the mapping's formats, rows in order of creation so that numbers run with time. DuckDB sorts out of core and
/// the rows stream from its result; nothing here holds the file.
/// </summary>
public sealed class SourceFile : IDisposable
{
    private const string Describe = "DESCRIBE SELECT * FROM {0}";

    private readonly DuckDBConnection _duck;
    private readonly string _path;
    private readonly string _scan;
    private readonly string[] _columns;
    private readonly string?[] _timeColumns;
    private readonly IReadOnlyList<string> _formats;

    private SourceFile(DuckDBConnection duck, string path, string scan, string[] columns, string?[] timeColumns, IReadOnlyList<string> formats)
    {
        _duck = duck;
        _path = path;
        _scan = scan;
        _columns = columns;
        _timeColumns = timeColumns;
        _formats = formats;
    }

    /// <summary>The mapped columns, in the order of <see cref="SourceRow.Values"/> (as the file spells them).</summary>
    public IReadOnlyList<string> Columns => _columns;

    public static SourceFile Open(string path, ImportMapping mapping)
    {
        var scan = ScanOf(path);
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

            string?[] times = [mapping.Times.Created, mapping.Times.Acknowledged, mapping.Times.Started, mapping.Times.Resolved, mapping.Times.Closed];
            var timeColumns = times.Select(t => t is null ? null : columns.First(c => string.Equals(c, t, StringComparison.OrdinalIgnoreCase))).ToArray();
            return new SourceFile(duck, path, scan, [.. columns], timeColumns, mapping.DateFormats);
        }
        catch
        {
            duck.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A file read for plain columns, with no lifetime times, in file order: the required columns (an error names a
    /// missing one) and those of the optional ones the file has, in <see cref="Columns"/>.
    /// </summary>
    public static SourceFile Open(string path, IReadOnlyList<string> required, IReadOnlyList<string> optional)
    {
        var scan = ScanOf(path);
        var duck = new DuckDBConnection("DataSource=:memory:");
        try
        {
            duck.Open();
            var available = ColumnsOf(duck, path, scan);
            string? Find(string wanted) => available.FirstOrDefault(a => string.Equals(a, wanted, StringComparison.OrdinalIgnoreCase));
            var columns = required.Select(wanted => Find(wanted)
                    ?? throw new MappingException($"{Path.GetFileName(path)} has no column '{wanted}' (it has: {string.Join(", ", available)})"))
                .Concat(optional.Select(Find).OfType<string>())
                .ToArray();
            return new SourceFile(duck, path, scan, columns, new string?[5], []);
        }
        catch
        {
            duck.Dispose();
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
        var select = string.Join(", ", _columns.Select(c => $"CAST({Quote(c)} AS VARCHAR)")
            .Concat(_timeColumns.Select(c => c is null ? "NULL::TIMESTAMP" : ParseTime(c))));
        using var command = Command($"""
            WITH source AS (SELECT row_number() OVER () AS source_row, * FROM {_scan})
            SELECT source_row, {select} FROM source
            ORDER BY {(_timeColumns[0] is { } created ? ParseTime(created) : "1")} NULLS LAST, source_row
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
            yield return new SourceRow(reader.GetInt64(0), values, new SourceTimes(Time(0), Time(1), Time(2), Time(3), Time(4)));
        }
    }

    public void Dispose() => _duck.Dispose();

    private string ParseTime(string column)
    {
        var text = $"NULLIF(trim(CAST({Quote(column)} AS VARCHAR)), '')";
        return _formats.Count == 0
            ? $"TRY_CAST({text} AS TIMESTAMP)"
            : $"try_strptime({text}, [{string.Join(", ", _formats.Select(Literal))}])";
    }

    private static string ScanOf(string path) => path.ToUpperInvariant() switch
    {
        var p when p.EndsWith(".PARQUET", StringComparison.Ordinal) => "read_parquet($path)",
        var p when p.EndsWith(".CSV", StringComparison.Ordinal) || p.EndsWith(".CSV.GZ", StringComparison.Ordinal)
            || p.EndsWith(".TSV", StringComparison.Ordinal) || p.EndsWith(".TSV.GZ", StringComparison.Ordinal) =>
            "read_csv($path, all_varchar = true, header = true)",
        _ => throw new MappingException($"{path}: only .csv, .csv.gz, .tsv, .tsv.gz and .parquet files can be imported"),
    };

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
