using System.Diagnostics;
using DuckDB.NET.Data;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>Runs killed at each named stage of the ingest, in a database of their own so that what is missing is known exactly.</summary>
public sealed class IngestCrashTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    // More than one batch of work orders, and of their events, arrives for the runs that are killed.
    private const int Missing = 2_500;

    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-crash-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 4, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task an_ingest_killed_at_any_stage_leaves_the_warehouse_as_it_was_and_the_next_run_takes_exactly_what_is_missing()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 300, $"{org.Suffix}before");
        var baseline = Path.Combine(_folder, "baseline.duckdb");
        await WarehouseFixture.IngestAsync(database.DataSource, baseline, _clock);
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, Missing, $"{org.Suffix}missing");
        var before = Contents(baseline);

        // A run that goes through names its stages; each is then where one run is killed.
        var stages = new List<string>();
        await WarehouseFixture.IngestAsync(database.DataSource, CopyOf(baseline, "stages"), _clock, stages.Add);
        Assert.Contains("first batch of fact_event", stages);
        Assert.Contains("copied fact_event", stages);
        Assert.Equal("before commit", stages[^1]);

        foreach (var (stage, i) in stages.Select((s, i) => (s, i)))
        {
            var path = CopyOf(baseline, $"killed-{i}");
            await KillAtAsync(stage, path);

            Assert.True(before.SequenceEqual(Contents(path)), $"killed at '{stage}', the warehouse changed: {string.Join("; ", Contents(path).Except(before))}");
            var next = await WarehouseFixture.IngestAsync(database.DataSource, path, _clock);
            Assert.Equal((Missing, Missing * 5L), (next.WorkOrders, next.Events));
            WarehouseFixture.AssertSame(database.DataSource, path);
        }
    }

    private string CopyOf(string warehouse, string name)
    {
        var copy = Path.Combine(_folder, $"{name}.duckdb");
        File.Copy(warehouse, copy);
        if (File.Exists(warehouse + ".wal"))
        {
            File.Copy(warehouse + ".wal", copy + ".wal");
        }

        return copy;
    }

    /// <summary>Each table's row count and a hash of its rows.</summary>
    private static List<string> Contents(string path)
    {
        using var warehouse = new DuckDBConnection($"Data Source={path}");
        warehouse.Open();
        return [.. WarehouseSchema.Tables.SelectMany(t => WarehouseFixture.Rows(
            warehouse, $"SELECT '{t.Name}', count(*), coalesce(sum(hash(r)::HUGEINT), 0) FROM {t.Name} r"))];
    }

    private async Task KillAtAsync(string stage, string path)
    {
        var start = new ProcessStartInfo(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "WorkOrders.Ingest.Tests.dll"), CrashingIngest.Verb, stage, path, database.ConnectionString])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True((await output).Contains($"killed at {stage}", StringComparison.Ordinal), $"the run to be killed at '{stage}' said: {await output}{await errors}");
    }
}
