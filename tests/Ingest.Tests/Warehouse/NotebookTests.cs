using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>
/// Each notebook runs as its own process against the published snapshot while this test holds the live warehouse
/// open for writing, as the dashboard does.
/// </summary>
public sealed class NotebookTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-notebooks-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("recurring-faults", "Failure codes (Pareto)", new[] { "pareto.png", "heatmap.png" })]
    [InlineData("staff-performance", "By technician", new[] { "work-done.png", "speed-satisfaction.png" })]
    [InlineData("backlog", "Open work by age", new[] { "weekly.png" })]
    public async Task a_notebook_reads_the_snapshot_while_the_warehouse_is_held_and_writes_its_report_and_charts(string name, string section, string[] charts)
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await WarehouseFixture.AddArchivedAsync(database.DataSource, org, 400, org.Suffix);
        var live = Path.Combine(_folder, $"{name}.duckdb");
        using var warehouse = WarehouseFile.Open(live);
        await new WarehouseIngest(database.DataSource, TimeProvider.System, NullLogger<WarehouseIngest>.Instance).RunAsync(warehouse, null, CancellationToken.None);
        var snapshot = WarehouseSnapshot.PathFor(live);
        WarehouseSnapshot.Publish(warehouse, live);
        var output = Path.Combine(_folder, name);

        var (exitCode, log) = await RunAsync(name, "--warehouse", snapshot, "--out", output);

        Assert.True(exitCode == 0, log);
        var report = await File.ReadAllTextAsync(Path.Combine(output, "report.md"));
        Assert.Contains($"## {section}", report, StringComparison.Ordinal);
        foreach (var chart in charts)
        {
            var png = await File.ReadAllBytesAsync(Path.Combine(output, chart));
            Assert.True(png.Length > 5000 && png.AsSpan().StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47]), $"{chart} is not a drawn PNG");
            Assert.Contains($"]({chart})", report, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task a_notebook_without_a_snapshot_says_where_it_looked_and_how_to_make_one()
    {
        var (exitCode, log) = await RunAsync("backlog", "--warehouse", Path.Combine(_folder, "missing.duckdb"), "--out", _folder);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("No warehouse snapshot", log, StringComparison.Ordinal);
        Assert.Contains("ingest", log, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Log)> RunAsync(string notebook, params string[] args)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "WorkOrders.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("WorkOrders.sln not found above the test output");
        }

        var start = new ProcessStartInfo("dotnet", ["run", Path.Combine(root, "notebooks", $"{notebook}.cs"), "--", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return (process.ExitCode, await output + await errors);
    }
}
