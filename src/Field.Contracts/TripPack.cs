using System.Text.Json;

namespace WorkOrders.FieldApp.Contracts;

/// <summary>
/// <c>GET /api/v1/field/trip-pack?days=N</c> (1-14, default 3): what a technician takes out for a trip, made at
/// <see cref="GeneratedAt"/>. Every item carries its <c>Version</c> and <c>UpdatedAt</c>, so the app can show the pack's
/// age and, after a later pack or <see cref="ChangeSet"/>, what changed. <see cref="Cursor"/> is the change cursor as of
/// the pack: pull <c>/api/v1/sync/changes?cursor=</c> from it.
/// </summary>
public sealed record TripPack(
    DateTimeOffset GeneratedAt,
    long UserId,
    int Days,
    string Cursor,
    IReadOnlyList<PackWorkOrder> WorkOrders,
    IReadOnlyList<PackRound> Rounds,
    IReadOnlyList<PackAsset> Assets,
    IReadOnlyList<PackTemplate> Templates,
    IReadOnlyList<PackMeter> Meters,
    IReadOnlyList<PackDocument> Documents);

/// <summary>A work order as the device works it; <see cref="Version"/> is the base version for commands on it.</summary>
public sealed record PackWorkOrder(
    long Id,
    string Number,
    string Title,
    string Description,
    string? Contact,
    string Status,
    int Priority,
    long? AssetId,
    string? AssetCode,
    long? AssigneeId,
    DateTimeOffset? DueAt,
    int Version,
    DateTimeOffset UpdatedAt);

/// <summary>A round with its stops and check items; <see cref="Version"/> counts what was recorded on it (stops, results, start, end).</summary>
public sealed record PackRound(
    long Id,
    long RouteId,
    string RouteName,
    int RouteVersion,
    DateTimeOffset SlotAt,
    DateTimeOffset WindowEndsAt,
    DateTimeOffset GraceEndsAt,
    string Status,
    IReadOnlyList<PackStop> Stops,
    int Version,
    DateTimeOffset UpdatedAt);

public sealed record PackStop(long Id, int Position, long AssetId, string AssetCode, string AssetName, string Instructions, IReadOnlyList<PackCheckItem> Items);

/// <summary>A check item; <see cref="Definition"/> is the item as the office API gives it (kind, unit, limits, options, photo rule).</summary>
public sealed record PackCheckItem(long Id, long CheckId, int Position, string Label, string Kind, JsonElement Definition);

public sealed record PackAsset(long Id, string Code, string Name, string Kind, long? ParentId, string Lifecycle, int Version, DateTimeOffset UpdatedAt);

public sealed record PackTemplate(long Id, string Name, string WorkType, int DefaultPriority, bool AssetRequired, JsonElement Fields, int Version, DateTimeOffset UpdatedAt);

/// <summary>A meter; <see cref="UpdatedAt"/> is when its latest reading was recorded (or the meter made).</summary>
public sealed record PackMeter(long Id, long AssetId, string Name, string Unit, DateTimeOffset? LatestReadAt, decimal? LatestValue, DateTimeOffset UpdatedAt);

/// <summary>A document or photo on a work order (metadata only; fetch the file online from its work order).</summary>
public sealed record PackDocument(long Id, long WorkOrderId, string FileName, string ContentType, int SizeBytes, string Sha256, DateTimeOffset UploadedAt);
