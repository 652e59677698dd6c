using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// The create of bench-creates, for any bench that runs it: the department, rule and open work of bench-assign in the
/// bench's database, an SLA policy in office hours if asked, and one request made again and again through the real
/// create (number, history, SLA clock and assignment in one transaction).
/// </summary>
internal sealed class BenchCreate(CreateWorkOrder create, CreateWorkOrderRequest request, Actor requester)
{
    // As a site runs: a policy for the priority of the benchmark's work, counted in office hours (Monday to Friday,
    // 08:00-17:00) less a year of public holidays, so every create starts its SLA clock in a real calendar.
    private const string SlaSetup = """
        INSERT INTO sla_policies (name, priority, response_minutes, resolution_minutes) VALUES ('Benchmark P2', 2, 240, 1440);
        INSERT INTO calendar_hours (calendar_id, weekday, start_minute, end_minute)
        SELECT c.id, d, 480, 1020 FROM business_calendars c CROSS JOIN generate_series(1, 5) d WHERE c.is_default;
        INSERT INTO calendar_holidays (calendar_id, day, name)
        SELECT c.id, date_trunc('year', now())::date + 25 * n, 'Holiday ' || n FROM business_calendars c CROSS JOIN generate_series(0, 13) n WHERE c.is_default;
        """;

    public static async Task<BenchCreate> SetUpAsync(NpgsqlDataSource data, int technicians, int open, bool sla, CancellationToken cancellationToken)
    {
        await AssignmentBenchmark.SetUpAsync(data, technicians, open, cancellationToken);
        if (sla)
        {
            await using var connection = await data.OpenConnectionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(SlaSetup, cancellationToken: cancellationToken));
        }

        var (template, asset, requester) = await AssignmentBenchmark.FixturesAsync(data, cancellationToken);
        var request = new CreateWorkOrderRequest(template, "Pump leaks", "Made by the benchmark.", 2, null, asset,
            CustomFields: new Dictionary<string, JsonElement>());
        return new BenchCreate(new CreateWorkOrder(data, TimeProvider.System), request, requester);
    }

    /// <summary>One create; its time from the call to assigned and committed, in milliseconds.</summary>
    public async Task<double> OneAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await AssignmentBenchmark.Created(create.HandleAsync(request, requester, WorkOrderSource.Api, null, cancellationToken));
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>Ten creates per client, before anything is timed: JIT, connection pool, plan caches.</summary>
    public Task WarmUpAsync(int clients, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            for (var i = 0; i < 10; i++)
            {
                await OneAsync(cancellationToken);
            }
        }));

    /// <summary>The loads' changes folded as the application's job folds them, on its default schedule, until stopped.</summary>
    public static async Task FoldAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(new AssigneeLoadOptions().Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await AssigneeLoads.FoldAsync(data, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
