using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>Where the DuckDB warehouse lives, bound from the "Warehouse" section.</summary>
public sealed class WarehouseOptions
{
    public const string Section = "Warehouse";

    public string Path { get; set; } = System.IO.Path.Combine(".data", "warehouse.duckdb");
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
        command.CommandText = WarehouseSchema.Create;
        command.ExecuteNonQuery();
        return connection;
    }
}
