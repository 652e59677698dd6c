using DuckDB.NET.Data;
using Microsoft.Extensions.Options;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>Where the DuckDB warehouse lives, bound from the "Warehouse" section and checked on start (<see cref="WarehouseOptionsValidation"/>).</summary>
public sealed class WarehouseOptions
{
    public const string Section = "Warehouse";

    public const int MinTokenLength = 32;

    public string Path { get; set; } = System.IO.Path.Combine(".data", "warehouse.duckdb");

    /// <summary>When the working day starts, local time; business time counts Monday to Friday between start and end.</summary>
    public TimeSpan BusinessDayStart { get; set; } = TimeSpan.FromHours(8);

    public TimeSpan BusinessDayEnd { get; set; } = TimeSpan.FromHours(17);

    /// <summary>The IANA time zone of the working day.</summary>
    public string TimeZone { get; set; } = "UTC";

    public BusinessHours BusinessHours() => new(BusinessDayStart, BusinessDayEnd, TimeZone);

    /// <summary>
    /// Owner (the default): this process ingests from PostgreSQL into <see cref="Path"/> and publishes a snapshot after
    /// each run. Reader: it never ingests; it takes the owner's snapshot from <see cref="Source"/> into files of its own
    /// beside <see cref="Path"/> on the ingest's schedule and answers the analytics from the latest.
    /// </summary>
    public WarehouseRole Role { get; set; } = WarehouseRole.Owner;

    /// <summary>
    /// Where a reader takes the snapshot from: the owner's address (http or https, as <c>http://owner:5080</c>; it
    /// asks <c>GET /api/v1/warehouse/snapshot</c>) or the path of the snapshot file on a shared folder.
    /// </summary>
    public string? Source { get; set; }

    /// <summary>
    /// A shared secret of at least 32 characters: the owner hands its snapshot to a request carrying it in the
    /// <c>X-Warehouse-Token</c> header (besides administrators), and a reader sends it.
    /// </summary>
    public string? SnapshotToken { get; set; }
}

public enum WarehouseRole
{
    Owner,
    Reader,
}

/// <summary>Refuses a start with warehouse settings that cannot work, naming each setting that is wrong.</summary>
public sealed class WarehouseOptionsValidation : IValidateOptions<WarehouseOptions>
{
    public ValidateOptionsResult Validate(string? name, WarehouseOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            failures.Add($"{WarehouseOptions.Section}:{nameof(WarehouseOptions.Path)} is required: the DuckDB file of the warehouse, such as .data/warehouse.duckdb.");
        }

        if (!Enum.IsDefined(options.Role))
        {
            failures.Add($"{WarehouseOptions.Section}:{nameof(WarehouseOptions.Role)} must be owner or reader.");
        }

        if (options.Role == WarehouseRole.Reader && !IsSource(options.Source))
        {
            failures.Add($"{WarehouseOptions.Section}:{nameof(WarehouseOptions.Source)} is required for a reader: the owner's address, such as http://owner:5080, or the path of its snapshot file.");
        }

        if (options.SnapshotToken is { } token && token.Length < WarehouseOptions.MinTokenLength)
        {
            failures.Add($"{WarehouseOptions.Section}:{nameof(WarehouseOptions.SnapshotToken)} must be at least {WarehouseOptions.MinTokenLength} characters.");
        }

        failures.AddRange(options.BusinessHours().Problems());
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsSource(string? source) =>
        !string.IsNullOrWhiteSpace(source)
        && (!Uri.TryCreate(source, UriKind.Absolute, out var uri) || uri.Scheme is "http" or "https" or "file");
}

/// <summary>
/// The working week business time is counted in: Monday to Friday, Start to End local time in TimeZone.
/// Holidays and per-site calendars come with the SLA calendars.
/// </summary>
public sealed record BusinessHours(TimeSpan Start, TimeSpan End, string TimeZone)
{
    public static BusinessHours Default { get; } = new(TimeSpan.FromHours(8), TimeSpan.FromHours(17), "UTC");

    /// <summary>What is wrong with these hours, each naming the warehouse setting it comes from; empty when usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        const string setting = WarehouseOptions.Section + ":";
        var problems = new List<string>();
        if (Start < TimeSpan.Zero || End > TimeSpan.FromHours(24) || Start >= End)
        {
            problems.Add($"{setting}{nameof(WarehouseOptions.BusinessDayStart)} ({Start}) must be before {setting}{nameof(WarehouseOptions.BusinessDayEnd)} ({End}), both within one day.");
        }

        // DuckDB converts local times with IANA names only; .NET would also accept a Windows zone name.
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out var zone) || !zone.HasIanaId)
        {
            problems.Add($"{setting}{nameof(WarehouseOptions.TimeZone)} '{TimeZone}' is not a known IANA time zone, such as Europe/Berlin or UTC.");
        }

        return problems;
    }
}

/// <summary>Raised when another process holds the warehouse file; DuckDB allows one writer per file.</summary>
public sealed class WarehouseLockedException(string path, Exception inner)
    : Exception($"The warehouse {path} is in use by another process (the dashboard owns it while it runs). " +
                "Use the dashboard's \"Ingest now\" (or POST /api/v1/ingest/runs as an admin), or stop the dashboard and retry.", inner);

public static class WarehouseFile
{
    /// <summary>
    /// How much the write-ahead log may hold before a commit writes its changes into the file (a checkpoint). DuckDB's
    /// default, 16 MB, made every ingest run after 10,000 new work orders (about 20 MB of log) checkpoint in its commit,
    /// rewriting the partly filled row groups of every table it appended to: 1-3 s of a run at a million work orders,
    /// against about 1.7 s for one checkpoint after six such runs. A larger log is replayed when the file is opened
    /// (about 4.7 s for 89 MB here).
    /// </summary>
    private const string CheckpointThreshold = "64MB";

    /// <summary>Opens the warehouse for writing and brings its schema up to date.</summary>
    public static DuckDBConnection Open(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new DuckDBConnection($"Data Source={path}");
        try
        {
            connection.Open();
        }
        catch (DuckDBException e) when (e.Message.Contains("lock", StringComparison.OrdinalIgnoreCase))
        {
            connection.Dispose();
            throw new WarehouseLockedException(path, e);
        }

        using var command = connection.CreateCommand();
        command.CommandText = $"SET checkpoint_threshold = '{CheckpointThreshold}'";
        command.ExecuteNonQuery();
        command.CommandText = "SELECT value FROM duckdb_tables() t, warehouse_info i WHERE t.table_name = 'warehouse_info' AND i.key = 'schema_version'";
        string? version;
        try
        {
            version = command.ExecuteScalar() as string;
        }
        catch (DuckDBException)
        {
            version = null;
        }

        // The warehouse is derived from PostgreSQL: a file of another schema version is emptied and refilled by the next ingest.
        if (version is not null && version != WarehouseSchema.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            command.CommandText = "SELECT string_agg('DROP TABLE ' || table_name || ';', ' ') FROM duckdb_tables() WHERE schema_name = 'main'";
            command.CommandText = command.ExecuteScalar() as string ?? "";
            command.ExecuteNonQuery();
        }

        command.CommandText = WarehouseSchema.Create + $"""

            INSERT OR REPLACE INTO warehouse_info VALUES ('schema_version', '{WarehouseSchema.Version}');
            """;
        command.ExecuteNonQuery();
        return connection;
    }
}
