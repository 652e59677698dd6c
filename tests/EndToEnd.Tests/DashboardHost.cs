using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// The real Dashboard, served by Kestrel on a free loopback port, against a test database, with its warehouse in a
/// folder of its own and no warehouse ingest (this host is about the pages). Given a clock, the app runs on it, so a
/// test can move the app's time (a PM plan's lead time, an SLA deadline).
/// </summary>
public sealed class DashboardHost : WebApplicationFactory<Program>
{
    private readonly string _connectionString;
    private readonly TimeProvider? _clock;
    private readonly IReadOnlyList<(string Key, string Value)> _settings;
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-e2e-").FullName;

    public DashboardHost(string connectionString, TimeProvider? clock = null, IReadOnlyList<(string Key, string Value)>? settings = null)
    {
        _connectionString = connectionString;
        _clock = clock;
        _settings = settings ?? [];
        UseKestrel(0);
        StartServer();
    }

    public Uri BaseAddress =>
        new(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal))
            .First());

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // AddTicketing reads the connection string while Program builds, so it must be a host setting, not a later override.
        builder.UseSetting("ConnectionStrings:WorkOrders", _connectionString);
        builder.UseSetting("Ticketing:SeedDemo", "false");
        builder.UseSetting("Warehouse:Path", Path.Combine(_folder, "warehouse.duckdb"));
        builder.UseSetting("Ingest:RunOnStart", "false");
        builder.UseSetting("ForecastJob:RunOnStart", "false");
        builder.UseSetting("Localization:PseudoLocale", "true");
        builder.UseEnvironment("Development");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_clock is { } clock)
        {
            builder.ConfigureTestServices(services =>
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton(clock);
            });
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A file the app still holds open; the folder is in the temp directory and does no harm.
        }
    }
}
