using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Dashboard.Components.Pages.Pm;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Forecasts;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The PM plan editor over a real database: refusals beside their field in the reader's language, and who may change a plan.</summary>
public sealed class PmPlanEditorTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    public PmPlanEditorTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton<TimeProvider>(_clock);
        Services.AddSingleton(new PmPlans(database.DataSource, _clock));
        Services.AddSingleton(new Templates(database.DataSource));
        Services.AddSingleton(new AssignmentRules(database.DataSource));
        Services.AddSingleton(new AssetRegister(database.DataSource, _clock));
        Services.AddSingleton(new Proposals(database.DataSource, new CreateWorkOrder(database.DataSource, _clock), _clock));
    }

    private async Task<TestOrg> SignedInAsync(Role role)
    {
        var org = await TestOrg.CreateAsync(_database.DataSource);
        var user = org[role];
        this.SignIn(user);
        return org;
    }

    [Theory]
    [InlineData("en-US", "is required, at most 200 characters.", "is required.", "must be from 1 to 1000.")]
    [InlineData("zh-TW", "必填，最多 200 個字元。", "必填。", "必須介於 1 到 1000。")]
    public async Task saving_an_empty_plan_shows_each_refusal_beside_its_field_in_the_readers_language(string name, string nameRequired, string required, string every)
    {
        using var culture = new CultureScope(name);
        await SignedInAsync(Role.Planner);
        var editor = Render<PmPlanEditor>();
        editor.WaitForAssertion(() => editor.Find("[data-testid=pm-save]"), TimeSpan.FromSeconds(15));

        editor.Find("input[name=pm-name]").Change("");
        editor.Find("input[name=pm-every-0]").Change("");
        editor.Find("[data-testid=pm-save]").Click();

        editor.WaitForAssertion(() => Assert.Contains(nameRequired, editor.Find("[data-testid=error-name]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        Assert.Contains(required, editor.Find("[data-testid=error-templateId]").TextContent, StringComparison.Ordinal);
        Assert.Contains(every, editor.Find("[data-testid='error-triggers[0].every']").TextContent, StringComparison.Ordinal);
        Assert.Empty(editor.FindAll("[data-testid=pm-editor-problem]"));
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pm_plans"));
    }

    [Fact]
    public async Task a_technician_reads_a_plan_but_has_nothing_to_save_with()
    {
        using var culture = new CultureScope("en-US");
        await SignedInAsync(Role.Technician);
        var editor = Render<PmPlanEditor>();
        editor.WaitForAssertion(() => editor.Find("[data-testid=pm-editor-read-only]"), TimeSpan.FromSeconds(15));
        Assert.Empty(editor.FindAll("[data-testid=pm-save]"));
        Assert.True(editor.Find("input[name=pm-name]").HasAttribute("disabled"));
    }
}
