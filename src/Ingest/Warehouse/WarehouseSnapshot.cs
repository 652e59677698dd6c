using DuckDB.NET.Data;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// A read-only copy of the warehouse, published after each ingest so that other processes (notebooks, scripts)
/// can read while the dashboard holds the warehouse itself: DuckDB lets no second process open a file that one
/// is writing. The copy is written beside the target and renamed over it, so readers see the old or the new one.
/// </summary>
internal static class WarehouseSnapshot
{
    public static string PathFor(string warehousePath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(warehousePath))!, Path.GetFileNameWithoutExtension(warehousePath) + "-snapshot.duckdb");

    public static void Publish(DuckDBConnection warehouse, string target)
    {
        var temporary = target + ".writing";
        File.Delete(temporary);
        using (var command = warehouse.CreateCommand())
        {
            // The warehouse's catalog is named after its file.
            command.CommandText = "SELECT current_database()";
            var source = (string)command.ExecuteScalar()!;
            var quoted = temporary.Replace("'", "''", StringComparison.Ordinal);
            command.CommandText = $"ATTACH '{quoted}' AS snapshot; COPY FROM DATABASE \"{source.Replace("\"", "\"\"", StringComparison.Ordinal)}\" TO snapshot; DETACH snapshot;";
            command.ExecuteNonQuery();
        }

        File.Move(temporary, target, overwrite: true);
    }
}
