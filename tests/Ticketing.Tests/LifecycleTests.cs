using System.Globalization;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using static WorkOrders.Ticketing.WorkOrders.WorkOrderAction;
using static WorkOrders.Ticketing.WorkOrders.WorkOrderStatus;

namespace WorkOrders.Ticketing.Tests;

public class LifecycleTests
{
    private const long Department = 10;
    private static readonly DateTime Now = new(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc);
    private static readonly Actor Manager = new(1, "manager", Role.Manager, Department);
    private static readonly Actor Requester = new(2, "requester", Role.Requester, null);
    private static readonly Actor Technician = new(3, "technician", Role.Technician, Department);
    private static readonly Actor OtherTechnician = new(4, "other", Role.Technician, Department);
    private static readonly Candidate Colleague = new(5, "colleague", Role.Technician, Department, Active: true);

    /// <summary>Where each action may start and where it leads, written out by hand from the product's cycle.</summary>
    private static readonly Dictionary<(WorkOrderStatus, WorkOrderAction), WorkOrderStatus> Legal = new()
    {
        [(New, Assign)] = Assigned,
        [(Assigned, Assign)] = Assigned,
        [(InProgress, Assign)] = Assigned,
        [(OnHold, Assign)] = Assigned,
        [(AwaitingFeedback, Assign)] = Assigned,
        [(NeedsCollaboration, Assign)] = Assigned,
        [(Assigned, Start)] = InProgress,
        [(InProgress, Hold)] = OnHold,
        [(InProgress, AwaitFeedback)] = AwaitingFeedback,
        [(InProgress, RequestCollaboration)] = NeedsCollaboration,
        [(OnHold, Resume)] = InProgress,
        [(AwaitingFeedback, Resume)] = InProgress,
        [(NeedsCollaboration, Resume)] = InProgress,
        [(InProgress, Resolve)] = Resolved,
        [(Resolved, Approve)] = Closed,
        [(Resolved, Reject)] = InProgress,
        [(New, Cancel)] = Cancelled,
        [(Assigned, Cancel)] = Cancelled,
        [(InProgress, Cancel)] = Cancelled,
        [(OnHold, Cancel)] = Cancelled,
        [(AwaitingFeedback, Cancel)] = Cancelled,
        [(NeedsCollaboration, Cancel)] = Cancelled,
        [(Resolved, Cancel)] = Cancelled,
    };

    public static TheoryData<WorkOrderStatus, WorkOrderAction> EveryPair()
    {
        var data = new TheoryData<WorkOrderStatus, WorkOrderAction>();
        foreach (var status in Enum.GetValues<WorkOrderStatus>())
        {
            foreach (var action in Enum.GetValues<WorkOrderAction>())
            {
                data.Add(status, action);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void every_status_and_action_pair_is_either_the_documented_transition_or_an_illegal_one(WorkOrderStatus status, WorkOrderAction action)
    {
        // The department's manager may do everything, so only the status decides here.
        var state = new WorkOrderState(status, Requester.UserId, Department, AssigneeId: Technician.UserId, null, null);
        var command = new TransitionCommand(action, Note: "because", Assignee: Colleague, Rating: action == Approve ? 5 : null);

        var outcome = Lifecycle.Decide(state, command, Manager, Now);

        if (Legal.TryGetValue((status, action), out var expected))
        {
            Assert.True(outcome.Succeeded, outcome.Failure?.Message);
            Assert.Equal(status, outcome.Value!.From);
            Assert.Equal(expected, outcome.Value.To);
        }
        else
        {
            Assert.Equal(FailureKind.IllegalTransition, outcome.Failure?.Kind);
            Assert.Contains(WireNames.Of(action), outcome.Failure!.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void closed_and_cancelled_work_orders_take_no_action_at_all()
    {
        foreach (var status in new[] { Closed, Cancelled })
        {
            var state = new WorkOrderState(status, Requester.UserId, Department, Technician.UserId, Now, Now);
            Assert.Empty(Lifecycle.Allowed(state, Manager));
        }
    }

    [Fact]
    public void starting_records_acknowledged_and_started_once()
    {
        var first = Lifecycle.Decide(State(Assigned), new TransitionCommand(Start), Technician, Now).Value!;
        Assert.Equal(Now, first.AcknowledgedAt);
        Assert.Equal(Now, first.StartedAt);

        var earlier = Now.AddHours(-5);
        var again = Lifecycle.Decide(State(Assigned) with { AcknowledgedAt = earlier, StartedAt = earlier }, new TransitionCommand(Start), Technician, Now).Value!;
        Assert.Null(again.AcknowledgedAt);
        Assert.Null(again.StartedAt);
    }

    [Fact]
    public void resolving_stamps_the_time_and_rejecting_clears_it()
    {
        var resolved = Lifecycle.Decide(State(InProgress), new TransitionCommand(Resolve, "fixed"), Technician, Now).Value!;
        Assert.Equal(Now, resolved.ResolvedAt);
        Assert.False(resolved.ClearResolvedAt);

        var rejected = Lifecycle.Decide(State(Resolved), new TransitionCommand(Reject, "still leaking"), Requester, Now).Value!;
        Assert.True(rejected.ClearResolvedAt);
        Assert.Equal(InProgress, rejected.To);
    }

    [Fact]
    public void approving_closes_with_the_requesters_rating()
    {
        var approved = Lifecycle.Decide(State(Resolved), new TransitionCommand(Approve, Rating: 4), Requester, Now).Value!;
        Assert.Equal(Closed, approved.To);
        Assert.Equal(Now, approved.ClosedAt);
        Assert.Equal(4, approved.Rating);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    public void a_rating_outside_one_to_five_is_refused_naming_the_field(int rating)
    {
        var outcome = Lifecycle.Decide(State(Resolved), new TransitionCommand(Approve, Rating: rating), Requester, Now);
        Assert.Equal(FailureKind.Validation, outcome.Failure?.Kind);
        Assert.True(outcome.Failure!.Errors!.ContainsKey("rating"));
    }

    [Fact]
    public void a_rating_is_only_given_when_approving()
    {
        var outcome = Lifecycle.Decide(State(InProgress), new TransitionCommand(Resolve, Rating: 5), Technician, Now);
        Assert.True(outcome.Failure!.Errors!.ContainsKey("rating"));
    }

    [Theory]
    [InlineData(Hold, InProgress)]
    [InlineData(Reject, Resolved)]
    [InlineData(Cancel, New)]
    public void holding_rejecting_and_cancelling_need_a_reason(WorkOrderAction action, WorkOrderStatus from)
    {
        var outcome = Lifecycle.Decide(State(from), new TransitionCommand(action, Note: "   "), Manager, Now);
        Assert.Equal(FailureKind.Validation, outcome.Failure?.Kind);
        Assert.Contains("reason", outcome.Failure!.Texts(CultureInfo.InvariantCulture)["note"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void a_note_longer_than_the_limit_is_refused()
    {
        var outcome = Lifecycle.Decide(State(InProgress), new TransitionCommand(Resolve, new string('x', Lifecycle.MaxNoteLength + 1)), Technician, Now);
        Assert.True(outcome.Failure!.Errors!.ContainsKey("note"));
    }

    [Fact]
    public void only_the_assignee_or_a_manager_of_the_department_works_on_it()
    {
        Assert.True(Lifecycle.Decide(State(Assigned), new TransitionCommand(Start), Technician, Now).Succeeded);
        Assert.True(Lifecycle.Decide(State(Assigned), new TransitionCommand(Start), Manager, Now).Succeeded);
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(State(Assigned), new TransitionCommand(Start), OtherTechnician, Now).Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(State(Assigned), new TransitionCommand(Start), Requester, Now).Failure?.Kind);
        var outsideManager = Manager with { UserId = 99, DepartmentId = Department + 1 };
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(State(Assigned), new TransitionCommand(Start), outsideManager, Now).Failure?.Kind);
    }

    [Fact]
    public void the_requester_reviews_but_an_assignee_never_approves_their_own_work()
    {
        Assert.True(Lifecycle.Decide(State(Resolved), new TransitionCommand(Approve), Requester, Now).Succeeded);
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(State(Resolved), new TransitionCommand(Approve), Technician, Now).Failure?.Kind);

        var selfRequested = State(Resolved) with { RequesterId = Technician.UserId };
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(selfRequested, new TransitionCommand(Approve), Technician, Now).Failure?.Kind);
    }

    [Fact]
    public void the_requester_may_cancel_only_before_work_starts()
    {
        Assert.True(Lifecycle.Decide(State(Assigned), new TransitionCommand(Cancel, "not needed"), Requester, Now).Succeeded);
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(State(InProgress), new TransitionCommand(Cancel, "not needed"), Requester, Now).Failure?.Kind);
        Assert.True(Lifecycle.Decide(State(InProgress), new TransitionCommand(Cancel, "duplicate"), Manager, Now).Succeeded);
    }

    [Fact]
    public void a_technician_may_claim_a_new_work_order_of_the_department_for_themselves_only()
    {
        var claim = new TransitionCommand(Assign, Assignee: new Candidate(OtherTechnician.UserId, "other", Role.Technician, Department, true));
        var state = State(New) with { AssigneeId = null };
        Assert.True(Lifecycle.Decide(state, claim, OtherTechnician, Now).Succeeded);

        var handOff = claim with { Assignee = Colleague };
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(state, handOff, OtherTechnician, Now).Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, Lifecycle.Decide(State(Assigned), claim, OtherTechnician, Now).Failure?.Kind);
    }

    public static TheoryData<Candidate?, string> BadAssignees() => new()
    {
        { null, "required" },
        { Colleague with { Active = false }, "inactive" },
        { Colleague with { Role = Role.Requester }, "not a technician or manager" },
        { Colleague with { DepartmentId = Department + 1 }, "not in the work order's department" },
        { new Candidate(Technician.UserId, "technician", Role.Technician, Department, true), "already assigned" },
    };

    [Theory]
    [MemberData(nameof(BadAssignees))]
    public void assigning_to_someone_who_cannot_take_the_work_is_refused_with_the_reason(Candidate? candidate, string reason)
    {
        var outcome = Lifecycle.Decide(State(Assigned), new TransitionCommand(Assign, Assignee: candidate), Manager, Now);
        Assert.Equal(FailureKind.Validation, outcome.Failure?.Kind);
        Assert.Contains(reason, outcome.Failure!.Texts(CultureInfo.InvariantCulture)["assigneeId"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void assigning_records_the_new_assignee()
    {
        var outcome = Lifecycle.Decide(State(InProgress), new TransitionCommand(Assign, Assignee: Colleague), Manager, Now);
        Assert.Equal(Colleague.UserId, outcome.Value!.AssigneeId);
        Assert.Equal(Assigned, outcome.Value.To);
    }

    [Fact]
    public void allowed_actions_are_what_this_actor_may_do_now()
    {
        Assert.Equal([Hold, AwaitFeedback, RequestCollaboration, Resolve], Lifecycle.Allowed(State(InProgress), Technician));
        Assert.Equal([Cancel], Lifecycle.Allowed(State(Assigned), Requester));
        Assert.Equal([Approve, Reject], Lifecycle.Allowed(State(Resolved), Requester));
        Assert.Empty(Lifecycle.Allowed(State(InProgress), OtherTechnician));
    }

    private static WorkOrderState State(WorkOrderStatus status) =>
        new(status, Requester.UserId, Department, Technician.UserId, null, null);
}
