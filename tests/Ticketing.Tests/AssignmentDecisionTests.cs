using System.Text.Json;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The pure rules of auto-assignment, with no database.</summary>
public class AssignmentDecisionTests
{
    // A Wednesday, 10:00 UTC.
    private static readonly DateTime Now = new(2026, 5, 6, 10, 0, 0, DateTimeKind.Utc);

    private static AssignmentRule Rule(
        string name = "Pumps P1",
        AssignmentStrategy strategy = AssignmentStrategy.LeastLoaded,
        long? namedUserId = null,
        long? templateId = null,
        WorkType? workType = null,
        int[]? priorities = null,
        string? assetType = null,
        long? locationAssetId = null,
        Dictionary<string, JsonElement>? customFields = null,
        RequiredSkill[]? skills = null,
        int position = 1,
        long id = 1,
        bool active = true) => new(
        id, position, name, active, templateId, workType, priorities ?? [], assetType, locationAssetId, customFields ?? [],
        10, "Maintenance", skills ?? [], strategy, namedUserId, null, 1);

    private static Person Someone(long id, string name, int open = 0, int? load = null, WeeklySchedule? schedule = null, bool active = true, params (string, int)[] skills) =>
        new(id, name, active, skills.ToDictionary(s => s.Item1, s => s.Item2), open, load ?? open * 2, schedule ?? WeeklySchedule.Always);

    private static WorkOrderFacts Facts(int priority = 2, string? assetType = "pump", long[]? lineage = null, Dictionary<string, JsonElement>? fields = null) =>
        new(7, WorkType.Corrective, priority, assetType, lineage ?? [100, 10, 1], fields ?? new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });

    [Fact]
    public void least_loaded_chooses_the_candidate_with_the_least_weighted_open_work_and_says_why()
    {
        var decision = Assign.Decide(Rule(), 2, [Someone(1, "Lin", open: 5), Someone(2, "Chen", open: 2)], null, Now);

        Assert.Equal(2, decision.AssigneeId);
        Assert.Equal("rule 'Pumps P1' matched; candidates: Chen 2 open, Lin 5 open; chose Chen (least loaded)", decision.Reason);
    }

    [Fact]
    public void load_is_weighted_by_priority_so_fewer_urgent_jobs_can_weigh_more_than_many_easy_ones()
    {
        Assert.Equal([4, 3, 2, 1], new[] { 1, 2, 3, 4 }.Select(Assign.Weight));
        var decision = Assign.Decide(Rule(), 3, [Someone(1, "Lin", open: 3, load: 3), Someone(2, "Chen", open: 2, load: 8)], null, Now);
        Assert.Equal(1, decision.AssigneeId);
    }

    [Fact]
    public void ties_in_load_go_to_fewer_open_work_orders_then_the_lower_user_id()
    {
        var decision = Assign.Decide(Rule(), 3, [Someone(9, "B", open: 2, load: 4), Someone(5, "A", open: 2, load: 4), Someone(3, "C", open: 4, load: 4)], null, Now);
        Assert.Equal(5, decision.AssigneeId);
    }

    [Fact]
    public void round_robin_takes_the_next_candidate_after_the_last_one_and_wraps_around()
    {
        var rule = Rule(strategy: AssignmentStrategy.RoundRobin);
        Person[] people = [Someone(3, "A", open: 9), Someone(5, "B"), Someone(8, "C")];

        Assert.Equal(3, Assign.Decide(rule, 3, people, null, Now).AssigneeId);
        Assert.Equal(5, Assign.Decide(rule, 3, people, 3, Now).AssigneeId);
        Assert.Equal(8, Assign.Decide(rule, 3, people, 5, Now).AssigneeId);
        Assert.Equal(3, Assign.Decide(rule, 3, people, 8, Now).AssigneeId);
        Assert.Equal(8, Assign.Decide(rule, 3, people, 6, Now).AssigneeId);
        Assert.Equal([8L, 3L, 5L], Assign.Decide(rule, 3, people, 5, Now).Considered.Select(c => c.UserId));
    }

    [Fact]
    public void a_large_department_is_named_up_to_five_in_the_order_chosen_and_counted_beyond()
    {
        var people = Enumerable.Range(1, 200).Select(i => Someone(i, $"T{i}", open: 300 - i)).ToList();

        var decision = Assign.Decide(Rule(), 2, people, null, Now);

        Assert.Equal(200, decision.AssigneeId);
        Assert.Equal("rule 'Pumps P1' matched; candidates: T200 100 open, T199 101 open, T198 102 open, T197 103 open, T196 104 open and 195 more; chose T200 (least loaded)", decision.Reason);
        Assert.Equal(200, decision.Considered.Count);
        var gone = Assign.Decide(Rule(), 2, [.. people.Select(p => p with { Active = false })], null, Now);
        Assert.Equal("rule 'Pumps P1' matched; no candidate: T1 inactive, T2 inactive, T3 inactive, T4 inactive, T5 inactive and 195 more; the work order waits in the Maintenance queue", gone.Reason);
    }

    [Fact]
    public void named_person_gets_the_work_even_with_more_load_and_when_away_it_is_queued_with_the_reason()
    {
        var rule = Rule(strategy: AssignmentStrategy.NamedPerson, namedUserId: 2);
        var away = new WeeklySchedule("UTC", [], [new AwayPeriod(Now.AddDays(-1), Now.AddDays(1), "leave")]);

        Assert.Equal(2, Assign.Decide(rule, 3, [Someone(1, "Lin"), Someone(2, "Chen", open: 7)], null, Now).AssigneeId);
        var queued = Assign.Decide(rule, 3, [Someone(1, "Lin"), Someone(2, "Chen", schedule: away)], null, Now);
        Assert.Null(queued.AssigneeId);
        Assert.Contains("the named person Chen is away", queued.Reason, StringComparison.Ordinal);
        Assert.EndsWith("waits in the Maintenance queue", queued.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void p1_goes_to_the_least_loaded_person_on_shift_whatever_the_strategy()
    {
        var offShift = new WeeklySchedule("UTC", [new WorkingHours(3, new TimeOnly(18, 0), new TimeOnly(23, 0))], []);
        var away = new WeeklySchedule("UTC", [], [new AwayPeriod(Now.AddHours(-1), Now.AddHours(1), null)]);
        var rule = Rule(strategy: AssignmentStrategy.NamedPerson, namedUserId: 4);
        Person[] people = [Someone(1, "Idle off shift", schedule: offShift), Someone(2, "Idle away", schedule: away), Someone(3, "Busy", open: 4), Someone(4, "Named", open: 6)];

        var decision = Assign.Decide(rule, 1, people, null, Now);

        Assert.Equal(3, decision.AssigneeId);
        Assert.True(decision.UrgentOverride);
        Assert.Contains("P1 goes to the least loaded person on shift", decision.Reason, StringComparison.Ordinal);
        Assert.Equal([(3L, Availability.Available), (4L, Availability.Available), (1L, Availability.OffShift), (2L, Availability.Away)], decision.Considered.Select(c => (c.UserId, c.Availability)));
    }

    [Fact]
    public void people_without_the_skills_at_the_level_or_inactive_are_not_candidates()
    {
        var rule = Rule(skills: [new RequiredSkill("electrical", 3)]);
        var decision = Assign.Decide(rule, 2, [Someone(1, "Low", skills: ("electrical", 2)), Someone(2, "None"), Someone(3, "Gone", active: false, skills: ("electrical", 5))], null, Now);

        Assert.Null(decision.AssigneeId);
        Assert.Equal("rule 'Pumps P1' matched; no candidate: Low not qualified, None not qualified, Gone inactive; the work order waits in the Maintenance queue", decision.Reason);
        Assert.Equal("has 'electrical' at level 2, below the required 3", Assign.MissingSkill(rule.RequiredSkills, new Dictionary<string, int> { ["electrical"] = 2 })?.ToString());
        Assert.Null(Assign.MissingSkill(rule.RequiredSkills, new Dictionary<string, int> { ["electrical"] = 3 }));
    }

    [Fact]
    public void no_rule_leaves_the_work_in_the_queue()
    {
        var decision = Assign.Decide(null, 1, [Someone(1, "Lin")], null, Now);
        Assert.False(decision.Assigned);
        Assert.Equal("no assignment rule matched; the work order waits in the department queue", decision.Reason);
    }

    [Fact]
    public void working_hours_are_read_in_the_users_time_zone_and_away_wins_over_them()
    {
        // 10:00 UTC on Wednesday is 18:00 in Taipei.
        var taipei = new WeeklySchedule("Asia/Taipei", [new WorkingHours(3, new TimeOnly(8, 0), new TimeOnly(17, 0))], []);
        var evening = taipei with { Hours = [new WorkingHours(3, new TimeOnly(17, 0), new TimeOnly(22, 0))] };
        var sunday = new WeeklySchedule("UTC", [new WorkingHours(7, new TimeOnly(0, 0), new TimeOnly(23, 59))], []);

        Assert.Equal(Availability.OffShift, Assign.ShiftAt(taipei, Now));
        Assert.Equal(Availability.Available, Assign.ShiftAt(evening, Now));
        Assert.Equal(Availability.Available, Assign.ShiftAt(sunday, new DateTime(2026, 5, 10, 12, 0, 0, DateTimeKind.Utc)));
        Assert.Equal(Availability.Away, Assign.ShiftAt(evening with { Away = [new AwayPeriod(Now, Now.AddDays(2), "course")] }, Now));
        Assert.Equal(Availability.Available, Assign.ShiftAt(evening with { Away = [new AwayPeriod(Now.AddDays(-2), Now, "ended")] }, Now));
        Assert.Equal(Availability.Available, Assign.ShiftAt(WeeklySchedule.Always, Now));
    }

    [Fact]
    public void the_first_active_rule_in_order_that_meets_every_criterion_matches()
    {
        Dictionary<string, JsonElement> bearing = new() { ["fault_code"] = JsonSerializer.SerializeToElement("bearing") };
        AssignmentRule[] rules =
        [
            Rule("inactive", position: 1, id: 1, active: false),
            Rule("valves", position: 2, id: 2, assetType: "valve"),
            Rule("bearings", position: 3, id: 3, customFields: bearing),
            Rule("P1 in line 10", position: 4, id: 4, priorities: [1], locationAssetId: 10),
            Rule("other template", position: 5, id: 5, templateId: 8),
            Rule("corrective pumps", position: 6, id: 6, workType: WorkType.Corrective, assetType: "PUMP"),
            Rule("catch-all", position: 7, id: 7),
        ];

        Assert.Equal("P1 in line 10", Assign.Match(rules, Facts(priority: 1))?.Name);
        Assert.Equal("corrective pumps", Assign.Match(rules, Facts(priority: 2))?.Name);
        Assert.Equal("corrective pumps", Assign.Match(rules, Facts(priority: 1, lineage: [200, 20, 1]))?.Name);
        Assert.Equal("bearings", Assign.Match(rules, Facts(fields: bearing))?.Name);
        Assert.Equal("catch-all", Assign.Match(rules, Facts(assetType: null, lineage: []))?.Name);
        Assert.Null(Assign.Match(rules.Take(6), Facts(assetType: "motor")));
    }
}
