using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>
/// Whether a question may read the rollups (see <see cref="WarehouseSchema.Rollups"/>) instead of the facts: the file's
/// rollups must be kept (every ingest adds to them; a warehouse written by other means has none), and the filter must
/// ask only what the rollups carry.
/// </summary>
public static class WarehouseRollups
{
    /// <summary>Whether the rollups of this file hold every archived work order.</summary>
    public static bool Kept(DuckDBConnection warehouse, CancellationToken cancellationToken)
    {
        using var command = warehouse.Command("SELECT count(*) FROM warehouse_info WHERE key = 'rollups' AND value = 'kept'", cancellationToken);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }
}
