using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Assets;

namespace WorkOrders.Ticketing.Labels;

/// <summary>One label: the asset's code and name, and how deep under the printed asset it is.</summary>
public sealed record AssetLabel(long Id, string Code, string Name, AssetKind Kind, int Depth);

public sealed record LabelSheet(AssetLabel Root, IReadOnlyList<AssetLabel> Labels, bool Truncated);

/// <summary>
/// What QR labels are printed for, and what a scanned label opens: a label carries the asset's code (stable, printed
/// beside it), never its database id.
/// </summary>
public sealed class AssetLabels(NpgsqlDataSource dataSource)
{
    public const int MaxLabels = 1000;

    /// <summary>The asset and everything under it, depth first in code order, at most <see cref="MaxLabels"/>.</summary>
    public async Task<Outcome<LabelSheet>> SubTreeAsync(long assetId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<LabelRow>(new CommandDefinition(
            """
            WITH RECURSIVE tree AS (
                SELECT id, code, name, kind, 0 AS depth, ARRAY[code] AS path FROM assets WHERE id = @assetId
                UNION ALL
                SELECT a.id, a.code, a.name, a.kind, tree.depth + 1, tree.path || a.code
                FROM assets a JOIN tree ON a.parent_id = tree.id
            )
            SELECT id, code, name, kind, depth FROM tree ORDER BY path LIMIT @take
            """,
            new { assetId, take = MaxLabels + 1 }, cancellationToken: cancellationToken))).ToList();
        if (rows.Count == 0)
        {
            return Failure.NotFound("asset.not_found", assetId);
        }

        var labels = rows.Take(MaxLabels).Select(r => r.ToLabel()).ToList();
        return new LabelSheet(labels[0], labels, rows.Count > MaxLabels);
    }

    /// <summary>The id of the asset with this code, or null.</summary>
    public async Task<long?> FindAsync(string code, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT id FROM assets WHERE code = @code", new { code = code.Trim() }, cancellationToken: cancellationToken));
    }

    private sealed class LabelRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public int Depth { get; init; }

        // A kind this build does not know yet (the register grows) prints as a component.
        public AssetLabel ToLabel() => new(Id, Code, Name, WireNames.TryParse<AssetKind>(Kind, out var kind) ? kind : AssetKind.Component, Depth);
    }
}
