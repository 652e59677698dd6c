using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>Meters and readings over HTTP: problems name the field and speak the caller's language.</summary>
public sealed class MeterApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task a_planner_adds_a_meter_a_technician_sends_readings_and_a_backwards_one_is_refused_naming_the_field()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var planner = await host.SignedInAsync(org[Role.Planner]);
        using var technician = await host.SignedInAsync(org[Role.Technician]);
        var now = host.Clock.GetUtcNow().UtcDateTime;

        var added = await planner.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/meters", new { name = "Cycles 循環", unit = "cycles" });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var meterId = (await JsonOf(added)).GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.Forbidden, (await technician.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/meters", new { name = "x", unit = "y" })).StatusCode);
        var unnamed = await JsonOf(await planner.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/meters", new { name = "", unit = "h" }));
        Assert.Equal("field.required_short", unnamed.GetProperty("codes").GetProperty("name")[0].GetString());

        var batch = new { readings = new object[] { new { readAt = now.AddHours(-2), value = 100 }, new { readAt = now.AddHours(-1), value = 160.5 } } };
        var first = await technician.PostAsJsonAsync($"/api/v1/meters/{meterId}/readings", batch);
        var retry = await technician.PostAsJsonAsync($"/api/v1/meters/{meterId}/readings", batch);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(2, (await JsonOf(first)).GetProperty("created").GetInt32());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(0, (await JsonOf(retry)).GetProperty("created").GetInt32());

        using var backwards = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/meters/{meterId}/readings")
        {
            Content = JsonContent.Create(new { readings = new object[] { new { readAt = now, value = 10 } } }),
        };
        backwards.Headers.AcceptLanguage.ParseAdd("zh-TW");
        var refused = await technician.SendAsync(backwards);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await JsonOf(refused);
        Assert.Equal("meter.reading_backwards", problem.GetProperty("codes").GetProperty("readings[0].value")[0].GetString());
        Assert.Contains("低於前一筆讀數 160.5", problem.GetProperty("errors").GetProperty("readings[0].value")[0].GetString(), StringComparison.Ordinal);

        var reset = await technician.PostAsJsonAsync($"/api/v1/meters/{meterId}/readings",
            new { readings = new object[] { new { readAt = now, value = 10, isReset = true, resetReason = "counter replaced" } } });
        Assert.Equal(HttpStatusCode.Created, reset.StatusCode);

        var meters = await JsonOf(await technician.GetAsync($"/api/v1/assets/{org.MachineId}/meters"));
        var meter = Assert.Single(meters.EnumerateArray());
        Assert.Equal((10m, 70.5m), (meter.GetProperty("latestValue").GetDecimal(), meter.GetProperty("lifetime").GetDecimal()));
        var page = await JsonOf(await technician.GetAsync($"/api/v1/meters/{meterId}/readings?skip=0&take=2"));
        Assert.Equal(3, page.GetProperty("count").GetInt64());
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());
        Assert.True(page.GetProperty("items")[0].GetProperty("isReset").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await technician.GetAsync($"/api/v1/meters/{long.MaxValue}/readings")).StatusCode);
    }
}
