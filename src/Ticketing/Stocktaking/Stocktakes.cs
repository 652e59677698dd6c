using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Stocktaking;

public enum StocktakeStatus
{
    Open,
    Closed,
}

/// <summary>What the count says of an item: pending until marked; missing also for every item still pending at close.</summary>
public enum ItemOutcome
{
    Pending,
    Found,
    Missing,
    Elsewhere,
    Unexpected,
}

public enum AssetCondition
{
    Good,
    Fair,
    Poor,
    Damaged,
}

/// <summary>How the counter confirmed standing at a location: the location's QR label scanned, or its code typed.</summary>
public enum ConfirmMethod
{
    Scanned,
    Typed,
}

public sealed record NewStocktakeRequest(Guid? CommandId, long? RootId, long? CounterId, string? Note = null);

/// <summary>A photo sent inside a command (the field app sends commands as JSON): its type and its bytes in base64.</summary>
public sealed record PhotoUpload(string? ContentType, string? Base64);

public sealed record MarkItemRequest(
    Guid? CommandId, long? ItemId, ItemOutcome? Outcome, AssetCondition? Condition = null, long? FoundLocationId = null, PhotoUpload? Photo = null, string? Note = null);

public sealed record ConfirmStopRequest(Guid? CommandId, long? StopId, ConfirmMethod? Method, string? Code);

/// <summary>An asset counted at a stop that was not expected there: a registered one by its code, or an unregistered item described by text.</summary>
public sealed record AddUnexpectedRequest(
    Guid? CommandId, long? StopId, string? AssetCode = null, string? Description = null, AssetCondition? Condition = null, PhotoUpload? Photo = null);

public sealed record CloseStocktakeRequest(Guid? CommandId);

public sealed record StocktakeSummary(
    long Id,
    long RootId,
    string RootCode,
    string RootName,
    long CounterId,
    string CounterName,
    StocktakeStatus Status,
    string? Note,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ClosedAt,
    int Stops,
    int Items,
    int Marked);

public sealed record StocktakeList(IReadOnlyList<StocktakeSummary> Items, int Total);

public sealed record StocktakeStop(
    long Id, long LocationId, string Code, string Name, AssetKind Kind, int Depth, DateTimeOffset? ConfirmedAt, ConfirmMethod? ConfirmedHow);

public sealed record StocktakeItem(
    long Id,
    long StopId,
    long? AssetId,
    bool Expected,
    string? Code,
    string Name,
    int? Criticality,
    ItemOutcome Outcome,
    long? FoundLocationId,
    string? FoundLocationCode,
    AssetCondition? Condition,
    string? PhotoSha256,
    string? Note,
    DateTimeOffset? MarkedAt,
    long? WorkOrderId,
    string? WorkOrderNumber);

public sealed record StocktakeDetail(StocktakeSummary Summary, IReadOnlyList<StocktakeStop> Stops, IReadOnlyList<StocktakeItem> Items);

public sealed record CreatedStocktake(StocktakeSummary Stocktake, bool Replayed);

public sealed record ItemResult(StocktakeItem Item, bool Replayed);

public sealed record StopResult(StocktakeStop Stop, bool Replayed);

public sealed record RaisedWorkOrder(long ItemId, string AssetCode, long WorkOrderId, string Number);

public sealed record CloseResult(StocktakeSummary Stocktake, int MarkedMissing, IReadOnlyList<RaisedWorkOrder> WorkOrders, bool Replayed);

public sealed record StocktakePhoto(string ContentType, byte[] Content);

/// <summary>
/// Stocktaking: a count of a location sub-tree of the asset register. Its stops are the locations (site, area, line)
/// of the sub-tree and its items the machines standing directly at each, copied when it is made (components go with
/// their machine and are not counted apart; disposed assets are not expected). The counter's commands, each
/// idempotent by the client's command id, are in StocktakeCommands.cs; the report in StocktakeReport.cs.
/// </summary>
public sealed partial class Stocktakes(
    NpgsqlDataSource dataSource, AssetRegister register, CreateWorkOrder create, TimeProvider clock, IOptions<TicketingOptions> options)
{
    /// <summary>
    /// A missing asset is critical, and raises a corrective work order at close, when its criticality in the register
    /// is at least this (criticality runs 1 to 5, 5 the most critical: forecasts rank risk by probability x criticality).
    /// </summary>
    public const int CriticalFrom = 4;

    public const int MaxNoteLength = 500;
    public const int MaxDescriptionLength = 200;
    public const int MaxItems = 20_000;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    private const string SelectSummary = """
        SELECT s.id, s.root_asset_id AS root_id, r.code AS root_code, r.name AS root_name, s.counter_id, u.display_name AS counter_name,
               s.status, s.note, s.created_at, s.closed_at,
               (SELECT count(*) FROM stocktake_stops t WHERE t.stocktake_id = s.id)::int AS stops,
               (SELECT count(*) FROM stocktake_items i WHERE i.stocktake_id = s.id)::int AS items,
               (SELECT count(*) FROM stocktake_items i WHERE i.stocktake_id = s.id AND i.outcome <> 'pending')::int AS marked
        FROM stocktakes s JOIN assets r ON r.id = s.root_asset_id JOIN users u ON u.id = s.counter_id
        """;

    private const string SelectItem = """
        SELECT i.id, i.stop_id, i.asset_id, i.expected, i.code, i.name, i.criticality, i.outcome, i.found_location_id,
               f.code AS found_location_code, i.condition, encode(i.photo_sha256, 'hex') AS photo_sha256, i.note, i.marked_at,
               i.work_order_id, w.number AS work_order_number
        FROM stocktake_items i
        LEFT JOIN assets f ON f.id = i.found_location_id
        LEFT JOIN work_orders w ON w.id = i.work_order_id
        """;

    private const string SelectStop = """
        SELECT id, location_id, code, name, kind, depth, confirmed_at, confirmed_how FROM stocktake_stops
        """;

    /// <summary>Who makes stocktakes, and may count or close any of them: administrators, planners and managers.</summary>
    public static bool Manages(Actor actor) => actor.Role is Role.Admin or Role.Planner or Role.Manager;

    /// <summary>The refusal of starting a stocktake to a role that does not manage them; also the endpoint's <c>AccessFirst</c> check.</summary>
    public static Failure? CreateRefusal(Actor actor) => Manages(actor) ? null : Failure.Forbidden("stocktake.create_forbidden");

    /// <summary>Whether the actor may record the count of a stocktake: its counter, or someone who manages stocktakes.</summary>
    public static bool Counts(Actor actor, long counterId) => actor.UserId == counterId || Manages(actor);

    /// <summary>Makes a stocktake of the sub-tree under a location, with its stops and expected items copied from the register now.</summary>
    public async Task<Outcome<CreatedStocktake>> CreateAsync(NewStocktakeRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (CreateRefusal(actor) is { } refused)
        {
            return refused;
        }

        var errors = new FieldErrors();
        if (request.CommandId is null || request.CommandId == Guid.Empty)
        {
            errors.Add("commandId", "field.required");
        }

        if (request.RootId is null)
        {
            errors.Add("rootId", "field.required");
        }

        if (request.CounterId is null)
        {
            errors.Add("counterId", "field.required");
        }

        var note = string.IsNullOrWhiteSpace(request.Note) ? null : request.Note.Trim();
        if (note is { Length: > MaxNoteLength })
        {
            errors.Add("note", "field.too_long", MaxNoteLength);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var hash = Hash(request);
        var now = clock.GetUtcNow().UtcDateTime;

        // A retry with the same command id waits on the unique key until the first commits, then finds it.
        var id = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            """
            INSERT INTO stocktakes (command_id, root_asset_id, counter_id, note, created_by, created_at)
            SELECT @commandId, @rootId, @counterId, @note, @actorId, @now
            WHERE EXISTS (SELECT 1 FROM assets WHERE id = @rootId) AND EXISTS (SELECT 1 FROM users WHERE id = @counterId)
            ON CONFLICT (command_id) DO NOTHING
            RETURNING id
            """,
            new { commandId = request.CommandId, rootId = request.RootId, counterId = request.CounterId, note, actorId = actor.UserId, now },
            transaction,
            cancellationToken: cancellationToken));
        if (id is null)
        {
            var earlier = await connection.QuerySingleOrDefaultAsync<(long Id, byte[] Hash)?>(new CommandDefinition(
                "SELECT s.id, c.request_hash FROM stocktakes s JOIN stocktake_commands c ON c.command_id = s.command_id WHERE s.command_id = @commandId",
                new { commandId = request.CommandId },
                transaction,
                cancellationToken: cancellationToken));
            if (earlier is { } found)
            {
                return found.Hash.AsSpan().SequenceEqual(hash)
                    ? new CreatedStocktake((await SummaryAsync(connection, transaction, found.Id, cancellationToken))!, Replayed: true)
                    : Failure.Invalid("commandId", "stocktake.command_reused");
            }
        }

        var checks = new FieldErrors();
        var root = await connection.QuerySingleOrDefaultAsync<(string Code, string Kind, string Lifecycle)?>(new CommandDefinition(
            "SELECT code, kind, lifecycle FROM assets WHERE id = @rootId", new { rootId = request.RootId }, transaction, cancellationToken: cancellationToken));
        if (root is not { } rootAsset)
        {
            checks.Add("rootId", "asset.not_found", request.RootId);
        }
        else if (!IsLocation(rootAsset.Kind))
        {
            checks.Add("rootId", "stocktake.root_not_location", rootAsset.Code);
        }

        var counterActive = await connection.ExecuteScalarAsync<bool?>(new CommandDefinition(
            "SELECT active FROM users WHERE id = @counterId", new { counterId = request.CounterId }, transaction, cancellationToken: cancellationToken));
        if (counterActive != true)
        {
            checks.Add("counterId", "stocktake.counter_unknown", request.CounterId);
        }

        if (checks.Any)
        {
            return checks.ToFailure();
        }

        if (id is null)
        {
            return Failure.Conflict("stocktake.command_in_progress");
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO stocktake_commands (command_id, stocktake_id, kind, request_hash, actor_id, applied_at)
            VALUES (@commandId, @id, 'create', @hash, @actorId, @now)
            """,
            new { commandId = request.CommandId, id, hash, actorId = actor.UserId, now },
            transaction,
            cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            WITH RECURSIVE down AS (
                SELECT id, 0 AS depth, code::text AS path FROM assets WHERE id = @rootId
                UNION ALL
                SELECT c.id, down.depth + 1, down.path || '/' || c.code FROM assets c JOIN down ON c.parent_id = down.id
                WHERE c.kind IN ('site', 'area', 'line') AND c.lifecycle <> 'disposed')
            INSERT INTO stocktake_stops (stocktake_id, location_id, position, depth, code, name, kind)
            SELECT @id, a.id, row_number() OVER (ORDER BY d.path), d.depth, a.code, a.name, a.kind
            FROM down d JOIN assets a ON a.id = d.id
            """,
            new { id, rootId = request.RootId },
            transaction,
            cancellationToken: cancellationToken));
        var items = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO stocktake_items (stocktake_id, stop_id, asset_id, expected, code, name, asset_type, criticality)
            SELECT s.stocktake_id, s.id, a.id, true, a.code, a.name, a.asset_type, a.criticality
            FROM stocktake_stops s JOIN assets a ON a.parent_id = s.location_id
            WHERE s.stocktake_id = @id AND a.kind = 'machine' AND a.lifecycle <> 'disposed'
            ORDER BY s.position, a.code
            """,
            new { id },
            transaction,
            cancellationToken: cancellationToken));
        if (items > MaxItems)
        {
            return Failure.Invalid("rootId", "stocktake.too_large", items, MaxItems);
        }

        await transaction.CommitAsync(cancellationToken);
        return new CreatedStocktake((await GetSummaryAsync(id.Value, cancellationToken))!, Replayed: false);
    }

    /// <summary>A page of stocktakes, newest first; open ones only when asked.</summary>
    public async Task<StocktakeList> ListAsync(StocktakeStatus? status, int skip, int take, CancellationToken cancellationToken)
    {
        var parameters = new { status = status is { } s ? WireNames.Of(s) : null, skip = Math.Max(0, skip), take = Math.Clamp(take, 1, 200) };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var total = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*)::int FROM stocktakes WHERE @status::text IS NULL OR status = @status", parameters, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<SummaryRow>(new CommandDefinition(
            SelectSummary + " WHERE @status::text IS NULL OR s.status = @status ORDER BY s.id DESC OFFSET @skip LIMIT @take",
            parameters,
            cancellationToken: cancellationToken));
        return new StocktakeList([.. rows.Select(r => r.ToSummary())], total);
    }

    public async Task<StocktakeSummary?> GetSummaryAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await SummaryAsync(connection, null, id, cancellationToken);
    }

    /// <summary>A stocktake with its stops in tree order and every item, expected ones first at each stop.</summary>
    public async Task<Outcome<StocktakeDetail>> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await SummaryAsync(connection, null, id, cancellationToken) is not { } summary)
        {
            return Failure.NotFound("stocktake.not_found", id);
        }

        var stops = await connection.QueryAsync<StopRow>(new CommandDefinition(
            SelectStop + " WHERE stocktake_id = @id ORDER BY position", new { id }, cancellationToken: cancellationToken));
        var items = await connection.QueryAsync<ItemRow>(new CommandDefinition(
            SelectItem + " WHERE i.stocktake_id = @id ORDER BY i.stop_id, NOT i.expected, i.code NULLS LAST, i.id", new { id }, cancellationToken: cancellationToken));
        return new StocktakeDetail(summary, [.. stops.Select(s => s.ToStop())], [.. items.Select(i => i.ToItem())]);
    }

    /// <summary>A photo of a counted item, by its SHA-256 in hex.</summary>
    public async Task<StocktakePhoto?> PhotoAsync(string sha256, CancellationToken cancellationToken)
    {
        if (sha256.Length != 64 || !sha256.All(Uri.IsHexDigit))
        {
            return null;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<(string ContentType, byte[] Content)?>(new CommandDefinition(
            "SELECT content_type, content FROM stocktake_photos WHERE sha256 = decode(@sha256, 'hex')",
            new { sha256 = sha256.ToLowerInvariant() },
            cancellationToken: cancellationToken));
        return row is { } photo ? new StocktakePhoto(photo.ContentType, photo.Content) : null;
    }

    /// <summary>The locations a stocktake may start from, or an item be found at: sites, areas and lines, in code order.</summary>
    public async Task<IReadOnlyList<Asset>> LocationsAsync(string? text, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long Id, string Code, string Name, string Kind, long? ParentId)>(new CommandDefinition(
            """
            SELECT id, code, name, kind, parent_id FROM assets
            WHERE kind IN ('site', 'area', 'line') AND lifecycle <> 'disposed'
              AND (@text = '' OR code ILIKE '%' || @text || '%' OR name ILIKE '%' || @text || '%')
            ORDER BY code LIMIT @take
            """,
            new { text = text?.Trim() ?? "", take = Math.Clamp(take, 1, 500) },
            cancellationToken: cancellationToken));
        return [.. rows.Select(r => new Asset(r.Id, r.Code, r.Name, WireNames.Parse<AssetKind>(r.Kind), r.ParentId, null, null, 0, null, "", 0))];
    }

    internal static bool IsLocation(string kind) => kind is "site" or "area" or "line";

    internal static byte[] Hash(object request) => SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request, request.GetType(), Json));

    private static async Task<StocktakeSummary?> SummaryAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<SummaryRow>(new CommandDefinition(
            SelectSummary + " WHERE s.id = @id", new { id }, transaction, cancellationToken: cancellationToken)))?.ToSummary();

    private static async Task<StocktakeItem> ItemAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long itemId, CancellationToken cancellationToken) =>
        (await connection.QuerySingleAsync<ItemRow>(new CommandDefinition(
            SelectItem + " WHERE i.id = @itemId", new { itemId }, transaction, cancellationToken: cancellationToken))).ToItem();

    private static async Task<StocktakeStop> StopAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long stopId, CancellationToken cancellationToken) =>
        (await connection.QuerySingleAsync<StopRow>(new CommandDefinition(
            SelectStop + " WHERE id = @stopId", new { stopId }, transaction, cancellationToken: cancellationToken))).ToStop();

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private sealed class SummaryRow
    {
        public long Id { get; init; }
        public long RootId { get; init; }
        public string RootCode { get; init; } = "";
        public string RootName { get; init; } = "";
        public long CounterId { get; init; }
        public string CounterName { get; init; } = "";
        public string Status { get; init; } = "";
        public string? Note { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? ClosedAt { get; init; }
        public int Stops { get; init; }
        public int Items { get; init; }
        public int Marked { get; init; }

        public StocktakeSummary ToSummary() => new(
            Id, RootId, RootCode, RootName, CounterId, CounterName, WireNames.Parse<StocktakeStatus>(Status), Note, Utc(CreatedAt),
            ClosedAt is { } closed ? Utc(closed) : null, Stops, Items, Marked);
    }

    private sealed class StopRow
    {
        public long Id { get; init; }
        public long LocationId { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public int Depth { get; init; }
        public DateTime? ConfirmedAt { get; init; }
        public string? ConfirmedHow { get; init; }

        public StocktakeStop ToStop() => new(
            Id, LocationId, Code, Name, WireNames.Parse<AssetKind>(Kind), Depth, ConfirmedAt is { } at ? Utc(at) : null,
            ConfirmedHow is null ? null : WireNames.Parse<ConfirmMethod>(ConfirmedHow));
    }

    private sealed class ItemRow
    {
        public long Id { get; init; }
        public long StopId { get; init; }
        public long? AssetId { get; init; }
        public bool Expected { get; init; }
        public string? Code { get; init; }
        public string Name { get; init; } = "";
        public short? Criticality { get; init; }
        public string Outcome { get; init; } = "";
        public long? FoundLocationId { get; init; }
        public string? FoundLocationCode { get; init; }
        public string? Condition { get; init; }
        public string? PhotoSha256 { get; init; }
        public string? Note { get; init; }
        public DateTime? MarkedAt { get; init; }
        public long? WorkOrderId { get; init; }
        public string? WorkOrderNumber { get; init; }

        public StocktakeItem ToItem() => new(
            Id, StopId, AssetId, Expected, Code, Name, Criticality, WireNames.Parse<ItemOutcome>(Outcome), FoundLocationId, FoundLocationCode,
            Condition is null ? null : WireNames.Parse<AssetCondition>(Condition), PhotoSha256, Note, MarkedAt is { } at ? Utc(at) : null,
            WorkOrderId, WorkOrderNumber);
    }
}
