using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Dashboard.Components.Inspections;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Inspections;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The route editor over a real database: refusals beside the field they name, in the reader's language.</summary>
public sealed class RouteEditorTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    public RouteEditorTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton<TimeProvider>(_clock);
        Services.AddSingleton(new InspectionRoutes(database.DataSource, _clock));
        Services.AddSingleton(new Templates(database.DataSource));
        Services.AddSingleton(new AssetRegister(database.DataSource, _clock));
    }

    [Theory]
    [InlineData("en-US", "is required.", "Required: the template of the work order a failure raises.")]
    [InlineData("zh-TW", "必填。", "為必填：不合格時開立工單所用的範本。")]
    public async Task saving_an_empty_route_shows_each_refusal_beside_its_field_and_stores_nothing(string culture, string required, string findingTemplate)
    {
        using var scope = new CultureScope(culture);
        var org = await TestOrg.CreateAsync(_database.DataSource);
        this.SignIn(org[Role.Planner]);
        var editor = Render<RouteEditor>();
        editor.WaitForAssertion(() => editor.Find("[data-testid=route-save]"), TimeSpan.FromSeconds(15));

        editor.Find("[data-testid=route-save]").Click();

        editor.WaitForAssertion(() => Assert.Contains(required, editor.Find("[data-testid=error-name]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        Assert.Contains(required, editor.Find("[data-testid=error-templateId]").TextContent, StringComparison.Ordinal);
        Assert.Contains(required, editor.Find("[data-testid='error-stops[0].assetId']").TextContent, StringComparison.Ordinal);
        Assert.Contains(required, editor.Find("[data-testid='error-stops[0].items[0].label']").TextContent, StringComparison.Ordinal);
        Assert.Contains(findingTemplate, editor.Find("[data-testid='error-stops[0].items[0].findingTemplateId']").TextContent, StringComparison.Ordinal);
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM inspection_routes WHERE created_by = @id", new { id = org[Role.Planner].UserId }));
    }

    [Fact]
    public async Task a_technician_reads_a_route_but_has_nothing_to_save_with()
    {
        using var scope = new CultureScope("en-US");
        var org = await TestOrg.CreateAsync(_database.DataSource);
        this.SignIn(org[Role.Technician]);
        var editor = Render<RouteEditor>();
        editor.WaitForAssertion(() => editor.Find("[data-testid=route-read-only]"), TimeSpan.FromSeconds(15));
        Assert.Empty(editor.FindAll("[data-testid=route-save]"));
    }
}
