using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard;

/// <summary>
/// <c>dotnet run --project src/Dashboard -- add-user NAME ROLE [DEPARTMENT_ID]</c> creates a user, reading the password
/// from the WORKORDERS_PASSWORD variable or standard input. It is how the first administrator of a real installation is made.
/// </summary>
internal static class UserCommand
{
    public static async Task<int> RunAsync(IServiceProvider services, string[] args)
    {
        if (args.Length is < 2 or > 3)
        {
            await Console.Error.WriteLineAsync($"usage: add-user NAME ROLE [DEPARTMENT_ID]   (roles: {string.Join(", ", Roles.All.Select(Roles.ToName))})");
            return 2;
        }

        var password = Environment.GetEnvironmentVariable("WORKORDERS_PASSWORD") ?? await Console.In.ReadLineAsync();
        long? department = args.Length == 3 && long.TryParse(args[2], out var d) ? d : null;
        await services.GetRequiredService<Ticketing.Database.Migrator>().ApplyAsync(CancellationToken.None);
        var created = await services.GetRequiredService<Users>().CreateAsync(new CreateUserRequest(args[0], args[0], password, args[1], department), null, CancellationToken.None);
        if (created.Failure is { } failure)
        {
            await Console.Error.WriteLineAsync(failure.Message);
            return 1;
        }

        Console.WriteLine($"created user '{created.Value!.UserName}' ({args[1]})");
        return 0;
    }
}
