using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.WorkOrders;

public enum WorkOrderSource
{
    Web,
    Api,
    Alarm,
    Inspection,
    Pm,
    Forecast,
    Import,
}

public sealed record WorkOrderSummary(
    long Id,
    string Number,
    string Title,
    int Priority,
    WorkOrderStatus Status,
    WorkType WorkType,
    string TemplateName,
    long DepartmentId,
    string DepartmentName,
    long? AssigneeId,
    string? AssigneeName,
    long? AssetId,
    string? AssetCode,
    string RequesterName,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? DueAt,
    int RowVersion);

public sealed record WorkOrderEvent(
    long Id,
    DateTime OccurredAt,
    long? ActorId,
    string? ActorName,
    string Kind,
    WorkOrderStatus? FromStatus,
    WorkOrderStatus? ToStatus,
    string? Note,
    JsonElement Payload);

public sealed record Comment(long Id, long AuthorId, string AuthorName, string Body, DateTime CreatedAt);

public sealed record AttachmentInfo(long Id, string FileName, string ContentType, int SizeBytes, string Sha256, string UploadedByName, DateTime UploadedAt);

public sealed record WorkOrderDetail(
    long Id,
    string Number,
    long TemplateId,
    string TemplateName,
    WorkType WorkType,
    string Title,
    string Description,
    int Priority,
    WorkOrderStatus Status,
    long RequesterId,
    string RequesterName,
    string? Contact,
    long? AssetId,
    string? AssetCode,
    string? AssetName,
    long DepartmentId,
    string DepartmentName,
    long? AssigneeId,
    string? AssigneeName,
    string? Reference,
    DateTime? DueAt,
    DateTime? ResponseDueAt,
    DateTime? ResolutionDueAt,
    DateTime CreatedAt,
    DateTime? AcknowledgedAt,
    DateTime? StartedAt,
    DateTime? ResolvedAt,
    DateTime? ClosedAt,
    IReadOnlyDictionary<string, JsonElement> CustomFields,
    WorkOrderSource Source,
    int? Rating,
    int RowVersion,
    IReadOnlyList<WorkOrderAction> AllowedActions,
    IReadOnlyList<WorkOrderEvent> History,
    IReadOnlyList<Comment> Comments,
    IReadOnlyList<AttachmentInfo> Attachments)
{
    public WorkOrderState State => new(Status, RequesterId, DepartmentId, AssigneeId, AcknowledgedAt, StartedAt);
}

/// <summary>Who may see a work order. The same rule is written once in C# and once as SQL for lists.</summary>
public static class Visibility
{
    /// <summary>A filter on work_orders aliased w; takes @seesAll, @me, @department, @departmentScoped.</summary>
    public const string Sql = $"""
        (@seesAll OR w.requester_id = @me OR w.assignee_id = @me OR (@departmentScoped AND w.department_id = @department)
         OR {IsCollaboratorSql})
        """;

    /// <summary>Whether @me collaborates on the work order aliased w; a column for the single-row checks.</summary>
    public const string IsCollaboratorSql = """
        EXISTS (SELECT 1 FROM work_order_collaborators wc WHERE wc.work_order_id = w.id AND wc.user_id = @me)
        """;

    public static bool CanSee(Actor actor, long requesterId, long? assigneeId, long departmentId, bool isCollaborator = false) =>
        actor.SeesEverything
        || requesterId == actor.UserId
        || assigneeId == actor.UserId
        || isCollaborator
        || (DepartmentScoped(actor) && departmentId == actor.DepartmentId);

    public static void AddParameters(DynamicParameters parameters, Actor actor)
    {
        parameters.Add("seesAll", actor.SeesEverything);
        parameters.Add("me", actor.UserId);
        parameters.Add("department", actor.DepartmentId ?? 0);
        parameters.Add("departmentScoped", DepartmentScoped(actor));
    }

    private static bool DepartmentScoped(Actor actor) => actor.Role is Role.Manager or Role.Technician && actor.DepartmentId is not null;
}

/// <summary>Appends to the work-order history. History rows are never changed afterwards.</summary>
internal static class History
{
    private const string Insert = """
        INSERT INTO work_order_events (work_order_id, occurred_at, actor_id, kind, from_status, to_status, note, payload)
        VALUES (@workOrderId, @occurredAt, @actorId, @kind, @fromStatus, @toStatus, @note, @payload::jsonb)
        """;

    public static Task AppendAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        long workOrderId,
        DateTime occurredAt,
        long? actorId,
        string kind,
        WorkOrderStatus? from,
        WorkOrderStatus? to,
        string? note,
        object? payload,
        CancellationToken cancellationToken) =>
        !EventKinds.IsKnown(kind)
            ? throw new ArgumentException($"'{kind}' is not in EventKinds.All: add it there, where webhook subscriptions are checked too.", nameof(kind))
            : connection.ExecuteAsync(new CommandDefinition(
            Insert,
            new
            {
                workOrderId,
                occurredAt,
                actorId,
                kind,
                fromStatus = from is { } f ? WireNames.Of(f) : null,
                toStatus = to is { } t ? WireNames.Of(t) : null,
                note,
                payload = JsonSerializer.Serialize(payload ?? new { }, TemplateSchema.Json),
            },
            transaction,
            cancellationToken: cancellationToken));
}
