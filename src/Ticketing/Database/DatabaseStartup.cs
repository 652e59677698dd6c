using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using WorkOrders.Ticketing.Demo;

namespace WorkOrders.Ticketing.Database;

/// <summary>Brings the schema up to date before the app serves anything, or refuses to start when told not to migrate.</summary>
internal sealed class DatabaseStartup(Migrator migrator, DemoSeed seed, IOptions<TicketingOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.MigrateOnStart)
        {
            await migrator.ApplyAsync(cancellationToken);
        }
        else if (await migrator.PendingAsync(cancellationToken) is { Count: > 0 } pending)
        {
            throw new InvalidOperationException(
                $"The database schema is behind: {pending.Count} migration(s) not applied, starting with {pending[0].Version:D4}_{pending[0].Name}. " +
                "Run ./run.sh (it migrates), or set Ticketing__MigrateOnStart=true.");
        }

        if (options.Value.SeedDemo)
        {
            await seed.SeedAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
