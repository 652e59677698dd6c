using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;

namespace WorkOrders.Tests;

/// <summary>A route of one stop on the org's machine and a round of it: what a round test starts from.</summary>
public sealed record TestRound(long RouteId, long RoundId, long StopId, IReadOnlyList<long> ItemIds, string MachineCode, long FindingTemplateId);

/// <summary>Inspection routes and rounds for a test's own org, made the way the app makes them.</summary>
public static class TestRounds
{
    /// <summary>
    /// A route named <paramref name="name"/> (with an inspection template and a finding template of the same name) of one
    /// stop on the org's machine with <paramref name="items"/>, saved by the org's planner; items that name no finding
    /// template raise their findings from the route's. Then a round of it for the org's technician, as the generator makes
    /// one: open since ten minutes ago, its window ending <paramref name="window"/> from now (two hours unless told) and
    /// its grace <paramref name="grace"/> after that (two hours unless told).
    /// </summary>
    public static async Task<TestRound> RoundAsync(
        this TestOrg org,
        NpgsqlDataSource dataSource,
        TimeProvider clock,
        string name,
        IReadOnlyList<ItemRequest> items,
        string instructions = "",
        TimeSpan? window = null,
        TimeSpan? grace = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var inspection = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'inspection', 3, @department) RETURNING id",
            new { name = $"Rounds {name} {org.Suffix}", department = org.DepartmentId });
        var finding = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id, asset_required) VALUES (@name, 'corrective', 3, @department, true) RETURNING id",
            new { name = $"Finding {name} {org.Suffix}", department = org.DepartmentId });
        var machineCode = await connection.ExecuteScalarAsync<string>("SELECT code FROM assets WHERE id = @id", new { id = org.MachineId });
        var created = await new InspectionRoutes(dataSource, clock).CreateAsync(
            new RouteRequest($"{name} {org.Suffix}", inspection, "", [
                new StopRequest(org.MachineId, instructions, [.. items.Select(i => i with { FindingTemplateId = i.FindingTemplateId ?? finding })]),
            ]),
            org[Role.Planner],
            CancellationToken.None);
        var route = created.Value ?? throw new InvalidOperationException($"The route was refused: {created.Failure}");
        var now = clock.GetUtcNow().UtcDateTime;
        var windowEnds = now + (window ?? TimeSpan.FromHours(2));
        var round = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO inspection_rounds (route_id, route_version, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id, assignee_id, created_at)
            VALUES (@Id, 1, 'test', @slotAt, @windowEnds, @graceEnds, 'open', @DepartmentId, @technician, @now)
            RETURNING id
            """,
            new
            {
                route.Id, slotAt = now.AddMinutes(-10), windowEnds, graceEnds = windowEnds + (grace ?? TimeSpan.FromHours(2)), org.DepartmentId,
                technician = org[Role.Technician].UserId, now,
            });
        var stop = route.Stops[0];
        return new TestRound(route.Id, round, stop.Id, [.. stop.Items.OrderBy(i => i.Position).Select(i => i.Id)], machineCode!, finding);
    }
}
