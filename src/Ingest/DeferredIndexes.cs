using Dapper;
using Npgsql;

namespace WorkOrders.Ingest;

/// <summary>A table a bulk load is about to write, and about how many rows it will write there.</summary>
public sealed record PlannedLoad(string Table, long Rows);

/// <summary>A secondary index a bulk load dropped, with the statement that builds it again.</summary>
public sealed record DeferredIndex(string Table, string Name, string Definition);

/// <summary>
/// Builds the secondary indexes of a table once after a large bulk load instead of entry by entry during it. Per row, a
/// COPY into <c>work_orders</c> updates nine btrees and the trigram index of the search; the trigram index alone takes
/// about thirty entries per row, each a random page of a GIN tree that soon outgrows shared buffers, and a load into
/// its pending list left it twelve times the size of one built by <c>CREATE INDEX</c> (284 MB against 23 MB at 100,000
/// work orders). A build sorts the whole table once, which is far cheaper when the load is most of the table.
/// <para>
/// Only indexes that no constraint uses are dropped: primary keys, unique indexes and constraints, exclusion
/// constraints and the indexes foreign keys point at stay, so keys and uniqueness are checked as the rows arrive, as before. The
/// drop and the builds are in the load's transaction: a load that fails leaves the indexes as they were, and nobody
/// ever sees the table without them. The price: <c>DROP INDEX</c> locks the table <c>ACCESS EXCLUSIVE</c> until the
/// commit, so readers of the table wait for the whole load. That is why it is only done when the load is at least as
/// large as what the table holds (<see cref="Worthwhile"/>): filling an empty or young database, not topping up a live
/// one, where the rows are better added to the indexes one by one and the application keeps reading meanwhile.
/// </para>
/// </summary>
public static class DeferredIndexes
{
    // Owned by us (DROP INDEX needs the owner or a superuser), valid, and neither unique nor used by any constraint.
    private const string Droppable = """
        SELECT i.indrelid::regclass::text AS "Table", i.indexrelid::regclass::text AS "Name", pg_get_indexdef(i.indexrelid) AS "Definition"
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = @table::regclass AND i.indisvalid AND i.indisready AND NOT i.indisunique AND NOT i.indisexclusion
          AND NOT i.indisreplident AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
          AND pg_has_role(c.relowner, 'USAGE')
        ORDER BY c.relname
        """;

    // A GIN build sorts its entries in maintenance_work_mem and writes a run per fill: the larger, the fewer runs.
    private const string BuildSettings = """
        SET LOCAL maintenance_work_mem = '512MB';
        SET LOCAL max_parallel_maintenance_workers = 2
        """;

    /// <summary>
    /// Whether a load of <paramref name="loadRows"/> into a table holding <paramref name="existingRows"/> should build
    /// the table's indexes afterwards: when the load is at least as large as the table, a build over all rows costs
    /// less than adding the load's entries one by one (and locking readers out is a price only a filling load pays).
    /// </summary>
    public static bool Worthwhile(long existingRows, long loadRows) => loadRows > 0 && existingRows <= loadRows;

    /// <summary>
    /// Drops the droppable indexes of each table whose planned load is <see cref="Worthwhile"/>, in the transaction;
    /// returns them for <see cref="RebuildAsync"/>.
    /// </summary>
    public static async Task<IReadOnlyList<DeferredIndex>> DropAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PlannedLoad> loads, CancellationToken cancellationToken)
    {
        var dropped = new List<DeferredIndex>();
        foreach (var load in loads)
        {
            // Counting stops after loadRows + 1 rows, so asking costs no more than a fraction of the load.
            var existing = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                $"SELECT count(*) FROM (SELECT FROM {load.Table} LIMIT @limit) x",
                new { limit = load.Rows + 1 },
                transaction,
                commandTimeout: 0,
                cancellationToken: cancellationToken));
            if (!Worthwhile(existing, load.Rows))
            {
                continue;
            }

            dropped.AddRange(await DropAllAsync(connection, transaction, load.Table, cancellationToken));
        }

        return dropped;
    }

    /// <summary>
    /// Drops every droppable index of <paramref name="table"/> in the transaction, whatever its size (the caller has
    /// decided); returns them for <see cref="RebuildAsync"/>.
    /// </summary>
    public static async Task<IReadOnlyList<DeferredIndex>> DropAllAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string table, CancellationToken cancellationToken)
    {
        var indexes = (await connection.QueryAsync<DeferredIndex>(new CommandDefinition(
            Droppable, new { table }, transaction, cancellationToken: cancellationToken))).ToList();
        foreach (var index in indexes)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"DROP INDEX {index.Name}", transaction: transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        }

        return indexes;
    }

    /// <summary>Builds the dropped indexes again, with their own definitions, in the transaction.</summary>
    public static async Task RebuildAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<DeferredIndex> dropped, CancellationToken cancellationToken)
    {
        if (dropped.Count == 0)
        {
            return;
        }

        await connection.ExecuteAsync(new CommandDefinition(BuildSettings, transaction: transaction, cancellationToken: cancellationToken));
        foreach (var index in dropped)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                index.Definition, transaction: transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        }
    }
}
