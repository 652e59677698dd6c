using WorkOrders.Ticketing;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Import;

/// <summary>
/// One event of an imported history: an action wire name ("created", "assign", "start"...) and the move it made.
/// <see cref="TimeKnown"/> is false for a step the source implies but does not date (a resolve the mapping says not to
/// date): it is placed at the next known time and the work order's own time for it stays empty.
/// An event-log history also names the assignee of an assign or reassign, the department of a transfer, and a note.
/// </summary>
public sealed record HistoryStep(
    string Kind,
    WorkOrderStatus? From,
    WorkOrderStatus To,
    DateTime At,
    bool TimeKnown = true,
    string? Assignee = null,
    string? AssigneeName = null,
    string? Department = null,
    string? Note = null);

/// <summary>The lifecycle times of a ticket in UTC, as far as the source knows them.</summary>
public sealed record TicketTimes(DateTime Created, DateTime? Acknowledged, DateTime? Started, DateTime? Resolved, DateTime? Closed);

/// <summary>The history an imported work order gets, and the row fields that agree with it.</summary>
public sealed record HistoryPlan(
    WorkOrderStatus Status,
    IReadOnlyList<HistoryStep> Steps,
    DateTime CreatedAt,
    DateTime? AcknowledgedAt,
    DateTime? StartedAt,
    DateTime? ResolvedAt,
    DateTime? ClosedAt)
{
    /// <summary>The created event is version 1; each transition adds one, as in the live application.</summary>
    public int RowVersion => Steps.Count;

    public DateTime UpdatedAt => Steps[^1].At;
}

/// <summary>
/// Writes the history the live lifecycle would have written for a ticket that reached a status: created -> new; assign when
/// an assignee is known; start; resolve; then approve -> closed or cancel -> cancelled. Each action moves between the
/// statuses <see cref="Lifecycle.Rule"/> gives it, except that without a known assignee the start leaves from new, since
/// the source never recorded an assignment.
/// </summary>
public static class ImportHistory
{
    public const string Created = EventKinds.Created;

    /// <summary>The note of a cancel, which the lifecycle requires.</summary>
    public const string CancelNote = "Cancelled in the source system (imported).";

    /// <summary>The note of a reject (a reopen), which the lifecycle requires.</summary>
    public const string ReopenNote = "Reopened in the source system (imported).";

    public static HistoryPlan Plan(
        WorkOrderStatus target,
        bool hasAssignee,
        TicketTimes times,
        UnknownStart unknownStart,
        ResolvedWhenMissing resolvedWhenMissing = ResolvedWhenMissing.Closed,
        int reopens = 0)
    {
        if (!ImportMapping.TargetStatuses.Contains(target))
        {
            throw new ArgumentOutOfRangeException(nameof(target), target, "imported work orders end new, assigned, in progress, resolved, closed or cancelled");
        }

        var steps = new List<HistoryStep> { new(Created, null, WorkOrderStatus.New, times.Created) };
        var status = WorkOrderStatus.New;
        void Take(WorkOrderAction action, DateTime at, bool known = true)
        {
            var to = Lifecycle.Rule(action).To;
            var note = action switch
            {
                WorkOrderAction.Cancel => CancelNote,
                WorkOrderAction.Reject => ReopenNote,
                _ => null,
            };
            steps.Add(new HistoryStep(WireNames.Of(action), status, to, at, known, Note: note));
            status = to;
        }

        if (hasAssignee)
        {
            Take(WorkOrderAction.Assign, times.Created);
        }

        var resolves = target is WorkOrderStatus.Resolved or WorkOrderStatus.Closed || (target == WorkOrderStatus.Cancelled && times.Resolved is not null);
        var starts = resolves || target == WorkOrderStatus.InProgress
            || (target == WorkOrderStatus.Cancelled && (times.Started ?? times.Acknowledged) is not null);
        DateTime? acknowledgedAt = null, startedAt = null, resolvedAt = null, closedAt = null;
        if (starts)
        {
            var at = times.Started ?? times.Acknowledged ?? unknownStart switch
            {
                UnknownStart.AtCreate => times.Created,
                _ => times.Resolved ?? times.Closed ?? times.Created,
            };
            var known = times.Started is not null || times.Acknowledged is not null || unknownStart != UnknownStart.NotKnown;
            startedAt = known ? at : null;
            acknowledgedAt = known ? times.Acknowledged ?? at : null;
            Take(WorkOrderAction.Start, at, known);

            // The source counts its reopens without their times: each is a resolve and a reject, undated, at the start.
            for (var reopen = 0; reopen < reopens; reopen++)
            {
                Take(WorkOrderAction.Resolve, at, known: false);
                Take(WorkOrderAction.Reject, at, known: false);
            }
        }

        if (resolves)
        {
            var at = times.Resolved ?? times.Closed ?? throw new ArgumentException("a resolved ticket needs a resolved or closed time", nameof(times));
            var known = times.Resolved is not null || resolvedWhenMissing == ResolvedWhenMissing.Closed;
            resolvedAt = known ? at : null;
            Take(WorkOrderAction.Resolve, at, known);
        }

        if (target is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled)
        {
            closedAt = times.Closed ?? throw new ArgumentException("a closed or cancelled ticket needs a closed time", nameof(times));
            Take(target == WorkOrderStatus.Closed ? WorkOrderAction.Approve : WorkOrderAction.Cancel, closedAt.Value);
        }

        return new HistoryPlan(status, steps, times.Created, acknowledgedAt, startedAt, resolvedAt, closedAt);
    }
}
