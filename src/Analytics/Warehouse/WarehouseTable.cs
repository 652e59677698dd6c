using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>The column types of the warehouse, each with its DuckDB name.</summary>
public enum ColumnType
{
    BigInt,
    Integer,
    SmallInt,
    Double,
    Boolean,
    Varchar,
    Date,
    Timestamp,
}

/// <summary>
/// One column of a warehouse table. <see cref="Source"/> is the PostgreSQL expression the ingest reads it from,
/// for tables copied from PostgreSQL; it may use the values of the run (see <see cref="SourceScope"/>).
/// </summary>
public sealed record WarehouseColumn(string Name, ColumnType Type, bool Nullable, string? Source)
{
    public static WarehouseColumn Required(string name, ColumnType type, string? source = null) => new(name, type, false, source);

    public static WarehouseColumn Optional(string name, ColumnType type, string? source = null) => new(name, type, true, source);

    /// <summary>The type as DuckDB writes it, in <c>DESCRIBE</c> too.</summary>
    public string DuckDbType => Type switch
    {
        ColumnType.BigInt => "BIGINT",
        ColumnType.Integer => "INTEGER",
        ColumnType.SmallInt => "SMALLINT",
        ColumnType.Double => "DOUBLE",
        ColumnType.Boolean => "BOOLEAN",
        ColumnType.Varchar => "VARCHAR",
        ColumnType.Date => "DATE",
        ColumnType.Timestamp => "TIMESTAMP",
        _ => throw new ArgumentOutOfRangeException(nameof(Type), Type, null),
    };

    /// <summary>The Arrow type a batch for this column carries; timestamps are UTC microseconds without a zone, as DuckDB's TIMESTAMP.</summary>
    public IArrowType ArrowType => Type switch
    {
        ColumnType.BigInt => Int64Type.Default,
        ColumnType.Integer => Int32Type.Default,
        ColumnType.SmallInt => Int16Type.Default,
        ColumnType.Double => DoubleType.Default,
        ColumnType.Boolean => BooleanType.Default,
        ColumnType.Varchar => StringType.Default,
        ColumnType.Date => Date32Type.Default,
        ColumnType.Timestamp => new TimestampType(TimeUnit.Microsecond, (string?)null),
        _ => throw new ArgumentOutOfRangeException(nameof(Type), Type, null),
    };
}

/// <summary>
/// What a copy from PostgreSQL needs to know of its run: the run's id (<c>{run}</c> in a source), the condition
/// that picks the work orders archived since the last run (<c>{archived}</c>), when the open work was seen
/// (<c>{snapshot_at}</c>), and the condition that picks the rows of a table aliased x written (inserted or updated)
/// since the last run (<c>{written:x}</c>, <see cref="Written"/>, with <c>{row}</c> where the alias goes): by the
/// top-level transaction its column <c>written_xid</c> names. (Not by the row's version, xmin: a row written in a
/// savepoint carries the savepoint's id, which no snapshot lists, see migration 0041.)
/// </summary>
public sealed record SourceScope(long Run, string Archived, DateTime SnapshotAt, string Written = "true");

/// <summary>
/// One table of the warehouse, described once: its <c>CREATE TABLE</c>, the Arrow schema of the batches the ingest
/// appends, and, for a table copied from PostgreSQL, the query whose columns come in the table's order. The ingest
/// appends by position, so deriving all three from this list is what keeps two columns of one type from swapping.
/// </summary>
public sealed partial class WarehouseTable
{
    private readonly string? _source;

    /// <param name="name">The table's name.</param>
    /// <param name="purpose">What a row is, written above the table in the schema.</param>
    /// <param name="columns">The columns in their physical order.</param>
    /// <param name="source">
    /// For a table copied from PostgreSQL: its query, with <c>{columns}</c> where the select list of the columns'
    /// sources goes, and any of <c>{run}</c>, <c>{archived}</c>, <c>{snapshot_at}</c>, <c>{written:alias}</c>.
    /// </param>
    /// <param name="key">The primary key column, if the table has one.</param>
    public WarehouseTable(string name, string purpose, IReadOnlyList<WarehouseColumn> columns, string? source = null, string? key = null)
    {
        Name = name;
        Purpose = purpose;
        Columns = columns;
        Key = key;
        _source = source;
        if (key is not null && columns.All(c => c.Name != key))
        {
            throw new ArgumentException($"{name}: the key {key} is not one of its columns.", nameof(key));
        }

        if (source is not null && (!source.Contains("{columns}", StringComparison.Ordinal) || columns.Any(c => c.Source is null)))
        {
            throw new ArgumentException($"{name}: a table copied from PostgreSQL needs {{columns}} in its query and a source for every column.", nameof(source));
        }

        ArrowSchema = new Schema(columns.Select(c => new Field(c.Name, c.ArrowType, c.Nullable)), null);
        if (source is not null)
        {
            var defined = CommonTable().Matches(source).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            SourceTables = [.. ReadTable().Matches(source).Select(m => m.Groups[1].Value).Where(t => !defined.Contains(t)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        }
    }

    public string Name { get; }

    public string Purpose { get; }

    public IReadOnlyList<WarehouseColumn> Columns { get; }

    public string? Key { get; }

    /// <summary>The PostgreSQL tables its query reads (after FROM or JOIN, its own WITH names left out); none for a table not copied.</summary>
    public IReadOnlyList<string> SourceTables { get; } = [];

    /// <summary>The same table under another name: the staging table an incremental copy lands in before it is merged.</summary>
    public WarehouseTable Named(string name) => new(name, Purpose, Columns, _source, Key);

    public Schema ArrowSchema { get; }

    public string CreateSql
    {
        get
        {
            var sql = new StringBuilder();
            sql.Append(CultureInfo.InvariantCulture, $"-- {Purpose}\nCREATE TABLE IF NOT EXISTS {Name} (\n");
            sql.AppendJoin(",\n", Columns.Select(c =>
                $"    {c.Name} {c.DuckDbType}{(c.Name == Key ? " PRIMARY KEY" : c.Nullable ? "" : " NOT NULL")}"));
            sql.Append("\n);\n");
            return sql.ToString();
        }
    }

    /// <summary>The PostgreSQL query of this table for one run; its columns are the table's, in order.</summary>
    public string SourceQuery(SourceScope scope)
    {
        var template = _source ?? throw new InvalidOperationException($"{Name} is not copied from PostgreSQL.");
        var columns = string.Join(", ", Columns.Select(c => c.Source));
        return Placeholder().Replace(template.Replace("{columns}", columns, StringComparison.Ordinal), m => m.Groups[1].Value switch
        {
            "written" when m.Groups[2].Success => scope.Written.Replace("{row}", m.Groups[2].Value, StringComparison.Ordinal),
            "run" => scope.Run.ToString(CultureInfo.InvariantCulture) + "::bigint",
            "archived" => scope.Archived,
            "snapshot_at" => $"'{scope.SnapshotAt.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'::timestamptz",
            var unknown => throw new InvalidOperationException($"{Name}: its source uses {{{unknown}}}, which no run provides."),
        });
    }

    [GeneratedRegex(@"\{([a-z_]+)(?::([a-z_]+))?\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\b(?:FROM|JOIN)\s+([a-z_]+)\b(?!\s*\()")]
    private static partial Regex ReadTable();

    [GeneratedRegex(@"\b(?:WITH(?:\s+RECURSIVE)?|,)\s+([a-z_]+)\s+AS\s*\(")]
    private static partial Regex CommonTable();
}
