using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Exports;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>A host whose exports become jobs past two rows and run one at a time across the app.</summary>
public sealed class ExportJobHost : ApiHost
{
    protected override IEnumerable<(string Key, string Value)> Settings(string folder) =>
    [
        ("Exports:JobThresholdRows", "2"),
        ("Exports:MaxRunning", "1"),
        ("Exports:Directory", Path.Combine(folder, "exports")),
    ];
}

/// <summary>Export jobs over HTTP with the real worker, warehouse and files.</summary>
public class ExportJobApiTests(ExportJobHost host) : IClassFixture<ExportJobHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task two_users_starting_big_exports_at_once_are_queued_and_both_get_their_file_which_nobody_else_may_take()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var requester = await host.SignedInAsync(org[Role.Requester]);
        for (var i = 0; i < 3; i++)
        {
            var created = await requester.PostAsJsonAsync("/api/v1/work-orders", new
            {
                templateId = org.TemplateId, title = i == 0 ? "=1+1" : $"Leak {i}", description = "Oil", assetId = org.MachineId, customFields = new { fault_code = "leak" },
            });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/ingest/runs?wait=true", null)).StatusCode);
        var today = DateOnly.FromDateTime(host.Clock.GetUtcNow().UtcDateTime);
        var period = $"from={today.AddDays(-7):yyyy-MM-dd}&to={today.AddDays(1):yyyy-MM-dd}";
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var executive = await host.SignedInAsync(org[Role.Executive]);

        // Past the threshold the page's download is refused, pointing at the job.
        var direct = await manager.GetAsync($"/api/v1/analytics/work-orders/export.xlsx?kpi=volume&{period}");
        Assert.Equal(HttpStatusCode.Conflict, direct.StatusCode);
        Assert.Equal("export.use_job", (await JsonOf(direct)).GetProperty("code").GetString());

        object Body(string format) => new { kpi = "volume", format, from = $"{today.AddDays(-7):yyyy-MM-dd}", to = $"{today.AddDays(1):yyyy-MM-dd}", departmentId = org.DepartmentId };
        var started = await Task.WhenAll(manager.PostAsJsonAsync("/api/v1/exports", Body("xlsx")), executive.PostAsJsonAsync("/api/v1/exports", Body("parquet")));

        var jobs = new List<(HttpClient Client, long Id)>();
        foreach (var (response, client) in started.Zip([manager, executive]))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var job = await JsonOf(response);
            var id = job.GetProperty("id").GetInt64();
            Assert.Equal($"/api/v1/exports/{id}", response.Headers.Location?.OriginalString);
            Assert.Equal(3, job.GetProperty("rowsTotal").GetInt64());
            Assert.True(job.GetProperty("queuePosition").GetInt32() >= 1);
            jobs.Add((client, id));
        }

        foreach (var (client, id) in jobs)
        {
            var ready = await Eventually.Until(
                async () => await JsonOf(await client.GetAsync($"/api/v1/exports/{id}")),
                j => j.GetProperty("state").GetString() is "ready" or "failed",
                $"export {id} to be ready",
                TimeSpan.FromSeconds(60),
                TimeSpan.FromMilliseconds(100));
            Assert.Equal("ready", ready.GetProperty("state").GetString());
            Assert.Equal(3, ready.GetProperty("rowsWritten").GetInt64());
        }

        // Each file arrives for its owner.
        var xlsx = await manager.GetAsync($"/api/v1/exports/{jobs[0].Id}/file");
        Assert.Equal(HttpStatusCode.OK, xlsx.StatusCode);
        using (var workbook = new ClosedXML.Excel.XLWorkbook(await xlsx.Content.ReadAsStreamAsync()))
        {
            var list = workbook.Worksheet("Work orders");
            Assert.Equal(3, workbook.Worksheet("Summary").Cell(4, 2).GetValue<int>());
            Assert.Contains("=1+1", Enumerable.Range(5, 3).Select(r => list.Cell(r, 2).GetString()));
            Assert.True(list.Cell(7, 9).GetValue<DateTime>() > DateTime.MinValue);
        }

        var parquet = await executive.GetAsync($"/api/v1/exports/{jobs[1].Id}/file");
        Assert.Equal(HttpStatusCode.OK, parquet.StatusCode);
        var path = Path.Combine(Path.GetTempPath(), $"export-test-{Guid.NewGuid():N}.parquet");
        await File.WriteAllBytesAsync(path, await parquet.Content.ReadAsByteArrayAsync());
        try
        {
            using var duck = new DuckDBConnection("Data Source=:memory:");
            duck.Open();
            using var command = duck.CreateCommand();
            command.CommandText = $"SELECT * FROM read_parquet('{path}')";
            using var rows = command.ExecuteReader();
            Assert.Equal(WorkOrderExport.Headers, Enumerable.Range(0, rows.FieldCount).Select(rows.GetName));
            var count = 0;
            while (rows.Read())
            {
                count++;
            }

            Assert.Equal(3, count);
        }
        finally
        {
            File.Delete(path);
        }

        // Someone else may neither see nor take it; an administrator may.
        var planner = await host.SignedInAsync(org[Role.Planner]);
        Assert.Equal(HttpStatusCode.Forbidden, (await planner.GetAsync($"/api/v1/exports/{jobs[0].Id}/file")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await planner.GetAsync($"/api/v1/exports/{jobs[0].Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await executive.GetAsync($"/api/v1/exports/{jobs[0].Id}/file")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/exports/{jobs[0].Id}/file")).StatusCode);

        // The owner's list and notification lead to the file.
        var mine = await JsonOf(await manager.GetAsync("/api/v1/exports"));
        Assert.Equal(jobs[0].Id, Assert.Single(mine.EnumerateArray()).GetProperty("id").GetInt64());
        var notifications = await JsonOf(await manager.GetAsync("/api/v1/notifications"));
        Assert.Contains(
            notifications.GetProperty("items").EnumerateArray(),
            n => n.GetProperty("kind").GetString() == "export_ready" && n.GetProperty("link").GetString() == $"/api/v1/exports/{jobs[0].Id}/file");
    }

    [Fact]
    public async Task a_start_with_an_unknown_format_or_kpi_is_refused_naming_the_field()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var manager = await host.SignedInAsync(org[Role.Manager]);

        var format = await manager.PostAsJsonAsync("/api/v1/exports", new { kpi = "volume", format = "pdf" });
        var kpi = await manager.PostAsJsonAsync("/api/v1/exports", new { kpi = "everything", format = "csv" });

        Assert.Equal(HttpStatusCode.BadRequest, format.StatusCode);
        Assert.True((await JsonOf(format)).GetProperty("errors").TryGetProperty("format", out _));
        Assert.Equal(HttpStatusCode.BadRequest, kpi.StatusCode);
        Assert.True((await JsonOf(kpi)).GetProperty("errors").TryGetProperty("kpi", out _));
        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org[Role.Technician])).PostAsJsonAsync("/api/v1/exports", new { kpi = "volume", format = "csv" })).StatusCode);
    }
}
