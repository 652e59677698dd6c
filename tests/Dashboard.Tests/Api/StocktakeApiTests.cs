using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ClosedXML.Excel;
using Dapper;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>Stocktaking over HTTP: the counter's commands, their problems by field, replays, and the .xlsx report read back.</summary>
public sealed class StocktakeApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    /// <summary>An area of the org's site with lines L1 (M1, M2) and L2 (M3).</summary>
    private async Task<(TestOrg Org, long Area, long L1, long L2, Dictionary<string, long> Machines)> WorldAsync()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        await using var connection = await host.Data.OpenConnectionAsync();
        async Task<long> Asset(string code, string kind, long parent) => await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind, parent_id) VALUES (@code, @name, @kind, @parent) RETURNING id",
            new { code = $"{code}-{org.Suffix}", name = code == "M2" ? "=SUM(A1:A9)" : $"{code} 名稱", kind, parent });
        var area = await Asset("AREA", "area", org.SiteId);
        var l1 = await Asset("L1", "line", area);
        var l2 = await Asset("L2", "line", area);
        var machines = new Dictionary<string, long>
        {
            ["M1"] = await Asset("M1", "machine", l1),
            ["M2"] = await Asset("M2", "machine", l1),
            ["M3"] = await Asset("M3", "machine", l2),
        };
        return (org, area, l1, l2, machines);
    }

    [Fact]
    public async Task a_counter_counts_over_http_replays_change_nothing_and_the_xlsx_report_has_the_rows_of_the_count()
    {
        var (org, area, l1, l2, machines) = await WorldAsync();
        using var planner = await host.SignedInAsync(org[Role.Planner]);
        using var counter = await host.SignedInAsync(org[Role.Technician]);

        var created = await planner.PostAsJsonAsync("/api/v1/stocktakes", new { commandId = Guid.NewGuid(), rootId = area, counterId = org[Role.Technician].UserId });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await JsonOf(created)).GetProperty("stocktake").GetProperty("id").GetInt64();
        var detail = await JsonOf(await counter.GetAsync($"/api/v1/stocktakes/{id}"));
        long ItemOf(string machine) => detail.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("assetId").GetInt64() == machines[machine]).GetProperty("id").GetInt64();
        long StopOf(long location) => detail.GetProperty("stops").EnumerateArray().Single(s => s.GetProperty("locationId").GetInt64() == location).GetProperty("id").GetInt64();

        var found = new { commandId = Guid.NewGuid(), itemId = ItemOf("M1"), outcome = "found", condition = "good" };
        var first = await counter.PostAsJsonAsync($"/api/v1/stocktakes/{id}/mark", found);
        var replay = await counter.PostAsJsonAsync($"/api/v1/stocktakes/{id}/mark", found);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.False((await JsonOf(first)).GetProperty("replayed").GetBoolean());
        Assert.True((await JsonOf(replay)).GetProperty("replayed").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await counter.PostAsJsonAsync($"/api/v1/stocktakes/{id}/mark",
            new { commandId = Guid.NewGuid(), itemId = ItemOf("M2"), outcome = "elsewhere", foundLocationId = l2, condition = "poor" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await counter.PostAsJsonAsync($"/api/v1/stocktakes/{id}/unexpected",
            new { commandId = Guid.NewGuid(), stopId = StopOf(l2), description = "+Forklift 堆高機" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await counter.PostAsJsonAsync($"/api/v1/stocktakes/{id}/confirm-stop",
            new { commandId = Guid.NewGuid(), stopId = StopOf(l1), method = "scanned", code = $"http://localhost/a/L1-{org.Suffix}" })).StatusCode);
        var close = new { commandId = Guid.NewGuid() };
        Assert.Equal(HttpStatusCode.OK, (await counter.PostAsJsonAsync($"/api/v1/stocktakes/{id}/close", close)).StatusCode);
        Assert.True((await JsonOf(await counter.PostAsJsonAsync($"/api/v1/stocktakes/{id}/close", close))).GetProperty("replayed").GetBoolean());

        var report = await JsonOf(await counter.GetAsync($"/api/v1/stocktakes/{id}/report"));
        var totals = report.GetProperty("totals");
        Assert.Equal((3, 1, 1, 1, 1), (totals.GetProperty("expected").GetInt32(), totals.GetProperty("found").GetInt32(), totals.GetProperty("missing").GetInt32(),
            totals.GetProperty("moved").GetInt32(), totals.GetProperty("unexpected").GetInt32()));

        var xlsx = await counter.GetAsync($"/api/v1/stocktakes/{id}/report.xlsx");
        Assert.Equal(HttpStatusCode.OK, xlsx.StatusCode);
        using var book = new XLWorkbook(await xlsx.Content.ReadAsStreamAsync());
        var perLocation = book.Worksheet("Per location");
        var rows = Enumerable.Range(5, 4).Select(r => string.Join("|", Enumerable.Range(1, 8).Select(c => perLocation.Cell(r, c).GetFormattedString()))).ToList();
        Assert.Equal(
            [$"AREA-{org.Suffix}|AREA 名稱|0|0|0|0|0|0", $"L1-{org.Suffix}|L1 名稱|2|1|0|1|0|0", $"L2-{org.Suffix}|L2 名稱|1|0|1|0|1|0", "Total||3|1|1|1|1|0"],
            rows);
        var assets = book.Worksheet("Assets");
        var m2 = assets.RowsUsed().Single(r => r.Cell(2).GetString() == $"M2-{org.Suffix}");
        Assert.Equal(("=SUM(A1:A9)", "elsewhere", $"L2-{org.Suffix}", "poor"), (m2.Cell(3).GetString(), m2.Cell(5).GetString(), m2.Cell(6).GetString(), m2.Cell(7).GetString()));
        Assert.False(m2.Cell(3).HasFormula);
        var forklift = assets.RowsUsed().Single(r => r.Cell(3).GetString() == "+Forklift 堆高機");
        Assert.Equal(("unexpected", "no"), (forklift.Cell(5).GetString(), forklift.Cell(4).GetString()));
        Assert.False(forklift.Cell(3).HasFormula);
    }

    [Fact]
    public async Task bad_input_is_a_problem_naming_the_field_and_the_reason_in_the_callers_language()
    {
        var (org, area, _, _, machines) = await WorldAsync();
        using var planner = await host.SignedInAsync(org[Role.Planner]);
        using var technician = await host.SignedInAsync(org[Role.Technician]);

        var noRoot = await JsonOf(await planner.PostAsJsonAsync("/api/v1/stocktakes", new { commandId = Guid.NewGuid(), counterId = org[Role.Technician].UserId }));
        Assert.Equal("field.required", noRoot.GetProperty("codes").GetProperty("rootId")[0].GetString());
        var machineRoot = await JsonOf(await planner.PostAsJsonAsync("/api/v1/stocktakes",
            new { commandId = Guid.NewGuid(), rootId = machines["M1"], counterId = org[Role.Technician].UserId }));
        Assert.Equal("stocktake.root_not_location", machineRoot.GetProperty("codes").GetProperty("rootId")[0].GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await technician.PostAsJsonAsync("/api/v1/stocktakes",
            new { commandId = Guid.NewGuid(), rootId = area, counterId = org[Role.Technician].UserId })).StatusCode);

        var created = await JsonOf(await planner.PostAsJsonAsync("/api/v1/stocktakes", new { commandId = Guid.NewGuid(), rootId = area, counterId = org[Role.Technician].UserId }));
        var id = created.GetProperty("stocktake").GetProperty("id").GetInt64();
        var badOutcome = await technician.PostAsJsonAsync($"/api/v1/stocktakes/{id}/mark", new { commandId = Guid.NewGuid(), itemId = 1, outcome = "lost" });
        Assert.Equal(HttpStatusCode.BadRequest, badOutcome.StatusCode);
        Assert.True((await JsonOf(badOutcome)).GetProperty("codes").TryGetProperty("outcome", out _));

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/stocktakes/{id}/mark")
        {
            Content = JsonContent.Create(new { itemId = 1, outcome = "elsewhere" }),
        };
        request.Headers.AcceptLanguage.ParseAdd("zh-TW");
        var refused = await technician.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await JsonOf(refused);
        Assert.Equal("field.required", problem.GetProperty("codes").GetProperty("commandId")[0].GetString());
        Assert.Equal("stocktake.elsewhere_needs_location", problem.GetProperty("codes").GetProperty("foundLocationId")[0].GetString());
        Assert.Contains("設備被找到的位置", problem.GetProperty("errors").GetProperty("foundLocationId")[0].GetString(), StringComparison.Ordinal);

        var unknownStop = await JsonOf(await technician.PostAsJsonAsync($"/api/v1/stocktakes/{id}/unexpected",
            new { commandId = Guid.NewGuid(), stopId = long.MaxValue, description = "Ladder" }));
        Assert.Equal("stocktake.stop_not_found", unknownStop.GetProperty("codes").GetProperty("stopId")[0].GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await technician.GetAsync($"/api/v1/stocktakes/{long.MaxValue}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await technician.GetAsync($"/api/v1/stocktakes/{long.MaxValue}/report.xlsx")).StatusCode);
    }
}
