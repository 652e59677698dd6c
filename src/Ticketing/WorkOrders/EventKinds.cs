using WorkOrders.Ticketing.Sla;

namespace WorkOrders.Ticketing.WorkOrders;

/// <summary>
/// Every kind of work-order history event the product writes: the one list that <see cref="History"/> holds its
/// writers to and that webhook subscriptions are checked against. A new kind is added here, or it cannot be written.
/// </summary>
public static class EventKinds
{
    public const string Created = "created";
    public const string Comment = "comment";
    public const string Attachment = "attachment";
    public const string SubTaskOf = "subtask_of";
    public const string SubTaskAdded = "subtask_added";
    public const string SubTaskOverride = "subtask_override";
    public const string CollaboratorAdded = "collaborator_added";
    public const string CollaboratorRemoved = "collaborator_removed";
    public const string Finding = "finding";
    public const string AutoAssigned = "auto_assigned";
    public const string Queued = "queued";
    public const string Reassign = "reassign";
    public const string Claim = "claim";
    public const string AlarmRaised = "alarm_raised";
    public const string AlarmCleared = "alarm_cleared";

    /// <summary>A field of a work order (title, description, contact) set from a field device, or by a manager resolving a sync conflict.</summary>
    public const string FieldEdited = "field_edited";

    /// <summary>A field edit from a device that met another edit of the same field: a conflict for the department's manager.</summary>
    public const string SyncConflict = "sync_conflict";

    /// <summary>A move to another department, as an imported event log records it.</summary>
    public const string Transfer = "transfer";

    /// <summary>The kind of a lifecycle transition's event: the action's wire name ("assign", "resolve", ...).</summary>
    public static string Of(WorkOrderAction action) => WireNames.Of(action);

    /// <summary>All kinds, in a stable order: the core's own, the SLA's, then one per lifecycle action.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Created, Comment, Attachment, SubTaskOf, SubTaskAdded, SubTaskOverride, CollaboratorAdded, CollaboratorRemoved, Finding,
        AutoAssigned, Queued, Reassign, Claim, AlarmRaised, AlarmCleared, Transfer, FieldEdited, SyncConflict,
        SlaEvents.Paused, SlaEvents.Resumed, SlaEvents.Warning, SlaEvents.Breach, SlaEvents.PriorityRaised,
        .. Enum.GetValues<WorkOrderAction>().Select(Of),
    ];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string? kind) => kind is not null && Known.Contains(kind);
}
