using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Demo;

public sealed partial class DemoSeed
{
    /// <summary>A Taipei working week as the default calendar for both demo sites, and SLA targets for P1 to P4.</summary>
    private async Task SeedSlaAsync(Actor admin, IEnumerable<long> siteIds, CancellationToken cancellationToken)
    {
        string[] day = ["08:00-12:00", "13:00-17:00"];
        var calendar = await new Calendars(dataSource).CreateAsync(
            new CalendarRequest(
                "Taiwan office hours 台灣上班時間",
                "Asia/Taipei",
                IsDefault: true,
                Hours: new() { ["monday"] = day, ["tuesday"] = day, ["wednesday"] = day, ["thursday"] = day, ["friday"] = day },
                Holidays:
                [
                    new(new DateOnly(2026, 9, 25), "Mid-Autumn Festival 中秋節"),
                    new(new DateOnly(2026, 10, 9), "National Day (observed) 國慶日補假"),
                    new(new DateOnly(2027, 1, 1), "New Year's Day 元旦"),
                    new(new DateOnly(2027, 2, 5), "Lunar New Year's Eve 除夕"),
                    new(new DateOnly(2027, 2, 8), "Lunar New Year 春節"),
                ],
                SiteIds: [.. siteIds]),
            admin,
            cancellationToken);
        _ = calendar.Value ?? throw new InvalidOperationException(calendar.Failure!.Message);

        (string Name, int Priority, int Response, int Resolution)[] targets =
        [
            ("P1 urgent: 30 min / 4 h", 1, 30, 240),
            ("P2 high: 1 h / 1 day", 2, 60, 480),
            ("P3 normal: 4 h / 3 days", 3, 240, 1440),
            ("P4 low: 1 day / 5 days", 4, 480, 2400),
        ];
        var policies = new SlaPolicies(dataSource);
        foreach (var (name, priority, response, resolution) in targets)
        {
            var policy = await policies.CreateAsync(new SlaPolicyRequest(name, priority, null, response, resolution), admin, cancellationToken);
            _ = policy.Value ?? throw new InvalidOperationException(policy.Failure!.Message);
        }
    }

    /// <summary>Work raised just now, so the lists show clocks with time left, one at risk soon, and one paused.</summary>
    private async Task<int> SeedFreshWorkAsync(long templateId, Actor requester, Actor manager, Actor technician, IReadOnlyList<Asset> machines, CancellationToken cancellationToken)
    {
        var create = new CreateWorkOrder(dataSource, clock);
        var transition = new ApplyTransition(dataSource, clock);
        (string Title, int Priority)[] fresh = [("Coolant pump pressure low 冷卻泵壓力不足", 1), ("Guard door sensor flickers", 2), ("Belt squeal at start-up", 3), ("Replace worn gripper pads", 4)];
        for (var i = 0; i < fresh.Length; i++)
        {
            var created = (await create.HandleAsync(
                new CreateWorkOrderRequest(templateId, fresh[i].Title, "Reported by the line lead at shift change.", fresh[i].Priority, "ext. 2231", machines[i % machines.Count].Id,
                    CustomFields: Fields(("fault_code", "other"))),
                requester,
                WorkOrderSource.Web,
                null,
                cancellationToken)).Value!;
            if (fresh[i].Priority == 4)
            {
                var assigned = await transition.HandleAsync(created.Id, new TransitionRequest("assign", null, technician.UserId, null, 1), manager, cancellationToken);
                var started = await transition.HandleAsync(created.Id, new TransitionRequest("start", null, null, null, assigned.Value!.RowVersion), technician, cancellationToken);
                await transition.HandleAsync(created.Id, new TransitionRequest("hold", "Pads on order (PO 4502).", null, null, started.Value!.RowVersion), technician, cancellationToken);
            }
        }

        return fresh.Length;
    }
}
