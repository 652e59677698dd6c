using Microsoft.Playwright;
using WorkOrders.Tests;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// What every browser test starts from: a fresh database, the real app on a free port over it, and headless
/// Chromium. Each test gets its own, so counts on a page are that test's alone.
/// </summary>
public abstract class BrowserTest : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private DashboardHost? _host;
    private IBrowser? _chromium;

    protected TestDatabase Database { get; } = new();

    protected DashboardHost Host => _host ?? throw new InvalidOperationException("The host starts in InitializeAsync.");

    /// <summary>The clock the app runs on: the system's unless a test gives its own.</summary>
    protected virtual TimeProvider? Clock => null;

    /// <summary>Settings this test's app starts with, beside the host's own.</summary>
    protected virtual IReadOnlyList<(string Key, string Value)> Settings => [];

    protected IBrowser Chromium => _chromium ?? throw new InvalidOperationException("The browser starts in InitializeAsync.");

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        _host = new DashboardHost(Database.ConnectionString, Clock, Settings);
        _playwright = await Playwright.CreateAsync();
        _chromium = await Browser.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}
