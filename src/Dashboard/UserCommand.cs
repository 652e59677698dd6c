using System.CommandLine;
using WorkOrders.Ingest;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard;

/// <summary>
/// <c>dotnet run --project src/Dashboard -- add-user NAME ROLE [DEPARTMENT_ID]</c> creates a user, reading the password
/// from the WORKORDERS_PASSWORD variable or standard input. It is how the first administrator of a real installation is made.
/// </summary>
internal static class UserCommand
{
    public const string Name = "add-user";

    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null) =>
        Cli.InvokeAsync(new RootCommand("WorkOrders dashboard: serves the app, or adds a user") { Verb() }, args, output, error);

    public static Command Verb()
    {
        var userName = new Argument<string>("name") { Description = "the user name to sign in with" };
        var role = new Argument<string>("role") { Description = "the role: " + string.Join(", ", Roles.All.Select(Roles.ToName)) }
            .AcceptOnlyFromAmong([.. Roles.All.Select(Roles.ToName)]);
        var department = new Argument<long?>("department-id") { Description = "the department of a manager, technician, planner or reliability engineer", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command(Name, "create a user; the password is read from WORKORDERS_PASSWORD or standard input") { userName, role, department };
        command.SetRun((parsed, cancellationToken) =>
            AddAsync(parsed.GetRequiredValue(userName), parsed.GetRequiredValue(role), parsed.GetValue(department), parsed.InvocationConfiguration.Output, cancellationToken));
        return command;
    }

    private static async Task<int> AddAsync(string userName, string role, long? department, TextWriter output, CancellationToken cancellationToken)
    {
        // Only the work-order core is composed: adding a user needs neither the pages nor the warehouse.
        var builder = WebApplication.CreateBuilder();
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(TicketingExtensions.ConnectionName)))
        {
            throw new CliException($"ConnectionStrings__{TicketingExtensions.ConnectionName} is not set; set it to the PostgreSQL connection string of the installation", Cli.Failed);
        }

        builder.AddTicketing();
        await using var app = builder.Build();
        var password = Environment.GetEnvironmentVariable("WORKORDERS_PASSWORD") ?? await Console.In.ReadLineAsync(cancellationToken);
        await app.Services.GetRequiredService<Ticketing.Database.Migrator>().ApplyAsync(cancellationToken);
        var created = await app.Services.GetRequiredService<Users>().CreateAsync(new CreateUserRequest(userName, userName, password, role, department), null, cancellationToken);
        if (created.Failure is { } failure)
        {
            throw new CliException(failure.Message, Cli.Failed);
        }

        await output.WriteLineAsync($"created user '{created.Value!.UserName}' ({role})");
        return 0;
    }
}
