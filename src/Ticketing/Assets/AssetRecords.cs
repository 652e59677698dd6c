using System.Text.Json;
using Dapper;
using Npgsql;

namespace WorkOrders.Ticketing.Assets;

/// <summary>Every attribute of an asset, as the register page, the asset page and the API show it.</summary>
public sealed record AssetRecord(
    long Id,
    string Code,
    string Name,
    AssetKind Kind,
    long? ParentId,
    string? ParentCode,
    string? AssetType,
    string? Manufacturer,
    string? Model,
    string? SerialNumber,
    DateOnly? InstalledOn,
    DateOnly? CommissionedOn,
    int Criticality,
    decimal? Cost,
    DateOnly? WarrantyEndsOn,
    string? Location,
    AssetState Lifecycle,
    int RowVersion,
    DateTimeOffset UpdatedAt,
    int ChildCount)
{
    /// <summary>The attributes an edit replaces, as they are now: the start of an edit form.</summary>
    public EditAssetRequest ToEdit() => new(
        RowVersion, Code, Name, AssetType, Location, Criticality, InstalledOn, Manufacturer, Model, SerialNumber, CommissionedOn, Cost, WarrantyEndsOn);
}

/// <summary>The register's filters: every one optional. <see cref="Under"/> is an asset whose whole sub-tree (not itself) is listed.</summary>
public sealed record AssetQuery(
    AssetKind? Kind = null,
    string? Type = null,
    AssetState? Lifecycle = null,
    long? Under = null,
    string? Text = null,
    int Skip = 0,
    int Take = 50);

public sealed record AssetList(IReadOnlyList<AssetRecord> Items, int Total);

/// <summary>One line of an asset's history: created, edited (fields before and after), moved (old and new parent), lifecycle (from, to, reason), imported.</summary>
public sealed record AssetEvent(
    long Id,
    DateTimeOffset OccurredAt,
    long? ActorId,
    string? ActorName,
    string Kind,
    AssetState? FromState,
    AssetState? ToState,
    string? Note,
    JsonElement Payload);

/// <summary>One node of a sub-tree, with its depth below the asset the tree was read for (children are depth 1).</summary>
public sealed record AssetNode(AssetRecord Asset, int Depth);

public sealed partial class AssetRegister
{
    public const int MaxPage = 500;

    private const string SelectRecord = """
        SELECT a.id, a.code, a.name, a.kind, a.parent_id, p.code AS parent_code, a.asset_type, a.manufacturer, a.model,
               a.serial_number, a.installed_on, a.commissioned_on, a.criticality, a.cost, a.warranty_ends_on, a.location,
               a.lifecycle, a.row_version, a.updated_at,
               (SELECT count(*) FROM assets c WHERE c.parent_id = a.id)::int AS child_count
        FROM assets a LEFT JOIN assets p ON p.id = a.parent_id
        """;

    private const string ListWhere = """
        WHERE (@kind::text IS NULL OR a.kind = @kind)
          AND (@type::text IS NULL OR lower(a.asset_type) = lower(@type))
          AND (@lifecycle::text IS NULL OR a.lifecycle = @lifecycle)
          AND (@under::bigint IS NULL OR a.id IN (
                WITH RECURSIVE down AS (SELECT id FROM assets WHERE parent_id = @under
                    UNION ALL SELECT c.id FROM assets c JOIN down ON c.parent_id = down.id)
                SELECT id FROM down))
          AND (@text::text IS NULL OR a.code ILIKE '%' || @text || '%' OR a.name ILIKE '%' || @text || '%')
        """;

    public async Task<Outcome<AssetRecord>> GetRecordAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await RecordAsync(connection, null, id, cancellationToken) is { } record ? record : Failure.NotFound("asset.not_found", id);
    }

    /// <summary>A page of the register, filtered, in code order, with the count of all that match.</summary>
    public async Task<AssetList> ListAsync(AssetQuery query, CancellationToken cancellationToken)
    {
        var parameters = new
        {
            kind = query.Kind is { } k ? WireNames.Of(k) : null,
            type = string.IsNullOrWhiteSpace(query.Type) ? null : query.Type.Trim(),
            lifecycle = query.Lifecycle is { } l ? WireNames.Of(l) : null,
            under = query.Under,
            text = string.IsNullOrWhiteSpace(query.Text) ? null : query.Text.Trim(),
            skip = Math.Max(0, query.Skip),
            take = Math.Clamp(query.Take, 1, MaxPage),
        };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var total = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"SELECT count(*)::int FROM assets a {ListWhere}", parameters, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<RecordRow>(new CommandDefinition(
            $"{SelectRecord} {ListWhere} ORDER BY a.code OFFSET @skip LIMIT @take", parameters, cancellationToken: cancellationToken));
        return new AssetList([.. rows.Select(r => r.ToRecord())], total);
    }

    /// <summary>The assets below one, depth first in code order, at most <paramref name="take"/> of them.</summary>
    public async Task<IReadOnlyList<AssetNode>> SubTreeAsync(long id, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var depths = (await connection.QueryAsync<(long Id, int Depth, string Path)>(new CommandDefinition(
            """
            WITH RECURSIVE down AS (
                SELECT id, 1 AS depth, code AS path FROM assets WHERE parent_id = @id
                UNION ALL SELECT c.id, down.depth + 1, down.path || '/' || c.code FROM assets c JOIN down ON c.parent_id = down.id)
            SELECT id, depth, path FROM down ORDER BY path LIMIT @take
            """,
            new { id, take = Math.Clamp(take, 1, 5000) },
            cancellationToken: cancellationToken))).ToList();
        var records = (await connection.QueryAsync<RecordRow>(new CommandDefinition(
            SelectRecord + " WHERE a.id = ANY(@ids)", new { ids = depths.Select(d => d.Id).ToArray() }, cancellationToken: cancellationToken)))
            .ToDictionary(r => r.Id, r => r.ToRecord());
        return [.. depths.Select(d => new AssetNode(records[d.Id], d.Depth))];
    }

    /// <summary>The asset's history, oldest first.</summary>
    public async Task<Outcome<IReadOnlyList<AssetEvent>>> HistoryAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM assets WHERE id = @id)", new { id }, cancellationToken: cancellationToken)))
        {
            return Failure.NotFound("asset.not_found", id);
        }

        var rows = await connection.QueryAsync<EventRow>(new CommandDefinition(
            """
            SELECT e.id, e.occurred_at, e.actor_id, u.display_name AS actor_name, e.kind, e.from_state, e.to_state, e.note, e.payload::text AS payload
            FROM asset_events e LEFT JOIN users u ON u.id = e.actor_id
            WHERE e.asset_id = @id ORDER BY e.id
            """,
            new { id },
            cancellationToken: cancellationToken));
        return Outcome(rows);

        static Outcome<IReadOnlyList<AssetEvent>> Outcome(IEnumerable<EventRow> rows) =>
            rows.Select(r => new AssetEvent(
                r.Id,
                new DateTimeOffset(DateTime.SpecifyKind(r.OccurredAt, DateTimeKind.Utc)),
                r.ActorId,
                r.ActorName,
                r.Kind,
                r.FromState is null ? null : WireNames.Parse<AssetState>(r.FromState),
                r.ToState is null ? null : WireNames.Parse<AssetState>(r.ToState),
                r.Note,
                JsonDocument.Parse(r.Payload).RootElement.Clone())).ToList();
    }

    private static async Task<AssetRecord?> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<RecordRow>(new CommandDefinition(
            SelectRecord + " WHERE a.id = @id", new { id }, transaction, cancellationToken: cancellationToken)))?.ToRecord();

    private static DateOnly? Date(DateTime? value) => value is { } d ? DateOnly.FromDateTime(d) : null;

    private sealed class RecordRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public long? ParentId { get; init; }
        public string? ParentCode { get; init; }
        public string? AssetType { get; init; }
        public string? Manufacturer { get; init; }
        public string? Model { get; init; }
        public string? SerialNumber { get; init; }
        public DateTime? InstalledOn { get; init; }
        public DateTime? CommissionedOn { get; init; }
        public short Criticality { get; init; }
        public decimal? Cost { get; init; }
        public DateTime? WarrantyEndsOn { get; init; }
        public string? Location { get; init; }
        public string Lifecycle { get; init; } = "";
        public int RowVersion { get; init; }
        public DateTime UpdatedAt { get; init; }
        public int ChildCount { get; init; }

        public AssetRecord ToRecord() => new(
            Id, Code, Name, WireNames.Parse<AssetKind>(Kind), ParentId, ParentCode, AssetType, Manufacturer, Model, SerialNumber,
            Date(InstalledOn), Date(CommissionedOn), Criticality, Cost, Date(WarrantyEndsOn), Location,
            WireNames.Parse<AssetState>(Lifecycle), RowVersion, new DateTimeOffset(DateTime.SpecifyKind(UpdatedAt, DateTimeKind.Utc)), ChildCount);
    }

    private sealed class EventRow
    {
        public long Id { get; init; }
        public DateTime OccurredAt { get; init; }
        public long? ActorId { get; init; }
        public string? ActorName { get; init; }
        public string Kind { get; init; } = "";
        public string? FromState { get; init; }
        public string? ToState { get; init; }
        public string? Note { get; init; }
        public string Payload { get; init; } = "{}";
    }
}
