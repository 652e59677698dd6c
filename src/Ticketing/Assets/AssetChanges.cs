using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Assets;

/// <summary>
/// An edit replaces every attribute (a null clears it), against the row version the editor read: a stale version is
/// refused, never merged. Kind and place are not edited here: the place changes by a move, the kind never.
/// </summary>
public sealed record EditAssetRequest(
    int? RowVersion,
    string? Code,
    string? Name,
    string? AssetType = null,
    string? Location = null,
    int? Criticality = 3,
    DateOnly? InstalledOn = null,
    string? Manufacturer = null,
    string? Model = null,
    string? SerialNumber = null,
    DateOnly? CommissionedOn = null,
    decimal? Cost = null,
    DateOnly? WarrantyEndsOn = null);

/// <summary>A new parent; the row version, when sent, must be the current one.</summary>
public sealed record MoveAssetRequest(long? ParentId, int? RowVersion = null);

/// <summary>A lifecycle action with the reason it is taken; the row version, when sent, must be the current one.</summary>
public sealed record AssetLifecycleRequest(AssetAction? Action, string? Reason, int? RowVersion = null);

/// <summary>The attributes of an asset once checked: trimmed, empty texts as null.</summary>
public sealed record AssetAttributes(
    string Code,
    string Name,
    string? AssetType,
    string? Manufacturer,
    string? Model,
    string? SerialNumber,
    DateOnly? InstalledOn,
    DateOnly? CommissionedOn,
    int Criticality,
    decimal? Cost,
    DateOnly? WarrantyEndsOn,
    string? Location)
{
    public const int MaxCodeLength = 50;
    public const int MaxNameLength = 200;
    public const int MaxTypeLength = 100;
    public const int MaxMakerLength = 200;
    public const int MaxSerialLength = 100;
    public const int MaxLocationLength = 200;

    /// <summary>The largest cost numeric(14, 2) holds.</summary>
    public const decimal MaxCost = 999_999_999_999.99m;

    /// <summary>
    /// Every rule on the attributes that needs no database. Lengths count characters as PostgreSQL does (code points),
    /// so a name of 200 emoji is accepted here and by the column alike. Returns null when a rule is broken.
    /// </summary>
    public static AssetAttributes? Check(
        string? code, string? name, string? assetType, string? manufacturer, string? model, string? serialNumber,
        DateOnly? installedOn, DateOnly? commissionedOn, int? criticality, decimal? cost, DateOnly? warrantyEndsOn, string? location,
        FieldErrors errors)
    {
        var problems = errors;
        var checkedCode = Required("code", code, MaxCodeLength, problems);
        var checkedName = Required("name", name, MaxNameLength, problems);
        var checkedType = Optional("assetType", assetType, MaxTypeLength, problems);
        var checkedMaker = Optional("manufacturer", manufacturer, MaxMakerLength, problems);
        var checkedModel = Optional("model", model, MaxMakerLength, problems);
        var checkedSerial = Optional("serialNumber", serialNumber, MaxSerialLength, problems);
        var checkedLocation = Optional("location", location, MaxLocationLength, problems);
        if (criticality is null)
        {
            problems.Add("criticality", "field.required");
        }
        else if (criticality is < 1 or > 5)
        {
            problems.Add("criticality", "asset.criticality");
        }

        if (cost is { } c && (c < 0 || c > MaxCost || decimal.Round(c, 2) != c))
        {
            problems.Add("cost", "asset.cost", MaxCost.ToString("N2", CultureInfo.InvariantCulture));
        }

        if (commissionedOn is { } commissioned && installedOn is { } installed && commissioned < installed)
        {
            problems.Add("commissionedOn", "asset.commissioned_before_installed", Iso(commissioned), Iso(installed));
        }

        if (warrantyEndsOn is { } warranty && installedOn is { } installedAt && warranty < installedAt)
        {
            problems.Add("warrantyEndsOn", "asset.warranty_before_installed", Iso(warranty), Iso(installedAt));
        }

        return errors.Any ? null : new AssetAttributes(
            checkedCode!, checkedName!, checkedType, checkedMaker, checkedModel, checkedSerial, installedOn, commissionedOn,
            criticality!.Value, cost, warrantyEndsOn, checkedLocation);
    }

    /// <summary>The attributes as the event payload and the columns name them.</summary>
    public Dictionary<string, object?> ToFields() => new(StringComparer.Ordinal)
    {
        ["code"] = Code,
        ["name"] = Name,
        ["assetType"] = AssetType,
        ["manufacturer"] = Manufacturer,
        ["model"] = Model,
        ["serialNumber"] = SerialNumber,
        ["installedOn"] = InstalledOn is { } i ? Iso(i) : null,
        ["commissionedOn"] = CommissionedOn is { } c ? Iso(c) : null,
        ["criticality"] = Criticality,
        ["cost"] = Cost,
        ["warrantyEndsOn"] = WarrantyEndsOn is { } w ? Iso(w) : null,
        ["location"] = Location,
    };

    internal static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    internal static AssetAttributes Of(AssetRecord r) => new(
        r.Code, r.Name, r.AssetType, r.Manufacturer, r.Model, r.SerialNumber, r.InstalledOn, r.CommissionedOn, r.Criticality, r.Cost, r.WarrantyEndsOn, r.Location);

    internal object Parameters(long? id = null) => new
    {
        id,
        code = Code,
        name = Name,
        assetType = AssetType,
        manufacturer = Manufacturer,
        model = Model,
        serialNumber = SerialNumber,
        installedOn = InstalledOn?.ToDateTime(TimeOnly.MinValue),
        commissionedOn = CommissionedOn?.ToDateTime(TimeOnly.MinValue),
        criticality = (short)Criticality,
        cost = Cost,
        warrantyEndsOn = WarrantyEndsOn?.ToDateTime(TimeOnly.MinValue),
        location = Location,
    };

    private static int Characters(string text) => text.EnumerateRunes().Count();

    private static string? Required(string field, string? value, int max, FieldErrors errors)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text) || Characters(text) > max)
        {
            errors.Add(field, "field.required_short", max);
            return null;
        }

        return text;
    }

    private static string? Optional(string field, string? value, int max, FieldErrors errors)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (Characters(text) > max)
        {
            errors.Add(field, "field.too_long", max);
        }

        return text;
    }
}

/// <summary>Where each kind of asset may stand in the tree.</summary>
public static class AssetPlacement
{
    /// <summary>
    /// The kinds an asset of a kind may sit under: a site is a root; an area divides a site; a line runs in a site or
    /// an area; a machine stands on a line, or directly in an area or a site (utilities, a compressor house);
    /// a component belongs to a machine or to a larger component.
    /// </summary>
    public static IReadOnlyList<AssetKind> ParentKinds(AssetKind kind) => kind switch
    {
        AssetKind.Site => [],
        AssetKind.Area => [AssetKind.Site],
        AssetKind.Line => [AssetKind.Site, AssetKind.Area],
        AssetKind.Machine => [AssetKind.Line, AssetKind.Area, AssetKind.Site],
        _ => [AssetKind.Machine, AssetKind.Component],
    };

    /// <summary>Null when an asset of the kind may sit under the parent (null parent: at the root), else the refusal.</summary>
    public static Refusal? Check(AssetKind kind, AssetKind? parentKind, bool parentGiven)
    {
        var allowed = ParentKinds(kind);
        if (allowed.Count == 0)
        {
            return parentGiven ? new Refusal("asset.site_without_parent") : null;
        }

        var names = string.Join(" / ", allowed.Select(WireNames.Of));
        if (parentKind is not { } actual)
        {
            return new Refusal("asset.parent_missing", WireNames.Of(kind), names);
        }

        return allowed.Contains(actual) ? null : new Refusal("asset.parent_kind", WireNames.Of(kind), names, WireNames.Of(actual));
    }
}

public sealed partial class AssetRegister
{
    /// <summary>The refusal of a change to the register by a reader (see <see cref="Actor.WritesAssets"/>); null for a writer.</summary>
    public static Failure? WriteRefusal(Actor actor) => actor.WritesAssets ? null : Failure.Forbidden("asset.write_forbidden");

    /// <summary>The advisory lock that serialises moves, so two concurrent moves can never close a cycle between them.</summary>
    private const long MoveLock = 0x4153_5345_544D;

    private const string InsertAsset = """
        INSERT INTO assets (code, name, kind, parent_id, asset_type, manufacturer, model, serial_number, installed_on,
            commissioned_on, criticality, cost, warranty_ends_on, location, lifecycle, updated_at)
        VALUES (@code, @name, @kind, @parentId, @assetType, @manufacturer, @model, @serialNumber, @installedOn,
            @commissionedOn, @criticality, @cost, @warrantyEndsOn, @location, @lifecycle, @now)
        RETURNING id
        """;

    private const string UpdateAttributes = """
        UPDATE assets SET code = @code, name = @name, asset_type = @assetType, manufacturer = @manufacturer, model = @model,
            serial_number = @serialNumber, installed_on = @installedOn, commissioned_on = @commissionedOn,
            criticality = @criticality, cost = @cost, warranty_ends_on = @warrantyEndsOn, location = @location,
            row_version = row_version + 1, updated_at = @now
        WHERE id = @id
        """;

    private const string InsertEvent = """
        INSERT INTO asset_events (asset_id, occurred_at, actor_id, kind, from_state, to_state, note, payload)
        VALUES (@assetId, @now, @actorId, @kind, @fromState, @toState, @note, @payload::jsonb)
        """;

    private static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);

    /// <summary>Registers an asset with its 'created' event.</summary>
    public async Task<Outcome<Asset>> CreateAsync(CreateAssetRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!actor.WritesAssets)
        {
            return Failure.Forbidden("asset.write_forbidden");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var created = await CreateAsync(connection, transaction, request, actor.UserId, "created", cancellationToken);
        if (created.Failure is { } failure)
        {
            return failure;
        }

        await transaction.CommitAsync(cancellationToken);
        return (await GetAsync(created.Value, cancellationToken)).Value!.Asset;
    }

    /// <summary>
    /// Checks and inserts an asset with its history event inside the caller's transaction (the importer's too, with the
    /// event kind 'imported'). Returns the new id. The caller commits.
    /// </summary>
    public async Task<Outcome<long>> CreateAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CreateAssetRequest request, long? actorId, string eventKind, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (request.Kind is null)
        {
            errors.Add("kind", "asset.kind_required");
        }

        if (request.Lifecycle is { } initial && initial is not (AssetState.Planned or AssetState.InService))
        {
            errors.Add("lifecycle", "asset.initial_state", WireNames.Of(AssetState.Planned), WireNames.Of(AssetState.InService));
        }

        var attributes = AssetAttributes.Check(
            request.Code, request.Name, request.AssetType, request.Manufacturer, request.Model, request.SerialNumber,
            request.InstalledOn, request.CommissionedOn, request.Criticality, request.Cost, request.WarrantyEndsOn, request.Location, errors);
        var parentKind = await ParentKindAsync(connection, transaction, request.ParentId, cancellationToken);
        if (request.Kind is { } kind && AssetPlacement.Check(kind, parentKind, request.ParentId is not null) is { } misplaced)
        {
            errors.Add("parentId", misplaced);
        }

        if (errors.Any || attributes is null)
        {
            return errors.ToFailure();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var lifecycle = request.Lifecycle ?? AssetState.InService;
        await connection.ExecuteAsync(new CommandDefinition("SAVEPOINT asset_insert", transaction: transaction, cancellationToken: cancellationToken));
        long id;
        try
        {
            var parameters = new DynamicParameters(attributes.Parameters());
            parameters.AddDynamicParams(new { kind = WireNames.Of(request.Kind!.Value), parentId = request.ParentId, lifecycle = WireNames.Of(lifecycle), now });
            id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(InsertAsset, parameters, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await connection.ExecuteAsync(new CommandDefinition("ROLLBACK TO SAVEPOINT asset_insert", transaction: transaction, cancellationToken: cancellationToken));
            return Failure.Invalid("code", "asset.code_taken", attributes.Code);
        }

        var fields = attributes.ToFields();
        fields["kind"] = WireNames.Of(request.Kind.Value);
        fields["parentId"] = request.ParentId;
        await AppendAsync(connection, transaction, id, now, actorId, eventKind, null, lifecycle, null, fields, cancellationToken);
        return id;
    }

    /// <summary>Replaces the attributes, if the caller read the current version; the event holds each changed field before and after.</summary>
    public async Task<Outcome<AssetRecord>> EditAsync(long id, EditAssetRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!actor.WritesAssets)
        {
            return Failure.Forbidden("asset.write_forbidden");
        }

        var errors = new FieldErrors();
        if (request.RowVersion is null)
        {
            errors.Add("rowVersion", "field.required");
        }

        var attributes = AssetAttributes.Check(
            request.Code, request.Name, request.AssetType, request.Manufacturer, request.Model, request.SerialNumber,
            request.InstalledOn, request.CommissionedOn, request.Criticality, request.Cost, request.WarrantyEndsOn, request.Location, errors);
        if (errors.Any || attributes is null)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var current = await LockedAsync(connection, transaction, id, request.RowVersion, cancellationToken);
        if (current.Failure is { } refused)
        {
            return refused;
        }

        var before = AssetAttributes.Of(current.Value!).ToFields();
        var after = attributes.ToFields();
        var changed = after.Keys.Where(k => !Equals(before[k], after[k])).ToList();
        if (changed.Count == 0)
        {
            return Failure.Invalid("rowVersion", "asset.nothing_changed");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        try
        {
            var parameters = new DynamicParameters(attributes.Parameters(id));
            parameters.Add("now", now);
            await connection.ExecuteAsync(new CommandDefinition(UpdateAttributes, parameters, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("code", "asset.code_taken", attributes.Code);
        }

        await AppendAsync(
            connection, transaction, id, now, actor.UserId, "edited", null, null, null,
            new { before = changed.ToDictionary(k => k, k => before[k]), after = changed.ToDictionary(k => k, k => after[k]) },
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (await GetRecordAsync(id, cancellationToken)).Value!;
    }

    /// <summary>
    /// Re-parents an asset (its sub-tree goes with it). Moves are serialised by an advisory lock, so the cycle check sees
    /// every earlier move; the event holds the old and the new parent.
    /// </summary>
    public async Task<Outcome<AssetRecord>> MoveAsync(long id, MoveAssetRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!actor.WritesAssets)
        {
            return Failure.Forbidden("asset.write_forbidden");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var moved = await MoveAsync(connection, transaction, id, request, actor.UserId, null, cancellationToken);
        if (moved.Failure is { } failure)
        {
            return failure;
        }

        await transaction.CommitAsync(cancellationToken);
        return (await GetRecordAsync(id, cancellationToken)).Value!;
    }

    /// <summary>
    /// The move inside the caller's transaction, for features whose own change moves an asset (a stocktake that finds it
    /// elsewhere): the same checks and the same 'moved' event, with the caller's note. The caller commits.
    /// </summary>
    internal async Task<Outcome<long?>> MoveAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, MoveAssetRequest request, long? actorId, string? note, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@MoveLock)", new { MoveLock }, transaction, cancellationToken: cancellationToken));
        var current = await LockedAsync(connection, transaction, id, request.RowVersion, cancellationToken);
        if (current.Failure is { } refused)
        {
            return refused;
        }

        var asset = current.Value!;
        if (request.ParentId == asset.ParentId)
        {
            return Failure.Invalid("parentId", "asset.already_there", asset.ParentCode);
        }

        var parentKind = await ParentKindAsync(connection, transaction, request.ParentId, cancellationToken);
        if (AssetPlacement.Check(asset.Kind, parentKind, request.ParentId is not null) is { } misplaced)
        {
            return Failure.Invalid("parentId", misplaced);
        }

        var cycle = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            WITH RECURSIVE up AS (SELECT id, parent_id FROM assets WHERE id = @parentId
                UNION ALL SELECT p.id, p.parent_id FROM assets p JOIN up ON p.id = up.parent_id)
            SELECT EXISTS (SELECT 1 FROM up WHERE id = @id)
            """,
            new { parentId = request.ParentId, id },
            transaction,
            cancellationToken: cancellationToken));
        if (cycle)
        {
            return Failure.Invalid("parentId", "asset.move_cycle", asset.Code);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var newParentCode = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "UPDATE assets SET parent_id = @parentId, row_version = row_version + 1, updated_at = @now WHERE id = @id RETURNING (SELECT code FROM assets WHERE id = @parentId)",
            new { parentId = request.ParentId, now, id },
            transaction,
            cancellationToken: cancellationToken));
        await AppendAsync(
            connection, transaction, id, now, actorId, "moved", null, null, note,
            new { fromParentId = asset.ParentId, fromParentCode = asset.ParentCode, toParentId = request.ParentId, toParentCode = newParentCode },
            cancellationToken);
        return asset.ParentId;
    }

    /// <summary>Takes a lifecycle action with its reason, as <see cref="AssetLifecycle"/> decides.</summary>
    public async Task<Outcome<AssetRecord>> ChangeLifecycleAsync(long id, AssetLifecycleRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!actor.WritesAssets)
        {
            return Failure.Forbidden("asset.write_forbidden");
        }

        var errors = new FieldErrors();
        if (request.Action is null)
        {
            errors.Add("action", "field.one_of", string.Join(", ", Enum.GetValues<AssetAction>().Select(WireNames.Of)));
        }

        var reason = request.Reason?.Trim();
        if (string.IsNullOrEmpty(reason))
        {
            errors.Add("reason", "field.required");
        }
        else if (reason.Length > AssetLifecycle.MaxReasonLength)
        {
            errors.Add("reason", "field.too_long", AssetLifecycle.MaxReasonLength);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var current = await LockedAsync(connection, transaction, id, request.RowVersion, cancellationToken);
        if (current.Failure is { } refused)
        {
            return refused;
        }

        var asset = current.Value!;
        var action = request.Action!.Value;
        var decided = AssetLifecycle.Decide(asset.Lifecycle, action);
        if (decided.Failure is { } illegal)
        {
            return illegal;
        }

        if (action == AssetAction.Dispose)
        {
            var standing = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT count(*)::int FROM assets WHERE parent_id = @id AND lifecycle <> 'disposed'", new { id }, transaction, cancellationToken: cancellationToken));
            if (standing > 0)
            {
                return Failure.Illegal("asset.children_not_disposed", asset.Code, standing);
            }
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE assets SET lifecycle = @to, row_version = row_version + 1, updated_at = @now WHERE id = @id",
            new { to = WireNames.Of(decided.Value), now, id },
            transaction,
            cancellationToken: cancellationToken));
        await AppendAsync(
            connection, transaction, id, now, actor.UserId, "lifecycle", asset.Lifecycle, decided.Value, reason,
            new { action = WireNames.Of(action) },
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (await GetRecordAsync(id, cancellationToken)).Value!;
    }

    private static async Task<Outcome<AssetRecord>> LockedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, int? rowVersion, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition("SELECT 1 FROM assets WHERE id = @id FOR UPDATE", new { id }, transaction, cancellationToken: cancellationToken));
        var current = await RecordAsync(connection, transaction, id, cancellationToken);
        if (current is null)
        {
            return Failure.NotFound("asset.not_found", id);
        }

        return rowVersion is { } sent && sent != current.RowVersion
            ? Failure.Conflict("asset.stale", current.Code, current.RowVersion, sent)
            : current;
    }

    private static async Task<AssetKind?> ParentKindAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long? parentId, CancellationToken cancellationToken)
    {
        if (parentId is not { } id)
        {
            return null;
        }

        var kind = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT kind FROM assets WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
        return kind is null ? null : WireNames.Parse<AssetKind>(kind);
    }

    private static Task AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long assetId, DateTime now, long? actorId, string kind,
        AssetState? from, AssetState? to, string? note, object payload, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            InsertEvent,
            new
            {
                assetId,
                now,
                actorId,
                kind,
                fromState = from is { } f ? WireNames.Of(f) : null,
                toState = to is { } t ? WireNames.Of(t) : null,
                note,
                payload = JsonSerializer.Serialize(payload, PayloadJson),
            },
            transaction,
            cancellationToken: cancellationToken));
}
