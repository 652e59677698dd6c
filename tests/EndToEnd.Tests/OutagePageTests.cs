using Npgsql;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>The app reaches PostgreSQL through a relay the test cuts: what a person sees while the database is away.</summary>
public sealed class OutagePageTests : BrowserTest, IAsyncDisposable
{
    private TcpRelay? _relay;

    private TcpRelay Relay => _relay ?? throw new InvalidOperationException("The relay starts with the host.");

    protected override IReadOnlyList<(string Key, string Value)> Settings
    {
        get
        {
            var server = new NpgsqlConnectionStringBuilder(Database.ConnectionString);
            _relay ??= new TcpRelay(server.Host!, server.Port);
            var relayed = new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Host = "127.0.0.1", Port = _relay.Port, Timeout = 2 };
            return [("ConnectionStrings:WorkOrders", relayed.ConnectionString)];
        }
    }

    [Fact]
    public async Task while_the_database_is_away_a_page_says_it_is_retrying_instead_of_failing_and_comes_back_by_itself()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Manager].UserName, TestOrg.Password);

        try
        {
            // Inside the live circuit: the next page cannot read its data.
            Relay.Cut();
            await page.Locator("a[href='assets']").Or(page.Locator("a[href='/assets']")).First.ClickAsync();
            await Expect(page.GetByTestId("database-unavailable")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("circuit-ready")).ToBeAttachedAsync();

            // A fresh load of a page while it is still away says the same.
            await page.GotoAsync("/assets");
            await Expect(page.GetByTestId("database-unavailable")).ToBeVisibleAsync();
        }
        finally
        {
            Relay.Restore();
        }

        // Back without anyone reloading: the page retries on its own.
        await Expect(page.GetByTestId("asset-filter-text")).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Expect(page.GetByTestId("database-unavailable")).ToHaveCountAsync(0);
    }

    async ValueTask IAsyncDisposable.DisposeAsync()
    {
        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }
    }
}
