using WorkOrders.Ticketing;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Import;

/// <summary>One update of an event-log ticket, mapped: when it happened, the status it reports, its assignee and department.</summary>
public sealed record TicketUpdate(DateTime At, WorkOrderStatus Status, string? Assignee, string? AssigneeName, string Department);

/// <summary>
/// The history of a ticket exported as one row per update: from created, each update moves the work order the shortest
/// way the lifecycle allows to the status it reports, at its time. A new assignee is an assign (the first) or a reassign
/// (the later ones), a new department a transfer; a status that goes back from resolved or closed (to in progress, new
/// or assigned) is a reject (a reopen), so an earlier "closed" that was reopened counts as a resolve. Only the last update may close or cancel.
/// Times never go back: an update dated before the one before it takes that one's time.
/// </summary>
public static class EventLogHistory
{
    public const string Reassign = EventKinds.Reassign;
    public const string Transfer = EventKinds.Transfer;

    public const string HoldNote = "On hold in the source system (imported).";
    public const string FeedbackNote = "Awaiting feedback in the source system (imported).";

    private static readonly WorkOrderAction[] Moves =
    [
        WorkOrderAction.Start, WorkOrderAction.Hold, WorkOrderAction.AwaitFeedback, WorkOrderAction.Resume,
        WorkOrderAction.Resolve, WorkOrderAction.Approve, WorkOrderAction.Reject, WorkOrderAction.Cancel,
    ];

    public static HistoryPlan Plan(DateTime created, IReadOnlyList<TicketUpdate> updates)
    {
        ArgumentOutOfRangeException.ThrowIfZero(updates.Count, nameof(updates));
        var steps = new List<HistoryStep> { new(ImportHistory.Created, null, WorkOrderStatus.New, created) };
        var status = WorkOrderStatus.New;
        var department = updates[0].Department;
        string? assignee = null;
        DateTime? startedAt = null, resolvedAt = null, closedAt = null;
        var at = created;

        void Assign(TicketUpdate update)
        {
            if (update.Assignee is { } who && who != assignee && Lifecycle.Rule(WorkOrderAction.Assign).From.Contains(status))
            {
                steps.Add(new HistoryStep(assignee is null ? WireNames.Of(WorkOrderAction.Assign) : Reassign, status, WorkOrderStatus.Assigned, at, Assignee: who, AssigneeName: update.AssigneeName));
                status = WorkOrderStatus.Assigned;
                assignee = who;
            }
        }

        for (var i = 0; i < updates.Count; i++)
        {
            var update = updates[i];
            var last = i == updates.Count - 1;
            at = update.At > at ? update.At : at;
            if (update.Department != department)
            {
                steps.Add(new HistoryStep(Transfer, status, status, at, Department: update.Department, Note: $"Moved to {update.Department} in the source system (imported)."));
                department = update.Department;
            }

            var target = update.Status switch
            {
                WorkOrderStatus.Closed when !last => WorkOrderStatus.Resolved,
                WorkOrderStatus.Cancelled when !last => status,
                WorkOrderStatus.New or WorkOrderStatus.Assigned when status == WorkOrderStatus.Resolved => WorkOrderStatus.InProgress,
                var reported => reported,
            };

            // A new assignee is taken before the move when the work is open to one, else after it (a reopened ticket).
            Assign(update);
            foreach (var action in Path(status, target, assignee is not null))
            {
                var to = Lifecycle.Rule(action).To;
                var note = action switch
                {
                    WorkOrderAction.Hold => HoldNote,
                    WorkOrderAction.AwaitFeedback => FeedbackNote,
                    WorkOrderAction.Reject => ImportHistory.ReopenNote,
                    WorkOrderAction.Cancel => ImportHistory.CancelNote,
                    _ => null,
                };
                steps.Add(new HistoryStep(WireNames.Of(action), status, to, at, Note: note));
                status = to;
                startedAt ??= action == WorkOrderAction.Start ? at : null;
                resolvedAt = action == WorkOrderAction.Resolve ? at : resolvedAt;
                closedAt = action is WorkOrderAction.Approve or WorkOrderAction.Cancel ? at : closedAt;
            }

            Assign(update);
        }

        return new HistoryPlan(status, steps, created, startedAt, startedAt, resolvedAt, closedAt);
    }

    /// <summary>The final assignee of a plan: the one its last assign or reassign names.</summary>
    public static (string? Assignee, string? AssigneeName) FinalAssignee(HistoryPlan plan) =>
        plan.Steps.LastOrDefault(s => s.Assignee is not null) is { } step ? (step.Assignee, step.AssigneeName) : (null, null);

    /// <summary>
    /// The shortest run of lifecycle actions (besides assign) from one status to another; none when it cannot be reached
    /// (back to new or assigned). Without an assignee a start may leave from new, as in every import.
    /// </summary>
    internal static IReadOnlyList<WorkOrderAction> Path(WorkOrderStatus from, WorkOrderStatus to, bool hasAssignee)
    {
        var previous = new Dictionary<WorkOrderStatus, (WorkOrderStatus From, WorkOrderAction Action)>();
        var queue = new Queue<WorkOrderStatus>([from]);
        var seen = new HashSet<WorkOrderStatus> { from };
        while (queue.Count > 0 && !seen.Contains(to))
        {
            var status = queue.Dequeue();
            foreach (var action in Moves)
            {
                var (starts, next) = Lifecycle.Rule(action);
                var allowed = starts.Contains(status) || (action == WorkOrderAction.Start && status == WorkOrderStatus.New && !hasAssignee);
                if (allowed && seen.Add(next))
                {
                    previous[next] = (status, action);
                    queue.Enqueue(next);
                }
            }
        }

        if (from == to || !previous.ContainsKey(to))
        {
            return [];
        }

        var path = new List<WorkOrderAction>();
        for (var at = to; at != from; at = previous[at].From)
        {
            path.Add(previous[at].Action);
        }

        path.Reverse();
        return path;
    }
}
