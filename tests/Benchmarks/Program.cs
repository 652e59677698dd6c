using System.CommandLine;
using System.Reflection;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using WorkOrders.Ingest;

namespace WorkOrders.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/Benchmarks -- --filter '*'</c> runs the BenchmarkDotNet classes of the
/// in-process hot paths (<c>--list flat</c> names them, <c>--job dry</c> runs each once, <c>--help</c> tells the rest);
/// <c>-- page-timings</c> times the pages of a running dashboard; <c>-- circuit-load</c> loads the analytics pages of
/// one or two running dashboards with many simulated users without browsers; <c>-- session-stamp</c> measures the
/// per-request security-stamp check; <c>-- conflicting-edits --database ...</c> runs 50 clients x 1,000 conflicting
/// edits against a running dashboard; <c>-- field-sync</c> times a field device's sync of photos and queued commands
/// against a running dashboard; <c>-- field-app-load --dashboard ...dll</c> measures the field app itself in headless
/// Chromium (first load, open offline, a sync from its outbox). The classes that need PostgreSQL run when
/// WORKORDERS_BENCH_PG names a server.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is [PageTimings.Name, ..])
        {
            return await Cli.InvokeAsync(new RootCommand("WorkOrders benchmarks: the pages of a running dashboard") { PageTimings.Verb() }, args);
        }

        if (args is [CircuitLoad.Name, ..])
        {
            return await Cli.InvokeAsync(new RootCommand("WorkOrders benchmarks: many users of the analytics pages as Blazor circuits") { CircuitLoad.Verb() }, args);
        }

        if (args is [SessionStampTimings.Name, ..])
        {
            return await Cli.InvokeAsync(new RootCommand("WorkOrders benchmarks: the cost of the security-stamp check") { SessionStampTimings.Verb() }, args);
        }

        if (args is [ConflictingEditsBench.Name, ..])
        {
            return await Cli.InvokeAsync(new RootCommand("WorkOrders benchmarks: conflicting edits through the API of a running dashboard") { ConflictingEditsBench.Verb() }, args);
        }

        if (args is [FieldSyncBench.Name, ..])
        {
            return await Cli.InvokeAsync(new RootCommand("WorkOrders benchmarks: a field device's sync against a running dashboard") { FieldSyncBench.Verb() }, args);
        }

        if (args is [FieldAppLoadBench.Name, ..])
        {
            return await Cli.InvokeAsync(new RootCommand("WorkOrders benchmarks: the field app in headless Chromium") { FieldAppLoadBench.Verb() }, args);
        }

        var benchmarks = typeof(Program).Assembly.GetTypes()
            .Where(t => t.IsPublic && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkDotNet.Attributes.BenchmarkAttribute>() is not null))
            .ToList();
        if (BenchmarkDatabase.Server is null)
        {
            var left = benchmarks.Where(t => t.GetCustomAttribute<NeedsPostgreSqlAttribute>() is not null).ToList();
            Console.WriteLine(
                $"Not run: {string.Join(", ", left.Select(t => t.Name))}. They need a PostgreSQL server: set {BenchmarkDatabase.Variable} to a connection " +
                "string of a role that may create databases, e.g. \"Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres\".");
            benchmarks = [.. benchmarks.Except(left)];
        }

        // In this process: BenchmarkDotNet's default builds a generated project per run (minutes on a small machine), and
        // a mutator keeps whatever job the command line picks (--job dry, short, ...).
        var config = DefaultConfig.Instance.AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsMutator());
        var summaries = BenchmarkSwitcher.FromTypes([.. benchmarks]).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
