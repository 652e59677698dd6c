using System.Text.Json;
using Dapper;
using Npgsql;

namespace WorkOrders.Ingest.Import;

/// <summary>How an import keeps the secondary indexes of the tables it writes.</summary>
public enum IndexUpkeep
{
    /// <summary>Rebuild when the file is large beside the table (<see cref="ImportIndexes.ShouldRebuild"/>), else per row.</summary>
    Auto,

    /// <summary>Each batch its own transaction; every index kept up to date row by row, so other sessions read and write on.</summary>
    PerRow,

    /// <summary>The whole import one transaction, the secondary indexes dropped in it and built once at the end.</summary>
    Rebuild,
}

/// <summary>
/// The secondary indexes of <c>work_orders</c> and <c>work_order_events</c>, dropped at the start of a large import and
/// built again over the whole table at its end, in the import's one transaction (see <see cref="DeferredIndexes"/>,
/// which the history generator uses too). Building an index from a sorted scan costs less than keeping it up to date
/// row by row, most of all for the trigram index of the search box. Indexes that enforce something (primary keys,
/// unique indexes and constraints) stay: the import's own duplicate check reads the unique index of imported
/// references. The first statement locks both tables ACCESS EXCLUSIVE until the commit, so nobody else reads or writes
/// them meanwhile; a failed import rolls the drops back with everything else.
/// </summary>
internal sealed class ImportIndexes
{
    /// <summary>Below this many rows in the file an import keeps its indexes row by row (the rebuild's fixed cost and lock are not worth it).</summary>
    public const long MinimumRowsToRebuild = 100_000;

    public static readonly string[] Tables = ["work_orders", "work_order_events"];

    private const string LockTables = "LOCK TABLE work_orders, work_order_events IN ACCESS EXCLUSIVE MODE";

    // The planner's estimate scales the last analyze's rows per page to the table's pages now, so a table filled in bulk
    // since (a generator run) is not taken for empty.
    private const string TableRows = "EXPLAIN (FORMAT JSON) SELECT 1 FROM work_orders";

    private const string OwnsTables = "SELECT bool_and(pg_has_role(current_user, relowner, 'USAGE')) FROM pg_class WHERE oid = ANY(@tables::regclass[])";

    private readonly List<DeferredIndex> _dropped;

    private ImportIndexes(List<DeferredIndex> dropped) => _dropped = dropped;

    /// <summary>The indexes dropped, by name.</summary>
    public IReadOnlyList<string> Dropped => [.. _dropped.Select(d => d.Name)];

    /// <summary>
    /// Whether an import of <paramref name="fileRows"/> rows into a table of <paramref name="tableRows"/> work orders rebuilds
    /// its indexes: as asked, and on Auto when the file has at least <see cref="MinimumRowsToRebuild"/> rows and at least as
    /// many as the table (a build reads the whole table, so it pays only when most of the table is new). Only the
    /// tables' owner may drop their indexes.
    /// </summary>
    public static bool ShouldRebuild(IndexUpkeep upkeep, long fileRows, long tableRows, bool ownsTables) => upkeep switch
    {
        IndexUpkeep.Rebuild => true,
        IndexUpkeep.PerRow => false,
        _ => ownsTables && fileRows >= MinimumRowsToRebuild && DeferredIndexes.Worthwhile(tableRows, fileRows),
    };

    /// <summary>The work orders already in the table (an estimate) and whether this role owns both tables.</summary>
    public static async Task<(long Rows, bool Owner)> TableAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var plan = await connection.ExecuteScalarAsync<string>(new CommandDefinition(TableRows, cancellationToken: cancellationToken))
            ?? throw new InvalidOperationException("EXPLAIN returned no plan");
        using var json = JsonDocument.Parse(plan);
        var rows = (long)json.RootElement[0].GetProperty("Plan").GetProperty("Plan Rows").GetDouble();
        var owner = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(OwnsTables, new { tables = Tables }, cancellationToken: cancellationToken));
        return (rows, owner);
    }

    /// <summary>Locks both tables and drops their secondary indexes, in <paramref name="transaction"/>.</summary>
    public static async Task<ImportIndexes> DropAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(LockTables, transaction: transaction, cancellationToken: cancellationToken));
        var dropped = new List<DeferredIndex>();
        foreach (var table in Tables)
        {
            dropped.AddRange(await DeferredIndexes.DropAllAsync(connection, transaction, table, cancellationToken));
        }

        return new ImportIndexes(dropped);
    }

    /// <summary>Builds every dropped index again, as it was defined, in <paramref name="transaction"/>.</summary>
    public Task RecreateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        DeferredIndexes.RebuildAsync(connection, transaction, _dropped, cancellationToken);
}
