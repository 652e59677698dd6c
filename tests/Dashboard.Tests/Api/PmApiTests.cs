using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The PM endpoints over HTTP: planners write plans, others read; refusals name the field.</summary>
public class PmApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private async Task<long> PreventiveTemplateAsync(TestOrg org)
    {
        await using var connection = await host.Data.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields) VALUES (@name, 'preventive', 3, @department, true, '[]') RETURNING id",
            new { name = $"Greasing {org.Suffix}", department = org.DepartmentId });
    }

    private static object Plan(TestOrg org, long templateId) => new
    {
        name = $"Monthly greasing {org.Suffix}",
        templateId,
        assetId = org.MachineId,
        estimatedHours = 1.5,
        leadDays = 3,
        overlap = "skip",
        catchUp = "mark_missed",
        triggers = new object[]
        {
            new { kind = "calendar", every = 1, unit = "month", anchor = "2026-01-31", atTime = "08:00:00", schedule = "fixed" },
            new { kind = "meter", meterName = "run hours", everyUnits = 500 },
        },
        skills = new[] { new { skill = "mechanical", minLevel = 2 } },
    };

    [Fact]
    public async Task a_planner_creates_a_plan_and_everyone_reads_its_next_due_date_and_calendar()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var template = await PreventiveTemplateAsync(org);
        var planner = await host.SignedInAsync(org[Role.Planner]);

        var created = await planner.PostAsJsonAsync("/api/v1/pm/plans", Plan(org, template));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var plan = await JsonOf(created);
        Assert.Equal("mark_missed", plan.GetProperty("catchUp").GetString());
        Assert.Equal(2, plan.GetProperty("triggers").GetArrayLength());
        var technician = await host.SignedInAsync(org[Role.Technician]);
        var assets = await JsonOf(await technician.GetAsync($"/api/v1/pm/plans/{plan.GetProperty("id").GetInt64()}/assets"));
        var next = assets[0].GetProperty("nextDueAt").GetDateTime();
        Assert.True(next > host.Clock.GetUtcNow().UtcDateTime);
        Assert.True(next < host.Clock.GetUtcNow().UtcDateTime.AddDays(32));
        var from = host.Clock.GetUtcNow().UtcDateTime.ToString("O");
        var until = host.Clock.GetUtcNow().UtcDateTime.AddDays(84).ToString("O");
        var calendar = await JsonOf(await technician.GetAsync($"/api/v1/pm/calendar?from={Uri.EscapeDataString(from)}&until={Uri.EscapeDataString(until)}&planId={plan.GetProperty("id").GetInt64()}"));
        Assert.InRange(calendar.GetArrayLength(), 2, 3);
        Assert.All(calendar.EnumerateArray(), o => Assert.Equal("forecast", o.GetProperty("status").GetString()));
        Assert.Equal(1.5m, calendar[0].GetProperty("estimatedHours").GetDecimal());

        var refused = await technician.PostAsJsonAsync("/api/v1/pm/plans", Plan(org, template));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task a_template_with_required_fields_is_refused_naming_the_field_in_the_readers_language()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var planner = await host.SignedInAsync(org[Role.Planner]);
        planner.DefaultRequestHeaders.AcceptLanguage.ParseAdd("zh-TW");

        var response = await planner.PostAsJsonAsync("/api/v1/pm/plans", Plan(org, org.TemplateId));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await JsonOf(response);
        Assert.Equal("pm.template_required_fields", problem.GetProperty("codes").GetProperty("templateId")[0].GetString());
        Assert.Contains("fault_code", problem.GetProperty("errors").GetProperty("templateId")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("必填", problem.GetProperty("errors").GetProperty("templateId")[0].GetString(), StringComparison.Ordinal);
    }
}
