using Dapper;
using Npgsql;

namespace WorkOrders.Ticketing.Assets;

public enum AssetKind
{
    Site,
    Area,
    Line,
    Machine,
    Component,
}

public sealed record Asset(
    long Id,
    string Code,
    string Name,
    AssetKind Kind,
    long? ParentId,
    string? AssetType,
    string? Location,
    int Criticality,
    DateOnly? InstalledOn,
    string Lifecycle,
    int ChildCount);

/// <summary>An asset with its path from the root and its children; <see cref="Record"/> holds every attribute where the caller asked for it.</summary>
public sealed record AssetDetail(Asset Asset, IReadOnlyList<Asset> Path, IReadOnlyList<Asset> Children, AssetRecord? Record = null);

public sealed record CreateAssetRequest(
    string? Code,
    string? Name,
    AssetKind? Kind,
    long? ParentId = null,
    string? AssetType = null,
    string? Location = null,
    int Criticality = 3,
    DateOnly? InstalledOn = null,
    string? Manufacturer = null,
    string? Model = null,
    string? SerialNumber = null,
    DateOnly? CommissionedOn = null,
    decimal? Cost = null,
    DateOnly? WarrantyEndsOn = null,
    AssetState? Lifecycle = null);

/// <summary>
/// The asset register: site > area > line > machine > component. Reads here; the changes (create, edit, move,
/// lifecycle), each with its history event in the same transaction, in AssetRegister.Changes.cs.
/// </summary>
public sealed partial class AssetRegister(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public AssetRegister(NpgsqlDataSource dataSource)
        : this(dataSource, TimeProvider.System)
    {
    }

    private const string Select = """
        SELECT a.id, a.code, a.name, a.kind, a.parent_id, a.asset_type, a.location, a.criticality, a.installed_on, a.lifecycle,
               (SELECT count(*) FROM assets c WHERE c.parent_id = a.id)::int AS child_count
        FROM assets a
        """;

    /// <summary>The children of a node, or the sites when parentId is null: the tree is browsed one level at a time.</summary>
    public async Task<IReadOnlyList<Asset>> ChildrenAsync(long? parentId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ChildrenAsync(connection, parentId, cancellationToken);
    }

    /// <summary>The assets with exactly these codes.</summary>
    public async Task<IReadOnlyList<Asset>> ByCodesAsync(IEnumerable<string> codes, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AssetRow>(new CommandDefinition(
            Select + " WHERE a.code = ANY(@codes) ORDER BY a.code", new { codes = codes.ToArray() }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToAsset())];
    }

    public async Task<IReadOnlyList<Asset>> SearchAsync(string? text, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AssetRow>(new CommandDefinition(
            Select + " WHERE @text = '' OR a.code ILIKE '%' || @text || '%' OR a.name ILIKE '%' || @text || '%' ORDER BY a.code LIMIT @take",
            new { text = text?.Trim() ?? "", take = Math.Clamp(take, 1, 200) },
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToAsset()).ToList();
    }

    public async Task<Outcome<AssetDetail>> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var path = (await connection.QueryAsync<AssetRow>(new CommandDefinition(
            $"""
            WITH RECURSIVE up AS (SELECT id, parent_id, 0 AS depth FROM assets WHERE id = @id
                UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM assets p JOIN up ON p.id = up.parent_id)
            {Select} JOIN up ON up.id = a.id ORDER BY up.depth DESC
            """,
            new { id },
            cancellationToken: cancellationToken))).Select(r => r.ToAsset()).ToList();
        if (path.Count == 0)
        {
            return Failure.NotFound("asset.not_found", id);
        }

        return new AssetDetail(path[^1], path[..^1], await ChildrenAsync(connection, id, cancellationToken));
    }

    private static async Task<IReadOnlyList<Asset>> ChildrenAsync(NpgsqlConnection connection, long? parentId, CancellationToken cancellationToken)
    {
        // Not "IS NOT DISTINCT FROM @parentId": PostgreSQL cannot look that up in the index, so listing the sites (which
        // every analytics page does for its filter) read all 746,000 assets of the ten-million history, 60-73 ms a load.
        var rows = await connection.QueryAsync<AssetRow>(new CommandDefinition(
            Select + (parentId is null ? " WHERE a.parent_id IS NULL" : " WHERE a.parent_id = @parentId") + " ORDER BY a.code",
            new { parentId },
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToAsset()).ToList();
    }

    private sealed class AssetRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public long? ParentId { get; init; }
        public string? AssetType { get; init; }
        public string? Location { get; init; }
        public short Criticality { get; init; }
        public DateTime? InstalledOn { get; init; }
        public string Lifecycle { get; init; } = "";
        public int ChildCount { get; init; }

        public Asset ToAsset() => new(
            Id, Code, Name, WireNames.Parse<AssetKind>(Kind), ParentId, AssetType, Location, Criticality,
            InstalledOn is { } d ? DateOnly.FromDateTime(d) : null, Lifecycle, ChildCount);
    }
}
