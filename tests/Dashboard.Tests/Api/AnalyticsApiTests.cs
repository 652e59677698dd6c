using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Dashboard.Api;
using WorkOrders.Dashboard.Components.Pages.Analytics;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The analytics endpoints over a host of their own, so the warehouse starts empty.</summary>
public class AnalyticsApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task figures_come_from_the_warehouse_once_ingested_with_the_same_role_checks_as_the_pages()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var executive = await host.SignedInAsync(org[Role.Executive]);
        var today = DateOnly.FromDateTime(host.Clock.GetUtcNow().UtcDateTime);
        var period = $"from={today.AddDays(-7):yyyy-MM-dd}&to={today.AddDays(1):yyyy-MM-dd}";

        var empty = await executive.GetAsync($"/api/v1/analytics/kpis?{period}");
        Assert.Equal(HttpStatusCode.Conflict, empty.StatusCode);
        Assert.Contains("ingest", (await JsonOf(empty)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        // A name a spreadsheet could take for a formula must stay text in the exports.
        await using (var connection = await host.Data.OpenConnectionAsync())
        {
            await using var rename = new Npgsql.NpgsqlCommand("UPDATE users SET display_name = '=HYPERLINK(\"x\")' WHERE id = @id", connection);
            rename.Parameters.AddWithValue("id", org[Role.Technician].UserId);
            await rename.ExecuteNonQueryAsync();
        }

        // One work order taken to closed by the requester's approval, rated 4.
        var created = await host.ClosedWorkOrderAsync(org, "leak");
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var technician = await host.SignedInAsync(org[Role.Technician]);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/ingest/runs?wait=true", null)).StatusCode);

        var kpis = await JsonOf(await executive.GetAsync($"/api/v1/analytics/kpis?{period}&departmentId={org.DepartmentId}"));
        var current = kpis.GetProperty("current");
        Assert.Equal(1, current.GetProperty("volume").GetProperty("count").GetInt64());
        Assert.Equal(4.0, current.GetProperty("satisfaction").GetProperty("value").GetDouble());
        Assert.Equal(1, current.GetProperty("firstTimeFix").GetProperty("met").GetInt64());
        Assert.Contains("Mean time to restore", kpis.GetProperty("definitions").GetProperty("mttr").GetString(), StringComparison.Ordinal);

        // The manager's figures are their department's, whatever they ask for; another department is refused.
        var own = await JsonOf(await manager.GetAsync($"/api/v1/analytics/kpis?{period}"));
        Assert.Equal(org.DepartmentId, own.GetProperty("filter").GetProperty("departmentId").GetInt64());
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync($"/api/v1/analytics/kpis?{period}&departmentId={org.DepartmentId + 1000}")).StatusCode);

        var heatmap = await JsonOf(await (await host.SignedInAsync(org[Role.ReliabilityEngineer])).GetAsync(
            $"/api/v1/analytics/reliability/heatmap?{period}&departmentId={org.DepartmentId}&rows=asset_type&measure=count&bucket=week"));
        Assert.Equal("leak", Assert.Single(heatmap.EnumerateArray()).GetProperty("failureCode").GetString());

        var staff = await JsonOf(await manager.GetAsync($"/api/v1/analytics/staff?{period}"));
        Assert.Equal(org[Role.Technician].UserId, Assert.Single(staff.EnumerateArray()).GetProperty("id").GetInt64());

        await ExportsReadBackAsync(manager, period, org);
        await WorkOrderListReadsBackAsync(manager, period, created.GetProperty("number").GetString()!);

        var monthly = await JsonOf(await executive.GetAsync($"/api/v1/analytics/kpis/monthly?{period}&departmentId={org.DepartmentId}"));
        Assert.Equal(1, monthly.EnumerateArray().Sum(m => m.GetProperty("kpis").GetProperty("volume").GetProperty("count").GetInt64()));

        Assert.Equal(HttpStatusCode.Forbidden, (await technician.GetAsync($"/api/v1/analytics/kpis?{period}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org[Role.ReliabilityEngineer])).GetAsync($"/api/v1/analytics/staff?{period}")).StatusCode);
    }

    [Fact]
    public async Task an_ingest_asks_what_the_analytics_pages_open_with_so_the_first_visitor_finds_the_figures_kept()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        await host.ClosedWorkOrderAsync(org, "leak");
        var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/ingest/runs?wait=true", null)).StatusCode);

        var analytics = host.Services.GetRequiredService<WarehouseAnalytics>();
        var kept = analytics.FiguresKept;
        Assert.True(kept >= 15, $"the three pages' questions and the filter's choices are kept: {kept}");

        // What an executive's pages ask when opened without a filter is all kept already.
        var filter = new FilterParameters(null, null, null, null, null, null, null).ToFilter(org[Role.Executive]).Value!;
        await analytics.CategoriesAsync(CancellationToken.None);
        await analytics.CustomFieldsAsync(CancellationToken.None);
        await AnalyticsDashboard.AskAsync(analytics, filter, departments: true, CancellationToken.None);
        await ReliabilityPage.AskAsync(
            analytics, filter, ReliabilityPage.DefaultRows, ReliabilityPage.DefaultMeasure, ReliabilityPage.DefaultBucket, KpiQueries.DefaultRepeatDays, CancellationToken.None);
        await StaffPage.AskAsync(analytics, filter, CancellationToken.None);
        Assert.Equal(kept, analytics.FiguresKept);

        // Another period is asked when someone opens it.
        await StaffPage.AskAsync(analytics, filter with { From = filter.From.AddDays(-1) }, CancellationToken.None);
        Assert.Equal(kept + 2, analytics.FiguresKept);
    }

    [Theory]
    [InlineData("from=2026-03-01&to=2026-02-01", "to")]
    [InlineData("from=March&to=2026-04-01", "from")]
    [InlineData("workType=magic", "workType")]
    [InlineData("source=email", "source")]
    [InlineData("category=%20", "category")]
    [InlineData("field=Shift!&fieldValue=night", "field")]
    [InlineData("field=shift", "fieldValue")]
    [InlineData("rows=machines", "rows")]
    public async Task a_bad_period_or_filter_is_refused_naming_the_field(string query, string field)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var executive = await host.SignedInAsync(org[Role.Executive]);
        var path = field == "rows" ? "reliability/heatmap" : "kpis";

        var response = await executive.GetAsync($"/api/v1/analytics/{path}?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await JsonOf(response)).GetProperty("errors").TryGetProperty(field, out _));
    }

    private static async Task WorkOrderListReadsBackAsync(HttpClient manager, string period, string number)
    {
        var xlsx = await manager.GetAsync($"/api/v1/analytics/work-orders/export.xlsx?kpi=volume&{period}");
        Assert.Equal(HttpStatusCode.OK, xlsx.StatusCode);
        using var workbook = new ClosedXML.Excel.XLWorkbook(await xlsx.Content.ReadAsStreamAsync());
        Assert.Equal(["Summary", "Work orders"], workbook.Worksheets.Select(w => w.Name));
        var list = workbook.Worksheet("Work orders");
        Assert.Equal("Number", list.Cell(4, 1).GetString());
        Assert.Equal(number, list.Cell(5, 1).GetString());
        Assert.Equal("Leak", list.Cell(5, 2).GetString());
        Assert.Equal("leak", list.Cell(5, 8).GetString());
        Assert.True(list.Cell(5, 9).GetValue<DateTime>() > DateTime.MinValue);
        Assert.True(list.Cell(6, 1).IsEmpty());
        Assert.Equal(1, workbook.Worksheet("Summary").Cell(4, 2).GetValue<int>());

        var csv = await manager.GetStringAsync($"/api/v1/analytics/work-orders/export.csv?kpi=volume&{period}");
        var lines = csv.TrimStart('\uFEFF').Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"\"{number}\",\"Leak\",\"closed\"", lines[1], StringComparison.Ordinal);

        var parquet = await manager.GetAsync($"/api/v1/analytics/work-orders/export.parquet?kpi=volume&{period}");
        Assert.Equal(HttpStatusCode.OK, parquet.StatusCode);
        Assert.Equal("PAR1"u8.ToArray(), (await parquet.Content.ReadAsByteArrayAsync())[..4]);

        var unknown = await manager.GetAsync($"/api/v1/analytics/work-orders/export.csv?kpi=everything&{period}");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.True((await JsonOf(unknown)).GetProperty("errors").TryGetProperty("kpi", out _));
    }

    private static async Task ExportsReadBackAsync(HttpClient manager, string period, TestOrg org)
    {
        var xlsx = await manager.GetAsync($"/api/v1/analytics/staff/export.xlsx?{period}");
        Assert.Equal(HttpStatusCode.OK, xlsx.StatusCode);
        Assert.Equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx.Content.Headers.ContentType?.MediaType);
        using var workbook = new ClosedXML.Excel.XLWorkbook(await xlsx.Content.ReadAsStreamAsync());
        Assert.Equal(["Summary", "Technicians", "Departments"], workbook.Worksheets.Select(w => w.Name));
        var technicians = workbook.Worksheet("Technicians");
        Assert.Contains("Period", technicians.Cell(2, 1).GetString(), StringComparison.Ordinal);
        Assert.Contains(org.DepartmentId.ToString(System.Globalization.CultureInfo.InvariantCulture), technicians.Cell(2, 1).GetString(), StringComparison.Ordinal);
        Assert.Equal("Name", technicians.Cell(4, 1).GetString());
        Assert.Equal(4, technicians.SheetView.SplitRow);
        Assert.True(technicians.AutoFilter.IsEnabled);
        Assert.Equal("=HYPERLINK(\"x\")", technicians.Cell(5, 1).GetString());
        Assert.False(technicians.Cell(5, 1).HasFormula);
        Assert.Equal(1, technicians.Cell(5, 3).GetValue<int>());
        Assert.Equal(4.0, technicians.Cell(5, 7).GetValue<double>());
        Assert.Equal("0.0%", technicians.Cell(5, 5).Style.NumberFormat.Format);

        var csv = await manager.GetStringAsync($"/api/v1/analytics/staff/export.csv?{period}");
        var lines = csv.TrimStart('\uFEFF').Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("\"Name\",\"Department\"", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("\"'=HYPERLINK(\"\"x\"\")\"", lines[1], StringComparison.Ordinal);
    }
}
