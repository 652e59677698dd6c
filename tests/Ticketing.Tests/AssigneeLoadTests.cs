using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>
/// The loads PostgreSQL keeps per person (migration 0037) equal a count of everyone's open work after every kind of
/// change to work orders, folded or not, and when two instances create, change and fold at once.
/// </summary>
public class AssigneeLoadTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private async Task<List<Actor>> TechniciansAsync(TestOrg org, int count)
    {
        await using var connection = await Data.OpenConnectionAsync();
        var technicians = new List<Actor>();
        for (var i = 0; i < count; i++)
        {
            var userName = $"loads{i}-{org.Suffix}";
            var id = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO users (user_name, display_name, password_hash, role, department_id) VALUES (@userName, @userName, 'x', 'technician', @DepartmentId) RETURNING id",
                new { userName, org.DepartmentId });
            technicians.Add(new Actor(id, userName, Role.Technician, org.DepartmentId));
        }

        return technicians;
    }

    private static async Task<long> CreateAsync(NpgsqlDataSource data, TimeProvider clock, TestOrg org, int priority)
    {
        var created = await new CreateWorkOrder(data, clock).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "Pump leaks", "Oil under the pump.", priority, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") }),
            org[Role.Requester],
            WorkOrderSource.Api,
            null,
            CancellationToken.None);
        Assert.True(created.Succeeded, created.Failure?.Message);
        return created.Value!.Id;
    }

    private static async Task<(WorkOrderStatus Status, long? AssigneeId, int RowVersion)> StateAsync(NpgsqlDataSource data, long id)
    {
        await using var connection = await data.OpenConnectionAsync();
        var (status, assignee, version) = await connection.QuerySingleAsync<(string, long?, int)>(
            "SELECT status, assignee_id, row_version FROM work_orders WHERE id = @id", new { id });
        return (WireNames.Parse<WorkOrderStatus>(status), assignee, version);
    }

    private static async Task TransitionAsync(NpgsqlDataSource data, TimeProvider clock, long id, string action, Actor actor, long? assigneeId = null)
    {
        var (_, _, version) = await StateAsync(data, id);
        var note = action is "hold" or "cancel" ? "Waiting for parts." : null;
        var outcome = await new ApplyTransition(data, clock).HandleAsync(id, new TransitionRequest(action, note, assigneeId, null, version), actor, CancellationToken.None);
        Assert.True(outcome.Succeeded, $"{action} of {id}: {outcome.Failure?.Message}");
    }

    /// <summary>A step of a work order's life that its state allows, taken by whoever may take it.</summary>
    private static async Task StepAsync(NpgsqlDataSource data, TimeProvider clock, TestOrg org, List<Actor> technicians, long id, Random random)
    {
        var (status, assigneeId, _) = await StateAsync(data, id);
        var assignee = technicians.Find(t => t.UserId == assigneeId);
        var others = technicians.Where(t => t.UserId != assigneeId).ToList();
        var someone = others[random.Next(others.Count)];
        switch (status)
        {
            case WorkOrderStatus.New:
            case WorkOrderStatus.Assigned when random.Next(3) == 0:
                await TransitionAsync(data, clock, id, "assign", org[Role.Manager], someone.UserId);
                break;
            case WorkOrderStatus.Assigned:
                await TransitionAsync(data, clock, id, "start", assignee!);
                break;
            case WorkOrderStatus.InProgress:
                var action = random.Next(3) switch { 0 => "hold", 1 => "resolve", _ => "cancel" };
                await TransitionAsync(data, clock, id, action, action == "cancel" ? org[Role.Manager] : assignee!);
                break;
            case WorkOrderStatus.OnHold:
                await TransitionAsync(data, clock, id, "resume", assignee!);
                break;
        }
    }

    [Fact]
    public async Task the_kept_loads_equal_a_count_of_open_work_after_creates_transitions_bulk_statements_rollbacks_and_folds()
    {
        var org = await TestOrg.CreateAsync(Data);
        var technicians = await TechniciansAsync(org, 4);
        var random = new Random(37);
        var ids = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(await CreateAsync(Data, _clock, org, 1 + (i % 4)));
        }

        for (var round = 0; round < 8; round++)
        {
            foreach (var id in ids)
            {
                await StepAsync(Data, _clock, org, technicians, id, random);
            }

            Assert.Empty(await KeptLoads.DifferencesAsync(Data));
            if (round % 3 == 2)
            {
                Assert.True(await AssigneeLoads.FoldAsync(Data, CancellationToken.None) > 0);
                Assert.Equal(0, await KeptLoads.UnfoldedAsync(Data));
                Assert.Empty(await KeptLoads.DifferencesAsync(Data));
            }
        }

        await using var connection = await Data.OpenConnectionAsync();
        var (first, second) = (technicians[0].UserId, technicians[1].UserId);

        // Statements over many rows: every priority raised, one person's open work moved to another.
        await connection.ExecuteAsync("UPDATE work_orders SET priority = greatest(priority - 1, 1) WHERE department_id = @DepartmentId", new { org.DepartmentId });
        Assert.Empty(await KeptLoads.DifferencesAsync(connection));
        await connection.ExecuteAsync("UPDATE work_orders SET assignee_id = @second WHERE assignee_id = @first", new { first, second });
        Assert.Empty(await KeptLoads.DifferencesAsync(connection));

        // Copies of every open work order made in one statement and deleted in another, the deletion rolled back once.
        var copied = await connection.ExecuteAsync(
            """
            INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, department_id, assignee_id, created_at, source, row_version, updated_at)
            SELECT number || '-copy', template_id, work_type, title, description, priority, status, requester_id, department_id, assignee_id, created_at, source, 1, updated_at
            FROM work_orders WHERE department_id = @DepartmentId AND assignee_id IS NOT NULL
            """,
            new { org.DepartmentId });
        Assert.True(copied > 0);
        Assert.Empty(await KeptLoads.DifferencesAsync(connection));
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("DELETE FROM work_orders WHERE number LIKE '%-copy'", transaction: transaction);
            await connection.ExecuteAsync("UPDATE work_orders SET assignee_id = @first WHERE assignee_id IS NOT NULL", new { first }, transaction);
            Assert.Empty(await KeptLoads.DifferencesAsync(connection, transaction));
            await transaction.RollbackAsync();
        }

        Assert.Empty(await KeptLoads.DifferencesAsync(connection));
        await AssigneeLoads.FoldAsync(Data, CancellationToken.None);
        Assert.Equal(copied, await connection.ExecuteAsync("DELETE FROM work_orders WHERE number LIKE '%-copy'"));
        Assert.Empty(await KeptLoads.DifferencesAsync(connection));
        await AssigneeLoads.FoldAsync(Data, CancellationToken.None);
        Assert.Empty(await KeptLoads.DifferencesAsync(connection));
        Assert.True(await connection.ExecuteScalarAsync<int>("SELECT open_count FROM assignee_loads_now WHERE user_id = @second", new { second }) > 0);
    }

    [Fact]
    public async Task two_instances_creating_changing_and_folding_at_once_keep_every_load_equal_to_the_count()
    {
        var org = await TestOrg.CreateAsync(Data);
        var technicians = await TechniciansAsync(org, 6);
        await using (var connection = await Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO skills (name) VALUES ('pumps-' || @Suffix)", new { org.Suffix });
            await connection.ExecuteAsync(
                "INSERT INTO user_skills (user_id, skill, level) SELECT unnest(@ids), 'pumps-' || @Suffix, 3",
                new { ids = technicians.Select(t => t.UserId).ToArray(), org.Suffix });
        }

        var rule = await new AssignmentRules(Data).CreateAsync(
            new AssignmentRuleRequest($"Pumps {org.Suffix}", org.DepartmentId, AssignmentStrategy.LeastLoaded, null, org.TemplateId,
                RequiredSkills: [new RequiredSkill($"pumps-{org.Suffix}", 2)]),
            org[Role.Admin],
            CancellationToken.None);
        Assert.True(rule.Succeeded, rule.Failure?.Message);

        // Two processes as far as PostgreSQL can tell: each its own pool.
        await using var one = NpgsqlDataSource.Create(database.ConnectionString);
        await using var two = NpgsqlDataSource.Create(database.ConnectionString);
        using var stop = new CancellationTokenSource();
        var folded = 0L;
        async Task FoldUntilStoppedAsync(NpgsqlDataSource data)
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Add(ref folded, await AssigneeLoads.FoldAsync(data, CancellationToken.None));
            }
        }

        async Task WorkAsync(NpgsqlDataSource data, int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < 15; i++)
            {
                var id = await CreateAsync(data, _clock, org, 1 + random.Next(4));
                for (var steps = random.Next(4); steps > 0; steps--)
                {
                    await StepAsync(data, _clock, org, technicians, id, random);
                }
            }
        }

        var folds = new[] { FoldUntilStoppedAsync(one), FoldUntilStoppedAsync(two) };
        await Task.WhenAll(WorkAsync(one, 1), WorkAsync(two, 2), WorkAsync(one, 3), WorkAsync(two, 4));
        await stop.CancelAsync();
        await Task.WhenAll(folds);

        Assert.True(folded > 0);
        Assert.Empty(await KeptLoads.DifferencesAsync(Data));
        await AssigneeLoads.FoldAsync(Data, CancellationToken.None);
        Assert.Equal(0, await KeptLoads.UnfoldedAsync(Data));
        Assert.Empty(await KeptLoads.DifferencesAsync(Data));
        await using var check = await Data.OpenConnectionAsync();
        Assert.Equal(60, await check.ExecuteScalarAsync<int>("SELECT count(*) FROM work_orders WHERE department_id = @DepartmentId", new { org.DepartmentId }));
    }
}
