using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>
/// The entry point of the test assembly (a test project is a program; the test runner does not call it). Started as
/// <c>dotnet WorkOrders.Ingest.Tests.dll crash-at STAGE WAREHOUSE CONNECTION</c>, it runs an ingest that kills its own
/// process when the run reaches STAGE (see <see cref="WarehouseIngest.AtStage"/>): what a power cut or a kill -9 does
/// there, at a point the test chooses rather than one a timer guesses.
/// </summary>
internal static class CrashingIngest
{
    public const string Verb = "crash-at";

    public static async Task<int> Main(string[] args)
    {
        if (args is not [Verb, var stage, var path, var connectionString])
        {
            return 0;
        }

        await using var data = NpgsqlDataSource.Create(connectionString);
        using var warehouse = WarehouseFile.Open(path);
        var ingest = new WarehouseIngest(data, TimeProvider.System, NullLogger<WarehouseIngest>.Instance)
        {
            AtStage = reached =>
            {
                if (reached == stage)
                {
                    Console.WriteLine($"killed at {stage}");
                    Process.GetCurrentProcess().Kill();
                }
            },
        };
        await ingest.RunAsync(warehouse, null, CancellationToken.None);
        Console.WriteLine($"the run ended without reaching {stage}");
        return 1;
    }
}
