using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>Where the DuckDB warehouse lives, bound from the "Warehouse" section.</summary>
public sealed class WarehouseOptions
{
    public const string Section = "Warehouse";

    public string Path { get; set; } = System.IO.Path.Combine(".data", "warehouse.duckdb");

    /// <summary>When the working day starts, local time; business time counts Monday to Friday between start and end.</summary>
    public TimeSpan BusinessDayStart { get; set; } = TimeSpan.FromHours(8);

    public TimeSpan BusinessDayEnd { get; set; } = TimeSpan.FromHours(17);

    /// <summary>The IANA time zone of the working day.</summary>
    public string TimeZone { get; set; } = "UTC";

    public BusinessHours BusinessHours() => new(BusinessDayStart, BusinessDayEnd, TimeZone);
}

/// <summary>
/// The working week business time is counted in: Monday to Friday, Start to End local time in TimeZone.
/// Holidays and per-site calendars come with the SLA calendars.
/// </summary>
public sealed record BusinessHours(TimeSpan Start, TimeSpan End, string TimeZone)
{
    public static BusinessHours Default { get; } = new(TimeSpan.FromHours(8), TimeSpan.FromHours(17), "UTC");

    /// <summary>Null when usable, else what is wrong.</summary>
    public string? Problem() =>
        Start < TimeSpan.Zero || End > TimeSpan.FromHours(24) || Start >= End ? "the business day must start before it ends, within one day"
        : !TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out _) ? $"'{TimeZone}' is not a known time zone"
        : null;
}

/// <summary>Raised when another process holds the warehouse file; DuckDB allows one writer per file.</summary>
public sealed class WarehouseLockedException(string path, Exception inner)
    : Exception($"The warehouse {path} is in use by another process (the dashboard owns it while it runs). " +
                "Use the dashboard's \"Ingest now\" (or POST /api/v1/ingest/runs as an admin), or stop the dashboard and retry.", inner);

public static class WarehouseFile
{
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
