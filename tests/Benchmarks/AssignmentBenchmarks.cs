using System.Text.Json;
using BenchmarkDotNet.Attributes;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Benchmarks;

/// <summary>
/// The assignment decision made inside every create: the first matching rule among many, then the choice among a
/// department's people, each with skills and weekly hours in a time zone and some away.
/// </summary>
[MemoryDiagnoser]
public class AssignmentBenchmarks
{
    private const long Department = 10;

    // A Wednesday, 10:00 UTC: inside the working hours of most people.
    private static readonly DateTime Now = new(2026, 5, 6, 10, 0, 0, DateTimeKind.Utc);

    private static readonly WorkOrderFacts Facts = new(
        7, WorkType.Corrective, 3, "pump", [100, 10, 1], new Dictionary<string, JsonElement> { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });

    private AssignmentRule[] _rules = [];
    private AssignmentRule _leastLoaded = null!;
    private AssignmentRule _roundRobin = null!;
    private Person[] _people = [];

    [Params(10, 200)]
    public int People { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Fifty rules of which only the last matches: each is looked at before it.
        _rules = [.. Enumerable.Range(1, 50).Select(i => Rule(i, i == 50 ? "pump" : $"type {i}", AssignmentStrategy.LeastLoaded))];
        _leastLoaded = _rules[^1];
        _roundRobin = Rule(51, "pump", AssignmentStrategy.RoundRobin);
        WorkingHours[] week = [.. Enumerable.Range(1, 5).Select(day => new WorkingHours(day, new TimeOnly(7, 0), new TimeOnly(16, 0)))];
        _people = [.. Enumerable.Range(1, People).Select(i => new Person(
            i,
            $"Technician {i}",
            Active: i % 17 != 0,
            new Dictionary<string, int> { ["pumps"] = 1 + (i % 5) },
            OpenCount: i % 7,
            Load: (i % 7) * 2,
            new WeeklySchedule("Europe/Berlin", week, i % 11 == 0 ? [new AwayPeriod(Now.AddDays(-1), Now.AddDays(1), "leave")] : [])))];
    }

    [Benchmark]
    public AssignmentRule? Match() => Assign.Match(_rules, Facts);

    [Benchmark(Baseline = true)]
    public AssignmentDecision LeastLoaded() => Assign.Decide(_leastLoaded, 3, _people, null, Now);

    [Benchmark]
    public AssignmentDecision RoundRobin() => Assign.Decide(_roundRobin, 3, _people, People / 2, Now);

    private static AssignmentRule Rule(long id, string assetType, AssignmentStrategy strategy) => new(
        id, (int)id, $"Rule {id}", true, null, WorkType.Corrective, [], assetType, 1, new Dictionary<string, JsonElement>(),
        Department, "Maintenance", [new RequiredSkill("pumps", 2)], strategy, null, null, 1);
}
