using BenchmarkDotNet.Attributes;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Benchmarks;

/// <summary>The lifecycle decision every transition goes through: a legal start, an assignment with its checks, and a refusal.</summary>
[MemoryDiagnoser]
public class LifecycleBenchmarks
{
    private const long Department = 10;
    private static readonly DateTime Now = new(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc);
    private static readonly Actor Manager = new(1, "manager", Role.Manager, Department);
    private static readonly Actor Technician = new(3, "technician", Role.Technician, Department);
    private static readonly WorkOrderState New = new(WorkOrderStatus.New, 2, Department, null, null, null);
    private static readonly WorkOrderState Assigned = new(WorkOrderStatus.Assigned, 2, Department, 3, null, null);
    private static readonly TransitionCommand StartWork = new(WorkOrderAction.Start);
    private static readonly TransitionCommand AssignColleague = new(WorkOrderAction.Assign, Assignee: new Candidate(5, "colleague", Role.Technician, Department, Active: true));
    private static readonly TransitionCommand ApproveUnresolved = new(WorkOrderAction.Approve, Rating: 5);

    [Benchmark(Baseline = true)]
    public Outcome<Transition> Start() => Lifecycle.Decide(Assigned, StartWork, Technician, Now);

    [Benchmark]
    public Outcome<Transition> Assign() => Lifecycle.Decide(New, AssignColleague, Manager, Now);

    [Benchmark]
    public Outcome<Transition> Refuse() => Lifecycle.Decide(New, ApproveUnresolved, Technician, Now);
}
