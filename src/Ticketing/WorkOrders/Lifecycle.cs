using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.WorkOrders;

public enum WorkOrderStatus
{
    New,
    Assigned,
    InProgress,
    OnHold,
    AwaitingFeedback,
    NeedsCollaboration,
    Resolved,
    Closed,
    Cancelled,
}

public enum WorkOrderAction
{
    Assign,
    Start,
    Hold,
    AwaitFeedback,
    RequestCollaboration,
    Resume,
    Resolve,
    Approve,
    Reject,
    Cancel,
}

/// <summary>What the decision needs to know about a work order.</summary>
public sealed record WorkOrderState(
    WorkOrderStatus Status,
    long RequesterId,
    long DepartmentId,
    long? AssigneeId,
    DateTime? AcknowledgedAt,
    DateTime? StartedAt);

/// <summary>The facts about a proposed assignee, looked up before the decision so that it stays pure.</summary>
public sealed record Candidate(long UserId, string UserName, Role Role, long? DepartmentId, bool Active);

public sealed record TransitionCommand(WorkOrderAction Action, string? Note = null, Candidate? Assignee = null, int? Rating = null);

/// <summary>The change a legal transition makes. Null timestamps leave the stored value as it is.</summary>
public sealed record Transition(
    WorkOrderStatus From,
    WorkOrderStatus To,
    long? AssigneeId,
    DateTime? AcknowledgedAt,
    DateTime? StartedAt,
    DateTime? ResolvedAt,
    bool ClearResolvedAt,
    DateTime? ClosedAt,
    int? Rating);

/// <summary>The one rule for every work-order transition: (state, command, actor, clock) -> outcome.</summary>
public static class Lifecycle
{
    public const int MaxNoteLength = 4000;

    public static IReadOnlySet<WorkOrderStatus> OpenStatuses { get; } = new HashSet<WorkOrderStatus>
    {
        WorkOrderStatus.New, WorkOrderStatus.Assigned, WorkOrderStatus.InProgress, WorkOrderStatus.OnHold,
        WorkOrderStatus.AwaitingFeedback, WorkOrderStatus.NeedsCollaboration, WorkOrderStatus.Resolved,
    };

    private static readonly WorkOrderStatus[] Working =
        [WorkOrderStatus.New, WorkOrderStatus.Assigned, WorkOrderStatus.InProgress, WorkOrderStatus.OnHold, WorkOrderStatus.AwaitingFeedback, WorkOrderStatus.NeedsCollaboration];

    private static readonly WorkOrderStatus[] Paused =
        [WorkOrderStatus.OnHold, WorkOrderStatus.AwaitingFeedback, WorkOrderStatus.NeedsCollaboration];

    /// <summary>The statuses an action may start from, and where it leads.</summary>
    public static (WorkOrderStatus[] From, WorkOrderStatus To) Rule(WorkOrderAction action) => action switch
    {
        WorkOrderAction.Assign => (Working, WorkOrderStatus.Assigned),
        WorkOrderAction.Start => ([WorkOrderStatus.Assigned], WorkOrderStatus.InProgress),
        WorkOrderAction.Hold => ([WorkOrderStatus.InProgress], WorkOrderStatus.OnHold),
        WorkOrderAction.AwaitFeedback => ([WorkOrderStatus.InProgress], WorkOrderStatus.AwaitingFeedback),
        WorkOrderAction.RequestCollaboration => ([WorkOrderStatus.InProgress], WorkOrderStatus.NeedsCollaboration),
        WorkOrderAction.Resume => (Paused, WorkOrderStatus.InProgress),
        WorkOrderAction.Resolve => ([WorkOrderStatus.InProgress], WorkOrderStatus.Resolved),
        WorkOrderAction.Approve => ([WorkOrderStatus.Resolved], WorkOrderStatus.Closed),
        WorkOrderAction.Reject => ([WorkOrderStatus.Resolved], WorkOrderStatus.InProgress),
        WorkOrderAction.Cancel => ([.. Working, WorkOrderStatus.Resolved], WorkOrderStatus.Cancelled),
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };

    public static Outcome<Transition> Decide(WorkOrderState state, TransitionCommand command, Actor actor, DateTime now)
    {
        var (from, to) = Rule(command.Action);
        var action = WireNames.Of(command.Action);
        if (!from.Contains(state.Status))
        {
            return Failure.Illegal("transition.not_from_status", WireNames.Of(state.Status), action);
        }

        if (Permission(state, command.Action, actor, command.Assignee?.UserId) is { } refusal)
        {
            return new Failure(FailureKind.Forbidden, refusal);
        }

        var note = command.Note?.Trim();
        if (note is { Length: > MaxNoteLength })
        {
            return Failure.Invalid("note", "field.too_long", MaxNoteLength);
        }

        if (string.IsNullOrEmpty(note) && command.Action is WorkOrderAction.Hold or WorkOrderAction.Reject or WorkOrderAction.Cancel)
        {
            return Failure.Invalid("note", command.Action switch
            {
                WorkOrderAction.Hold => "transition.reason_required_hold",
                WorkOrderAction.Reject => "transition.reason_required_reject",
                _ => "transition.reason_required_cancel",
            });
        }

        if (command.Rating is { } rating && (command.Action != WorkOrderAction.Approve || rating is < 1 or > 5))
        {
            return Failure.Invalid("rating", command.Action == WorkOrderAction.Approve
                ? "transition.rating_range"
                : "transition.rating_only_on_approve");
        }

        var assigneeId = state.AssigneeId;
        if (command.Action == WorkOrderAction.Assign)
        {
            if (AssigneeProblem(state, command.Assignee) is { } problem)
            {
                return Failure.Invalid("assigneeId", problem);
            }

            assigneeId = command.Assignee!.UserId;
        }

        return new Transition(
            state.Status,
            to,
            assigneeId,
            AcknowledgedAt: command.Action == WorkOrderAction.Start && state.AcknowledgedAt is null ? now : null,
            StartedAt: command.Action == WorkOrderAction.Start && state.StartedAt is null ? now : null,
            ResolvedAt: command.Action == WorkOrderAction.Resolve ? now : null,
            ClearResolvedAt: command.Action == WorkOrderAction.Reject,
            ClosedAt: command.Action is WorkOrderAction.Approve or WorkOrderAction.Cancel ? now : null,
            Rating: command.Rating);
    }

    /// <summary>The actions this actor may take now (a technician's assign is a claim for themselves).</summary>
    public static IReadOnlyList<WorkOrderAction> Allowed(WorkOrderState state, Actor actor) =>
        Enum.GetValues<WorkOrderAction>()
            .Where(a => Rule(a).From.Contains(state.Status) && Permission(state, a, actor, actor.UserId) is null)
            .ToList();

    private static Refusal? Permission(WorkOrderState state, WorkOrderAction action, Actor actor, long? assigneeId)
    {
        var manages = actor.ManagesDepartment(state.DepartmentId);
        var isAssignee = state.AssigneeId == actor.UserId;
        var isRequester = state.RequesterId == actor.UserId;
        return action switch
        {
            WorkOrderAction.Assign when manages => null,
            WorkOrderAction.Assign when actor.Role == Role.Technician
                && actor.DepartmentId == state.DepartmentId
                && state.Status is WorkOrderStatus.New
                && assigneeId == actor.UserId => null,
            WorkOrderAction.Assign => new Refusal("transition.assign_not_allowed"),
            WorkOrderAction.Start or WorkOrderAction.Hold or WorkOrderAction.AwaitFeedback or WorkOrderAction.RequestCollaboration
                or WorkOrderAction.Resume or WorkOrderAction.Resolve when isAssignee || manages => null,
            WorkOrderAction.Start or WorkOrderAction.Hold or WorkOrderAction.AwaitFeedback or WorkOrderAction.RequestCollaboration
                or WorkOrderAction.Resume or WorkOrderAction.Resolve => new Refusal("transition.work_not_allowed"),
            WorkOrderAction.Approve or WorkOrderAction.Reject when (isRequester && !isAssignee) || manages => null,
            WorkOrderAction.Approve or WorkOrderAction.Reject => new Refusal("transition.review_not_allowed"),
            WorkOrderAction.Cancel when manages => null,
            WorkOrderAction.Cancel when isRequester && state.Status is WorkOrderStatus.New or WorkOrderStatus.Assigned => null,
            WorkOrderAction.Cancel => new Refusal("transition.cancel_not_allowed"),
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
        };
    }

    private static Refusal? AssigneeProblem(WorkOrderState state, Candidate? candidate) => candidate switch
    {
        null => new("transition.assignee_required"),
        { Active: false } => new("user.inactive", candidate.UserName),
        { Role: not (Role.Technician or Role.Manager) } => new("user.not_technician_or_manager", candidate.UserName),
        _ when candidate.DepartmentId != state.DepartmentId => new("transition.assignee_other_department", candidate.UserName),
        _ when candidate.UserId == state.AssigneeId && state.Status == WorkOrderStatus.Assigned => new("transition.already_assigned", candidate.UserName),
        _ => null,
    };
}
