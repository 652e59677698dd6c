using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

public sealed class WarehouseAnalyticsTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"figures-{Guid.NewGuid():N}.duckdb");
    private readonly DuckDBConnection _warehouse;

    public WarehouseAnalyticsTests()
    {
        _warehouse = WarehouseFile.Open(_path);
        HandBuiltWarehouse.Fill(_warehouse);
        Execute(IngestRun(1));
    }

    public void Dispose()
    {
        _warehouse.Dispose();
        File.Delete(_path);
    }

    private WarehouseAnalytics Analytics() => new(new WarehouseReader(Options.Create(new WarehouseOptions { Path = _path })));

    [Fact]
    public async Task figures_are_kept_until_the_next_ingest_changes_the_warehouse()
    {
        using var analytics = Analytics();
        Assert.Equal(6, (await analytics.SummaryAsync(HandBuiltWarehouse.March, CancellationToken.None)).Volume.Count);

        // A work order arrives, but no ingest run has finished yet: the kept figure stands.
        Execute("""
            INSERT INTO fact_work_order VALUES (8, 'WO-8', 1, 'corrective', 'h', 4, 'cancelled', 9, 3, 1, NULL, 'web', NULL, NULL, NULL,
                '2026-03-06 00:00', NULL, NULL, NULL, '2026-03-06 01:00', NULL, NULL, NULL, NULL, 2);
            """ + WarehouseSchema.DeriveRollups(2));
        Assert.Equal(6, (await analytics.SummaryAsync(HandBuiltWarehouse.March, CancellationToken.None)).Volume.Count);

        Execute(IngestRun(2));
        Assert.Equal(7, (await analytics.SummaryAsync(HandBuiltWarehouse.March, CancellationToken.None)).Volume.Count);
        Assert.Equal(5, (await analytics.SummaryAsync(HandBuiltWarehouse.March with { WorkType = "corrective" }, CancellationToken.None)).Volume.Count);
    }

    [Fact]
    public async Task a_question_whose_asker_has_gone_is_not_asked_and_keeps_no_figure()
    {
        using var analytics = Analytics();
        using var gone = new CancellationTokenSource();
        await gone.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => analytics.SummaryAsync(HandBuiltWarehouse.March, gone.Token));

        Execute("""
            INSERT INTO fact_work_order VALUES (8, 'WO-8', 1, 'corrective', 'h', 4, 'cancelled', 9, 3, 1, NULL, 'web', NULL, NULL, NULL,
                '2026-03-06 00:00', NULL, NULL, NULL, '2026-03-06 01:00', NULL, NULL, NULL, NULL, 1);
            """ + WarehouseSchema.RebuildRollups);
        Assert.Equal(7, (await analytics.SummaryAsync(HandBuiltWarehouse.March, CancellationToken.None)).Volume.Count);
    }

    [Fact]
    public async Task a_long_query_cancelled_midway_ends_promptly_and_the_connection_stays_usable()
    {
        using var cancel = new CancellationTokenSource();
        using var interrupt = _warehouse.InterruptOn(cancel.Token);

        // Hours of work for DuckDB; the command is made before the token fires, so only the interrupt can stop it.
        using var endless = _warehouse.Command("SELECT sum(hash(range)) FROM range(1000000000000)", cancel.Token);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var query = Task.Run(() =>
        {
            started.SetResult();
            return endless.ExecuteScalar();
        });
        await started.Task;
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await cancel.CancelAsync();

        // Waited for: the query to give up, with a deadline far below the query's own hours.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => query.WaitAsync(TimeSpan.FromSeconds(30)));

        using var next = _warehouse.Command("SELECT count(*) FROM fact_work_order", CancellationToken.None);
        Assert.Equal(5L, Convert.ToInt64(next.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string IngestRun(int id) =>
        $"INSERT INTO ingest_run VALUES ({id}, TIMESTAMP '2026-04-01 00:00', TIMESTAMP '2026-04-01 00:01', 0, 0, 0, '1:1:', '1:1:', NULL)";

    private void Execute(string sql)
    {
        using var command = _warehouse.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
