using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;

namespace WorkOrders.Ticketing.Tests.Inspections;

/// <summary>A round's assignment tells its inspector once, with a link to the round, under two instances and retries.</summary>
public sealed class RoundAssignmentTests
{
    private static readonly DateTime Start = new(2027, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static async Task<List<(long UserId, long RoundId, int Assignment, string Text, string Link)>> NotificationsAsync(InspectionWorld world, long routeId)
    {
        await using var connection = await world.Data.OpenConnectionAsync();
        return [.. await connection.QueryAsync<(long, long, int, string, string)>(
            """
            SELECT n.user_id, n.round_id, n.round_assignment, n.text, n.link
            FROM notifications n JOIN inspection_rounds r ON r.id = n.round_id
            WHERE r.route_id = @routeId AND n.kind = 'round_assigned'
            ORDER BY n.round_id, n.round_assignment
            """,
            new { routeId })];
    }

    [Fact]
    public async Task two_generators_on_two_instances_notify_the_inspector_the_rules_chose_once_per_round_with_a_link_to_it()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        await world.AddRoundRuleAsync();

        var route = await world.RouteAsync("Notified", schedules: [InspectionWorld.TwiceDaily(new DateOnly(2027, 3, 1))]);
        await using var second = NpgsqlDataSource.Create(world.Database.ConnectionString);
        var options = Options.Create(new InspectionOptions { BatchSize = 50 });
        RoundGenerator[] generators = [new(world.Data, world.Clock, options, NullLogger<RoundGenerator>.Instance), new(second, world.Clock, options, NullLogger<RoundGenerator>.Instance)];

        // A day in steps of ten minutes, two generators at once each step, and each step run again (a retry).
        for (var step = 0; step < 24 * 6; step++)
        {
            world.Clock.Advance(TimeSpan.FromMinutes(10));
            await Task.WhenAll(generators.Select(g => g.GenerateAsync(CancellationToken.None)));
            await generators[step % 2].GenerateAsync(CancellationToken.None);
        }

        await using var check = await world.Data.OpenConnectionAsync();
        var rounds = (await check.QueryAsync<(long Id, string SlotKey, long? AssigneeId, int Assignment)>(
            "SELECT id, slot_key, assignee_id, assignment FROM inspection_rounds WHERE route_id = @id ORDER BY slot_at", new { id = route.Id })).ToList();
        Assert.Equal(3, rounds.Count);
        Assert.All(rounds, r => Assert.Equal((world.Technician.UserId, 1), (r.AssigneeId!.Value, r.Assignment)));
        var notes = await NotificationsAsync(world, route.Id);
        Assert.Equal(rounds.Select(r => (world.Technician.UserId, r.Id, 1, $"/inspections/rounds/{r.Id}")), notes.Select(n => (n.UserId, n.RoundId, n.Assignment, n.Link)));
        Assert.Equal($"Inspection round “{route.Name}” of 2027-03-01 08:00 was assigned to you.", notes[0].Text);
    }

    [Fact]
    public async Task a_manual_reassignment_from_two_instances_at_once_and_its_retry_notify_the_new_inspector_once_and_only_a_manager_may()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var route = await world.RouteAsync("Handed over");
        var roundId = await world.RoundAsync(route.Id, "2027-03-01T08:00");
        await using var second = NpgsqlDataSource.Create(world.Database.ConnectionString);
        RoundAssignment[] instances = [new(world.Data, world.Clock), new(second, world.Clock)];
        var manager = world.Org[Role.Manager];
        var other = world.Org.OtherTechnician;

        var both = await Task.WhenAll(instances.Select(i => i.ReassignAsync(roundId, new RoundReassignRequest(other.UserId, 0), manager, CancellationToken.None)));
        Assert.All(both, b => Assert.Equal(new RoundAssigned(roundId, other.UserId, 1), b.Value));
        var retry = await instances[1].ReassignAsync(roundId, new RoundReassignRequest(other.UserId, 0), manager, CancellationToken.None);
        Assert.Equal(new RoundAssigned(roundId, other.UserId, 1), retry.Value);
        Assert.Equal([(other.UserId, roundId, 1, $"/inspections/rounds/{roundId}")], (await NotificationsAsync(world, route.Id)).Select(n => (n.UserId, n.RoundId, n.Assignment, n.Link)));

        // A stale assignment number, a technician, someone of another department: refused, nothing told.
        Assert.Equal("inspection.assignment_stale",
            (await instances[0].ReassignAsync(roundId, new RoundReassignRequest(world.Technician.UserId, 0), manager, CancellationToken.None)).Failure?.Reason.Code);
        Assert.Equal("inspection.reassign_not_allowed",
            (await instances[0].ReassignAsync(roundId, new RoundReassignRequest(world.Technician.UserId, 1), world.Technician, CancellationToken.None)).Failure?.Reason.Code);
        var outside = await instances[0].ReassignAsync(roundId, new RoundReassignRequest(world.Org.OutsideManager.UserId, 1), manager, CancellationToken.None);
        Assert.Equal("inspection.assignee_not_eligible", Assert.Single(outside.Failure!.Errors!["assigneeId"]).Code);

        // Handed back: a new assignment, so the first inspector is told again.
        var back = await instances[0].ReassignAsync(roundId, new RoundReassignRequest(world.Technician.UserId, 1), manager, CancellationToken.None);
        Assert.Equal(2, back.Value!.Assignment);
        Assert.Equal([(other.UserId, 1), (world.Technician.UserId, 2)], (await NotificationsAsync(world, route.Id)).Select(n => (n.UserId, n.Assignment)));
    }
}
