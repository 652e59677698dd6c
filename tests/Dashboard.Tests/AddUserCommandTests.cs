using WorkOrders.Ingest;

namespace WorkOrders.Dashboard.Tests;

/// <summary>The dashboard's <c>add-user</c> verb, run in-process with no connection string.</summary>
public sealed class AddUserCommandTests
{
    public AddUserCommandTests()
    {
        // The verb reads it from the process environment, as the README tells administrators to set it.
        Environment.SetEnvironmentVariable("ConnectionStrings__WorkOrders", null);
    }

    [Fact]
    public async Task help_exits_0_and_lists_the_arguments_and_roles_without_adding_anyone()
    {
        var (exitCode, output, error) = await RunAsync("add-user", "--help");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains("add-user <name> <role> [<department-id>]", output, StringComparison.Ordinal);
        Assert.Contains("reliability_engineer", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wizard", "add-user", "alice", "wizard")]
    [InlineData("Required argument missing", "add-user", "alice")]
    [InlineData("seven", "add-user", "alice", "technician", "seven")]
    public async Task a_usage_error_exits_2_with_one_line(string named, params string[] args)
    {
        var (exitCode, output, error) = await RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task without_a_connection_string_it_exits_1_saying_so_without_a_stack_trace()
    {
        var (exitCode, _, error) = await RunAsync("add-user", "alice", "admin");

        Assert.Equal(Cli.Failed, exitCode);
        Assert.StartsWith("error: ConnectionStrings__WorkOrders is not set", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await UserCommand.RunAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }
}
