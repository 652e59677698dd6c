using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Assets;

public enum AssetKind
{
    Site,
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

public sealed record AssetDetail(Asset Asset, IReadOnlyList<Asset> Path, IReadOnlyList<Asset> Children);

public sealed record CreateAssetRequest(
    string? Code,
    string? Name,
    AssetKind? Kind,
    long? ParentId = null,
    string? AssetType = null,
    string? Location = null,
    int Criticality = 3,
    DateOnly? InstalledOn = null);

/// <summary>The asset register: site > line > machine > component.</summary>
public sealed class AssetRegister(NpgsqlDataSource dataSource)
{
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

    public async Task<Outcome<Asset>> CreateAsync(CreateAssetRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("asset.admin_only");
        }

        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Code) || request.Code.Trim().Length > 50)
        {
            errors.Add("code", "field.required_short", 50);
        }

        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Trim().Length > 200)
        {
            errors.Add("name", "field.required_short", 200);
        }

        if (request.Kind is null)
        {
            errors.Add("kind", "asset.kind_required");
        }

        if (request.Criticality is < 1 or > 5)
        {
            errors.Add("criticality", "asset.criticality");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var parentKind = request.ParentId is { } parentId
            ? await connection.ExecuteScalarAsync<string?>(new CommandDefinition("SELECT kind FROM assets WHERE id = @parentId", new { parentId }, cancellationToken: cancellationToken))
            : null;
        if (request.Kind is { } kind)
        {
            var expectedParent = kind switch
            {
                AssetKind.Site => (AssetKind?)null,
                AssetKind.Line => AssetKind.Site,
                AssetKind.Machine => AssetKind.Line,
                _ => AssetKind.Machine,
            };
            if (expectedParent is null && request.ParentId is not null)
            {
                errors.Add("parentId", "asset.site_without_parent");
            }
            else if (expectedParent is { } expected && parentKind != WireNames.Of(expected)
                     && !(kind == AssetKind.Component && parentKind == WireNames.Of(AssetKind.Component)))
            {
                errors.Add("parentId", request.ParentId is null || parentKind is null
                    ? new Refusal("asset.parent_missing", WireNames.Of(kind), WireNames.Of(expected))
                    : new Refusal("asset.parent_kind", WireNames.Of(kind), WireNames.Of(expected), parentKind));
            }
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        try
        {
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                """
                INSERT INTO assets (code, name, kind, parent_id, asset_type, location, criticality, installed_on)
                VALUES (@code, @name, @kind, @ParentId, @AssetType, @Location, @Criticality, @InstalledOn) RETURNING id
                """,
                new { code = request.Code!.Trim(), name = request.Name!.Trim(), kind = WireNames.Of(request.Kind!.Value), request.ParentId, request.AssetType, request.Location, request.Criticality, InstalledOn = request.InstalledOn?.ToDateTime(TimeOnly.MinValue) },
                cancellationToken: cancellationToken));
            return (await GetAsync(id, cancellationToken)).Value!.Asset;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("code", "asset.code_taken", request.Code);
        }
    }

    private static async Task<IReadOnlyList<Asset>> ChildrenAsync(NpgsqlConnection connection, long? parentId, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<AssetRow>(new CommandDefinition(
            Select + " WHERE a.parent_id IS NOT DISTINCT FROM @parentId ORDER BY a.code",
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
