using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Forecasts;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>Work reaching the right person on its own: a requester's P1, and a forecast proposal a planner accepts.</summary>
public sealed class AssignmentAndPlanningTests : BrowserTest
{
    // The org's technician is qualified; the other technician has no skill, so only one person can be chosen.
    private async Task<(TestOrg Org, long PreventiveTemplate)> QualifiedOrgAsync()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var skill = $"pumps-{org.Suffix}";
        long preventive;
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO skills (name) VALUES (@skill)", new { skill });
            await connection.ExecuteAsync("INSERT INTO user_skills (user_id, skill, level) VALUES (@user, @skill, 3)", new { user = org[Role.Technician].UserId, skill });
            preventive = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields)
                VALUES (@name, 'preventive', 3, @department, true, '[]') RETURNING id
                """,
                new { name = $"Lubrication {org.Suffix}", department = org.DepartmentId });
        }

        var rules = Host.Services.GetRequiredService<AssignmentRules>();
        foreach (var template in new[] { org.TemplateId, preventive })
        {
            var rule = await rules.CreateAsync(
                new AssignmentRuleRequest($"Pumps {template} {org.Suffix}", org.DepartmentId, AssignmentStrategy.LeastLoaded, TemplateId: template,
                    RequiredSkills: [new RequiredSkill(skill, 2)]),
                org[Role.Admin],
                CancellationToken.None);
            Assert.True(rule.Succeeded, rule.Failure?.Message);
        }

        return (org, preventive);
    }

    [Fact]
    public async Task a_requesters_p1_reaches_the_qualified_technicians_work_and_bell_without_a_reload()
    {
        var (org, _) = await QualifiedOrgAsync();
        var technician = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Technician].UserName, TestOrg.Password);
        var count = technician.GetByTestId("bell-count");
        await Expect(technician.Locator("[data-testid=bell][data-live=true]")).ToHaveCountAsync(1);
        await Expect(count).ToHaveTextAsync("0");
        await technician.EvaluateAsync("() => window.__sameDocument = true");

        using var requester = await SignedInClientAsync(org[Role.Requester]);
        var response = await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = $"Pump seized {org.Suffix}", description = "Line stopped.", priority = 1, assetId = org.MachineId,
            customFields = new { fault_code = "bearing" },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var number = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("number").GetString()!;

        await Expect(count).ToHaveTextAsync("1");
        Assert.True(await technician.EvaluateAsync<bool>("() => window.__sameDocument === true"));
        await technician.GetByTestId("bell-button").ClickAsync();
        await Expect(technician.GetByTestId("bell-item")).ToContainTextAsync(number);

        await Browser.OpenAsync(technician, "/");
        await Expect(technician.GetByTestId("work-order-link").Filter(new() { HasText = number })).ToHaveCountAsync(1);
        await technician.GetByTestId("work-order-link").Filter(new() { HasText = number }).ClickAsync();
        await Expect(technician.GetByTestId("wo-assignee")).ToHaveTextAsync($"technician {org.Suffix}");
        await Expect(technician.GetByTestId("timeline")).ToContainTextAsync("chose");
    }

    [Fact]
    public async Task a_planner_accepts_a_proposal_and_finds_the_preventive_work_order_assigned()
    {
        var (org, preventive) = await QualifiedOrgAsync();
        var now = DateTime.UtcNow;
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE forecast_settings SET threshold = 0.5");
        }

        var published = await Host.Services.GetRequiredService<Proposals>().PublishAsync(
            [new ProposalCandidate(org.MachineId, "bearing", 0.82, now.AddDays(5), now.AddDays(30), ["3 bearing faults in 30 days", "intervals between failures shrinking"], preventive, 2.0, $"e-{org.Suffix}", "1")],
            CancellationToken.None);
        Assert.Equal(1, published.Created);

        var planner = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Planner].UserName, TestOrg.Password);
        await Browser.OpenAsync(planner, "/planning");
        var row = planner.Locator("tr").Filter(new() { Has = planner.GetByTestId("proposal-asset").Filter(new() { HasText = $"M-{org.Suffix}" }) });
        await Expect(row.GetByTestId("proposal-reasons")).ToContainTextAsync("3 bearing faults in 30 days");
        await Expect(row.GetByTestId("proposal-probability")).ToHaveTextAsync("82%");
        await row.GetByTestId("proposal-accept").ClickAsync();

        var created = planner.GetByTestId("created-work-order");
        await Expect(created).ToHaveCountAsync(1);
        await created.ClickAsync();
        await Expect(planner.GetByTestId("wo-assignee")).ToHaveTextAsync($"technician {org.Suffix}");

        // Accepting again is refused and makes nothing.
        await using var check = await Database.DataSource.OpenConnectionAsync();
        var proposal = await check.QuerySingleAsync<(long Id, string Status, long WorkOrderId)>(
            "SELECT id, status, work_order_id FROM forecast_proposals WHERE asset_id = @asset", new { asset = org.MachineId });
        Assert.Equal("accepted", proposal.Status);
        using var api = await SignedInClientAsync(org[Role.Planner]);
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/forecasts/proposals/{proposal.Id}/accept", null)).StatusCode);
        Assert.Equal("forecast", await check.ExecuteScalarAsync<string>("SELECT source FROM work_orders WHERE id = @id", new { id = proposal.WorkOrderId }));
        Assert.Equal(1, await check.ExecuteScalarAsync<int>("SELECT count(*) FROM work_orders WHERE reference = @r", new { r = $"forecast-proposal-{proposal.Id}" }));

        // The accepted proposal feeds the PM programme: a plan for its fault mode, opened prefilled, records where it came from.
        await Browser.OpenAsync(planner, "/planning");
        await Browser.PickAsync(planner, planner.GetByTestId("proposal-status"), "Accepted");
        await row.GetByTestId("proposal-add-plan").ClickAsync();
        await Expect(planner).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($@"/pm/plans/new\?proposal={proposal.Id}$"));
        await Browser.WaitForCircuitAsync(planner);
        await Expect(planner.GetByTestId("pm-editor-proposal")).ToContainTextAsync($"M-{org.Suffix}");
        await Expect(planner.GetByTestId("pm-asset")).ToContainTextAsync($"M-{org.Suffix}");
        var anchor = planner.GetByTestId("pm-anchor").Locator("input");
        await anchor.FillAsync("2027-01-15");
        await anchor.PressAsync("Tab");
        await planner.GetByTestId("pm-save").ClickAsync();
        await Expect(planner).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/pm/plans/\d+\?saved=1$"));
        var plan = await check.QuerySingleAsync<(string Name, long TemplateId, long? AssetId)>(
            "SELECT name, template_id, asset_id FROM pm_plans WHERE proposal_id = @id", new { id = proposal.Id });
        Assert.Equal((preventive, org.MachineId), (plan.TemplateId, plan.AssetId));
        Assert.Contains("bearing", plan.Name, StringComparison.Ordinal);

        // Now a plan covers the asset: the proposal also offers to shorten that plan's interval.
        await Browser.OpenAsync(planner, "/planning");
        await Browser.PickAsync(planner, planner.GetByTestId("proposal-status"), "Accepted");
        await Expect(row.GetByTestId("proposal-shorten-plan")).ToHaveCountAsync(1);
    }

    private async Task<HttpClient> SignedInClientAsync(Actor user)
    {
        var client = new HttpClient { BaseAddress = Host.BaseAddress };
        var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = user.UserName, password = TestOrg.Password });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
