using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>SLA clocks, pauses, the monitor and the admin rules against a real PostgreSQL. Policies here are per template, so tests do not meet.</summary>
public class SlaStoreTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    // Wednesday 2026-05-06 07:00 UTC = 15:00 in Taipei.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private static DateTime Utc(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, DateTimeKind.Utc);

    internal static CreateWorkOrderRequest Request(TestOrg org, int priority, string title = "Pump leaks") => new(
        org.TemplateId, title, "Oil under the pump.", priority, "ext. 12", org.MachineId,
        CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });

    internal static async Task<SlaPolicy> PolicyAsync(NpgsqlDataSource data, TestOrg org, int priority, int response, int resolution, long? templateId = -1)
    {
        var outcome = await new SlaPolicies(data).CreateAsync(
            new SlaPolicyRequest($"P{priority} {org.Suffix}", priority, templateId == -1 ? org.TemplateId : templateId, response, resolution),
            org[Role.Admin],
            CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    internal static async Task<CalendarInfo> TaipeiCalendarAsync(NpgsqlDataSource data, TestOrg org)
    {
        string[] day = ["08:00-12:00", "12:00-17:00"];
        var outcome = await new Calendars(data).CreateAsync(
            new CalendarRequest(
                $"Taipei {org.Suffix}",
                "Asia/Taipei",
                Hours: new() { ["monday"] = day, ["tuesday"] = day, ["wednesday"] = day, ["thursday"] = day, ["friday"] = day },
                Holidays: [new Holiday(new DateOnly(2026, 10, 9), "National Day 國慶日")],
                SiteIds: [org.SiteId]),
            org[Role.Admin],
            CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    private async Task<long> NewWorkOrderAsync(TestOrg org, int priority, string title = "Pump leaks")
    {
        var outcome = await new CreateWorkOrder(Data, _clock).HandleAsync(Request(org, priority, title), org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!.Id;
    }

    private async Task StepAsync(long id, Actor actor, WorkOrderAction action, string? note = null, long? assigneeId = null)
    {
        var version = (await new WorkOrderQueries(Data).GetAsync(id, actor, CancellationToken.None)).Value!.RowVersion;
        var outcome = await new ApplyTransition(Data, _clock).HandleAsync(id, new TransitionRequest(WireNames.Of(action), note, assigneeId, null, version), actor, CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
    }

    private async Task<WorkOrderDetail> DetailAsync(long id, TestOrg org) =>
        (await new WorkOrderQueries(Data).GetAsync(id, org[Role.Admin], CancellationToken.None)).Value!;

    private SlaMonitor Monitor(NpgsqlDataSource data, bool raisePriority = false, int batchSize = 200) =>
        new(data, _clock, Options.Create(new SlaOptions { RaisePriorityOnBreach = raisePriority, BatchSize = batchSize }), NullLogger<SlaMonitor>.Instance);

    private async Task<List<(long WorkOrderId, string Kind, string Target)>> AlertEventsAsync(IEnumerable<long> ids)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return (await connection.QueryAsync<(long, string, string)>(
            "SELECT work_order_id, kind, payload->>'target' FROM work_order_events WHERE work_order_id = ANY(@ids) AND kind IN ('sla_warning', 'sla_breach') ORDER BY id",
            new { ids = ids.ToArray() })).ToList();
    }

    private async Task<List<string>> SlaNotificationKindsAsync(long userId)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return (await connection.QueryAsync<string>("SELECT kind FROM notifications WHERE user_id = @userId AND kind LIKE 'sla\\_%' ORDER BY id", new { userId })).ToList();
    }

    [Fact]
    public async Task creating_starts_the_clock_in_the_calendar_of_the_assets_site()
    {
        var org = await TestOrg.CreateAsync(Data);
        var calendar = await TaipeiCalendarAsync(Data, org);
        await PolicyAsync(Data, org, 2, response: 60, resolution: 480);

        var id = await NewWorkOrderAsync(org, 2);

        // Wed 15:00 Taipei: response 60 min -> 16:00 Taipei (08:00 UTC); resolution 8 h -> Wed 15-17 and Thu 08-14, 14:00 Thu (06:00 UTC).
        var detail = await DetailAsync(id, org);
        Assert.Equal(Utc(5, 6, 8), detail.ResponseDueAt);
        Assert.Equal(Utc(5, 7, 6), detail.ResolutionDueAt);

        // Thu 8 October 15:00 Taipei: resolution 8 h -> Thu 15-17, not Friday (National Day), Mon 08-14: 14:00 Mon 12 (06:00 UTC).
        _clock.SetUtcNow(new DateTimeOffset(Utc(10, 8, 7)));
        var beforeHoliday = await DetailAsync(await NewWorkOrderAsync(org, 2), org);
        Assert.Equal(Utc(10, 8, 8), beforeHoliday.ResponseDueAt);
        Assert.Equal(Utc(10, 12, 6), beforeHoliday.ResolutionDueAt);
        await using var connection = await Data.OpenConnectionAsync();
        var clock = await connection.QuerySingleAsync<(long? CalendarId, DateTime ResolutionDueAt)>(
            "SELECT calendar_id, resolution_due_at FROM sla_clocks WHERE work_order_id = @Id", beforeHoliday);
        Assert.Equal((calendar.Id, Utc(10, 12, 6)), (clock.CalendarId, clock.ResolutionDueAt));
    }

    [Fact]
    public async Task without_a_policy_for_the_priority_no_clock_starts()
    {
        var org = await TestOrg.CreateAsync(Data);
        await PolicyAsync(Data, org, 1, response: 15, resolution: 60);

        var id = await NewWorkOrderAsync(org, 4);

        var detail = await DetailAsync(id, org);
        Assert.Null(detail.ResponseDueAt);
        Assert.Null(detail.ResolutionDueAt);
        Assert.Empty((await new SlaBoard(Data, _clock).ViewsAsync([id], CancellationToken.None)));
    }

    [Fact]
    public async Task holding_pauses_the_clock_and_resuming_pushes_the_due_times_by_the_business_time_paused()
    {
        var org = await TestOrg.CreateAsync(Data);
        await TaipeiCalendarAsync(Data, org);
        await PolicyAsync(Data, org, 2, response: 60, resolution: 480);
        var id = await NewWorkOrderAsync(org, 2);
        var technician = org[Role.Technician];

        _clock.Advance(TimeSpan.FromMinutes(30));
        await StepAsync(id, org[Role.Manager], WorkOrderAction.Assign, assigneeId: technician.UserId);
        _clock.Advance(TimeSpan.FromMinutes(30));
        await StepAsync(id, technician, WorkOrderAction.Start);
        _clock.Advance(TimeSpan.FromMinutes(30));
        await StepAsync(id, technician, WorkOrderAction.Hold, "Waiting for a seal kit.");

        // Paused Wed 16:30 Taipei (08:30 UTC); the time left stands still however long the night.
        _clock.Advance(TimeSpan.FromHours(16));
        var paused = (await new SlaBoard(Data, _clock).ViewsAsync([id], CancellationToken.None))[id];
        Assert.Equal((SlaTarget.Resolution, SlaRisk.Paused, TimeSpan.FromMinutes(30 + 360)), (paused.Target, paused.Risk, paused.Remaining));

        // Resumed Thu 09:00 Taipei: 30 min on Wed and 60 min on Thu were paused business time, so 14:00 Thu moves to 15:30.
        _clock.Advance(TimeSpan.FromMinutes(30));
        await StepAsync(id, technician, WorkOrderAction.Resume);

        var detail = await DetailAsync(id, org);
        Assert.Equal(Utc(5, 6, 8), detail.ResponseDueAt);
        Assert.Equal(Utc(5, 7, 7, 30), detail.ResolutionDueAt);
        Assert.Equal(["sla_paused", "sla_resumed"], detail.History.Where(e => e.Kind.StartsWith("sla_", StringComparison.Ordinal)).Select(e => e.Kind));
        var resumed = detail.History.Single(e => e.Kind == SlaEvents.Resumed);
        Assert.Equal(90, resumed.Payload.GetProperty("pausedBusinessMinutes").GetDouble());
        Assert.Equal(technician.UserId, resumed.ActorId);

        await using var connection = await Data.OpenConnectionAsync();
        var interval = await connection.QuerySingleAsync<(string Status, DateTime StartedAt, DateTime? EndedAt, decimal BusinessMinutes)>(
            "SELECT status, started_at, ended_at, business_minutes FROM sla_pauses WHERE work_order_id = @id", new { id });
        Assert.Equal(("on_hold", Utc(5, 6, 8, 30), (DateTime?)Utc(5, 7, 1), 90m), interval);
    }

    [Fact]
    public async Task awaiting_feedback_pauses_too_and_a_second_pause_is_a_second_interval()
    {
        var org = await TestOrg.CreateAsync(Data);
        await PolicyAsync(Data, org, 3, response: 60, resolution: 600);
        var id = await NewWorkOrderAsync(org, 3);
        var technician = org[Role.Technician];
        await StepAsync(id, org[Role.Manager], WorkOrderAction.Assign, assigneeId: technician.UserId);
        await StepAsync(id, technician, WorkOrderAction.Start);

        // The default calendar runs around the clock in UTC: 10 h after 07:00 is 17:00, then 20 + 40 paused minutes move it.
        _clock.Advance(TimeSpan.FromMinutes(10));
        await StepAsync(id, technician, WorkOrderAction.AwaitFeedback, "Which shift saw the leak?");
        _clock.Advance(TimeSpan.FromMinutes(20));
        await StepAsync(id, technician, WorkOrderAction.Resume);
        await StepAsync(id, technician, WorkOrderAction.Hold, "Parts ordered.");
        _clock.Advance(TimeSpan.FromMinutes(40));
        await StepAsync(id, org[Role.Manager], WorkOrderAction.Resume);

        Assert.Equal(Utc(5, 6, 18), (await DetailAsync(id, org)).ResolutionDueAt);
        await using var connection = await Data.OpenConnectionAsync();
        var pauses = (await connection.QueryAsync<(string Status, decimal Minutes)>(
            "SELECT status, business_minutes FROM sla_pauses WHERE work_order_id = @id ORDER BY started_at", new { id })).ToList();
        Assert.Equal([("awaiting_feedback", 20m), ("on_hold", 40m)], pauses);
    }

    [Fact]
    public async Task two_monitors_scanning_at_once_send_each_warning_and_breach_exactly_once()
    {
        var org = await TestOrg.CreateAsync(Data);
        await PolicyAsync(Data, org, 2, response: 60, resolution: 120);
        var technician = org[Role.Technician];
        var ids = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(await NewWorkOrderAsync(org, 2, $"Leak {i}"));
        }

        await StepAsync(ids[0], org[Role.Manager], WorkOrderAction.Assign, assigneeId: technician.UserId);

        // A second data source: the other monitor has its own pool and connections, as a second app instance would.
        await using var otherData = NpgsqlDataSource.Create(database.ConnectionString);
        var first = Monitor(Data, batchSize: 5);
        var second = Monitor(otherData, batchSize: 5);
        async Task ScanTogetherAsync()
        {
            for (var round = 0; round < 4; round++)
            {
                await Task.WhenAll(Task.Run(() => first.ScanAsync(CancellationToken.None)), Task.Run(() => second.ScanAsync(CancellationToken.None)));
            }
        }

        _clock.Advance(TimeSpan.FromMinutes(47));
        await ScanTogetherAsync();
        Assert.Empty(await AlertEventsAsync(ids));

        _clock.Advance(TimeSpan.FromMinutes(1)); // 48 min: 80 % of the response target
        await ScanTogetherAsync();
        var warnings = await AlertEventsAsync(ids);
        Assert.Equal(ids.Order(), warnings.Select(w => w.WorkOrderId).Order());
        Assert.All(warnings, w => Assert.Equal(("sla_warning", "response"), (w.Kind, w.Target)));

        _clock.Advance(TimeSpan.FromMinutes(90)); // 138 min: past the response and resolution due times
        await ScanTogetherAsync();
        var alerts = await AlertEventsAsync(ids);
        Assert.Equal(12 * 4, alerts.Count);
        Assert.All(alerts.GroupBy(a => a.WorkOrderId), g => Assert.Equal(
            [("sla_breach", "resolution"), ("sla_breach", "response"), ("sla_warning", "resolution"), ("sla_warning", "response")],
            g.Select(a => (a.Kind, a.Target)).Order()));

        // The manager hears of every alert, the assignee of those on their work order; nobody outside the department.
        Assert.Equal(12 * 4, (await SlaNotificationKindsAsync(org[Role.Manager].UserId)).Count);
        Assert.Equal(["sla_warning", "sla_breach", "sla_warning", "sla_breach"], await SlaNotificationKindsAsync(technician.UserId));
        Assert.Empty(await SlaNotificationKindsAsync(org.OutsideManager.UserId));

        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM sla_clocks WHERE work_order_id = ANY(@ids) AND next_alert_at IS NOT NULL", new { ids = ids.ToArray() }));
    }

    [Fact]
    public async Task acknowledging_in_time_means_no_response_alert_and_a_paused_clock_sends_nothing()
    {
        var org = await TestOrg.CreateAsync(Data);
        await PolicyAsync(Data, org, 2, response: 60, resolution: 120);
        var technician = org[Role.Technician];
        var id = await NewWorkOrderAsync(org, 2);
        await StepAsync(id, org[Role.Manager], WorkOrderAction.Assign, assigneeId: technician.UserId);
        await StepAsync(id, technician, WorkOrderAction.Start);
        await StepAsync(id, technician, WorkOrderAction.Hold, "Waiting for the vendor.");

        _clock.Advance(TimeSpan.FromHours(5));
        await Monitor(Data).ScanAsync(CancellationToken.None);
        Assert.Empty(await AlertEventsAsync([id]));

        // Resumed after 5 h: the resolution target is due 5 h later than it was, at 14:00 UTC; its warning (at 96 min) only then.
        await StepAsync(id, technician, WorkOrderAction.Resume);
        _clock.Advance(TimeSpan.FromMinutes(95));
        await Monitor(Data).ScanAsync(CancellationToken.None);
        Assert.Empty(await AlertEventsAsync([id]));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await Monitor(Data).ScanAsync(CancellationToken.None);
        Assert.Equal([(id, "sla_warning", "resolution")], await AlertEventsAsync([id]));
    }

    [Fact]
    public async Task a_breach_raises_the_priority_by_one_when_the_option_is_on()
    {
        var org = await TestOrg.CreateAsync(Data);
        await PolicyAsync(Data, org, 3, response: 30, resolution: 60);
        var id = await NewWorkOrderAsync(org, 3);
        var before = await DetailAsync(id, org);

        _clock.Advance(TimeSpan.FromMinutes(31));
        await Monitor(Data, raisePriority: true).ScanAsync(CancellationToken.None);

        var after = await DetailAsync(id, org);
        Assert.Equal(2, after.Priority);
        Assert.Equal(before.RowVersion + 1, after.RowVersion);
        var raised = after.History.Single(e => e.Kind == SlaEvents.PriorityRaised);
        Assert.Equal((3, 2), (raised.Payload.GetProperty("from").GetInt32(), raised.Payload.GetProperty("to").GetInt32()));
        Assert.Null(raised.ActorId);

        _clock.Advance(TimeSpan.FromMinutes(30));
        await Monitor(Data, raisePriority: false).ScanAsync(CancellationToken.None);
        Assert.Equal(2, (await DetailAsync(id, org)).Priority);
    }

    [Fact]
    public async Task the_at_risk_list_shows_a_managers_department_most_urgent_first_and_leaves_out_paused_work()
    {
        var org = await TestOrg.CreateAsync(Data);
        await PolicyAsync(Data, org, 1, response: 30, resolution: 240);
        await PolicyAsync(Data, org, 2, response: 60, resolution: 480);
        var calm = await NewWorkOrderAsync(org, 2, "Calm");
        _clock.Advance(TimeSpan.FromMinutes(10));
        var urgent = await NewWorkOrderAsync(org, 1, "Urgent");
        var held = await NewWorkOrderAsync(org, 1, "Held");
        var technician = org[Role.Technician];
        await StepAsync(held, org[Role.Manager], WorkOrderAction.Assign, assigneeId: technician.UserId);
        await StepAsync(held, technician, WorkOrderAction.Start);
        await StepAsync(held, technician, WorkOrderAction.Hold, "Parts.");

        // 07:50: "Urgent" (due 07:40) is breached, "Calm" (due 08:00, warned from 07:48) is at risk.
        _clock.Advance(TimeSpan.FromMinutes(40));
        var board = new SlaBoard(Data, _clock);
        var list = (await board.AtRiskAsync(org[Role.Manager], 50, CancellationToken.None)).Value!;

        Assert.Equal([(urgent, SlaRisk.Breached), (calm, SlaRisk.AtRisk)], list.Select(w => (w.Id, w.Sla.Risk)));
        Assert.Equal(TimeSpan.FromMinutes(-10), list[0].Sla.Remaining);
        Assert.DoesNotContain((await board.AtRiskAsync(org.OutsideManager, 50, CancellationToken.None)).Value!, w => w.DepartmentId == org.DepartmentId);
        Assert.Equal(FailureKind.Forbidden, (await board.AtRiskAsync(technician, 50, CancellationToken.None)).Failure!.Kind);
    }

    [Fact]
    public async Task bad_policies_are_refused_naming_the_field_and_nothing_is_stored()
    {
        var org = await TestOrg.CreateAsync(Data);
        var policies = new SlaPolicies(Data);
        await PolicyAsync(Data, org, 2, response: 60, resolution: 480);

        async Task<IReadOnlyDictionary<string, string[]>> Refused(SlaPolicyRequest request)
        {
            var outcome = await policies.CreateAsync(request, org[Role.Admin], CancellationToken.None);
            Assert.Equal(FailureKind.Validation, outcome.Failure?.Kind);
            return outcome.Failure!.Texts(CultureInfo.InvariantCulture);
        }

        Assert.Equal(["must be more than zero business minutes."], (await Refused(new("Zero", 3, org.TemplateId, 0, 60)))["responseMinutes"]);
        Assert.Equal(["must be more than zero business minutes."], (await Refused(new("Negative", 3, org.TemplateId, 10, -5)))["resolutionMinutes"]);
        Assert.StartsWith("must not be shorter than the response target", (await Refused(new("Short", 3, org.TemplateId, 60, 30)))["resolutionMinutes"][0], StringComparison.Ordinal);
        Assert.Equal(["must be 1 (P1, most urgent) to 4 (P4)."], (await Refused(new("P5", 5, org.TemplateId, 10, 60)))["priority"]);
        Assert.Equal(["template 999999 does not exist."], (await Refused(new("Ghost", 3, 999_999, 10, 60)))["templateId"]);
        Assert.StartsWith($"a policy for P2 and template '{org.TemplateName}' already exists", (await Refused(new("Again", 2, org.TemplateId, 10, 60)))["templateId"][0], StringComparison.Ordinal);
        Assert.StartsWith("must be 1 to 99", (await Refused(new("Warn", 3, org.TemplateId, 10, 60, 100)))["warningPercent"][0], StringComparison.Ordinal);

        var forbidden = await policies.CreateAsync(new("Mine", 3, org.TemplateId, 10, 60), org[Role.Manager], CancellationToken.None);
        Assert.Equal(FailureKind.Forbidden, forbidden.Failure?.Kind);
        Assert.Single(await policies.ListAsync(CancellationToken.None), p => p.TemplateId == org.TemplateId);
    }

    [Fact]
    public async Task a_policy_can_be_changed_with_its_row_version_and_a_stale_one_is_a_conflict()
    {
        var org = await TestOrg.CreateAsync(Data);
        var policies = new SlaPolicies(Data);
        var policy = await PolicyAsync(Data, org, 2, response: 60, resolution: 480);

        var changed = await policies.UpdateAsync(policy.Id, new(policy.Name, 2, org.TemplateId, 30, 240, 75, policy.RowVersion), org[Role.Admin], CancellationToken.None);
        Assert.Equal((30, 240, 75, policy.RowVersion + 1), (changed.Value!.ResponseMinutes, changed.Value.ResolutionMinutes, changed.Value.WarningPercent, changed.Value.RowVersion));

        var stale = await policies.UpdateAsync(policy.Id, new(policy.Name, 2, org.TemplateId, 20, 240, 75, policy.RowVersion), org[Role.Admin], CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        Assert.True((await policies.DeleteAsync(policy.Id, org[Role.Admin], CancellationToken.None)).Succeeded);
        Assert.Equal(FailureKind.NotFound, (await policies.GetAsync(policy.Id, CancellationToken.None)).Failure?.Kind);
    }

    [Fact]
    public async Task bad_calendars_are_refused_naming_the_field_and_a_good_one_reads_back_as_sent()
    {
        var org = await TestOrg.CreateAsync(Data);
        var calendars = new Calendars(Data);
        var admin = org[Role.Admin];

        var notASite = await calendars.CreateAsync(
            new CalendarRequest($"Machine {org.Suffix}", "Asia/Taipei", Hours: new() { ["monday"] = ["08:00-17:00"] }, SiteIds: [org.MachineId]), admin, CancellationToken.None);
        Assert.Equal([$"asset {org.MachineId} does not exist or is not a site."], notASite.Failure!.Texts(CultureInfo.InvariantCulture)["siteIds"]);

        var overlapping = await calendars.CreateAsync(
            new CalendarRequest($"Overlap {org.Suffix}", "Mars/Base", Hours: new() { ["tuesday"] = ["08:00-12:00", "09:00-10:00"] }), admin, CancellationToken.None);
        Assert.Equal(["timeZone", "hours.tuesday"], overlapping.Failure!.Errors!.Keys);

        var saved = await TaipeiCalendarAsync(Data, org);
        Assert.Equal(["08:00-12:00", "12:00-17:00"], saved.Hours["monday"]);
        Assert.False(saved.Hours.ContainsKey("saturday"));
        Assert.Equal([org.SiteId], saved.SiteIds);
        Assert.Equal("National Day 國慶日", Assert.Single(saved.Holidays).Name);

        var sameName = await calendars.CreateAsync(
            new CalendarRequest(saved.Name, "Asia/Taipei", Hours: new() { ["monday"] = ["08:00-17:00"] }), admin, CancellationToken.None);
        Assert.Equal([$"a calendar named '{saved.Name}' already exists."], sameName.Failure!.Texts(CultureInfo.InvariantCulture)["name"]);

        var stale = await calendars.UpdateAsync(saved.Id, new CalendarRequest(saved.Name, "Asia/Taipei", Hours: new() { ["monday"] = ["09:00-17:00"] }, RowVersion: 99), admin, CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, (await calendars.CreateAsync(new CalendarRequest("x", "UTC"), org[Role.Manager], CancellationToken.None)).Failure?.Kind);
        Assert.Equal(FailureKind.Conflict, (await calendars.DeleteAsync((await calendars.ListAsync(CancellationToken.None)).Single(c => c.IsDefault).Id, admin, CancellationToken.None)).Failure?.Kind);
    }
}
