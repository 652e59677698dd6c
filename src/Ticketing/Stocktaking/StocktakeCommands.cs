using System.Security.Cryptography;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Stocktaking;

/// <summary>
/// The counter's commands. Each runs in one transaction that locks the stocktake (so the commands of one stocktake
/// apply one at a time, whoever sends them) and records the client's command id with a hash of the request: a replay
/// of the same command changes nothing and answers with the state now; the same id with another request is refused.
/// </summary>
public sealed partial class Stocktakes
{
    private static readonly string[] PhotoTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];

    /// <summary>Confirms the counter stands at a stop: the location's QR label scanned (its /a/{code} address or the code), or the code typed.</summary>
    public async Task<Outcome<StopResult>> ConfirmStopAsync(long stocktakeId, ConfirmStopRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        RequireCommand(request.CommandId, errors);
        if (request.StopId is null)
        {
            errors.Add("stopId", "field.required");
        }

        if (request.Method is null)
        {
            errors.Add("method", "field.one_of", string.Join(", ", Enum.GetValues<ConfirmMethod>().Select(WireNames.Of)));
        }

        var code = request.Method == ConfirmMethod.Scanned ? ScannedCode(request.Code) : request.Code?.Trim();
        if (string.IsNullOrEmpty(code))
        {
            errors.Add("code", "field.required");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var begun = await BeginAsync(connection, transaction, stocktakeId, request.CommandId!.Value, "confirm_stop", request, actor, cancellationToken);
        if (begun.Failure is { } refused)
        {
            return refused;
        }

        var stop = await connection.QuerySingleOrDefaultAsync<(long Id, string Code, string CurrentCode)?>(new CommandDefinition(
            "SELECT s.id, s.code, a.code FROM stocktake_stops s JOIN assets a ON a.id = s.location_id WHERE s.id = @stopId AND s.stocktake_id = @stocktakeId",
            new { stopId = request.StopId, stocktakeId },
            transaction,
            cancellationToken: cancellationToken));
        if (stop is not { } found)
        {
            return Failure.Invalid("stopId", "stocktake.stop_not_found", request.StopId);
        }

        if (begun.Value == Begun.Replayed)
        {
            return new StopResult(await StopAsync(connection, transaction, found.Id, cancellationToken), Replayed: true);
        }

        if (!string.Equals(code, found.Code, StringComparison.Ordinal) && !string.Equals(code, found.CurrentCode, StringComparison.Ordinal))
        {
            return Failure.Invalid("code", "stocktake.wrong_location", code, found.Code);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE stocktake_stops SET confirmed_at = @now, confirmed_by = @actorId, confirmed_how = @how WHERE id = @id",
            new { now = clock.GetUtcNow().UtcDateTime, actorId = actor.UserId, how = WireNames.Of(request.Method!.Value), id = found.Id },
            transaction,
            cancellationToken: cancellationToken));
        var result = await StopAsync(connection, transaction, found.Id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new StopResult(result, Replayed: false);
    }

    /// <summary>
    /// Marks an expected asset found (at its stop), missing, or found elsewhere (at another location, which moves it in
    /// the register). Found or elsewhere also puts the register right when it says otherwise: the asset is moved, through
    /// the register's own move, with a history event naming the stocktake. Marks may be changed until the stocktake is closed.
    /// </summary>
    public async Task<Outcome<ItemResult>> MarkAsync(long stocktakeId, MarkItemRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        RequireCommand(request.CommandId, errors);
        if (request.ItemId is null)
        {
            errors.Add("itemId", "field.required");
        }

        if (request.Outcome is not (ItemOutcome.Found or ItemOutcome.Missing or ItemOutcome.Elsewhere))
        {
            errors.Add("outcome", "field.one_of", string.Join(", ", new[] { ItemOutcome.Found, ItemOutcome.Missing, ItemOutcome.Elsewhere }.Select(WireNames.Of)));
        }

        if (request.Outcome == ItemOutcome.Elsewhere && request.FoundLocationId is null)
        {
            errors.Add("foundLocationId", "stocktake.elsewhere_needs_location");
        }

        var note = CheckNote(request.Note, errors);
        var photo = CheckPhoto(request.Photo, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var begun = await BeginAsync(connection, transaction, stocktakeId, request.CommandId!.Value, "mark", request, actor, cancellationToken);
        if (begun.Failure is { } refused)
        {
            return refused;
        }

        var item = await TargetAsync(connection, transaction, stocktakeId, request.ItemId!.Value, cancellationToken);
        if (item is null)
        {
            return Failure.Invalid("itemId", "stocktake.item_not_found", request.ItemId);
        }

        if (begun.Value == Begun.Replayed)
        {
            return new ItemResult(await ItemAsync(connection, transaction, item.Id, cancellationToken), Replayed: true);
        }

        if (!item.Expected)
        {
            return Failure.Invalid("itemId", "stocktake.item_unexpected", item.Code ?? item.Name);
        }

        var marked = await ApplyMarkAsync(
            connection, transaction, stocktakeId, item, request.Outcome!.Value, request.FoundLocationId, request.Condition, photo, note, actor, cancellationToken);
        if (marked.Failure is { } failure)
        {
            return failure;
        }

        var result = await ItemAsync(connection, transaction, item.Id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ItemResult(result, Replayed: false);
    }

    /// <summary>
    /// Adds what was counted at a stop but not expected there. A registered asset expected elsewhere on this stocktake is
    /// marked found elsewhere (here); one expected here is marked found; any other is added as unexpected and, a machine,
    /// moved here in the register. An unregistered item is added by its description.
    /// </summary>
    public async Task<Outcome<ItemResult>> AddUnexpectedAsync(long stocktakeId, AddUnexpectedRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        RequireCommand(request.CommandId, errors);
        if (request.StopId is null)
        {
            errors.Add("stopId", "field.required");
        }

        var assetCode = string.IsNullOrWhiteSpace(request.AssetCode) ? null : request.AssetCode.Trim();
        var description = string.IsNullOrWhiteSpace(request.Description) ? null : request.Description.Trim();
        if ((assetCode is null) == (description is null))
        {
            errors.Add(assetCode is null ? "assetCode" : "description", "stocktake.code_or_description");
        }
        else if (description is not null && description.EnumerateRunes().Count() > MaxDescriptionLength)
        {
            errors.Add("description", "field.too_long", MaxDescriptionLength);
        }

        var photo = CheckPhoto(request.Photo, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var begun = await BeginAsync(connection, transaction, stocktakeId, request.CommandId!.Value, "add_unexpected", request, actor, cancellationToken);
        if (begun.Failure is { } refused)
        {
            return refused;
        }

        var stop = await connection.QuerySingleOrDefaultAsync<(long Id, long LocationId, string Code)?>(new CommandDefinition(
            "SELECT id, location_id, code FROM stocktake_stops WHERE id = @stopId AND stocktake_id = @stocktakeId",
            new { stopId = request.StopId, stocktakeId },
            transaction,
            cancellationToken: cancellationToken));
        if (stop is not { } here)
        {
            return Failure.Invalid("stopId", "stocktake.stop_not_found", request.StopId);
        }

        var asset = assetCode is null
            ? null
            : await connection.QuerySingleOrDefaultAsync<AssetRow>(new CommandDefinition(
                "SELECT id, code, name, kind, asset_type, criticality, parent_id FROM assets WHERE code = @assetCode",
                new { assetCode },
                transaction,
                cancellationToken: cancellationToken));
        var existing = asset is null
            ? null
            : await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT id FROM stocktake_items WHERE stocktake_id = @stocktakeId AND asset_id = @assetId",
                new { stocktakeId, assetId = asset.Id },
                transaction,
                cancellationToken: cancellationToken));
        if (begun.Value == Begun.Replayed)
        {
            var replayedId = existing ?? await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT id FROM stocktake_items WHERE stop_id = @stopId AND asset_id IS NULL AND name = @description ORDER BY id DESC LIMIT 1",
                new { stopId = here.Id, description },
                transaction,
                cancellationToken: cancellationToken));
            return replayedId is { } found
                ? new ItemResult(await ItemAsync(connection, transaction, found, cancellationToken), Replayed: true)
                : Failure.Conflict("stocktake.command_in_progress");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (assetCode is not null)
        {
            if (asset is null)
            {
                return Failure.Invalid("assetCode", "stocktake.unknown_code", assetCode);
            }

            if (IsLocation(asset.Kind))
            {
                return Failure.Invalid("assetCode", "stocktake.not_countable", asset.Code);
            }

            if (existing is { } itemId)
            {
                var item = (await TargetAsync(connection, transaction, stocktakeId, itemId, cancellationToken))!;
                if (!item.Expected)
                {
                    return Failure.Invalid("assetCode", "stocktake.already_counted", asset.Code, item.StopCode);
                }

                var outcome = item.StopId == here.Id ? ItemOutcome.Found : ItemOutcome.Elsewhere;
                var marked = await ApplyMarkAsync(
                    connection, transaction, stocktakeId, item, outcome, outcome == ItemOutcome.Elsewhere ? here.LocationId : null, request.Condition, photo, null, actor,
                    cancellationToken);
                if (marked.Failure is { } failure)
                {
                    return failure;
                }

                var result = await ItemAsync(connection, transaction, itemId, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return new ItemResult(result, Replayed: false);
            }

            if (asset.Kind == "machine" && asset.ParentId != here.LocationId)
            {
                var moved = await register.MoveAsync(
                    connection, transaction, asset.Id, new MoveAssetRequest(here.LocationId), actor.UserId, MoveNote(stocktakeId, here.Code), cancellationToken);
                if (moved.Failure is { } misplaced)
                {
                    return Failure.Invalid("assetCode", misplaced.Main);
                }
            }
        }

        var photoHash = await SavePhotoAsync(connection, transaction, photo, actor, now, cancellationToken);
        var newId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO stocktake_items (stocktake_id, stop_id, asset_id, expected, code, name, asset_type, criticality, outcome, condition, photo_sha256, marked_by, marked_at)
            VALUES (@stocktakeId, @stopId, @assetId, false, @code, @name, @assetType, @criticality, 'unexpected', @condition, @photoHash, @actorId, @now)
            RETURNING id
            """,
            new
            {
                stocktakeId,
                stopId = here.Id,
                assetId = asset?.Id,
                code = asset?.Code,
                name = asset?.Name ?? description,
                assetType = asset?.AssetType,
                criticality = asset?.Criticality,
                condition = request.Condition is { } c ? WireNames.Of(c) : null,
                photoHash,
                actorId = actor.UserId,
                now,
            },
            transaction,
            cancellationToken: cancellationToken));
        var added = await ItemAsync(connection, transaction, newId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ItemResult(added, Replayed: false);
    }

    /// <summary>
    /// Closes the count: every item still pending is missing, and each missing asset whose criticality is at least
    /// <see cref="CriticalFrom"/> raises one corrective work order through the work-order core to its owner department.
    /// Closing twice, or from two instances at once, closes once: the second finds it closed and changes nothing.
    /// </summary>
    public async Task<Outcome<CloseResult>> CloseAsync(long stocktakeId, CloseStocktakeRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        RequireCommand(request.CommandId, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var header = await LockAsync(connection, transaction, stocktakeId, cancellationToken);
        if (header is null)
        {
            return Failure.NotFound("stocktake.not_found", stocktakeId);
        }

        if (!Counts(actor, header.CounterId))
        {
            return Failure.Forbidden("stocktake.count_forbidden");
        }

        if (header.Status == "closed")
        {
            return new CloseResult((await SummaryAsync(connection, transaction, stocktakeId, cancellationToken))!, 0, [], Replayed: true);
        }

        var claimed = await ClaimAsync(connection, transaction, stocktakeId, request.CommandId!.Value, "close", request, actor, cancellationToken);
        if (claimed.Failure is { } reused)
        {
            return reused;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var markedMissing = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE stocktake_items SET outcome = 'missing', marked_at = @now WHERE stocktake_id = @stocktakeId AND outcome = 'pending'",
            new { stocktakeId, now },
            transaction,
            cancellationToken: cancellationToken));
        var critical = await connection.QueryAsync<MissingRow>(new CommandDefinition(
            """
            SELECT i.id AS item_id, a.id AS asset_id, a.code, a.name, a.criticality, a.lifecycle, s.code AS stop_code
            FROM stocktake_items i JOIN assets a ON a.id = i.asset_id JOIN stocktake_stops s ON s.id = i.stop_id
            WHERE i.stocktake_id = @stocktakeId AND i.outcome = 'missing' AND i.work_order_id IS NULL
              AND a.criticality >= @criticalFrom AND a.lifecycle <> 'disposed'
            ORDER BY a.code
            """,
            new { stocktakeId, criticalFrom = CriticalFrom },
            transaction,
            cancellationToken: cancellationToken));
        var raised = new List<RaisedWorkOrder>();
        foreach (var missing in critical)
        {
            var made = await RaiseAsync(connection, transaction, stocktakeId, header, missing, actor, cancellationToken);
            if (made.Failure is { } failure)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE stocktake_items SET note = @note WHERE id = @id",
                    new { id = missing.ItemId, note = Truncate("No work order was raised: " + failure.Message, MaxNoteLength) },
                    transaction,
                    cancellationToken: cancellationToken));
                continue;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE stocktake_items SET work_order_id = @workOrderId WHERE id = @id",
                new { id = missing.ItemId, workOrderId = made.Value!.Id },
                transaction,
                cancellationToken: cancellationToken));
            raised.Add(new RaisedWorkOrder(missing.ItemId, missing.Code, made.Value.Id, made.Value.Number));
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE stocktakes SET status = 'closed', closed_at = @now, closed_by = @actorId WHERE id = @stocktakeId",
            new { stocktakeId, now, actorId = actor.UserId },
            transaction,
            cancellationToken: cancellationToken));
        var summary = (await SummaryAsync(connection, transaction, stocktakeId, cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return new CloseResult(summary, markedMissing, raised, Replayed: false);
    }

    private async Task<Outcome<CreatedWorkOrder>> RaiseAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long stocktakeId, HeaderRow header, MissingRow missing, Actor actor, CancellationToken cancellationToken)
    {
        // The owner is the asset's own department, else the nearest ancestor's; with none in the tree, the counter's.
        var department = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            """
            WITH RECURSIVE up AS (SELECT id, parent_id, owner_department_id, 0 AS depth FROM assets WHERE id = @assetId
                UNION ALL SELECT p.id, p.parent_id, p.owner_department_id, up.depth + 1 FROM assets p JOIN up ON p.id = up.parent_id)
            SELECT coalesce(
                (SELECT owner_department_id FROM up WHERE owner_department_id IS NOT NULL ORDER BY depth LIMIT 1),
                (SELECT department_id FROM users WHERE id = @counterId))
            """,
            new { assetId = missing.AssetId, counterId = header.CounterId },
            transaction,
            cancellationToken: cancellationToken));

        // A machine cannot fill a template's required fields or contact: the department's first corrective template without them.
        var template = department is null
            ? null
            : await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                SELECT id FROM templates
                WHERE active AND work_type = 'corrective' AND department_id = @department AND NOT contact_required
                  AND NOT jsonb_path_exists(fields, '$[*] ? (@.required == true)')
                ORDER BY id LIMIT 1
                """,
                new { department },
                transaction,
                cancellationToken: cancellationToken));
        if (template is null)
        {
            return Failure.Invalid("templateId", "stocktake.no_template", department);
        }

        var request = new CreateWorkOrderRequest(
            template,
            Truncate($"Missing at stocktake {stocktakeId}: {missing.Code} {missing.Name}", CreateWorkOrder.MaxTitleLength),
            $"Stocktake {stocktakeId} of {header.RootCode} did not find {missing.Code} {missing.Name} (criticality {missing.Criticality}) at {missing.StopCode}.\n"
            + "Find the asset or record its loss in the register.",
            Priority: missing.Criticality >= 5 ? 1 : 2,
            AssetId: missing.AssetId,
            Reference: $"stocktake-{stocktakeId}-{missing.AssetId}",
            DecommissionedReason: missing.Lifecycle == "decommissioned" ? $"missing at stocktake {stocktakeId}" : null);
        await connection.ExecuteAsync(new CommandDefinition("SAVEPOINT stocktake_work_order", transaction: transaction, cancellationToken: cancellationToken));
        var made = await create.InsertAsync(connection, transaction, request, actor, WorkOrderSource.Inspection, null, cancellationToken);
        if (made.Failure is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition("ROLLBACK TO SAVEPOINT stocktake_work_order", transaction: transaction, cancellationToken: cancellationToken));
        }

        return made;
    }

    private async Task<Outcome<bool>> ApplyMarkAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        long stocktakeId,
        TargetRow item,
        ItemOutcome outcome,
        long? foundLocationId,
        AssetCondition? condition,
        PhotoUpload? photo,
        string? note,
        Actor actor,
        CancellationToken cancellationToken)
    {
        string? foundCode = item.StopCode;
        if (outcome == ItemOutcome.Elsewhere)
        {
            var location = await connection.QuerySingleOrDefaultAsync<(string Code, string Kind)?>(new CommandDefinition(
                "SELECT code, kind FROM assets WHERE id = @foundLocationId", new { foundLocationId }, transaction, cancellationToken: cancellationToken));
            if (location is not { } place || !IsLocation(place.Kind))
            {
                return Failure.Invalid("foundLocationId", "stocktake.not_a_location", foundLocationId);
            }

            if (foundLocationId == item.StopLocationId)
            {
                return Failure.Invalid("foundLocationId", "stocktake.elsewhere_is_here", place.Code);
            }

            foundCode = place.Code;
        }

        var target = outcome switch
        {
            ItemOutcome.Found => item.StopLocationId,
            ItemOutcome.Elsewhere => foundLocationId,
            _ => null,
        };
        if (target is { } parent && item.AssetId is { } assetId && item.AssetParentId != parent)
        {
            var moved = await register.MoveAsync(
                connection, transaction, assetId, new MoveAssetRequest(parent), actor.UserId, MoveNote(stocktakeId, foundCode!), cancellationToken);
            if (moved.Failure is { } misplaced)
            {
                return Failure.Invalid("foundLocationId", misplaced.Main);
            }
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var photoHash = await SavePhotoAsync(connection, transaction, photo, actor, now, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE stocktake_items
            SET outcome = @outcome, found_location_id = @foundLocationId, condition = @condition,
                photo_sha256 = coalesce(@photoHash, photo_sha256), note = coalesce(@note, note), marked_by = @actorId, marked_at = @now
            WHERE id = @id
            """,
            new
            {
                id = item.Id,
                outcome = WireNames.Of(outcome),
                foundLocationId = outcome == ItemOutcome.Elsewhere ? foundLocationId : null,
                condition = outcome != ItemOutcome.Missing && condition is { } c ? WireNames.Of(c) : null,
                photoHash,
                note,
                actorId = actor.UserId,
                now,
            },
            transaction,
            cancellationToken: cancellationToken));
        return true;
    }

    private enum Begun
    {
        Fresh,
        Replayed,
    }

    /// <summary>Locks the stocktake, checks who may count it, and claims the command id: fresh, replayed, or refused.</summary>
    private async Task<Outcome<Begun>> BeginAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long stocktakeId, Guid commandId, string kind, object request, Actor actor, CancellationToken cancellationToken)
    {
        var header = await LockAsync(connection, transaction, stocktakeId, cancellationToken);
        if (header is null)
        {
            return Failure.NotFound("stocktake.not_found", stocktakeId);
        }

        if (!Counts(actor, header.CounterId))
        {
            return Failure.Forbidden("stocktake.count_forbidden");
        }

        var claimed = await ClaimAsync(connection, transaction, stocktakeId, commandId, kind, request, actor, cancellationToken);
        if (claimed.Failure is { } reused)
        {
            return reused;
        }

        if (!claimed.Value)
        {
            return Begun.Replayed;
        }

        return header.Status == "closed" ? Failure.Illegal("stocktake.closed", stocktakeId) : Begun.Fresh;
    }

    /// <summary>True when the command id is new (now recorded); false for a replay of the same request; refused for another request under the id.</summary>
    private async Task<Outcome<bool>> ClaimAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long stocktakeId, Guid commandId, string kind, object request, Actor actor, CancellationToken cancellationToken)
    {
        var hash = Hash(request);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO stocktake_commands (command_id, stocktake_id, kind, request_hash, actor_id, applied_at)
            VALUES (@commandId, @stocktakeId, @kind, @hash, @actorId, @now)
            ON CONFLICT (command_id) DO NOTHING
            """,
            new { commandId, stocktakeId, kind, hash, actorId = actor.UserId, now = clock.GetUtcNow().UtcDateTime },
            transaction,
            cancellationToken: cancellationToken));
        if (inserted == 1)
        {
            return true;
        }

        var earlier = await connection.QuerySingleAsync<(long StocktakeId, string Kind, byte[] Hash)>(new CommandDefinition(
            "SELECT stocktake_id, kind, request_hash FROM stocktake_commands WHERE command_id = @commandId",
            new { commandId },
            transaction,
            cancellationToken: cancellationToken));
        return earlier.StocktakeId == stocktakeId && earlier.Kind == kind && earlier.Hash.AsSpan().SequenceEqual(hash)
            ? false
            : Failure.Invalid("commandId", "stocktake.command_reused");
    }

    private static async Task<HeaderRow?> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long stocktakeId, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<HeaderRow>(new CommandDefinition(
            """
            SELECT s.id, s.counter_id, s.status, r.code AS root_code
            FROM stocktakes s JOIN assets r ON r.id = s.root_asset_id WHERE s.id = @stocktakeId FOR UPDATE OF s
            """,
            new { stocktakeId },
            transaction,
            cancellationToken: cancellationToken));

    private static async Task<TargetRow?> TargetAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long stocktakeId, long itemId, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<TargetRow>(new CommandDefinition(
            """
            SELECT i.id, i.stop_id, i.asset_id, i.expected, i.code, i.name, s.location_id AS stop_location_id, s.code AS stop_code,
                   a.parent_id AS asset_parent_id
            FROM stocktake_items i JOIN stocktake_stops s ON s.id = i.stop_id LEFT JOIN assets a ON a.id = i.asset_id
            WHERE i.id = @itemId AND i.stocktake_id = @stocktakeId
            """,
            new { itemId, stocktakeId },
            transaction,
            cancellationToken: cancellationToken));

    private static async Task<byte[]?> SavePhotoAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PhotoUpload? photo, Actor actor, DateTime now, CancellationToken cancellationToken)
    {
        if (photo?.Base64 is not { } base64)
        {
            return null;
        }

        var content = Convert.FromBase64String(base64);
        var sha256 = SHA256.HashData(content);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO stocktake_photos (sha256, content_type, size_bytes, content, uploaded_by, uploaded_at)
            VALUES (@sha256, @contentType, @size, @content, @actorId, @now)
            ON CONFLICT (sha256) DO NOTHING
            """,
            new { sha256, contentType = photo.ContentType!.Split(';')[0].Trim().ToLowerInvariant(), size = content.Length, content, actorId = actor.UserId, now },
            transaction,
            cancellationToken: cancellationToken));
        return sha256;
    }

    private PhotoUpload? CheckPhoto(PhotoUpload? photo, FieldErrors errors)
    {
        if (photo is null || (photo.Base64 is null && photo.ContentType is null))
        {
            return null;
        }

        var type = photo.ContentType?.Split(';')[0].Trim().ToLowerInvariant() ?? "";
        if (!PhotoTypes.Contains(type))
        {
            errors.Add("photo.contentType", "attachment.type", type, string.Join(", ", PhotoTypes));
            return null;
        }

        var content = new byte[((photo.Base64?.Length ?? 0) * 3 / 4) + 3];
        if (photo.Base64 is null || !Convert.TryFromBase64String(photo.Base64, content, out var length) || length == 0)
        {
            errors.Add("photo.base64", "stocktake.photo_unreadable");
            return null;
        }

        if (length > options.Value.MaxAttachmentBytes)
        {
            errors.Add("photo.base64", "attachment.too_large", options.Value.MaxAttachmentBytes / (1024 * 1024));
            return null;
        }

        if (!Attachments.AllowedTypes[type].Any(signature => content.AsSpan(0, length).StartsWith(signature)))
        {
            errors.Add("photo.base64", "attachment.content", type);
            return null;
        }

        return photo;
    }

    private static string? CheckNote(string? note, FieldErrors errors)
    {
        var text = string.IsNullOrWhiteSpace(note) ? null : note.Trim();
        if (text is { Length: > MaxNoteLength })
        {
            errors.Add("note", "field.too_long", MaxNoteLength);
        }

        return text;
    }

    private static void RequireCommand(Guid? commandId, FieldErrors errors)
    {
        if (commandId is null || commandId == Guid.Empty)
        {
            errors.Add("commandId", "field.required");
        }
    }

    /// <summary>The code on a scanned label: the last segment of its /a/{code} address, or the text itself.</summary>
    internal static string? ScannedCode(string? scanned)
    {
        var text = scanned?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.AbsolutePath.LastIndexOf("/a/", StringComparison.Ordinal) is var at and >= 0)
        {
            return Uri.UnescapeDataString(uri.AbsolutePath[(at + 3)..]);
        }

        return text;
    }

    private static string MoveNote(long stocktakeId, string locationCode) => $"Stocktake {stocktakeId}: counted at {locationCode}";

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    private sealed class HeaderRow
    {
        public long Id { get; init; }
        public long CounterId { get; init; }
        public string Status { get; init; } = "";
        public string RootCode { get; init; } = "";
    }

    private sealed class TargetRow
    {
        public long Id { get; init; }
        public long StopId { get; init; }
        public long? AssetId { get; init; }
        public bool Expected { get; init; }
        public string? Code { get; init; }
        public string Name { get; init; } = "";
        public long StopLocationId { get; init; }
        public string StopCode { get; init; } = "";
        public long? AssetParentId { get; init; }
    }

    private sealed class AssetRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public string? AssetType { get; init; }
        public short Criticality { get; init; }
        public long? ParentId { get; init; }
    }

    private sealed class MissingRow
    {
        public long ItemId { get; init; }
        public long AssetId { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public short Criticality { get; init; }
        public string Lifecycle { get; init; } = "";
        public string StopCode { get; init; } = "";
    }
}
