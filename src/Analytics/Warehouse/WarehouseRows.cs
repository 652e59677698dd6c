using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>
/// Rows read from an open warehouse connection as the caller enumerates <see cref="Rows"/> (once), for lists too
/// large to hold. The token given on opening interrupts the reading; disposing closes the connection.
/// </summary>
public sealed class WarehouseRows<T> : IDisposable
{
    private readonly DuckDBConnection _warehouse;
    private readonly CancellationTokenRegistration _interrupt;

    internal WarehouseRows(DuckDBConnection warehouse, Func<DuckDBConnection, CancellationToken, IEnumerable<T>> read, CancellationToken cancellationToken)
    {
        _warehouse = warehouse;
        _interrupt = warehouse.InterruptOn(cancellationToken);
        Rows = read(warehouse, cancellationToken);
    }

    public IEnumerable<T> Rows { get; }

    public void Dispose()
    {
        _interrupt.Dispose();
        _warehouse.Dispose();
    }
}
