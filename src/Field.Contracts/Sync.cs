using System.Text.Json;

namespace WorkOrders.FieldApp.Contracts;

/// <summary>
/// One change made on the device, queued in its outbox. <see cref="CommandId"/> is made by the client (a UUIDv7, so the
/// outbox sorts by creation) and names the change for ever: the server applies it at most once and answers every later
/// send of the same id with the stored result. <see cref="BaseVersion"/> is the version of the thing changed as the
/// device last saw it (a work order's <c>version</c>), <see cref="DeviceTime"/> the device's clock when the change was
/// made (kept in the history beside the server's sync time), <see cref="Kind"/> one of <see cref="CommandKinds"/> and
/// <see cref="Payload"/> the record of that kind.
/// </summary>
public sealed record SyncCommand(
    Guid? CommandId,
    long? DeviceId,
    int? BaseVersion,
    DateTimeOffset? DeviceTime,
    string? Kind,
    JsonElement? Payload);

/// <summary><c>POST /api/v1/sync/commands</c>: at most 200 commands, applied in the order given.</summary>
public sealed record SyncBatch(IReadOnlyList<SyncCommand>? Commands);

/// <summary>What became of a command.</summary>
public enum CommandStatus
{
    /// <summary>Done (now, or on an earlier send of the same id): drop it from the outbox.</summary>
    Applied,

    /// <summary>The rules said no (<see cref="CommandResult.Code"/> and message say why); final, drop it and show the reason.</summary>
    Refused,

    /// <summary>A field edit that met another edit of the same field; a conflict record waits for the department's manager. Final.</summary>
    Conflict,

    /// <summary>A photo it names is not complete on the server yet: nothing was done; upload the photo and send the command again.</summary>
    WaitingForPhoto,
}

/// <summary>
/// The answer for one command, the same on every send of its id (except <see cref="CommandStatus.WaitingForPhoto"/>,
/// which is not stored). <see cref="Code"/> is a stable refusal code (<c>transition.not_from_status</c>), the
/// <see cref="Message"/> its text in the request's Accept-Language, <see cref="Field"/> the payload field at fault when
/// there is one. <see cref="EntityId"/> is what the command made or changed (the work order of a transition, the new
/// work order of a raise, the comment, the reading, the round result) and <see cref="Version"/> the work order's version
/// after it, when it changed one.
/// </summary>
public sealed record CommandResult(
    Guid CommandId,
    CommandStatus Status,
    string? Code,
    string? Message,
    string? Field,
    long? EntityId,
    int? Version,
    long? ConflictId,
    DateTimeOffset? SyncedAt);

/// <summary>The answer to a batch: one result per command, in the order sent.</summary>
public sealed record SyncBatchResult(IReadOnlyList<CommandResult> Results);

/// <summary>The kinds of command and the payload record each takes.</summary>
public static class CommandKinds
{
    /// <summary><see cref="TransitionPayload"/>: assigned -> in progress.</summary>
    public const string WorkOrderStart = "work_order.start";

    /// <summary><see cref="TransitionPayload"/> with the reason in the note: in progress -> on hold.</summary>
    public const string WorkOrderHold = "work_order.hold";

    /// <summary><see cref="TransitionPayload"/>: on hold (or waiting) -> in progress.</summary>
    public const string WorkOrderResume = "work_order.resume";

    /// <summary><see cref="TransitionPayload"/>: in progress -> resolved.</summary>
    public const string WorkOrderResolve = "work_order.resolve";

    /// <summary><see cref="CommentPayload"/>: appended.</summary>
    public const string WorkOrderComment = "work_order.comment";

    /// <summary><see cref="FieldEditPayload"/>: a field set from <see cref="SyncCommand.BaseVersion"/>.</summary>
    public const string WorkOrderEdit = "work_order.edit";

    /// <summary><see cref="PhotoPayload"/>: an uploaded photo attached to a work order (appended).</summary>
    public const string WorkOrderPhoto = "work_order.photo";

    /// <summary><see cref="RaisePayload"/>: a new work order from a template.</summary>
    public const string WorkOrderRaise = "work_order.raise";

    /// <summary><see cref="MeterReadingPayload"/>: appended by the meter's rules.</summary>
    public const string MeterReading = "meter.reading";

    /// <summary><see cref="RoundStopPayload"/> with the QR code read: a stop of a round confirmed.</summary>
    public const string RoundConfirmStop = "round.confirm_stop";

    /// <summary><see cref="RoundStopPayload"/> with a reason: a stop's scan skipped.</summary>
    public const string RoundSkipStop = "round.skip_stop";

    /// <summary><see cref="RoundResultPayload"/>: an item's result; a failure raises a finding work order once.</summary>
    public const string RoundRecord = "round.record";

    /// <summary><see cref="RoundPayload"/>: the round completed.</summary>
    public const string RoundComplete = "round.complete";

    public static IReadOnlyList<string> All { get; } =
    [
        WorkOrderStart, WorkOrderHold, WorkOrderResume, WorkOrderResolve, WorkOrderComment, WorkOrderEdit, WorkOrderPhoto,
        WorkOrderRaise, MeterReading, RoundConfirmStop, RoundSkipStop, RoundRecord, RoundComplete,
    ];
}

/// <summary>Moves a work order; decided by the lifecycle against its state when the command arrives, not its base.</summary>
public sealed record TransitionPayload(long? WorkOrderId, string? Note = null);

public sealed record CommentPayload(long? WorkOrderId, string? Body);

/// <summary>The fields a device may edit: see <see cref="EditableFields"/>.</summary>
public sealed record FieldEditPayload(long? WorkOrderId, string? Field, string? Value);

public static class EditableFields
{
    public const string Title = "title";
    public const string Description = "description";
    public const string Contact = "contact";

    public static IReadOnlyList<string> All { get; } = [Title, Description, Contact];
}

/// <summary>A photo uploaded by its SHA-256 (lower-case hex) through <c>PUT /api/v1/field/photos/{sha256}</c>.</summary>
public sealed record PhotoPayload(long? WorkOrderId, string? Sha256, string? FileName = null);

public sealed record RaisePayload(
    long? TemplateId,
    string? Title,
    string? Description,
    int? Priority = null,
    long? AssetId = null,
    string? Contact = null,
    Dictionary<string, JsonElement>? CustomFields = null);

public sealed record MeterReadingPayload(long? MeterId, DateTimeOffset? ReadAt, decimal? Value, bool IsReset = false, string? ResetReason = null);

public sealed record RoundPayload(long? RoundId);

public sealed record RoundStopPayload(long? RoundId, long? StopId, string? Code = null, string? Reason = null);

public sealed record RoundResultPayload(long? RoundId, long? ItemId, decimal? Number = null, string? Text = null, string? PhotoSha256 = null, string? Note = null);

/// <summary>
/// <c>GET /api/v1/sync/changes?cursor=</c>: the work orders and rounds of the user's scope written since the cursor (a
/// trip pack's or an earlier answer's), each as it is now: a work order that was closed or handed to someone else
/// comes with its new status or assignee, so the app can drop it. Keep <see cref="Cursor"/> for the next call.
/// </summary>
public sealed record ChangeSet(string Cursor, DateTimeOffset GeneratedAt, IReadOnlyList<PackWorkOrder> WorkOrders, IReadOnlyList<RoundChange> Rounds);

public sealed record RoundChange(long Id, string Status, long? AssigneeId, DateTimeOffset? CompletedAt);

/// <summary>
/// <c>GET /api/v1/field/photos/{sha256}</c> (or HEAD, with the figures in headers): how much of a photo the server has.
/// Send the rest from <see cref="ReceivedBytes"/> with <c>PUT</c> and <c>Content-Range: bytes {from}-{to}/{total}</c>;
/// <see cref="Complete"/> once every byte is in and its SHA-256 matched.
/// </summary>
public sealed record PhotoUploadStatus(string Sha256, long TotalBytes, long ReceivedBytes, bool Complete, string? ContentType);
