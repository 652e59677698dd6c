using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The forecast endpoints over HTTP: who may read and decide, and bad input named by field.</summary>
public class ForecastApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    [Fact]
    public async Task forecasts_are_read_by_planning_roles_and_decided_or_trained_only_by_planners_engineers_and_administrators()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var technician = await host.SignedInAsync(org[Role.Technician]);
        var executive = await host.SignedInAsync(org[Role.Executive]);
        var planner = await host.SignedInAsync(org[Role.Planner]);

        Assert.Equal(HttpStatusCode.Forbidden, (await technician.GetAsync("/api/v1/forecasts/proposals")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await executive.GetAsync("/api/v1/forecasts/proposals")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await executive.PostAsync("/api/v1/forecasts/training-runs", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await executive.PutAsJsonAsync("/api/v1/forecasts/threshold", new { threshold = 0.4 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await planner.GetAsync("/api/v1/forecasts/training-runs/status")).StatusCode);

        // Before any ingest the warehouse has nothing to show, and says so.
        var models = await planner.GetAsync("/api/v1/forecasts/models");
        Assert.Equal(HttpStatusCode.Conflict, models.StatusCode);
        Assert.Contains("ingest", (await models.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUT", "/api/v1/forecasts/threshold", """{"threshold": 1.5}""", "threshold")]
    [InlineData("PUT", "/api/v1/forecasts/threshold", """{"threshold": 0}""", "threshold")]
    [InlineData("GET", "/api/v1/forecasts/proposals?minProbability=2", null, "minProbability")]
    [InlineData("GET", "/api/v1/forecasts/proposals?status=maybe", null, "status")]
    [InlineData("GET", "/api/v1/forecasts/volume?weeks=0", null, "weeks")]
    [InlineData("POST", "/api/v1/forecasts/proposals/accept", """{"ids": []}""", "ids")]
    public async Task bad_forecast_input_is_refused_naming_the_field(string method, string path, string? body, string field)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var planner = await host.SignedInAsync(org[Role.Planner]);
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };

        var response = await planner.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _));
    }
}
