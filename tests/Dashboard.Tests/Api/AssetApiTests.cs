using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The asset register over HTTP against a real PostgreSQL: every verb, its refusals as problem details.</summary>
public class AssetApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<Dictionary<string, string[]>> CodesOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await JsonOf(response)).GetProperty("codes").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(c => c.GetString()!).ToArray());
    }

    private static async Task<long> LineOf(HttpClient client, TestOrg org) =>
        (await JsonOf(await client.GetAsync($"/api/v1/assets/{org.MachineId}"))).GetProperty("asset").GetProperty("parentId").GetInt64();

    [Fact]
    public async Task a_planner_registers_edits_moves_and_retires_a_machine_and_reads_its_history()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var planner = await host.SignedInAsync(org[Role.Planner]);
        var line = await LineOf(planner, org);

        var created = await planner.PostAsJsonAsync("/api/v1/assets", new
        {
            code = $"CMP-{org.Suffix}", name = "空壓機 Compressor", kind = "machine", parentId = line, assetType = "compressor",
            manufacturer = "Atlas", model = "GA 30", serialNumber = "AC-1", installedOn = "2025-01-10", commissionedOn = "2025-01-20",
            criticality = 4, cost = 25000.00, warrantyEndsOn = "2027-01-10", location = "Hall 1", lifecycle = "planned",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await JsonOf(created)).GetProperty("id").GetInt64();
        Assert.Equal($"/api/v1/assets/{id}", created.Headers.Location?.ToString());

        var detail = await JsonOf(await planner.GetAsync($"/api/v1/assets/{id}"));
        var record = detail.GetProperty("record");
        Assert.Equal(("Atlas", "2025-01-20", "planned", 1), (record.GetProperty("manufacturer").GetString(), record.GetProperty("commissionedOn").GetString(), record.GetProperty("lifecycle").GetString(), record.GetProperty("rowVersion").GetInt32()));

        var edited = await planner.PutAsJsonAsync($"/api/v1/assets/{id}", new
        {
            rowVersion = 1, code = $"CMP-{org.Suffix}", name = "空壓機 Compressor 2", assetType = "compressor", criticality = 5, installedOn = "2025-01-10",
        });
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var stale = await planner.PutAsJsonAsync($"/api/v1/assets/{id}", new { rowVersion = 1, code = $"CMP-{org.Suffix}", name = "Again", criticality = 3 });
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal("asset.stale", (await JsonOf(stale)).GetProperty("code").GetString());

        var moved = await planner.PostAsJsonAsync($"/api/v1/assets/{id}/move", new { parentId = org.SiteId });
        Assert.Equal(org.SiteId, (await JsonOf(moved)).GetProperty("parentId").GetInt64());
        var commissioned = await planner.PostAsJsonAsync($"/api/v1/assets/{id}/lifecycle", new { action = "commission", reason = "accepted after trial run" });
        Assert.Equal("in_service", (await JsonOf(commissioned)).GetProperty("lifecycle").GetString());
        var illegal = await planner.PostAsJsonAsync($"/api/v1/assets/{id}/lifecycle", new { action = "dispose", reason = "too early" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, illegal.StatusCode);
        Assert.Equal("asset.lifecycle_illegal", (await JsonOf(illegal)).GetProperty("code").GetString());

        var history = await JsonOf(await planner.GetAsync($"/api/v1/assets/{id}/history"));
        Assert.Equal(["created", "edited", "moved", "lifecycle"], history.EnumerateArray().Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal("accepted after trial run", history[3].GetProperty("note").GetString());
        Assert.Equal(line, history[2].GetProperty("payload").GetProperty("fromParentId").GetInt64());
    }

    [Fact]
    public async Task bad_input_is_a_problem_naming_each_field_in_the_request_language()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        var refused = await admin.PostAsJsonAsync("/api/v1/assets", new
        {
            code = "", name = "x", kind = "machine", parentId = org.SiteId, cost = -5, installedOn = "2025-02-01", commissionedOn = "2025-01-01",
        });
        var codes = await CodesOf(refused);
        Assert.Equal(["field.required_short"], codes["code"]);
        Assert.Equal(["asset.cost"], codes["cost"]);
        Assert.Equal(["asset.commissioned_before_installed"], codes["commissionedOn"]);

        using var zh = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/assets/{org.MachineId}/move") { Content = JsonContent.Create(new { parentId = org.MachineId }) };
        zh.Headers.AcceptLanguage.Add(new StringWithQualityHeaderValue("zh-TW"));
        var cycle = await admin.SendAsync(zh);
        Assert.Equal(HttpStatusCode.BadRequest, cycle.StatusCode);
        var body = await JsonOf(cycle);
        Assert.Equal("asset.parent_kind", body.GetProperty("codes").GetProperty("parentId")[0].GetString());
        Assert.Contains("應位於", body.GetProperty("errors").GetProperty("parentId")[0].GetString(), StringComparison.Ordinal);

        // Paging is checked by the one rule for every list, before the list's own filters.
        Assert.Equal(["take"], (await CodesOf(await admin.GetAsync("/api/v1/assets?kind=robot&take=0"))).Keys);
        Assert.Equal(["kind"], (await CodesOf(await admin.GetAsync("/api/v1/assets?kind=robot&take=200"))).Keys);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/assets/999999999/history")).StatusCode);
    }

    [Fact]
    public async Task the_list_filters_by_kind_type_state_place_and_text_and_others_may_read_but_not_write()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var technician = await host.SignedInAsync(org[Role.Technician]);

        var list = await JsonOf(await technician.GetAsync($"/api/v1/assets?under={org.SiteId}&kind=machine&type=pump&lifecycle=in_service&q={org.Suffix}"));
        var written = await technician.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/lifecycle", new { action = "stand_by", reason = "weekend" });

        Assert.Equal(1, list.GetProperty("total").GetInt32());
        Assert.Equal($"M-{org.Suffix}", list.GetProperty("items")[0].GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, written.StatusCode);
    }

    [Fact]
    public async Task a_work_order_on_a_decommissioned_asset_needs_a_reason_and_on_a_disposed_one_is_refused()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        var requester = await host.SignedInAsync(org[Role.Requester]);
        await admin.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/lifecycle", new { action = "decommission", reason = "line closed" });
        object Request(string? reason) => new
        {
            templateId = org.TemplateId, title = "Drain the pump", description = "Before it is sold.", assetId = org.MachineId,
            customFields = new { fault_code = "other" }, decommissionedReason = reason,
        };

        var without = await requester.PostAsJsonAsync("/api/v1/work-orders", Request(null));
        var with = await requester.PostAsJsonAsync("/api/v1/work-orders", Request("drain before sale"));
        await admin.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/lifecycle", new { action = "dispose", reason = "sold" });
        var disposed = await requester.PostAsJsonAsync("/api/v1/work-orders", Request("one more"));

        Assert.Equal(["asset.decommissioned_reason"], (await CodesOf(without))["decommissionedReason"]);
        Assert.Equal(HttpStatusCode.Created, with.StatusCode);
        Assert.Equal(["asset.disposed_no_work"], (await CodesOf(disposed))["assetId"]);
    }

    [Fact]
    public async Task an_upload_registers_the_good_rows_and_offers_the_rejects_to_writers_only()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var planner = await host.SignedInAsync(org[Role.Planner]);
        var csv = $"""
            code,name,kind,parent_code,installed_on,commissioned_on
            UP-{org.Suffix},Uploaded pump,machine,L-{org.Suffix},2024-01-01,2024-02-01
            UB-{org.Suffix},Bad dates,machine,L-{org.Suffix},2024-03-01,2024-02-01
            """;
        using var form = new MultipartFormDataContent { { new StringContent(csv), "file", "assets.csv" } };

        var uploaded = await planner.PostAsync("/api/v1/assets/imports", form);
        var result = await JsonOf(uploaded);
        var token = result.GetProperty("rejectsToken").GetString();
        var rejects = await planner.GetStringAsync($"/api/v1/assets/imports/{token}/rejects");
        var technician = await host.SignedInAsync(org[Role.Technician]);

        Assert.Equal((2, 1, 1), (result.GetProperty("read").GetInt32(), result.GetProperty("loaded").GetInt32(), result.GetProperty("rejected").GetInt32()));
        Assert.Contains($"2,UB-{org.Suffix},commissioned_on,", rejects, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await technician.GetAsync($"/api/v1/assets/imports/{token}/rejects")).StatusCode);
        using var again = new MultipartFormDataContent { { new StringContent(csv), "file", "assets.csv" } };
        Assert.Equal(HttpStatusCode.Forbidden, (await technician.PostAsync("/api/v1/assets/imports", again)).StatusCode);
        using var wrong = new MultipartFormDataContent { { new StringContent(csv), "file", "assets.txt" } };
        Assert.Equal(["asset.import_format"], (await CodesOf(await planner.PostAsync("/api/v1/assets/imports", wrong)))["file"]);
    }
}
