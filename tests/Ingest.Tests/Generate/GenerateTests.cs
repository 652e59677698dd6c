using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ingest.Generate;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Generate;

/// <summary>The history generator against real PostgreSQL databases; each test generates into databases of its own.</summary>
public class GenerateTests
{
    private static readonly DateOnly End = new(2025, 6, 15);

    private static GenerateOptions Small(int seed = 7, int workOrders = 3000) => new(workOrders, 36, seed, End);

    [Fact]
    public async Task the_same_seed_gives_identical_rows_in_two_fresh_databases()
    {
        var checksums = new List<string>();
        foreach (var seed in new[] { 7, 7, 8 })
        {
            await WithGeneratedAsync(Small(seed), async (data, _) => checksums.Add(await ChecksumAsync(data)));
        }

        Assert.Equal(checksums[0], checksums[1]);
        Assert.NotEqual(checksums[0], checksums[2]);
    }

    [Fact]
    public async Task every_generated_preventive_work_order_is_the_occurrence_of_a_plan_on_its_machine_at_its_due_date() => await WithGeneratedAsync(Small(), async (data, _) =>
    {
        await using var connection = await data.OpenConnectionAsync();
        var preventive = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE work_type = 'preventive'");
        Assert.True(preventive > 0);
        Assert.Equal(preventive, await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM pm_occurrences o JOIN work_orders w ON w.id = o.work_order_id JOIN pm_plans p ON p.id = o.plan_id
            WHERE o.status = 'generated' AND o.due_at = w.due_at AND o.asset_id = w.asset_id AND p.asset_id = w.asset_id AND p.template_id = w.template_id
            """));
        // The calendar trigger reproduces the history: every due date is the anchor plus whole intervals.
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM pm_occurrences o JOIN pm_triggers t ON t.id = o.trigger_id
            WHERE (substr(o.due_key, 1, 10)::date - t.anchor) % t.every_n <> 0 OR substr(o.due_key, 12, 5)::time <> t.at_time
            """));
        Assert.Equal(
            await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pm_plans"),
            await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pm_schedules"));
    });

    [Fact]
    public async Task generated_preventive_work_names_a_fault_mode_of_its_machine_or_its_components() => await WithGeneratedAsync(Small(), async (data, _) =>
    {
        await using var connection = await data.OpenConnectionAsync();
        var (named, foreign, all) = await connection.QuerySingleAsync<(long, long, long)>(
            """
            SELECT count(*) FILTER (WHERE w.custom_fields ? 'fault_code'),
                   count(*) FILTER (WHERE w.custom_fields ? 'fault_code' AND NOT EXISTS (
                       SELECT 1 FROM assets a JOIN generator.failure_modes m ON m.asset_type = a.asset_type
                       WHERE (a.id = w.asset_id OR a.parent_id = w.asset_id) AND m.fault_code = w.custom_fields->>'fault_code')),
                   count(*)
            FROM work_orders w WHERE w.work_type = 'preventive'
            """);

        // Every visit that was not cancelled in the simulation names the mode it addressed (about 96 %).
        Assert.InRange(named, all * 8 / 10, all);
        Assert.Equal(0, foreign);
    });

    [Fact]
    public async Task every_history_agrees_with_its_work_order_row() => await WithGeneratedAsync(Small(), async (data, result) =>
    {
        await using var connection = await data.OpenConnectionAsync();
        Assert.Equal(3000, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders"));
        Assert.Equal(result.Events, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_order_events"));

        var mismatches = await connection.QuerySingleAsync<Mismatches>(Consistency);
        Assert.Equal(new Mismatches(), mismatches);

        // Every step is one the live lifecycle allows, from the status the previous step left.
        var steps = await connection.QueryAsync<(string Kind, string? From, string To)>(
            "SELECT DISTINCT kind, from_status, to_status FROM work_order_events");
        foreach (var (kind, from, to) in steps)
        {
            if (kind == "created")
            {
                Assert.Equal("new", to);
                Assert.Null(from);
                continue;
            }

            var (allowed, target) = Lifecycle.Rule(WireNames.Parse<WorkOrderAction>(kind));
            Assert.Contains(WireNames.Parse<WorkOrderStatus>(from!), allowed);
            Assert.Equal(WireNames.Of(target), to);
        }

        // Most work is archived; the newest is still open at various stages.
        var statuses = (await connection.QueryAsync<(string Status, long Count)>("SELECT status, count(*) FROM work_orders GROUP BY status"))
            .ToDictionary(r => r.Status, r => r.Count);
        Assert.True(statuses["closed"] > 2400, $"closed: {statuses["closed"]}");
        Assert.True(statuses["cancelled"] > 20);
        Assert.True(statuses.Keys.Count(s => s is not ("closed" or "cancelled")) >= 3, string.Join(", ", statuses.Keys));
    });

    [Fact]
    public async Task every_alarm_work_order_has_the_episode_that_raised_it_and_the_re_raises_attached_while_it_was_open() => await WithGeneratedAsync(Small(), async (data, _) =>
    {
        await using var connection = await data.OpenConnectionAsync();
        var alarmWork = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE source = 'alarm'");
        Assert.True(alarmWork > 10, $"only {alarmWork} alarm work orders");
        // One raising episode per alarm work order, at its creation, on its asset, by the rule of its type and site.
        Assert.Equal(alarmWork, await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM alarm_episodes e JOIN work_orders w ON w.id = e.work_order_id JOIN alarm_rules r ON r.id = e.rule_id
            JOIN assets a ON a.id = e.asset_id
            WHERE e.outcome = 'work_order' AND w.source = 'alarm' AND e.raised_at = w.created_at AND e.asset_id = w.asset_id
              AND r.asset_type = a.asset_type AND r.template_id = w.template_id AND NOT r.active
            """));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_episodes WHERE outcome NOT IN ('work_order', 'attached') OR work_order_id IS NULL"));
        var attached = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_episodes WHERE outcome = 'attached'");
        Assert.True(attached > 0, "no alarm chatters");
        // Re-raises come after the raise, while the work order was not yet resolved or cancelled; every episode cleared.
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM alarm_episodes e JOIN work_orders w ON w.id = e.work_order_id
            WHERE e.cleared_at IS NULL OR e.cleared_at <= e.raised_at OR e.raised_at < w.created_at
               OR (e.outcome = 'attached' AND e.raised_at >= coalesce(w.resolved_at, w.closed_at, 'infinity'))
               OR e.cleared_at > (SELECT window_end FROM generator.runs ORDER BY id DESC LIMIT 1)
            """));
        // The alarm work orders count their episodes; each episode has its raise and its clear event.
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM alarm_work_orders a
            LEFT JOIN (SELECT work_order_id, count(*) AS n, min(raised_at) AS first, max(raised_at) AS last FROM alarm_episodes GROUP BY 1) e USING (work_order_id)
            WHERE a.episodes IS DISTINCT FROM e.n::int OR a.occurrences IS DISTINCT FROM e.n OR a.first_seen <> e.first OR a.last_seen <> e.last
            """));
        Assert.Equal(alarmWork, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_work_orders"));
        Assert.Equal(
            [("attached", attached), ("cleared", attached + alarmWork), ("raised", alarmWork)],
            (await connection.QueryAsync<(string, long)>("SELECT outcome, count(*) FROM alarm_events GROUP BY 1 ORDER BY 1")).ToList());
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM alarm_events v JOIN alarm_episodes e ON e.id = v.episode_id WHERE v.occurred_at NOT IN (e.raised_at, e.cleared_at)"));
    });

    [Fact]
    public async Task degrading_assets_fail_more_often_in_the_later_half() => await WithGeneratedAsync(Small(workOrders: 6000), async (data, _) =>
    {
        await using var connection = await data.OpenConnectionAsync();
        var gaps = (await connection.QueryAsync<(bool Degrading, bool Later, long Gaps, double MeanDays)>(Gaps)).ToList();
        double Mean(bool degrading, bool later) => gaps.Single(g => g.Degrading == degrading && g.Later == later).MeanDays;
        long Count(bool degrading) => gaps.Where(g => g.Degrading == degrading).Sum(g => g.Gaps);

        Assert.True(Count(true) >= 40, $"only {Count(true)} gaps on degrading assets");
        var degrading = Mean(true, true) / Mean(true, false);
        var steady = Mean(false, true) / Mean(false, false);
        Assert.True(degrading < 0.75, $"degrading assets: later/first mean gap {degrading:F2}");
        Assert.True(steady > 0.8, $"steady assets: later/first mean gap {steady:F2}");
    });

    [Fact]
    public async Task numbers_are_unique_and_a_work_order_created_afterwards_takes_the_next_one() => await WithGeneratedAsync(Small(), async (data, result) =>
    {
        await using var connection = await data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) - count(DISTINCT number) FROM work_orders"));
        var stale = await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM work_order_number_years c
            FULL JOIN (SELECT substr(number, 4, 4)::int AS year, max(substr(number, 9)::int) AS top, count(*) AS n FROM work_orders GROUP BY 1) w
                ON w.year = c.year
            WHERE c.last_value IS DISTINCT FROM w.top OR w.top IS DISTINCT FROM w.n::int
            """);
        Assert.Equal(0, stale);

        var requester = await connection.QuerySingleAsync<(long Id, string UserName)>(
            "SELECT id, user_name FROM users WHERE user_name = @name", new { name = $"{result.Tag.ToLowerInvariant()}.op0001" });
        var template = await connection.ExecuteScalarAsync<long>("SELECT id FROM templates WHERE name LIKE 'Equipment repair%' ORDER BY id LIMIT 1");
        var machine = await connection.ExecuteScalarAsync<long>("SELECT id FROM assets WHERE kind = 'machine' ORDER BY id LIMIT 1");
        var lastOf2025 = await connection.ExecuteScalarAsync<int>("SELECT last_value FROM work_order_number_years WHERE year = 2025");
        var maxId = await connection.ExecuteScalarAsync<long>("SELECT max(id) FROM work_orders");

        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 6, 15, 8, 0, 0, TimeSpan.Zero));
        var created = await new CreateWorkOrder(data, clock).HandleAsync(
            new CreateWorkOrderRequest(template, "Spindle noise", "Loud at full speed.", 2, null, machine,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("bearing") }),
            new Actor(requester.Id, requester.UserName, Role.Requester, null),
            WorkOrderSource.Web,
            null,
            CancellationToken.None);

        Assert.Null(created.Failure);
        Assert.Equal($"WO-2025-{lastOf2025 + 1:D6}", created.Value!.Number);
        Assert.True(created.Value.Id > maxId);
    });

    [Fact]
    public async Task a_second_run_into_the_same_database_adds_its_own_organisation()
    {
        var database = new TestDatabase();
        await database.InitializeAsync();
        try
        {
            var generator = new HistoryGenerator(database.DataSource);
            var first = await generator.RunAsync(Small(workOrders: 1500), null, CancellationToken.None);
            var second = await generator.RunAsync(Small(workOrders: 1500), null, CancellationToken.None);

            Assert.Equal(("G7R1", "G7R2"), (first.Tag, second.Tag));
            await using var connection = await database.DataSource.OpenConnectionAsync();
            Assert.Equal(3000, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders"));
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) - count(DISTINCT number) FROM work_orders"));
            Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM departments WHERE name LIKE 'Facilities (G7R%'"));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task a_first_run_builds_the_indexes_it_dropped_again_with_their_definitions()
    {
        const string Indexes = """
            SELECT string_agg(tablename || ' ' || indexdef, E'\n' ORDER BY tablename, indexname) FROM pg_indexes
            WHERE schemaname = 'public' AND tablename IN ('work_orders', 'work_order_events', 'alarm_episodes', 'alarm_events', 'alarm_work_orders')
            """;
        var database = new TestDatabase();
        await database.InitializeAsync();
        try
        {
            var generator = new HistoryGenerator(database.DataSource);
            string? before;
            uint textIndex;
            await using (var connection = await database.DataSource.OpenConnectionAsync())
            {
                before = await connection.ExecuteScalarAsync<string>(Indexes);
                textIndex = await connection.ExecuteScalarAsync<uint>("SELECT 'work_orders_text'::regclass::oid");
            }

            var result = await generator.RunAsync(Small(workOrders: 1500), null, CancellationToken.None);

            await using var after = await database.DataSource.OpenConnectionAsync();
            Assert.Equal(1500, result.WorkOrders);
            Assert.NotEqual(textIndex, await after.ExecuteScalarAsync<uint>("SELECT 'work_orders_text'::regclass::oid"));
            Assert.Equal(before, await after.ExecuteScalarAsync<string>(Indexes));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("--work-orders", "-5")]
    [InlineData("--work-orders", "0")]
    [InlineData("--work-orders", "many")]
    [InlineData("--months", "0")]
    [InlineData("--months", "-1")]
    [InlineData("--seed", "-3")]
    [InlineData("--machines", "0")]
    [InlineData("--end", "2025-13-01")]
    public void bad_options_are_refused_with_a_message_naming_the_option(string option, string value)
    {
        var error = Assert.Single(GenerateCommand.Verb(End, NotRun).Parse([option, value]).Errors);

        Assert.StartsWith(option + " ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task options_not_given_take_their_documented_defaults()
    {
        GenerateOptions? options = null;
        var exitCode = await GenerateCommand.Verb(End, (given, _, _) =>
        {
            options = given;
            return Task.FromResult(0);
        }).Parse([]).InvokeAsync();

        Assert.Equal(0, exitCode);
        Assert.Equal(new GenerateOptions(100_000, 36, 1, End), options);
        Assert.Equal(new DateTime(2022, 6, 15, 0, 0, 0, DateTimeKind.Utc), options!.WindowStart);
    }

    private static Task<int> NotRun(GenerateOptions options, bool migrate, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("a refused command line must not run");

    private static async Task WithGeneratedAsync(GenerateOptions options, Func<NpgsqlDataSource, GenerationResult, Task> check)
    {
        // The feature services of Ticketing map snake_case columns, as the app configures Dapper.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var database = new TestDatabase();
        await database.InitializeAsync();
        try
        {
            var result = await new HistoryGenerator(database.DataSource).RunAsync(options, null, CancellationToken.None);
            await check(database.DataSource, result);
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private static async Task<string> ChecksumAsync(NpgsqlDataSource data)
    {
        await using var connection = await data.OpenConnectionAsync();
        // archived_xid and written_xid are ids of writing transactions, the password hash has a random salt, the security
        // stamp is random and a user's updated_at is when the row was written: those differ.
        return await connection.ExecuteScalarAsync<string>(
            """
            SELECT concat_ws(' ',
                (SELECT md5(string_agg((to_jsonb(w) - 'archived_xid' - 'written_xid')::text, E'\n' ORDER BY id)) FROM work_orders w),
                (SELECT md5(string_agg(to_jsonb(e)::text, E'\n' ORDER BY id)) FROM work_order_events e),
                (SELECT md5(string_agg((to_jsonb(a) - 'written_xid')::text, E'\n' ORDER BY id)) FROM assets a),
                (SELECT md5(string_agg((to_jsonb(u) - 'password_hash' - 'security_stamp' - 'updated_at' - 'written_xid')::text, E'\n' ORDER BY id)) FROM users u),
                (SELECT md5(string_agg(to_jsonb(f)::text, E'\n' ORDER BY work_order_id)) FROM generator.failures f),
                (SELECT md5(string_agg((to_jsonb(p) - 'written_xid')::text, E'\n' ORDER BY id)) FROM pm_plans p),
                (SELECT md5(string_agg((to_jsonb(t) - 'written_xid')::text, E'\n' ORDER BY id)) FROM pm_triggers t),
                (SELECT md5(string_agg(to_jsonb(s)::text, E'\n' ORDER BY plan_id, asset_id)) FROM pm_schedules s),
                (SELECT md5(string_agg((to_jsonb(o) - 'written_xid')::text, E'\n' ORDER BY id)) FROM pm_occurrences o),
                (SELECT md5(string_agg((to_jsonb(s) - 'api_key' - 'secret')::text, E'\n' ORDER BY id)) FROM alarm_sources s),
                (SELECT md5(string_agg((to_jsonb(r) - 'written_xid')::text, E'\n' ORDER BY id)) FROM alarm_rules r),
                (SELECT md5(string_agg((to_jsonb(e) - 'written_xid')::text, E'\n' ORDER BY id)) FROM alarm_episodes e),
                (SELECT md5(string_agg((to_jsonb(e) - 'written_xid')::text, E'\n' ORDER BY id)) FROM alarm_events e),
                (SELECT md5(string_agg(to_jsonb(a)::text, E'\n' ORDER BY work_order_id)) FROM alarm_work_orders a))
            """) ?? "";
    }

    private sealed record Mismatches(
        long BadVersion = 0,
        long BadStatus = 0,
        long BadFirst = 0,
        long ClosedNotApproved = 0,
        long CancelledNotCancel = 0,
        long BadClosedAt = 0,
        long BadStartedAt = 0,
        long BadResolvedAt = 0,
        long BadUpdatedAt = 0,
        long BadAssignee = 0,
        long BadRating = 0,
        long NotChained = 0,
        long NotInOrder = 0,
        long AfterClosed = 0,
        long NotArchived = 0,
        long WithoutHistory = 0);

    private const string Consistency = """
        WITH e AS (
            SELECT *, lag(to_status) OVER w AS previous_status, lag(occurred_at) OVER w AS previous_at
            FROM work_order_events WINDOW w AS (PARTITION BY work_order_id ORDER BY id)),
        h AS (
            SELECT work_order_id,
                count(*) AS n,
                (array_agg(to_status ORDER BY id DESC))[1] AS last_status,
                (array_agg(kind ORDER BY id DESC))[1] AS last_kind,
                (array_agg(kind ORDER BY id))[1] AS first_kind,
                max(occurred_at) AS last_at,
                min(occurred_at) FILTER (WHERE kind = 'start') AS first_start,
                max(occurred_at) FILTER (WHERE kind IN ('approve', 'cancel')) AS closed_at,
                (array_agg(occurred_at ORDER BY id DESC) FILTER (WHERE kind IN ('resolve', 'reject')))[1] AS last_resolve_or_reject,
                (array_agg(kind ORDER BY id DESC) FILTER (WHERE kind IN ('resolve', 'reject')))[1] AS last_resolve_kind,
                (array_agg((payload ->> 'assigneeId')::bigint ORDER BY id DESC) FILTER (WHERE kind = 'assign'))[1] AS assignee,
                max((payload ->> 'rating')::int) FILTER (WHERE kind = 'approve') AS rating,
                bool_and(kind = 'created' OR from_status = previous_status) AS chained,
                bool_and(previous_at IS NULL OR occurred_at > previous_at) AS in_order
            FROM e GROUP BY work_order_id)
        SELECT
            count(*) FILTER (WHERE w.row_version <> h.n) AS BadVersion,
            count(*) FILTER (WHERE w.status <> h.last_status) AS BadStatus,
            count(*) FILTER (WHERE h.first_kind <> 'created') AS BadFirst,
            count(*) FILTER (WHERE w.status = 'closed' AND h.last_kind <> 'approve') AS ClosedNotApproved,
            count(*) FILTER (WHERE w.status = 'cancelled' AND h.last_kind <> 'cancel') AS CancelledNotCancel,
            count(*) FILTER (WHERE w.closed_at IS DISTINCT FROM h.closed_at) AS BadClosedAt,
            count(*) FILTER (WHERE w.acknowledged_at IS DISTINCT FROM h.first_start OR w.started_at IS DISTINCT FROM h.first_start) AS BadStartedAt,
            count(*) FILTER (WHERE w.resolved_at IS DISTINCT FROM CASE WHEN h.last_resolve_kind = 'resolve' THEN h.last_resolve_or_reject END) AS BadResolvedAt,
            count(*) FILTER (WHERE w.updated_at <> h.last_at) AS BadUpdatedAt,
            count(*) FILTER (WHERE w.assignee_id IS DISTINCT FROM h.assignee) AS BadAssignee,
            count(*) FILTER (WHERE w.rating IS DISTINCT FROM h.rating) AS BadRating,
            count(*) FILTER (WHERE NOT h.chained) AS NotChained,
            count(*) FILTER (WHERE NOT h.in_order) AS NotInOrder,
            count(*) FILTER (WHERE h.last_at > w.closed_at) AS AfterClosed,
            count(*) FILTER (WHERE w.status IN ('closed', 'cancelled') AND w.archived_xid IS NULL) AS NotArchived,
            count(*) FILTER (WHERE h.work_order_id IS NULL) AS WithoutHistory
        FROM work_orders w LEFT JOIN h ON h.work_order_id = w.id
        """;

    // Intervals between consecutive failures of an asset with both failures in the same half of the window, so that
    // both halves cut intervals off alike.
    private const string Gaps = """
        WITH r AS (SELECT window_start + (window_end - window_start) / 2 AS middle FROM generator.runs),
        f AS (
            SELECT f.asset_id, f.failed_at, f.failed_at >= r.middle AS later,
                lag(f.failed_at) OVER (PARTITION BY f.asset_id ORDER BY f.failed_at) AS previous,
                EXISTS (SELECT 1 FROM generator.degradations d WHERE d.asset_id = f.asset_id) AS degrading
            FROM generator.failures f CROSS JOIN r)
        SELECT degrading, later, count(*) AS gaps, avg(extract(epoch FROM failed_at - previous) / 86400)::float8 AS mean_days
        FROM f CROSS JOIN r
        WHERE previous IS NOT NULL AND (previous >= r.middle) = later
        GROUP BY degrading, later
        """;
}
