using DuckDB.NET.Data;
using Microsoft.Extensions.Options;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>Raised when the warehouse has not been filled by an ingest yet, so no figure can be given.</summary>
public sealed class WarehouseEmptyException()
    : Exception("The warehouse has not been ingested yet. An administrator can run the ingest (Warehouse page, or POST /api/v1/ingest/runs).");

/// <summary>
/// Opens connections for queries. In this process they share the database the ingest writes (DuckDB keeps one
/// instance per file per process), so reading never waits for the file lock. Open one per operation.
/// A reader process (Warehouse:Role = reader) points it at each replica it takes in turn (<see cref="SwitchTo"/>):
/// a question already running finishes on the file it opened, the next one opens the new file.
/// </summary>
public sealed class WarehouseReader
{
    private volatile string _dataSource;

    // The database last found to hold an ingest. A warehouse never loses its ingest runs and a replica is not written
    // once taken in, so it is not asked again: the two questions cost 2-6 ms of each of the many opens of a page load.
    private volatile string? _holdsIngest;

    public WarehouseReader(IOptions<WarehouseOptions> options) => _dataSource = options.Value.Path;

    private WarehouseReader(string dataSource) => _dataSource = dataSource;

    /// <summary>A reader over another DuckDB database, such as <c>:memory:?cache=shared</c> holding views over a Parquet export.</summary>
    public static WarehouseReader Over(string dataSource) => new(dataSource);

    /// <summary>The database the next question opens.</summary>
    public string DataSource => _dataSource;

    /// <summary>Makes every question from now on open <paramref name="dataSource"/>.</summary>
    public void SwitchTo(string dataSource)
    {
        _holdsIngest = null;
        _dataSource = dataSource;
    }

    public DuckDBConnection Open()
    {
        while (true)
        {
            var dataSource = _dataSource;
            try
            {
                return Open(dataSource);
            }
            catch (WarehouseEmptyException) when (!ReferenceEquals(dataSource, _dataSource))
            {
                // Swapped for the next replica while opening: open that one.
            }
        }
    }

    private DuckDBConnection Open(string dataSource)
    {
        if (!dataSource.StartsWith(":memory:", StringComparison.Ordinal) && !File.Exists(dataSource))
        {
            throw new WarehouseEmptyException();
        }

        DuckDBConnection? connection = new($"Data Source={dataSource}");
        try
        {
            connection.Open();
            if (dataSource != _holdsIngest)
            {
                ThrowUnlessIngested(connection);
                _holdsIngest = dataSource;
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

    private static void ThrowUnlessIngested(DuckDBConnection connection)
    {
        using var command = connection.CreateCommand();
        // information_schema lists views too: a warehouse read back from Parquet is made of views.
        command.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ingest_run'";
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            throw new WarehouseEmptyException();
        }

        command.CommandText = "SELECT EXISTS (SELECT 1 FROM ingest_run)";
        if (command.ExecuteScalar() is not true)
        {
            throw new WarehouseEmptyException();
        }
    }
}
