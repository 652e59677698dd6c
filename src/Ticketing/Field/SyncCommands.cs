using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Field;

/// <summary>Who calls the field API: the user, and their device when the call came with a device credential.</summary>
public sealed record FieldCaller(Actor Actor, long? DeviceId)
{
    public static FieldCaller? From(ClaimsPrincipal principal) =>
        Actor.From(principal) is not { } actor
            ? null
            : new FieldCaller(actor, long.TryParse(principal.FindFirstValue(Devices.Claim), NumberStyles.None, CultureInfo.InvariantCulture, out var device) ? device : null);

    public static ValueTask<FieldCaller?> BindAsync(HttpContext context) => ValueTask.FromResult(From(context.User));
}

/// <summary>
/// Applies the commands of a field device, each at most once. Per command, one transaction: the command id is inserted
/// into sync_commands first (a concurrent send of the same id, on any instance, waits on its primary key and then
/// reads the stored result), the effect runs under a savepoint, and the result is written beside it, so the effect and
/// the record of it commit together or not at all. A refusal is stored as the result (the effect rolled back to the
/// savepoint), so every later send gets the same answer; a command that waits for a photo stores nothing.
/// </summary>
public sealed class SyncCommands(
    NpgsqlDataSource dataSource, TimeProvider clock, ApplyTransition transitions, CreateWorkOrder create, Rounds rounds, IOptions<FieldOptions> options)
{
    public const int MaxNoteLength = Lifecycle.MaxNoteLength;

    private static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    private static readonly Dictionary<string, Type> PayloadTypes = new(StringComparer.Ordinal)
    {
        [CommandKinds.WorkOrderStart] = typeof(TransitionPayload),
        [CommandKinds.WorkOrderHold] = typeof(TransitionPayload),
        [CommandKinds.WorkOrderResume] = typeof(TransitionPayload),
        [CommandKinds.WorkOrderResolve] = typeof(TransitionPayload),
        [CommandKinds.WorkOrderComment] = typeof(CommentPayload),
        [CommandKinds.WorkOrderEdit] = typeof(FieldEditPayload),
        [CommandKinds.WorkOrderPhoto] = typeof(PhotoPayload),
        [CommandKinds.WorkOrderRaise] = typeof(RaisePayload),
        [CommandKinds.MeterReading] = typeof(MeterReadingPayload),
        [CommandKinds.RoundConfirmStop] = typeof(RoundStopPayload),
        [CommandKinds.RoundSkipStop] = typeof(RoundStopPayload),
        [CommandKinds.RoundRecord] = typeof(RoundResultPayload),
        [CommandKinds.RoundComplete] = typeof(RoundPayload),
    };

    public static bool MaySync(Actor actor) => Devices.MayRegister(actor);

    /// <summary>The refusal of a caller who may not sync, whatever the batch says.</summary>
    public static Failure? Refusal(Actor actor) => MaySync(actor) ? null : Failure.Forbidden("sync.forbidden");

    /// <summary>
    /// Checks the whole batch first (a malformed envelope or payload is a 400 naming <c>commands[i].field</c>, and nothing
    /// is applied), then applies the commands one by one in the order sent.
    /// </summary>
    public async Task<Outcome<SyncBatchResult>> ApplyAsync(SyncBatch batch, FieldCaller caller, CultureInfo culture, CancellationToken cancellationToken)
    {
        if (Refusal(caller.Actor) is { } refused)
        {
            return refused;
        }

        var max = options.Value.MaxBatch;
        if (batch.Commands is not { Count: > 0 } commands || commands.Count > max)
        {
            return Failure.Invalid("commands", "sync.batch_size", max);
        }

        var errors = new FieldErrors();
        var parsed = new List<Parsed>(commands.Count);
        for (var i = 0; i < commands.Count; i++)
        {
            if (Parse(commands[i], $"commands[{i}].", caller, errors) is { } ok)
            {
                parsed.Add(ok);
            }
        }

        if (!errors.Any)
        {
            await CheckDevicesAsync(parsed, caller.Actor, errors, cancellationToken);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var results = new List<CommandResult>(parsed.Count);
        foreach (var command in parsed)
        {
            results.Add(await ApplyOneAsync(command, caller.Actor, culture, cancellationToken));
        }

        return new SyncBatchResult(results);
    }

    private static Parsed? Parse(SyncCommand? command, string prefix, FieldCaller caller, FieldErrors errors)
    {
        if (command is null)
        {
            errors.Add(prefix.TrimEnd('.'), "field.required");
            return null;
        }

        var count = 0;
        void Add(string field, string code, params object?[] args)
        {
            errors.Add(prefix + field, code, args);
            count++;
        }

        if (command.CommandId is not { } id || id == Guid.Empty)
        {
            Add("commandId", "field.required");
        }

        var deviceId = caller.DeviceId ?? command.DeviceId;
        if (deviceId is null)
        {
            Add("deviceId", "field.required");
        }
        else if (caller.DeviceId is { } signedIn && command.DeviceId is { } sent && sent != signedIn)
        {
            Add("deviceId", "sync.device_other", sent);
        }

        if (command.DeviceTime is null)
        {
            Add("deviceTime", "field.required");
        }

        if (command.BaseVersion is < 0)
        {
            Add("baseVersion", "sync.base_version");
        }

        object? payload = null;
        if (command.Kind is null || !PayloadTypes.TryGetValue(command.Kind, out var type))
        {
            Add("kind", "field.one_of", string.Join(", ", CommandKinds.All));
        }
        else if (command.Payload is not { ValueKind: JsonValueKind.Object } raw)
        {
            Add("payload", "sync.payload_object");
        }
        else
        {
            try
            {
                payload = raw.Deserialize(type, PayloadJson);
            }
            catch (JsonException e)
            {
                var path = e.Path is { Length: > 1 } p && p.StartsWith("$.", StringComparison.Ordinal) ? "payload." + p[2..] : "payload";
                Add(path, "body.wrong_type");
            }
        }

        return count > 0 ? null : new Parsed(command.CommandId!.Value, deviceId!.Value, command.Kind!, command.BaseVersion, command.DeviceTime!.Value, payload!);
    }

    private async Task CheckDevicesAsync(List<Parsed> commands, Actor actor, FieldErrors errors, CancellationToken cancellationToken)
    {
        var ids = commands.Select(c => c.DeviceId).Distinct().ToArray();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var usable = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM field_devices WHERE id = ANY(@ids) AND user_id = @userId AND revoked_at IS NULL",
            new { ids, userId = actor.UserId },
            cancellationToken: cancellationToken))).ToHashSet();
        for (var i = 0; i < commands.Count; i++)
        {
            if (!usable.Contains(commands[i].DeviceId))
            {
                errors.Add($"commands[{i}].deviceId", "sync.device_unknown", commands[i].DeviceId);
            }
        }
    }

    private async Task<CommandResult> ApplyOneAsync(Parsed command, Actor actor, CultureInfo culture, CancellationToken cancellationToken)
    {
        var hash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(
            new { command.Kind, command.BaseVersion, deviceTime = command.DeviceTime.ToUniversalTime(), command.Payload }, PayloadJson));
        // To the microsecond PostgreSQL keeps, so the first answer and every stored one read the same.
        var clockNow = clock.GetUtcNow().UtcDateTime;
        var now = new DateTime(clockNow.Ticks - (clockNow.Ticks % 10), DateTimeKind.Utc);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // A concurrent send of the same id waits here, on the primary key, until the first commits or rolls back.
        var claimed = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO sync_commands (command_id, device_id, user_id, kind, request_hash, base_version, device_time, synced_at, status)
            VALUES (@id, @deviceId, @userId, @kind, @hash, @baseVersion, @deviceTime, @now, 'applied')
            ON CONFLICT (command_id) DO NOTHING
            """,
            new
            {
                id = command.Id, deviceId = command.DeviceId, userId = actor.UserId, kind = command.Kind, hash, baseVersion = command.BaseVersion,
                deviceTime = command.DeviceTime.UtcDateTime, now,
            },
            transaction,
            cancellationToken: cancellationToken));
        if (claimed == 0)
        {
            var stored = await connection.QuerySingleAsync<StoredRow>(new CommandDefinition(
                "SELECT * FROM sync_commands WHERE command_id = @id", new { id = command.Id }, transaction, cancellationToken: cancellationToken));
            return stored.UserId != actor.UserId || !stored.RequestHash.AsSpan().SequenceEqual(hash)
                ? Refused(command.Id, new Refusal("sync.command_reused", command.Id), "commandId", culture, null)
                : stored.ToResult(culture);
        }

        await transaction.SaveAsync("effect", cancellationToken);
        var context = new Context(connection, transaction, actor, command, now, new Origin(command.DeviceId, command.Id, command.DeviceTime.UtcDateTime, now));
        // Read after the claim: a retention pass deleting this command's earlier result either committed before the claim
        // (its mark is seen here) or still holds the row the claim waited on.
        var purgedBefore = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            "SELECT commands_purged_before FROM field_devices WHERE id = @deviceId", new { deviceId = command.DeviceId }, transaction, cancellationToken: cancellationToken));
        var effect = purgedBefore is { } mark && command.DeviceTime.UtcDateTime < mark
            ? Failure.Gone("sync.command_expired", mark.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            : await EffectAsync(context, cancellationToken);
        if (effect.WaitingFor is { } photo)
        {
            await transaction.RollbackAsync(cancellationToken);
            return new CommandResult(
                command.Id, CommandStatus.WaitingForPhoto, "sync.waiting_for_photo", new Refusal("sync.waiting_for_photo", photo).ToText(culture), "payload.sha256",
                null, null, null, null);
        }

        string status;
        string? code = null;
        string[]? args = null;
        string? field = null;
        if (effect.Refusal is { } failure)
        {
            await transaction.RollbackAsync("effect", cancellationToken);
            status = "refused";
            (code, args, field) = Describe(failure);
        }
        else
        {
            status = effect.ConflictId is null ? "applied" : "conflict";
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE sync_commands SET status = @status, code = @code, args = @args::jsonb, field = @field, entity_id = @entityId, version = @version,
                conflict_id = @conflictId
            WHERE command_id = @id;
            UPDATE field_devices SET last_sync_at = @now WHERE id = @deviceId;
            """,
            new
            {
                id = command.Id, status, code, args = args is null ? null : JsonSerializer.Serialize(args), field, effect.EntityId, effect.Version, effect.ConflictId,
                now, deviceId = command.DeviceId,
            },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);

        if (status == "applied" && command.Payload is RoundResultPayload recorded)
        {
            await rounds.AfterRecordAsync(recorded.RoundId!.Value, recorded.ItemId, actor, cancellationToken);
        }

        return new StoredRow
        {
            CommandId = command.Id, Status = status, Code = code, Args = args is null ? null : JsonSerializer.Serialize(args), Field = field,
            EntityId = effect.EntityId, Version = effect.Version, ConflictId = effect.ConflictId, SyncedAt = now,
        }.ToResult(culture);
    }

    private static (string Code, string[] Args, string? Field) Describe(Failure failure)
    {
        var (field, reason) = failure.Errors?.Select(e => (e.Key, e.Value[0])).FirstOrDefault() ?? (null, failure.Reason);
        return (reason.Code, [.. reason.Args.Select(a => a switch
        {
            null => "",
            Refusal inner => inner.Code,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => a.ToString() ?? "",
        })], field is null ? null : "payload." + field);
    }

    private static CommandResult Refused(Guid id, Refusal reason, string? field, CultureInfo culture, DateTime? at) =>
        new(id, CommandStatus.Refused, reason.Code, reason.ToText(culture), field, null, null, null, at is { } t ? Devices.Utc(t) : null);

    private Task<Effect> EffectAsync(Context c, CancellationToken cancellationToken) => c.Command.Payload switch
    {
        TransitionPayload p => TransitionAsync(c, p, cancellationToken),
        CommentPayload p => CommentAsync(c, p, cancellationToken),
        FieldEditPayload p => FieldEdits.ApplyAsync(c.Connection, c.Transaction, p, c.Command.BaseVersion, c.Actor, c.Now, c.Origin, c.Command.Id, cancellationToken),
        PhotoPayload p => PhotoAsync(c, p, cancellationToken),
        RaisePayload p => RaiseAsync(c, p, cancellationToken),
        MeterReadingPayload p => ReadingAsync(c, p, cancellationToken),
        RoundStopPayload p => RoundAsync(c, p.RoundId, c.Command.Kind == CommandKinds.RoundConfirmStop
            ? new ConfirmStopCommand(c.Command.Id, p.StopId, p.Code)
            : new SkipStopCommand(c.Command.Id, p.StopId, p.Reason), null, cancellationToken),
        RoundResultPayload p => RoundAsync(c, p.RoundId, new RecordResultCommand(c.Command.Id, p.ItemId, p.Number, p.Text, p.PhotoSha256, p.Note), p.PhotoSha256, cancellationToken),
        RoundPayload p => RoundAsync(c, p.RoundId, new CompleteRoundCommand(c.Command.Id), null, cancellationToken),
        _ => throw new InvalidOperationException($"No effect for {c.Command.Payload.GetType().Name}."),
    };

    private async Task<Effect> TransitionAsync(Context c, TransitionPayload p, CancellationToken cancellationToken)
    {
        if (p.WorkOrderId is not { } id)
        {
            return Failure.Invalid("workOrderId", "field.required");
        }

        var action = c.Command.Kind switch
        {
            CommandKinds.WorkOrderStart => WorkOrderAction.Start,
            CommandKinds.WorkOrderHold => WorkOrderAction.Hold,
            CommandKinds.WorkOrderResume => WorkOrderAction.Resume,
            _ => WorkOrderAction.Resolve,
        };

        // Decided against the work order as it is now, whatever the device saw: its current version is the one sent on.
        var current = await c.Connection.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT row_version FROM work_orders WHERE id = @id FOR UPDATE", new { id }, c.Transaction, cancellationToken: cancellationToken));
        if (current is null)
        {
            return Failure.NotFound("work_order.not_found", id);
        }

        var moved = await transitions.ApplyAsync(
            c.Connection, c.Transaction, id, action, new TransitionRequest(WireNames.Of(action), p.Note, RowVersion: current), c.Actor, cancellationToken, c.Origin);
        return moved.Failure is { } failure ? failure : new Effect(id, moved.Value!.RowVersion);
    }

    private static async Task<Effect> CommentAsync(Context c, CommentPayload p, CancellationToken cancellationToken)
    {
        if (p.WorkOrderId is not { } id)
        {
            return Failure.Invalid("workOrderId", "field.required");
        }

        var body = p.Body?.Trim();
        if (string.IsNullOrEmpty(body) || body.Length > AddComment.MaxBodyLength)
        {
            return Failure.Invalid("body", "field.required_short", AddComment.MaxBodyLength);
        }

        if (await WorkOrderAccess.CheckAsync(c.Connection, c.Transaction, id, c.Actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var comment = await AddComment.InsertAsync(c.Connection, c.Transaction, id, body, c.Actor, c.Now, c.Origin, cancellationToken);
        return new Effect(comment.Id, null);
    }

    private static async Task<Effect> PhotoAsync(Context c, PhotoPayload p, CancellationToken cancellationToken)
    {
        if (p.WorkOrderId is not { } id)
        {
            return Failure.Invalid("workOrderId", "field.required");
        }

        if (FieldPhotos.ParseSha(p.Sha256) is not { } sha)
        {
            return Failure.Invalid("sha256", "inspection.photo_sha");
        }

        var name = p.FileName is null ? null : Path.GetFileName(p.FileName.Trim());
        if (name is { Length: 0 or > 255 })
        {
            return Failure.Invalid("fileName", "attachment.name");
        }

        if (await WorkOrderAccess.CheckAsync(c.Connection, c.Transaction, id, c.Actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        if (!await FieldPhotos.IsCompleteAsync(c.Connection, c.Transaction, sha, cancellationToken))
        {
            return Effect.Waiting(p.Sha256!.ToLowerInvariant());
        }

        // Appended once: the same photo on the same work order is one attachment, however many commands name it.
        var attachment = await c.Connection.QuerySingleOrDefaultAsync<(long Id, string FileName, string ContentType, int SizeBytes)?>(new CommandDefinition(
            """
            INSERT INTO attachments (work_order_id, file_name, content_type, size_bytes, sha256, content, uploaded_by, uploaded_at)
            SELECT @id, coalesce(@name, p.file_name), p.content_type, p.size_bytes, p.sha256, p.content, @actorId, @now
            FROM inspection_photos p
            WHERE p.sha256 = @sha AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.work_order_id = @id AND a.sha256 = @sha)
            RETURNING id, file_name, content_type, size_bytes
            """,
            new { id, name, actorId = c.Actor.UserId, now = c.Now, sha },
            c.Transaction,
            cancellationToken: cancellationToken));
        if (attachment is not { } added)
        {
            var existing = await c.Connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT min(id) FROM attachments WHERE work_order_id = @id AND sha256 = @sha", new { id, sha }, c.Transaction, cancellationToken: cancellationToken));
            return new Effect(existing, null);
        }

        await History.AppendAsync(
            c.Connection, c.Transaction, id, c.Now, c.Actor.UserId, EventKinds.Attachment, null, null, added.FileName,
            new { attachmentId = added.Id, added.ContentType, added.SizeBytes, Sha256 = Convert.ToHexStringLower(sha), via = c.Origin }, cancellationToken);
        return new Effect(added.Id, null);
    }

    private async Task<Effect> RaiseAsync(Context c, RaisePayload p, CancellationToken cancellationToken)
    {
        var request = new CreateWorkOrderRequest(p.TemplateId, p.Title, p.Description, p.Priority, p.Contact, p.AssetId, CustomFields: p.CustomFields);
        var created = await create.InsertAsync(c.Connection, c.Transaction, request, c.Actor, WorkOrderSource.Api, null, cancellationToken, c.Origin);
        if (created.Failure is { } failure)
        {
            return failure;
        }

        var version = await c.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT row_version FROM work_orders WHERE id = @id", new { id = created.Value!.Id }, c.Transaction, cancellationToken: cancellationToken));
        return new Effect(created.Value.Id, version);
    }

    private static async Task<Effect> ReadingAsync(Context c, MeterReadingPayload p, CancellationToken cancellationToken)
    {
        if (!MeterRegister.MayRecord(c.Actor))
        {
            return Failure.Forbidden("meter.record_forbidden");
        }

        var errors = new FieldErrors();
        if (p.MeterId is null)
        {
            errors.Add("meterId", "meter.meter_required");
        }

        var readAt = p.ReadAt?.UtcDateTime;
        ReadingRules.Validate(new ReadingInput(readAt, p.Value, p.IsReset, p.ResetReason), c.Now, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var recorded = await MeterRegister.RecordWithinAsync(
            c.Connection, c.Transaction, [new ReadingEntry(p.MeterId, readAt, p.Value, p.IsReset, p.ResetReason)], c.Actor, ReadingSource.Field, true, c.Now, cancellationToken);
        return recorded.Failure is { } failure ? failure : new Effect(recorded.Value![0].Reading.Id, null);
    }

    private async Task<Effect> RoundAsync(Context c, long? roundId, object command, string? photo, CancellationToken cancellationToken)
    {
        if (roundId is not { } id)
        {
            return Failure.Invalid("roundId", "field.required");
        }

        if (photo is not null)
        {
            if (FieldPhotos.ParseSha(photo) is not { } sha)
            {
                return Failure.Invalid("photoSha256", "inspection.photo_sha");
            }

            if (!await FieldPhotos.IsCompleteAsync(c.Connection, c.Transaction, sha, cancellationToken))
            {
                return Effect.Waiting(photo.ToLowerInvariant());
            }
        }

        var done = await rounds.WithinAsync(c.Connection, c.Transaction, id, command, c.Actor, cancellationToken);
        if (done.Failure is { } failure)
        {
            return failure;
        }

        if (command is RecordResultCommand && done.Value is { } resultId)
        {
            await c.Connection.ExecuteAsync(new CommandDefinition(
                "UPDATE inspection_results SET device_time = @deviceTime WHERE id = @resultId",
                new { resultId, deviceTime = c.Origin.DeviceTime },
                c.Transaction,
                cancellationToken: cancellationToken));
        }

        return new Effect(done.Value ?? id, null);
    }

    private sealed record Parsed(Guid Id, long DeviceId, string Kind, int? BaseVersion, DateTimeOffset DeviceTime, object Payload);

    private sealed record Context(NpgsqlConnection Connection, NpgsqlTransaction Transaction, Actor Actor, Parsed Command, DateTime Now, Origin Origin);

    private sealed class StoredRow
    {
        public Guid CommandId { get; init; }
        public long UserId { get; init; }
        public byte[] RequestHash { get; init; } = [];
        public string Status { get; init; } = "";
        public string? Code { get; init; }
        public string? Args { get; init; }
        public string? Field { get; init; }
        public long? EntityId { get; init; }
        public int? Version { get; init; }
        public long? ConflictId { get; init; }
        public DateTime SyncedAt { get; init; }

        public CommandResult ToResult(CultureInfo culture)
        {
            var status = Status switch
            {
                "refused" => CommandStatus.Refused,
                "conflict" => CommandStatus.Conflict,
                _ => CommandStatus.Applied,
            };
            var code = Code ?? (status == CommandStatus.Conflict ? "sync.conflict" : null);
            var args = Args is null ? [] : JsonSerializer.Deserialize<string[]>(Args) ?? [];
            var message = code is null ? null : new Refusal(code, [.. args.Cast<object?>()]).ToText(culture);
            return new CommandResult(CommandId, status, code, message, Field, EntityId, Version, ConflictId, Devices.Utc(SyncedAt));
        }
    }
}

/// <summary>Where a synced change came from, kept in the payload of its history event (<c>via</c>) beside the sync time.</summary>
public sealed record Origin(long DeviceId, Guid CommandId, DateTime DeviceTime, DateTime SyncedAt);

/// <summary>What a command did: applied (what it made or changed, and the work order's version after), refused, a conflict, or nothing yet (a photo missing).</summary>
internal sealed record Effect(long? EntityId, int? Version, long? ConflictId = null, Failure? Refusal = null, string? WaitingFor = null)
{
    public static Effect Waiting(string sha256) => new(null, null, WaitingFor: sha256);

    public static implicit operator Effect(Failure failure) => new(null, null, Refusal: failure);
}
