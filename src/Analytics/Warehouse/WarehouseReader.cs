using DuckDB.NET.Data;
using Microsoft.Extensions.Options;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>Raised when the warehouse has not been filled by an ingest yet, so no figure can be given.</summary>
public sealed class WarehouseEmptyException()
    : Exception("The warehouse has not been ingested yet. An administrator can run the ingest (Warehouse page, or POST /api/v1/ingest/runs).");

/// <summary>
/// Opens connections for queries. In this process they share the database the ingest writes (DuckDB keeps one
/// instance per file per process), so reading never waits for the file lock. Open one per operation.
/// </summary>
public sealed class WarehouseReader(IOptions<WarehouseOptions> options)
{
    public DuckDBConnection Open()
    {
        if (!File.Exists(options.Value.Path))
        {
            throw new WarehouseEmptyException();
        }

        DuckDBConnection? connection = new($"Data Source={options.Value.Path}");
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ingest_run'";
            if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                throw new WarehouseEmptyException();
            }

            command.CommandText = "SELECT EXISTS (SELECT 1 FROM ingest_run)";
            if (command.ExecuteScalar() is not true)
            {
                throw new WarehouseEmptyException();
            }

            var opened = connection;
            connection = null;
            return opened;
        }
        finally
        {
            connection?.Dispose();
        }
    }
}
