using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Dashboard.Components.Pages.Stocktaking;
using WorkOrders.Tests;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Stocktaking;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The counting page over a real database: marks change the row, refusals show under the item in the reader's language.</summary>
public sealed class StocktakeCountTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    public StocktakeCountTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton<TimeProvider>(_clock);
        Services.AddSingleton(Options.Create(new TicketingOptions()));
        Services.AddSingleton(Service);
    }

    private Stocktakes Service =>
        new(_database.DataSource, new AssetRegister(_database.DataSource, _clock), new CreateWorkOrder(_database.DataSource, _clock), _clock, Options.Create(new TicketingOptions()));

    [Theory]
    [InlineData("en-US", "Found", "is required: where the asset was found.")]
    [InlineData("zh-TW", "已找到", "為必填：設備被找到的位置。")]
    public async Task the_counter_marks_an_asset_found_and_elsewhere_without_a_place_is_refused_under_the_item(string culture, string found, string refusal)
    {
        using var scope = new CultureScope(culture);
        var org = await TestOrg.CreateAsync(_database.DataSource);
        long area;
        await using (var connection = await _database.DataSource.OpenConnectionAsync())
        {
            area = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO assets (code, name, kind, parent_id) VALUES (@c, 'Hall', 'area', @site) RETURNING id", new { c = $"A-{org.Suffix}", site = org.SiteId });
            var line = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO assets (code, name, kind, parent_id) VALUES (@c, 'Line', 'line', @area) RETURNING id", new { c = $"LA-{org.Suffix}", area });
            await connection.ExecuteAsync(
                "INSERT INTO assets (code, name, kind, parent_id) VALUES (@a, 'Press', 'machine', @line), (@b, 'Saw', 'machine', @line)",
                new { a = $"P-{org.Suffix}", b = $"W-{org.Suffix}", line });
        }

        var created = await Service.CreateAsync(new NewStocktakeRequest(Guid.NewGuid(), area, org[Role.Technician].UserId), org[Role.Planner], CancellationToken.None);
        this.SignIn(org[Role.Technician]);
        var page = Render<StocktakeCount>(p => p.Add(c => c.Id, created.Value!.Stocktake.Id));
        page.WaitForAssertion(() => page.Find($"[data-testid='item-P-{org.Suffix}'] [data-testid=mark-found]"), TimeSpan.FromSeconds(15));

        page.Find($"[data-testid='item-P-{org.Suffix}'] [data-testid=mark-found]").Click();
        page.WaitForAssertion(
            () => Assert.Equal(found, page.Find($"[data-testid='item-P-{org.Suffix}'] [data-testid=item-outcome]").TextContent.Trim()), TimeSpan.FromSeconds(15));
        page.Find($"[data-testid='item-W-{org.Suffix}'] [data-testid=mark-elsewhere]").Click();

        page.WaitForAssertion(
            () => Assert.Equal(refusal, page.Find($"[data-testid='item-W-{org.Suffix}'] [data-testid=item-error]").TextContent.Trim()), TimeSpan.FromSeconds(15));
        Assert.Contains("1", page.Find("[data-testid=stocktake-progress]").TextContent, StringComparison.Ordinal);
    }
}
