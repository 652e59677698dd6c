using System.Text.Json;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.Assignment;

public enum AssignmentStrategy
{
    LeastLoaded,
    RoundRobin,
    NamedPerson,
}

public sealed record RequiredSkill(string Skill, int MinLevel);

/// <summary>An administrator's rule: what work it matches, the department it goes to, and how a person is chosen.</summary>
public sealed record AssignmentRule(
    long Id,
    int Position,
    string Name,
    bool Active,
    long? TemplateId,
    WorkType? WorkType,
    IReadOnlyList<int> Priorities,
    string? AssetType,
    long? LocationAssetId,
    IReadOnlyDictionary<string, JsonElement> CustomFields,
    long DepartmentId,
    string DepartmentName,
    IReadOnlyList<RequiredSkill> RequiredSkills,
    AssignmentStrategy Strategy,
    long? NamedUserId,
    string? NamedUserName,
    int RowVersion);

/// <summary>What a rule can match on. <see cref="AssetLineage"/> is the asset and all its ancestors.</summary>
public sealed record WorkOrderFacts(
    long TemplateId,
    WorkType WorkType,
    int Priority,
    string? AssetType,
    IReadOnlyCollection<long> AssetLineage,
    IReadOnlyDictionary<string, JsonElement> CustomFields);

public sealed record WorkingHours(int Weekday, TimeOnly Start, TimeOnly End);

public sealed record AwayPeriod(DateTime From, DateTime To, string? Reason);

/// <summary>When a person works: a weekly pattern in their time zone, less the periods they are away.</summary>
public sealed record WeeklySchedule(string TimeZone, IReadOnlyList<WorkingHours> Hours, IReadOnlyList<AwayPeriod> Away)
{
    public static WeeklySchedule Always { get; } = new("UTC", [], []);
}

/// <summary>A possible assignee as the decision sees them, looked up beforehand so that the decision stays pure.</summary>
public sealed record Person(
    long UserId,
    string Name,
    bool Active,
    IReadOnlyDictionary<string, int> Skills,
    int OpenCount,
    int Load,
    WeeklySchedule Schedule);

public enum Availability
{
    Available,
    Inactive,
    Unqualified,
    Away,
    OffShift,
}

/// <summary>One person the decision looked at, and why they could or could not take the work.</summary>
public sealed record ConsideredPerson(long UserId, string Name, int OpenCount, int Load, Availability Availability);

/// <summary>
/// The outcome of auto-assignment: the chosen person, or none (the work waits in the department queue), with the
/// reason in words and the facts behind it.
/// </summary>
public sealed record AssignmentDecision(
    long? AssigneeId,
    string? AssigneeName,
    long? RuleId,
    string? RuleName,
    AssignmentStrategy? Strategy,
    bool UrgentOverride,
    IReadOnlyList<ConsideredPerson> Considered,
    string Reason)
{
    public bool Assigned => AssigneeId is not null;
}

/// <summary>The pure rules of auto-assignment: which rule matches, who is on shift, and whom to choose.</summary>
public static class Assign
{
    /// <summary>
    /// Load is open work weighted by urgency: a P1 counts 4, P2 3, P3 2 and P4 1. Open means with the assignee and not yet
    /// resolved: assigned, in progress, on hold, awaiting feedback or needing collaboration.
    /// </summary>
    public static int Weight(int priority) => priority switch
    {
        1 => 4,
        2 => 3,
        3 => 2,
        _ => 1,
    };

    /// <summary>The first active rule, in the administrators' order, whose every criterion the work order meets.</summary>
    public static AssignmentRule? Match(IEnumerable<AssignmentRule> rules, WorkOrderFacts facts) =>
        rules.Where(r => r.Active).OrderBy(r => r.Position).ThenBy(r => r.Id).FirstOrDefault(r => Matches(r, facts));

    public static bool Matches(AssignmentRule rule, WorkOrderFacts facts) =>
        (rule.TemplateId is null || rule.TemplateId == facts.TemplateId)
        && (rule.WorkType is null || rule.WorkType == facts.WorkType)
        && (rule.Priorities.Count == 0 || rule.Priorities.Contains(facts.Priority))
        && (rule.AssetType is null || string.Equals(rule.AssetType, facts.AssetType, StringComparison.OrdinalIgnoreCase))
        && (rule.LocationAssetId is null || facts.AssetLineage.Contains(rule.LocationAssetId.Value))
        && rule.CustomFields.All(f => facts.CustomFields.TryGetValue(f.Key, out var value) && JsonElement.DeepEquals(f.Value, value));

    /// <summary>Whether the person lacks one of the skills at its level; the first missing one in words, or null.</summary>
    public static Refusal? MissingSkill(IReadOnlyList<RequiredSkill> required, IReadOnlyDictionary<string, int> skills)
    {
        foreach (var need in required)
        {
            if (!skills.TryGetValue(need.Skill, out var level))
            {
                return new Refusal("skill.lacking", need.Skill, need.MinLevel);
            }

            if (level < need.MinLevel)
            {
                return new Refusal("skill.too_low", need.Skill, level, need.MinLevel);
            }
        }

        return null;
    }

    /// <summary>Whether a person works at <paramref name="nowUtc"/>: not away, and inside their weekly hours (if they have any).</summary>
    public static Availability ShiftAt(WeeklySchedule schedule, DateTime nowUtc)
    {
        if (schedule.Away.Any(a => a.From <= nowUtc && nowUtc < a.To))
        {
            return Availability.Away;
        }

        if (schedule.Hours.Count == 0)
        {
            return Availability.Available;
        }

        var zone = TimeZoneInfo.FindSystemTimeZoneById(schedule.TimeZone);
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc), zone);
        var weekday = local.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)local.DayOfWeek;
        var time = TimeOnly.FromDateTime(local);
        return schedule.Hours.Any(h => h.Weekday == weekday && h.Start <= time && time < h.End)
            ? Availability.Available
            : Availability.OffShift;
    }

    /// <summary>How many people a reason names; the rest are counted.</summary>
    public const int Named = 5;

    /// <summary>
    /// Chooses among the people of the rule's department: only the active, qualified and on-shift ones are candidates.
    /// P1 work goes to the candidate with the least load whatever the rule's strategy; otherwise the strategy decides.
    /// Ties in load go to fewer open work orders, then to the lower user id, so the choice is repeatable.
    /// <see cref="AssignmentDecision.Considered"/> lists the candidates in the order the strategy takes them (the chosen
    /// first), then the others by user id; the reason names the first <see cref="Named"/> of them.
    /// </summary>
    public static AssignmentDecision Decide(AssignmentRule? rule, int priority, IReadOnlyList<Person> people, long? lastAssigneeId, DateTime nowUtc)
    {
        if (rule is null)
        {
            return new AssignmentDecision(null, null, null, null, null, false, [], "no assignment rule matched; the work order waits in the department queue");
        }

        var byId = people
            .OrderBy(p => p.UserId)
            .Select(p => new ConsideredPerson(p.UserId, p.Name, p.OpenCount, p.Load, AvailabilityOf(rule, p, nowUtc)))
            .ToList();
        var candidates = byId.Where(c => c.Availability == Availability.Available).ToList();
        var others = byId.Where(c => c.Availability != Availability.Available).ToList();
        var matched = $"rule '{rule.Name}' matched";
        var urgent = priority == 1;

        List<ConsideredPerson> ranked;
        ConsideredPerson? chosen;
        string how;
        if (candidates.Count == 0)
        {
            ranked = [];
            chosen = null;
            how = byId.Count == 0 ? $"nobody in {rule.DepartmentName} can take it" : $"no candidate: {Names(others, Describe)}";
        }
        else if (urgent || rule.Strategy == AssignmentStrategy.LeastLoaded)
        {
            ranked = [.. candidates.OrderBy(c => c.Load).ThenBy(c => c.OpenCount).ThenBy(c => c.UserId)];
            chosen = ranked[0];
            how = urgent ? "P1 goes to the least loaded person on shift" : "least loaded";
        }
        else if (rule.Strategy == AssignmentStrategy.RoundRobin)
        {
            var next = candidates.FindIndex(c => c.UserId > (lastAssigneeId ?? long.MinValue));
            ranked = next <= 0 ? candidates : [.. candidates[next..], .. candidates[..next]];
            chosen = ranked[0];
            how = "round robin";
        }
        else
        {
            chosen = candidates.FirstOrDefault(c => c.UserId == rule.NamedUserId);
            ranked = chosen is null ? candidates : [chosen, .. candidates.Where(c => c != chosen)];
            var named = byId.FirstOrDefault(c => c.UserId == rule.NamedUserId);
            how = chosen is not null
                ? "named person"
                : $"the named person {named?.Name ?? rule.NamedUserName ?? "?"} is {Words(named?.Availability ?? Availability.Inactive)}";
        }

        var listed = candidates.Count == 0 ? "" : $"; candidates: {Names(ranked, c => $"{c.Name} {c.OpenCount} open")}";
        var reason = chosen is null
            ? $"{matched}{listed}; {how}; the work order waits in the {rule.DepartmentName} queue"
            : $"{matched}{listed}; chose {chosen.Name} ({how})";
        return new AssignmentDecision(chosen?.UserId, chosen?.Name, rule.Id, rule.Name, rule.Strategy, urgent && chosen is not null, [.. ranked, .. others], reason);
    }

    /// <summary>The first <see cref="Named"/> people in words, and how many more there are.</summary>
    private static string Names(IReadOnlyList<ConsideredPerson> people, Func<ConsideredPerson, string> describe) =>
        string.Join(", ", people.Take(Named).Select(describe)) + (people.Count > Named ? $" and {people.Count - Named} more" : "");

    private static Availability AvailabilityOf(AssignmentRule rule, Person person, DateTime nowUtc) =>
        !person.Active ? Availability.Inactive
        : MissingSkill(rule.RequiredSkills, person.Skills) is not null ? Availability.Unqualified
        : ShiftAt(person.Schedule, nowUtc);

    private static string Describe(ConsideredPerson person) => $"{person.Name} {Words(person.Availability)}";

    private static string Words(Availability availability) => availability switch
    {
        Availability.Inactive => "inactive",
        Availability.Unqualified => "not qualified",
        Availability.Away => "away",
        Availability.OffShift => "off shift",
        _ => "available",
    };
}
