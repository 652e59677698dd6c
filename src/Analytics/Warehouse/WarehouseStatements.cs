using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>
/// How warehouse queries stop when their token fires. DuckDB does not watch a token: <see cref="InterruptOn"/> calls
/// <c>duckdb_interrupt</c> on the connection (what <see cref="DuckDBCommand.Cancel"/> does), which ends the running
/// statement with an <see cref="OperationCanceledException"/> and leaves the connection usable. DuckDB forgets an
/// interrupt that arrives while no statement runs, so each statement also looks at the token before it starts
/// (<see cref="Command"/>): a question of several statements stops at the next one.
/// </summary>
public static class WarehouseStatements
{
    /// <summary>Interrupts the connection's running statement when the token fires, until disposed.</summary>
    public static CancellationTokenRegistration InterruptOn(this DuckDBConnection warehouse, CancellationToken cancellationToken) =>
        cancellationToken.Register(static connection => ((DuckDBConnection)connection!).NativeConnection.Interrupt(), warehouse);

    /// <summary>A command for one statement, refused when the token has already fired.</summary>
    public static DuckDBCommand Command(this DuckDBConnection warehouse, string sql, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var command = warehouse.CreateCommand();
        command.CommandText = sql;
        return command;
    }
}
