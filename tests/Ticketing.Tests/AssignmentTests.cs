using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Auto-assignment, the queue, claim and reassign against a real PostgreSQL database.</summary>
public class AssignmentTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    // A Wednesday, 07:00 UTC.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private CreateWorkOrder Create => new(Data, _clock);

    private AssignmentRules Rules => new(Data);

    private WorkOrderQueries Queries => new(Data);

    private Schedules Schedules => new(Data);

    private ReassignWorkOrder Reassign => new(Data, _clock);

    private ClaimWorkOrder Claim => new(Data, _clock);

    private static string Skill(TestOrg org) => $"pumps-{org.Suffix}";

    /// <summary>A technician of the organisation's department with the organisation's own skill at a level.</summary>
    private async Task<Actor> TechnicianAsync(TestOrg org, string name, int level = 3, bool active = true)
    {
        await using var connection = await Data.OpenConnectionAsync();
        await connection.ExecuteAsync("INSERT INTO skills (name) VALUES (@skill) ON CONFLICT DO NOTHING", new { skill = Skill(org) });
        var userName = $"{name.ToLowerInvariant()}-{org.Suffix}";
        var id = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO users (user_name, display_name, password_hash, role, department_id, active)
            VALUES (@userName, @name, 'x', 'technician', @DepartmentId, @active) RETURNING id
            """,
            new { userName, name, org.DepartmentId, active });
        await connection.ExecuteAsync("INSERT INTO user_skills (user_id, skill, level) VALUES (@id, @skill, @level)", new { id, skill = Skill(org), level });
        return new Actor(id, userName, Role.Technician, org.DepartmentId);
    }

    private async Task<AssignmentRule> RuleAsync(TestOrg org, AssignmentStrategy strategy, long? namedUserId = null, int minLevel = 2, int[]? priorities = null)
    {
        await using (var connection = await Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO skills (name) VALUES (@skill) ON CONFLICT DO NOTHING", new { skill = Skill(org) });
        }

        var outcome = await Rules.CreateAsync(
            new AssignmentRuleRequest(
                $"Pumps {strategy} {org.Suffix}", org.DepartmentId, strategy, namedUserId, org.TemplateId, Priorities: priorities,
                RequiredSkills: [new RequiredSkill(Skill(org), minLevel)]),
            org[Role.Admin],
            CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    private static CreateWorkOrderRequest Leak(TestOrg org, int priority = 3, string title = "Pump leaks") =>
        new(org.TemplateId, title, "Oil under the pump.", priority, null, org.MachineId,
            CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });

    private async Task<WorkOrderDetail> NewAsync(TestOrg org, int priority = 3, string title = "Pump leaks")
    {
        var created = await Create.HandleAsync(
            Leak(org, priority, title),
            org[Role.Requester],
            WorkOrderSource.Api,
            null,
            CancellationToken.None);
        Assert.True(created.Succeeded, created.Failure?.Message);
        return (await Queries.GetAsync(created.Value!.Id, org[Role.Admin], CancellationToken.None)).Value!;
    }

    private async Task GiveAsync(TestOrg org, long workOrderId, Actor technician)
    {
        var version = (await Queries.GetAsync(workOrderId, org[Role.Manager], CancellationToken.None)).Value!.RowVersion;
        var outcome = await new ApplyTransition(Data, _clock).HandleAsync(
            workOrderId, new TransitionRequest("assign", null, technician.UserId, null, version), org[Role.Manager], CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
    }

    private async Task<List<(string Kind, string Text)>> NotificationsOfAsync(Actor user)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return (await connection.QueryAsync<(string, string)>("SELECT kind, text FROM notifications WHERE user_id = @UserId ORDER BY id", new { user.UserId })).AsList();
    }

    [Fact]
    public async Task least_loaded_gives_new_work_to_the_qualified_technician_with_the_least_open_work_and_records_why()
    {
        var org = await TestOrg.CreateAsync(Data);
        var chen = await TechnicianAsync(org, "Chen");
        var lin = await TechnicianAsync(org, "Lin");
        await TechnicianAsync(org, "Novice", level: 1);
        foreach (var _ in Enumerable.Range(0, 2))
        {
            await GiveAsync(org, (await NewAsync(org)).Id, chen);
        }

        await RuleAsync(org, AssignmentStrategy.LeastLoaded);
        var detail = await NewAsync(org);

        Assert.Equal((WorkOrderStatus.Assigned, lin.UserId), (detail.Status, detail.AssigneeId));
        var decided = detail.History[^1];
        Assert.Equal(("auto_assigned", WorkOrderStatus.New, WorkOrderStatus.Assigned, null), (decided.Kind, decided.FromStatus, decided.ToStatus, decided.ActorId));
        Assert.Equal($"rule 'Pumps LeastLoaded {org.Suffix}' matched; candidates: Lin 0 open, Chen 2 open; chose Lin (least loaded)", decided.Note);
        Assert.Equal("least_loaded", decided.Payload.GetProperty("strategy").GetString());
        // The organisation's own two technicians lack the skill; they are looked at and left out.
        Assert.Equal(5, decided.Payload.GetProperty("considered").GetInt32());
        Assert.Equal(5, decided.Payload.GetProperty("candidates").GetArrayLength());
        var (kind, text) = Assert.Single(await NotificationsOfAsync(lin));
        Assert.Equal("assigned", kind);
        Assert.StartsWith($"{detail.Number} “Pump leaks” was assigned to you: rule", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task round_robin_takes_turns_across_consecutive_creates()
    {
        var org = await TestOrg.CreateAsync(Data);
        var a = await TechnicianAsync(org, "Ann");
        var b = await TechnicianAsync(org, "Ben");
        var c = await TechnicianAsync(org, "Cai");
        await GiveAsync(org, (await NewAsync(org)).Id, a);
        await RuleAsync(org, AssignmentStrategy.RoundRobin);

        var assignees = new List<long?>();
        for (var i = 0; i < 4; i++)
        {
            assignees.Add((await NewAsync(org)).AssigneeId);
        }

        Assert.Equal([a.UserId, b.UserId, c.UserId, a.UserId], assignees);
    }

    [Fact]
    public async Task simultaneous_creates_under_one_round_robin_rule_never_give_both_to_the_same_person()
    {
        var org = await TestOrg.CreateAsync(Data);
        var a = await TechnicianAsync(org, "Ann");
        var b = await TechnicianAsync(org, "Ben");
        await RuleAsync(org, AssignmentStrategy.RoundRobin);

        for (var round = 0; round < 3; round++)
        {
            var pair = await Task.WhenAll(NewAsync(org, title: "left"), NewAsync(org, title: "right"));
            Assert.Equal(new long?[] { a.UserId, b.UserId }, pair.Select(d => d.AssigneeId).Order());
        }
    }

    [Fact]
    public async Task simultaneous_creates_under_one_least_loaded_rule_spread_the_work_evenly()
    {
        var org = await TestOrg.CreateAsync(Data);
        var crew = new[] { await TechnicianAsync(org, "Ann"), await TechnicianAsync(org, "Ben"), await TechnicianAsync(org, "Cho") };
        await RuleAsync(org, AssignmentStrategy.LeastLoaded);

        // Each create reads the loads before it waits for the rule's cursor, so most read loads that miss the others'
        // assignments; the cursor's recent assignments must bring them up to date.
        var decided = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => NewAsync(org, title: $"pump {i}")));

        Assert.All(decided, d => Assert.Equal(WorkOrderStatus.Assigned, d.Status));
        Assert.Equal([4, 4, 4], crew.Select(t => decided.Count(d => d.AssigneeId == t.UserId)));
    }

    [Fact]
    public async Task eight_simultaneous_creates_under_one_round_robin_rule_give_each_of_four_people_two()
    {
        var org = await TestOrg.CreateAsync(Data);
        var crew = new[] { await TechnicianAsync(org, "Ann"), await TechnicianAsync(org, "Ben"), await TechnicianAsync(org, "Cho"), await TechnicianAsync(org, "Dev") };
        await RuleAsync(org, AssignmentStrategy.RoundRobin);

        for (var round = 0; round < 2; round++)
        {
            var decided = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => NewAsync(org, title: $"pump {round}-{i}")));

            Assert.Equal([2, 2, 2, 2], crew.Select(t => decided.Count(d => d.AssigneeId == t.UserId)));
        }
    }

    [Fact]
    public async Task a_create_still_running_counts_in_the_loads_and_one_that_rolled_back_spent_its_turn_but_adds_no_load()
    {
        var org = await TestOrg.CreateAsync(Data);
        var ann = await TechnicianAsync(org, "Ann");
        var ben = await TechnicianAsync(org, "Ben");
        await RuleAsync(org, AssignmentStrategy.LeastLoaded);
        // A P2 weighs 3, more than the P3 (2) that Ben gets meanwhile: a rolled-back turn still counted would keep Ann busier.
        var request = Leak(org, priority: 2);

        // A create inside a larger transaction that has not committed: its turn is taken, its work order unseen.
        await using var connection = await Data.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var held = await Create.InsertAsync(connection, transaction, request, org[Role.Requester], WorkOrderSource.Api, null, CancellationToken.None);
        Assert.True(held.Succeeded, held.Failure?.Message);
        var heldAssignee = await connection.ExecuteScalarAsync<long?>(
            "SELECT assignee_id FROM work_orders WHERE id = @Id", new { held.Value!.Id }, transaction);
        Assert.Equal(ann.UserId, heldAssignee);

        // Ann's load counts the running create although no other transaction sees its work order.
        Assert.Equal(ben.UserId, (await NewAsync(org)).AssigneeId);

        await transaction.RollbackAsync();

        // Rolled back: Ann has nothing open again and Ben a P3, so least loaded gives her the next.
        Assert.Equal(ann.UserId, (await NewAsync(org)).AssigneeId);
    }

    [Fact]
    public async Task a_round_robin_turn_taken_by_a_create_that_rolled_back_is_spent()
    {
        var org = await TestOrg.CreateAsync(Data);
        var ann = await TechnicianAsync(org, "Ann");
        var ben = await TechnicianAsync(org, "Ben");
        var cho = await TechnicianAsync(org, "Cho");
        await RuleAsync(org, AssignmentStrategy.RoundRobin);
        var request = Leak(org);

        Assert.Equal(ann.UserId, (await NewAsync(org)).AssigneeId);
        await using (var connection = await Data.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var rolledBack = await Create.InsertAsync(connection, transaction, request, org[Role.Requester], WorkOrderSource.Api, null, CancellationToken.None);
            Assert.True(rolledBack.Succeeded, rolledBack.Failure?.Message);
            await transaction.RollbackAsync();
        }

        // Ben's turn went to the work order that was never kept: like a number drawn from a sequence, it is not given back.
        var next = new List<long?>();
        for (var i = 0; i < 3; i++)
        {
            next.Add((await NewAsync(org)).AssigneeId);
        }

        Assert.Equal([cho.UserId, ann.UserId, ben.UserId], next);
    }

    [Fact]
    public void loads_read_before_the_lock_are_brought_up_to_the_cursor_or_read_again_when_it_cannot_tell()
    {
        var always = WeeklySchedule.Always;
        List<Person> seen = [new(1, "Ann", true, new Dictionary<string, int>(), 1, 2, always), new(2, "Ben", true, new Dictionary<string, int>(), 0, 0, always)];
        var cursor = new AutoAssign.CursorRow { LastUserId = 2, Version = 12, RecentUsers = [1, 2, 2, 1], RecentWeights = [4, 2, 3, 1] };

        var caughtUp = AutoAssign.CatchUp(seen, 9, cursor)!;

        // Three assignments since version 9: the last three of the lists.
        Assert.Equal([(2, 3), (2, 5)], caughtUp.Select(p => (p.OpenCount, p.Load)));
        Assert.Equal(seen, AutoAssign.CatchUp(seen, 12, cursor));
        Assert.Null(AutoAssign.CatchUp(seen, 7, cursor));
        Assert.Null(AutoAssign.CatchUp(seen, null, cursor));
    }

    [Fact]
    public async Task a_named_person_rule_gives_the_work_to_that_person_even_when_others_are_free()
    {
        var org = await TestOrg.CreateAsync(Data);
        await TechnicianAsync(org, "Free");
        var expert = await TechnicianAsync(org, "Expert", level: 5);
        await RuleAsync(org, AssignmentStrategy.NamedPerson, expert.UserId);

        var first = await NewAsync(org);
        var second = await NewAsync(org);

        Assert.Equal([expert.UserId, expert.UserId], [first.AssigneeId, second.AssigneeId]);
        Assert.EndsWith("chose Expert (named person)", second.History[^1].Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task p1_goes_to_the_least_loaded_qualified_person_on_shift_skipping_idle_people_who_are_off_shift_or_away()
    {
        var org = await TestOrg.CreateAsync(Data);
        var offShift = await TechnicianAsync(org, "Night");
        var away = await TechnicianAsync(org, "Leave");
        var busy = await TechnicianAsync(org, "Busy");
        var busier = await TechnicianAsync(org, "Busier");
        await GiveAsync(org, (await NewAsync(org)).Id, busy);
        await GiveAsync(org, (await NewAsync(org)).Id, busier);
        await GiveAsync(org, (await NewAsync(org)).Id, busier);
        var now = _clock.GetUtcNow().UtcDateTime;
        // 07:00 UTC on Wednesday is 15:00 in Taipei: the night shift starts at 22:00 there.
        Assert.True((await Schedules.SaveAsync(offShift.UserId, new ScheduleRequest("Asia/Taipei", [new WorkingHours(3, new TimeOnly(22, 0), new TimeOnly(23, 59))], []), org[Role.Admin], CancellationToken.None)).Succeeded);
        Assert.True((await Schedules.SaveAsync(away.UserId, new ScheduleRequest("UTC", [], [new AwayPeriod(now.AddDays(-1), now.AddDays(2), "annual leave")]), org[Role.Manager], CancellationToken.None)).Succeeded);
        Assert.True((await Schedules.SaveAsync(busy.UserId, new ScheduleRequest("Asia/Taipei", [new WorkingHours(3, new TimeOnly(8, 0), new TimeOnly(17, 0))], []), org[Role.Admin], CancellationToken.None)).Succeeded);
        await RuleAsync(org, AssignmentStrategy.NamedPerson, busier.UserId);

        var urgent = await NewAsync(org, priority: 1);
        var routine = await NewAsync(org, priority: 3);

        Assert.Equal(busy.UserId, urgent.AssigneeId);
        Assert.Contains("candidates: Busy 1 open, Busier 2 open; chose Busy (P1 goes to the least loaded person on shift)", urgent.History[^1].Note, StringComparison.Ordinal);
        Assert.True(urgent.History[^1].Payload.GetProperty("urgentOverride").GetBoolean());
        Assert.Equal(busier.UserId, routine.AssigneeId);
    }

    [Fact]
    public async Task a_change_to_someones_skills_or_hours_reaches_the_very_next_create()
    {
        // The rosters a create has read are held by the process (Rosters): each of these creates must see the change
        // committed just before it, not the roster held from the one before.
        var org = await TestOrg.CreateAsync(Data);
        var chen = await TechnicianAsync(org, "Chen");
        var lin = await TechnicianAsync(org, "Lin");
        await GiveAsync(org, (await NewAsync(org)).Id, chen);
        await RuleAsync(org, AssignmentStrategy.LeastLoaded);
        Assert.Equal(lin.UserId, (await NewAsync(org)).AssigneeId);
        Assert.Equal(chen.UserId, (await NewAsync(org)).AssigneeId);

        await using (var connection = await Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE user_skills SET level = 1 WHERE user_id = @UserId", lin);
        }

        var lacking = await NewAsync(org);
        Assert.Equal(chen.UserId, lacking.AssigneeId);
        Assert.Contains("chose Chen", lacking.History[^1].Note, StringComparison.Ordinal);

        // 07:00 UTC on Wednesday is 15:00 in Taipei, before Chen's hours.
        Assert.True((await Schedules.SaveAsync(chen.UserId, new ScheduleRequest("Asia/Taipei", [new WorkingHours(3, new TimeOnly(22, 0), new TimeOnly(23, 59))], []), org[Role.Admin], CancellationToken.None)).Succeeded);
        var nobody = await NewAsync(org);
        Assert.Equal((WorkOrderStatus.New, null), (nobody.Status, nobody.AssigneeId));
        Assert.Contains("Chen off shift", nobody.History[^1].Note, StringComparison.Ordinal);
        Assert.Contains("Lin not qualified", nobody.History[^1].Note, StringComparison.Ordinal);

        await using (var connection = await Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE user_skills SET level = 3 WHERE user_id = @UserId", lin);
        }

        Assert.Equal(lin.UserId, (await NewAsync(org)).AssigneeId);
        Assert.True((await Schedules.SaveAsync(chen.UserId, new ScheduleRequest("UTC", [], []), org[Role.Admin], CancellationToken.None)).Succeeded);
        var back = await NewAsync(org);
        Assert.Contains("candidates: Lin 2 open, Chen 3 open; chose Lin", back.History[^1].Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task with_no_qualified_candidate_the_work_waits_in_the_department_queue_and_the_managers_are_told()
    {
        var org = await TestOrg.CreateAsync(Data);
        await TechnicianAsync(org, "Junior", level: 2);
        await RuleAsync(org, AssignmentStrategy.LeastLoaded, minLevel: 4);

        var detail = await NewAsync(org);

        Assert.Equal((WorkOrderStatus.New, null), (detail.Status, detail.AssigneeId));
        var queued = detail.History[^1];
        Assert.Equal("queued", queued.Kind);
        Assert.Contains("Junior not qualified", queued.Note, StringComparison.Ordinal);
        var (kind, text) = Assert.Single(await NotificationsOfAsync(org[Role.Manager]));
        Assert.Equal("queued", kind);
        Assert.Contains(detail.Number, text, StringComparison.Ordinal);
        Assert.Empty(await NotificationsOfAsync(org.OutsideManager));

        var queue = (await new DepartmentQueue(Data).ListAsync(org[Role.Technician], 50, CancellationToken.None)).Value!;
        var item = Assert.Single(queue, q => q.Id == detail.Id);
        Assert.Equal(queued.Note, item.QueuedReason);
    }

    [Fact]
    public async Task two_technicians_claiming_the_same_queued_work_order_at_once_one_wins_and_the_other_gets_a_conflict()
    {
        var org = await TestOrg.CreateAsync(Data);
        var detail = await NewAsync(org);

        var outcomes = await Task.WhenAll(
            Claim.HandleAsync(detail.Id, org[Role.Technician], CancellationToken.None),
            Claim.HandleAsync(detail.Id, org.OtherTechnician, CancellationToken.None));

        var winner = Assert.Single(outcomes, o => o.Succeeded);
        var loser = Assert.Single(outcomes, o => !o.Succeeded);
        Assert.Equal(FailureKind.Conflict, loser.Failure!.Kind);
        Assert.Contains("was already taken by", loser.Failure.Message, StringComparison.Ordinal);
        var after = (await Queries.GetAsync(detail.Id, org[Role.Manager], CancellationToken.None)).Value!;
        Assert.Equal((WorkOrderStatus.Assigned, winner.Value!.AssigneeId, "claim"), (after.Status, after.AssigneeId, after.History[^1].Kind));
        Assert.Single(after.History, e => e.Kind == "claim");
        Assert.DoesNotContain((await new DepartmentQueue(Data).ListAsync(org[Role.Technician], 50, CancellationToken.None)).Value!, q => q.Id == detail.Id);
    }

    [Fact]
    public async Task only_technicians_of_the_department_claim()
    {
        var org = await TestOrg.CreateAsync(Data);
        var detail = await NewAsync(org);
        var stranger = new Actor(org.OtherTechnician.UserId, org.OtherTechnician.UserName, Role.Technician, org.DepartmentId + 1);

        Assert.Equal(FailureKind.Forbidden, (await Claim.HandleAsync(detail.Id, org[Role.Requester], CancellationToken.None)).Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, (await Claim.HandleAsync(detail.Id, stranger, CancellationToken.None)).Failure?.Kind);
        Assert.Equal(FailureKind.NotFound, (await Claim.HandleAsync(-1, org[Role.Technician], CancellationToken.None)).Failure?.Kind);
    }

    [Fact]
    public async Task reassigning_keeps_the_history_tells_both_people_and_lets_the_new_assignee_open_it()
    {
        var org = await TestOrg.CreateAsync(Data);
        var chen = await TechnicianAsync(org, "Chen");
        var lin = await TechnicianAsync(org, "Lin");
        await RuleAsync(org, AssignmentStrategy.NamedPerson, chen.UserId);
        var detail = await NewAsync(org);
        Assert.Equal(chen.UserId, detail.AssigneeId);

        var outcome = await Reassign.HandleAsync(detail.Id, new ReassignRequest(lin.UserId, "Chen is on the night shift this week", detail.RowVersion), org[Role.Manager], CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        var seen = (await Queries.GetAsync(detail.Id, lin, CancellationToken.None)).Value!;
        Assert.Equal(lin.UserId, seen.AssigneeId);
        Assert.Equal(["created", "auto_assigned", "reassign"], seen.History.Select(e => e.Kind));
        var moved = seen.History[^1];
        Assert.Equal(("Chen is on the night shift this week", org[Role.Manager].UserId), (moved.Note, moved.ActorId));
        Assert.Equal(chen.UserId, moved.Payload.GetProperty("previousAssigneeId").GetInt64());
        Assert.Equal("reassigned", (await NotificationsOfAsync(chen))[^1].Kind);
        Assert.Contains("was reassigned to Lin: Chen is on the night shift this week", (await NotificationsOfAsync(chen))[^1].Text, StringComparison.Ordinal);
        Assert.Contains("was reassigned to you", (await NotificationsOfAsync(lin))[^1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task reassigning_to_an_inactive_or_unqualified_person_or_without_a_reason_is_refused_and_changes_nothing()
    {
        var org = await TestOrg.CreateAsync(Data);
        var chen = await TechnicianAsync(org, "Chen");
        var gone = await TechnicianAsync(org, "Gone", active: false);
        var novice = await TechnicianAsync(org, "Novice", level: 1);
        await RuleAsync(org, AssignmentStrategy.NamedPerson, chen.UserId);
        var detail = await NewAsync(org);
        var manager = org[Role.Manager];

        var inactive = await Reassign.HandleAsync(detail.Id, new ReassignRequest(gone.UserId, "cover", detail.RowVersion), manager, CancellationToken.None);
        var unqualified = await Reassign.HandleAsync(detail.Id, new ReassignRequest(novice.UserId, "cover", detail.RowVersion), manager, CancellationToken.None);
        var noReason = await Reassign.HandleAsync(detail.Id, new ReassignRequest(novice.UserId, "  ", detail.RowVersion), manager, CancellationToken.None);
        var outsider = await Reassign.HandleAsync(detail.Id, new ReassignRequest(org.OutsideManager.UserId, "cover", detail.RowVersion), manager, CancellationToken.None);
        var notManager = await Reassign.HandleAsync(detail.Id, new ReassignRequest(chen.UserId, "cover", detail.RowVersion), org[Role.Technician], CancellationToken.None);
        var stale = await Reassign.HandleAsync(detail.Id, new ReassignRequest(chen.UserId, "cover", detail.RowVersion - 1), manager, CancellationToken.None);

        Assert.Equal($"user 'Gone' is inactive.", inactive.Failure?.Texts(CultureInfo.InvariantCulture)["assigneeId"][0]);
        Assert.Equal(
            $"user 'Novice' is not qualified for rule 'Pumps NamedPerson {org.Suffix}': has '{Skill(org)}' at level 1, below the required 2.",
            unqualified.Failure?.Texts(CultureInfo.InvariantCulture)["assigneeId"][0]);
        Assert.Equal(["reason"], noReason.Failure?.Errors?.Keys);
        Assert.Contains("not in the work order's department", outsider.Failure?.Texts(CultureInfo.InvariantCulture)["assigneeId"][0], StringComparison.Ordinal);
        Assert.Equal(FailureKind.Forbidden, notManager.Failure?.Kind);
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        var after = (await Queries.GetAsync(detail.Id, manager, CancellationToken.None)).Value!;
        Assert.Equal((chen.UserId, detail.RowVersion, 2), (after.AssigneeId, after.RowVersion, after.History.Count));

        var options = (await Reassign.OptionsAsync(detail.Id, manager, CancellationToken.None)).Value!;
        Assert.NotNull(options.Single(o => o.UserId == novice.UserId).Refusal);
        Assert.Equal("is the current assignee", options.Single(o => o.UserId == chen.UserId).Refusal?.ToString());
        Assert.DoesNotContain(options, o => o.UserId == gone.UserId);
    }

    [Fact]
    public async Task rules_that_name_unknown_things_or_an_unfit_named_person_are_refused_with_the_field_and_the_reason()
    {
        var org = await TestOrg.CreateAsync(Data);
        var admin = org[Role.Admin];
        var gone = await TechnicianAsync(org, "Gone", active: false);

        var unknown = await Rules.CreateAsync(
            new AssignmentRuleRequest(" ", 99999999, AssignmentStrategy.LeastLoaded, TemplateId: 99999999, LocationAssetId: 99999999,
                Priorities: [0], RequiredSkills: [new RequiredSkill("telepathy", 3), new RequiredSkill(Skill(org), 9)]),
            admin,
            CancellationToken.None);
        var inactive = await Rules.CreateAsync(new AssignmentRuleRequest("named", org.DepartmentId, AssignmentStrategy.NamedPerson, gone.UserId), admin, CancellationToken.None);
        var outsider = await Rules.CreateAsync(new AssignmentRuleRequest("named", org.DepartmentId, AssignmentStrategy.NamedPerson, org.OutsideManager.UserId), admin, CancellationToken.None);
        var missingPerson = await Rules.CreateAsync(new AssignmentRuleRequest("named", org.DepartmentId, AssignmentStrategy.NamedPerson), admin, CancellationToken.None);
        var notAdmin = await Rules.CreateAsync(new AssignmentRuleRequest("x", org.DepartmentId, AssignmentStrategy.LeastLoaded), org[Role.Manager], CancellationToken.None);

        var errors = unknown.Failure!.Texts(CultureInfo.InvariantCulture);
        Assert.Equal(["name", "priorities", "requiredSkills[1].minLevel", "departmentId", "templateId", "locationAssetId", "requiredSkills"], errors.Keys);
        Assert.Equal("'telepathy' is not a known skill.", errors["requiredSkills"][0]);
        Assert.Equal("department 99999999 does not exist.", errors["departmentId"][0]);
        Assert.Contains("inactive", inactive.Failure!.Texts(CultureInfo.InvariantCulture)["namedUserId"][0], StringComparison.Ordinal);
        Assert.Contains("not a technician or manager of the rule's department", outsider.Failure!.Texts(CultureInfo.InvariantCulture)["namedUserId"][0], StringComparison.Ordinal);
        Assert.Equal(["namedUserId"], missingPerson.Failure!.Errors!.Keys);
        Assert.Equal(FailureKind.Forbidden, notAdmin.Failure?.Kind);
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM assignment_rules WHERE name = 'named'"));
    }

    [Fact]
    public async Task a_rule_changed_by_someone_else_meanwhile_is_a_conflict_and_rules_move_and_deactivate()
    {
        var org = await TestOrg.CreateAsync(Data);
        var admin = org[Role.Admin];
        var first = await RuleAsync(org, AssignmentStrategy.LeastLoaded);
        var second = await RuleAsync(org, AssignmentStrategy.RoundRobin);

        var renamed = await Rules.UpdateAsync(first.Id, AssignmentRules.ToRequest(first) with { Name = $"Renamed {org.Suffix}" }, admin, CancellationToken.None);
        var stale = await Rules.UpdateAsync(first.Id, AssignmentRules.ToRequest(first) with { Name = $"Stale {org.Suffix}" }, admin, CancellationToken.None);
        var moved = await Rules.MoveAsync(second.Id, MoveDirection.Up, admin, CancellationToken.None);
        var off = await Rules.DeactivateAsync(first.Id, null, admin, CancellationToken.None);

        Assert.Equal(2, renamed.Value?.RowVersion);
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        var all = await Rules.ListAsync(includeInactive: true, CancellationToken.None);
        var ours = all.Where(r => r.Id == first.Id || r.Id == second.Id).ToList();
        Assert.Equal([second.Id, first.Id], ours.Select(r => r.Id));
        Assert.True(moved.Value!.Position < ours[1].Position);
        Assert.False(off.Value!.Active);
        Assert.DoesNotContain(await Rules.ListAsync(includeInactive: false, CancellationToken.None), r => r.Id == first.Id);
    }

    [Fact]
    public async Task a_rule_sends_work_to_its_department_and_matches_a_location_subtree()
    {
        var org = await TestOrg.CreateAsync(Data);
        await using var connection = await Data.OpenConnectionAsync();
        var other = await connection.ExecuteScalarAsync<long>("INSERT INTO departments (name) VALUES (@n) RETURNING id", new { n = $"Pumps team {org.Suffix}" });
        var pumper = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO users (user_name, display_name, password_hash, role, department_id) VALUES (@u, 'Pumper', 'x', 'technician', @other) RETURNING id",
            new { u = $"pumper-{org.Suffix}", other });
        var created = await Rules.CreateAsync(
            new AssignmentRuleRequest($"Site {org.Suffix}", other, AssignmentStrategy.LeastLoaded, TemplateId: org.TemplateId, LocationAssetId: org.SiteId, AssetType: "pump"),
            org[Role.Admin],
            CancellationToken.None);
        Assert.True(created.Succeeded, created.Failure?.Message);

        var detail = await NewAsync(org);

        Assert.Equal((other, pumper), (detail.DepartmentId, detail.AssigneeId!.Value));
    }

    [Fact]
    public async Task schedules_with_an_unknown_time_zone_overlapping_hours_or_a_backwards_away_period_are_refused()
    {
        var org = await TestOrg.CreateAsync(Data);
        var now = _clock.GetUtcNow().UtcDateTime;
        var request = new ScheduleRequest(
            "Mars/Olympus",
            [new WorkingHours(1, new TimeOnly(8, 0), new TimeOnly(12, 0)), new WorkingHours(1, new TimeOnly(11, 0), new TimeOnly(15, 0)), new WorkingHours(9, new TimeOnly(9, 0), new TimeOnly(8, 0))],
            [new AwayPeriod(now, now.AddDays(-1), null)]);

        var refused = await Schedules.SaveAsync(org[Role.Technician].UserId, request, org[Role.Admin], CancellationToken.None);
        var forbidden = await Schedules.GetAsync(org[Role.Technician].UserId, org.OutsideManager, CancellationToken.None);
        var saved = await Schedules.SaveAsync(org[Role.Technician].UserId, request with { TimeZone = "Asia/Taipei", Hours = request.Hours!.Take(1).ToList(), Away = [] }, org[Role.Manager], CancellationToken.None);

        Assert.Equal(["timeZone", "hours[1]", "hours[2].weekday", "hours[2].end", "away[0].to"], refused.Failure!.Errors!.Keys);
        Assert.Equal(FailureKind.Forbidden, forbidden.Failure?.Kind);
        Assert.Equal(("Asia/Taipei", new WorkingHours(1, new TimeOnly(8, 0), new TimeOnly(12, 0))), (saved.Value!.TimeZone, Assert.Single(saved.Value.Hours)));
    }
}
