using System.Text.Json;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Demo;

/// <summary>
/// Demo assignment: working hours for the technicians, three rules, and four fresh work orders that the rules route
/// (one of them, with no rule, waits in the IT queue). Runs after the back-dated histories, which were assigned by hand.
/// </summary>
internal static class AssignmentDemo
{
    public static async Task SeedAsync(
        NpgsqlDataSource dataSource,
        TimeProvider clock,
        IReadOnlyDictionary<string, Actor> people,
        IReadOnlyDictionary<string, long> templates,
        IReadOnlyList<Asset> assets,
        CancellationToken cancellationToken)
    {
        var admin = people["admin"];
        var schedules = new Schedules(dataSource, clock);
        WorkingHours[] Weekdays(int from, int to) => [.. Enumerable.Range(1, 5).Select(d => new WorkingHours(d, new TimeOnly(from, 0), new TimeOnly(to, 0)))];
        WorkingHours[] AllWeek() => [.. Enumerable.Range(1, 7).Select(d => new WorkingHours(d, TimeOnly.MinValue, new TimeOnly(23, 59)))];
        var now = clock.GetUtcNow().UtcDateTime;
        await Check(schedules.SaveAsync(people["technician"].UserId, new ScheduleRequest("Asia/Taipei", Weekdays(8, 17), []), admin, cancellationToken));
        await Check(schedules.SaveAsync(people["lin"].UserId, new ScheduleRequest("Asia/Taipei", AllWeek(), []), admin, cancellationToken));
        await Check(schedules.SaveAsync(people["wang"].UserId, new ScheduleRequest("Asia/Taipei", AllWeek(), []), admin, cancellationToken));
        await Check(schedules.SaveAsync(people["huang"].UserId, new ScheduleRequest("Asia/Taipei", Weekdays(9, 18), [new AwayPeriod(now.AddDays(-1), now.AddDays(3), "Training course")]), admin, cancellationToken));

        var rules = new AssignmentRules(dataSource);
        var lineA = assets.Single(a => a.Code == "TY-A").Id;
        var maintenance = people["technician"].DepartmentId!.Value;
        var facilities = people["wang"].DepartmentId!.Value;
        await Check(rules.CreateAsync(
            new AssignmentRuleRequest(
                "Electrical faults on line A", maintenance, AssignmentStrategy.LeastLoaded, TemplateId: templates["Equipment repair"], Priorities: [1, 2],
                LocationAssetId: lineA, CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("electrical") },
                RequiredSkills: [new RequiredSkill("electrical", 4)]),
            admin,
            cancellationToken));
        await Check(rules.CreateAsync(
            new AssignmentRuleRequest("Equipment repair", maintenance, AssignmentStrategy.RoundRobin, TemplateId: templates["Equipment repair"]),
            admin,
            cancellationToken));
        await Check(rules.CreateAsync(
            new AssignmentRuleRequest(
                "Air conditioning and plumbing", facilities, AssignmentStrategy.NamedPerson, people["wang"].UserId, templates["Facility request"],
                RequiredSkills: [new RequiredSkill("hvac", 3)]),
            admin,
            cancellationToken));

        var create = new CreateWorkOrder(dataSource, clock);
        var requester = people["requester"];
        Dictionary<string, JsonElement> Fields(string key, string value) => new() { [key] = JsonSerializer.SerializeToElement(value) };
        CreateWorkOrderRequest[] fresh =
        [
            new(templates["Equipment repair"], "CNC lathe 1 drive trips 驅動器跳脫", "The spindle drive trips at start-up; the line is down.", 1, "ext. 2231",
                assets.Single(a => a.Code == "TY-A-CNC1").Id, CustomFields: Fields("fault_code", "electrical")),
            new(templates["Equipment repair"], "Conveyor bearing noise", "Grinding noise from the conveyor's tail pulley.", 3, "ext. 2231",
                assets.Single(a => a.Code == "TY-B-CV1").Id, CustomFields: Fields("fault_code", "bearing")),
            new(templates["Facility request"], "Meeting room too cold 會議室太冷", "Room 2A is at 18 °C.", 3, "Rita, ext. 1180", CustomFields: Fields("area", "Office")),
            new(templates["IT service request"], "Printer on 3F offline", "The 3F printer does not answer since this morning.", 3, "rita@example.com",
                CustomFields: Fields("category", "hardware")),
        ];
        foreach (var request in fresh)
        {
            await Check(create.HandleAsync(request, requester, WorkOrderSource.Web, null, cancellationToken));
        }
    }

    private static async Task Check<T>(Task<Outcome<T>> pending)
    {
        var outcome = await pending;
        if (outcome.Failure is { } failure)
        {
            throw new InvalidOperationException($"Demo assignment data was refused: {failure.Message}");
        }
    }
}
