using System.CommandLine;
using System.CommandLine.Help;
using WorkOrders.Ingest.Generate;

namespace WorkOrders.Ingest.Tests;

/// <summary>
/// The command line run in-process through its root command, with no connection string: a verb that reached its work
/// would fail for the want of one, so a zero exit code also says that nothing ran.
/// </summary>
public sealed class CommandLineTests
{
    public CommandLineTests()
    {
        // The CLI reads it from the process environment, as the README tells users to set it; no test here may have one.
        Environment.SetEnvironmentVariable("ConnectionStrings__WorkOrders", null);
    }

    public static TheoryData<string> Verbs() => [.. Cli.Root().Subcommands.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task help_on_a_verb_exits_0_and_lists_its_options_without_running_it(string verb)
    {
        var (exitCode, output, error) = await RunAsync(verb, "--help");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains($"Usage:\n  {Cli.Root().Name} {verb} [options]", output, StringComparison.Ordinal);
        var options = Cli.Root().Subcommands.Single(c => c.Name == verb).Options.Where(o => o is not HelpOption).ToList();
        Assert.NotEmpty(options);
        Assert.All(options, option => Assert.Contains(option.Name, output, StringComparison.Ordinal));
    }

    [Fact]
    public async Task help_without_a_verb_lists_every_verb()
    {
        var (exitCode, output, _) = await RunAsync("--help");

        Assert.Equal(0, exitCode);
        Assert.All(Cli.Root().Subcommands, verb => Assert.Contains($"  {verb.Name} ", output, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--no-such-option", "ingest", "--no-such-option")]
    [InlineData("ingets", "ingets")]
    [InlineData("--file", "import", "--mapping", "mapping.json")]
    [InlineData("--runs", "bench-analytics", "--runs", "many")]
    [InlineData("--technicians", "bench-assign", "--technicians", "0")]
    [InlineData("--warehouse", "train", "--warehouse")]
    public async Task a_usage_error_exits_2_with_one_line_naming_what_is_wrong(string named, params string[] args)
    {
        var (exitCode, output, error) = await RunAsync(args);

        Assert.Equal(Cli.UsageError, exitCode);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ingest", "--warehouse", "{temp}/warehouse.duckdb")]
    [InlineData("generate", "--work-orders", "10", "--migrate")]
    [InlineData("bench-assign", "--open", "0")]
    [InlineData("import", "--file", "{temp}/tickets.csv", "--mapping", "{temp}/mapping.json")]
    public async Task a_verb_that_needs_the_database_without_a_connection_string_exits_1_saying_so_without_a_stack_trace(params string[] args)
    {
        var temp = Directory.CreateTempSubdirectory("workorders-cli-").FullName;
        try
        {
            // The import looks at its files before the database.
            await File.WriteAllTextAsync(Path.Combine(temp, "tickets.csv"), "id\n1\n");
            await File.WriteAllTextAsync(Path.Combine(temp, "mapping.json"), "{}");

            var (exitCode, _, error) = await RunAsync([.. args.Select(a => a.Replace("{temp}", temp, StringComparison.Ordinal))]);

            Assert.Equal(Cli.Failed, exitCode);
            Assert.StartsWith("error: ConnectionStrings__WorkOrders is not set", error, StringComparison.Ordinal);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
            Assert.False(File.Exists(Path.Combine(temp, "warehouse.duckdb")), "the ingest opened the warehouse before it had a database to read");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    [Theory]
    [InlineData("generate --work-orders 30000 --months 36 --seed 7 --migrate")]
    [InlineData("generate --work-orders 1000000 --months 36 --seed 7")]
    [InlineData("ingest")]
    [InlineData("ingest --warehouse .data/warehouse.duckdb")]
    [InlineData("export-parquet --to out/")]
    [InlineData("import --file samples/nyc311-elevator-2024/nyc311_elevator_2024.parquet --mapping samples/nyc311-elevator-mapping.json --rejects /tmp/rejects.csv")]
    [InlineData("train --warehouse PATH")]
    [InlineData("backtest --warehouse PATH")]
    [InlineData("score --warehouse PATH --threshold 0.7 --top 5")]
    [InlineData("bench-ingest --warehouse /tmp/bench.duckdb")]
    [InlineData("bench-analytics --warehouse PATH --runs 5")]
    [InlineData("bench-assign --technicians 200 --open 50000 --creates 2000 --clients 8 --seconds 10 --keep")]
    [InlineData("bench-alarms --events 20000 --assets 160 --beside-creates 8 --create-rate 50")]
    [InlineData("bench-pm --plans 10000 --assets 100000 --idle-passes 300 --due 5000 --batch 20 --creates 500")]
    public void the_command_lines_of_the_readme_and_run_sh_still_parse(string line)
    {
        Assert.Empty(Cli.Root().Parse(line).Errors);
    }

    [Fact]
    public async Task ctrl_c_cancels_the_verbs_work_and_exits_130()
    {
        using var cancel = new CancellationTokenSource();
        var verb = GenerateCommand.Verb(new DateOnly(2025, 6, 15), async (_, _, cancellationToken) =>
        {
            await cancel.CancelAsync();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return 0;
        });
        var error = new StringWriter();

        var exitCode = await verb.Parse([]).InvokeAsync(new InvocationConfiguration { Error = error }, cancel.Token);

        Assert.Equal(Cli.Cancelled, exitCode);
        Assert.Equal("cancelled", error.ToString().Trim());
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await Cli.RunAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }
}
