using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>
/// Work-order numbers from the per-year sequences against a real PostgreSQL database. Each test numbers in a year of
/// its own, so the tests of this class never share a sequence.
/// </summary>
public class WorkOrderNumberTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private NpgsqlDataSource Data => database.DataSource;

    private static CreateWorkOrderRequest Request(TestOrg org, string title = "Pump leaks") => new(
        org.TemplateId, title, "Oil under the pump.", 2, null, org.MachineId,
        CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });

    private static FakeTimeProvider In(int year) => new(new DateTimeOffset(year, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private static async Task<string> CreateAsync(CreateWorkOrder create, TestOrg org, string title = "Pump leaks")
    {
        var outcome = await create.HandleAsync(Request(org, title), org[Role.Requester], WorkOrderSource.Api, null, CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!.Number;
    }

    [Fact]
    public async Task eight_creators_on_two_service_instances_get_unique_consecutive_numbers_of_the_year()
    {
        var org = await TestOrg.CreateAsync(Data);
        await using var first = NpgsqlDataSource.Create(database.ConnectionString);
        await using var second = NpgsqlDataSource.Create(database.ConnectionString);
        var instances = new[] { new CreateWorkOrder(first, In(2031)), new CreateWorkOrder(second, In(2031)) };
        const int creators = 8;
        const int each = 25;

        var numbers = (await Task.WhenAll(Enumerable.Range(0, creators).Select(async c =>
        {
            var mine = new List<string>();
            for (var i = 0; i < each; i++)
            {
                mine.Add(await CreateAsync(instances[c % 2], org, $"creator {c} #{i}"));
            }

            return mine;
        }))).SelectMany(n => n).ToList();

        Assert.Equal(creators * each, numbers.Distinct().Count());
        Assert.All(numbers, n => Assert.Matches(@"^WO-2031-\d{6}$", n));
        // Nothing rolled back, so the year's numbers are exactly 1..200, whichever instance drew them.
        Assert.Equal(Enumerable.Range(1, creators * each).Select(i => WorkOrderNumbers.Format(2031, i)), numbers.Order(StringComparer.Ordinal));
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(creators * each, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE number LIKE 'WO-2031-%'"));
    }

    [Fact]
    public async Task a_create_does_not_wait_for_another_uncommitted_create_of_the_same_year()
    {
        var org = await TestOrg.CreateAsync(Data);
        var clock = In(2032);
        var create = new CreateWorkOrder(Data, clock);
        await using var connection = await Data.OpenConnectionAsync();
        await using var open = await connection.BeginTransactionAsync();
        var held = await create.InsertAsync(connection, open, Request(org, "still open"), org[Role.Requester], WorkOrderSource.Api, null, CancellationToken.None);
        Assert.Equal("WO-2032-000001", held.Value!.Number);

        // With the former counter row this create waited for the open transaction's commit.
        var other = CreateAsync(new CreateWorkOrder(Data, clock), org, "beside it");
        var finished = await Task.WhenAny(other, Task.Delay(TimeSpan.FromSeconds(20)));

        Assert.Same(other, finished);
        Assert.Equal("WO-2032-000002", await other);
        await open.CommitAsync();
    }

    [Fact]
    public async Task a_create_that_rolls_back_leaves_a_gap_and_never_a_duplicate()
    {
        var org = await TestOrg.CreateAsync(Data);
        var create = new CreateWorkOrder(Data, In(2033));
        Assert.Equal("WO-2033-000001", await CreateAsync(create, org));
        await using (var connection = await Data.OpenConnectionAsync())
        {
            await using var abandoned = await connection.BeginTransactionAsync();
            var drawn = await create.InsertAsync(connection, abandoned, Request(org), org[Role.Requester], WorkOrderSource.Api, null, CancellationToken.None);
            Assert.Equal("WO-2033-000002", drawn.Value!.Number);
            await abandoned.RollbackAsync();
        }

        Assert.Equal("WO-2033-000003", await CreateAsync(create, org));
    }

    [Fact]
    public async Task numbering_starts_at_one_again_when_the_year_changes()
    {
        var org = await TestOrg.CreateAsync(Data);
        var clock = new FakeTimeProvider(new DateTimeOffset(2034, 12, 31, 23, 59, 58, TimeSpan.Zero));
        var create = new CreateWorkOrder(Data, clock);

        var last = await CreateAsync(create, org);
        clock.Advance(TimeSpan.FromSeconds(3));
        var firstOfNext = await CreateAsync(create, org);
        var secondOfNext = await CreateAsync(create, org);

        Assert.Equal(["WO-2034-000001", "WO-2035-000001", "WO-2035-000002"], [last, firstOfNext, secondOfNext]);
    }

    [Fact]
    public async Task a_block_of_numbers_is_refused_without_the_lock_that_keeps_live_creates_out()
    {
        await using var connection = await Data.OpenConnectionAsync();
        await using (var unlocked = await connection.BeginTransactionAsync())
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() =>
                WorkOrderNumbers.TakeAsync(connection, unlocked, new Dictionary<int, long> { [2036] = 10 }, CancellationToken.None));
            Assert.Contains("SHARE ROW EXCLUSIVE", refused.MessageText, StringComparison.Ordinal);
        }

        await using var locked = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync(WorkOrderNumbers.LockOutLiveCreates, transaction: locked);
        var taken = await WorkOrderNumbers.TakeAsync(connection, locked, new Dictionary<int, long> { [2036] = 10 }, CancellationToken.None);
        await locked.CommitAsync();

        Assert.Equal(1, taken[2036]);
        var org = await TestOrg.CreateAsync(Data);
        Assert.Equal("WO-2036-000011", await CreateAsync(new CreateWorkOrder(Data, In(2036)), org));
    }
}

/// <summary>Migration 0023 on a database that numbered with the former per-year counter rows.</summary>
public sealed class WorkOrderNumberMigrationTests : IAsyncLifetime
{
    // The schema before 0023: the counter table, without the number sequences and their functions (nor the cursor's lists).
    private const string Before0023 = """
        DROP VIEW work_order_number_years;
        DROP FUNCTION work_order_numbers_take(integer, bigint);
        DROP FUNCTION work_order_number(integer);
        DROP FUNCTION work_order_number_sequence(integer);
        DROP SCHEMA work_order_numbers CASCADE;
        CREATE TABLE work_order_counters (year integer PRIMARY KEY, last_value integer NOT NULL);
        ALTER TABLE assignment_rule_cursors DROP COLUMN version, DROP COLUMN recent_users, DROP COLUMN recent_weights;
        """;

    private readonly TestDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task each_year_continues_after_its_counter_or_after_a_higher_number_already_written()
    {
        var data = _database.DataSource;
        var org = await TestOrg.CreateAsync(data);
        await using var connection = await data.OpenConnectionAsync();
        await connection.ExecuteAsync(Before0023);
        await connection.ExecuteAsync("INSERT INTO work_order_counters (year, last_value) VALUES (2025, 41), (2026, 7)");
        // A 2026 number above the counter, as a bulk writer could have left it.
        await connection.ExecuteAsync(
            """
            INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, department_id, created_at, updated_at, source)
            VALUES ('WO-2026-000120', @TemplateId, 'corrective', 'Older', 'Written in bulk.', 3, 'new', @requester, @DepartmentId, now(), now(), 'import')
            """,
            new { org.TemplateId, requester = org[Role.Requester].UserId, org.DepartmentId });

        await connection.ExecuteAsync(Migrator.All.Single(m => m.Version == 23).Sql);

        Assert.False(await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('work_order_counters') IS NOT NULL"));
        Assert.Equal("WO-2025-000042", await CreateInAsync(data, org, 2025));
        Assert.Equal("WO-2026-000121", await CreateInAsync(data, org, 2026));
        Assert.Equal("WO-2027-000001", await CreateInAsync(data, org, 2027));
        Assert.Equal(
            [(2025, 42L), (2026, 121L), (2027, 1L)],
            (await connection.QueryAsync<(int, long)>("SELECT year, last_value FROM work_order_number_years ORDER BY year")).ToList());
    }

    private static async Task<string> CreateInAsync(NpgsqlDataSource data, TestOrg org, int year)
    {
        var outcome = await new CreateWorkOrder(data, new FakeTimeProvider(new DateTimeOffset(year, 3, 1, 9, 0, 0, TimeSpan.Zero))).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "Pump leaks", "Oil under the pump.", 2, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") }),
            org[Role.Requester],
            WorkOrderSource.Api,
            null,
            CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!.Number;
    }
}
