using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DuckDB.NET.Data;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>A host whose exports become jobs past two rows and run one at a time, with its warehouse file at hand.</summary>
public sealed class ExportAdminHost : ApiHost
{
    public string Folder { get; private set; } = "";

    public string WarehousePath => Path.Combine(Folder, "warehouse.duckdb");

    public string ExportFolder => Path.Combine(Folder, "exports");

    protected override IEnumerable<(string Key, string Value)> Settings(string folder)
    {
        Folder = folder;
        return
        [
            ("Exports:JobThresholdRows", "2"),
            ("Exports:MaxRunning", "1"),
            ("Exports:Directory", Path.Combine(folder, "exports")),
        ];
    }
}

/// <summary>Everyone's exports for administrators, and cancelling, over HTTP with the real worker, warehouse and files.</summary>
public class ExportAdminApiTests(ExportAdminHost host) : IClassFixture<ExportAdminHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private object Body(TestOrg org, string format)
    {
        var today = DateOnly.FromDateTime(host.Clock.GetUtcNow().UtcDateTime);
        return new { kpi = "volume", format, from = $"{today.AddDays(-7):yyyy-MM-dd}", to = $"{today.AddDays(1):yyyy-MM-dd}", departmentId = org.DepartmentId };
    }

    /// <summary>Work orders raised over the API, ingested, then copied in the warehouse to <paramref name="copies"/> times as many.</summary>
    private async Task<TestOrg> WarehouseAsync(int copies)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var requester = await host.SignedInAsync(org[Role.Requester]);
        for (var i = 0; i < 3; i++)
        {
            var created = await requester.PostAsJsonAsync("/api/v1/work-orders", new
            {
                templateId = org.TemplateId, title = $"Leak {i}", description = "Oil", assetId = org.MachineId, customFields = new { fault_code = "leak" },
            });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/ingest/runs?wait=true", null)).StatusCode);
        if (copies > 1)
        {
            // The app's own DuckDB instance of the file (one per file in a process), as the bench command's copies.
            using var warehouse = new DuckDBConnection($"Data Source={host.WarehousePath}");
            warehouse.Open();
            using var copy = warehouse.CreateCommand();
            // The new work orders are open (open_work_order) unless something archived them (fact_work_order): both are copied.
            foreach (var table in new[] { "fact_work_order", "open_work_order" })
            {
                copy.CommandText = $"""
                    INSERT INTO {table}
                    SELECT f.* REPLACE (f.work_order_id + c.k * m.top AS work_order_id, f.number || '-' || c.k AS number)
                    FROM {table} f, range(1, {copies}) c(k),
                         (SELECT greatest((SELECT max(work_order_id) FROM fact_work_order), (SELECT max(work_order_id) FROM open_work_order)) AS top) m
                    WHERE f.department_id = {org.DepartmentId}
                    """;
                copy.ExecuteNonQuery();
            }
        }

        return org;
    }

    private async Task<JsonElement> JobAsync(HttpClient client, long id) => await JsonOf(await client.GetAsync($"/api/v1/exports/{id}"));

    [Fact]
    public async Task only_administrators_list_everyones_exports_with_owner_state_rows_and_times()
    {
        var org = await WarehouseAsync(copies: 1);
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var started = await JsonOf(await manager.PostAsJsonAsync("/api/v1/exports", Body(org, "csv")));
        var id = started.GetProperty("id").GetInt64();
        await Eventually.Until(() => JobAsync(manager, id), j => j.GetProperty("state").GetString() == "ready", $"export {id} to be ready", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));

        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync("/api/v1/exports?all=true")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org[Role.Executive])).GetAsync("/api/v1/exports?all=true")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous().GetAsync("/api/v1/exports?all=true")).StatusCode);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        var all = await admin.GetAsync("/api/v1/exports?all=true&take=200");
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        var entry = (await JsonOf(all)).GetProperty("items").EnumerateArray().Single(j => j.GetProperty("id").GetInt64() == id);
        Assert.Equal(org[Role.Manager].UserId, entry.GetProperty("ownerId").GetInt64());
        Assert.False(string.IsNullOrWhiteSpace(entry.GetProperty("ownerName").GetString()));
        Assert.Equal("ready", entry.GetProperty("state").GetString());
        Assert.Equal(3, entry.GetProperty("rowsWritten").GetInt64());
        Assert.True(entry.GetProperty("fileBytes").GetInt64() > 0);
        Assert.NotEqual(JsonValueKind.Null, entry.GetProperty("finishedAt").ValueKind);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/api/v1/exports?all=true&state=lost")).StatusCode);
        Assert.Equal(0, (await JsonOf(await admin.GetAsync("/api/v1/exports?all=true&state=queued"))).GetProperty("items").EnumerateArray().Count(j => j.GetProperty("id").GetInt64() == id));

        // The owner's own list is as before; a finished export cannot be cancelled.
        Assert.Equal(id, Assert.Single((await JsonOf(await manager.GetAsync("/api/v1/exports"))).EnumerateArray()).GetProperty("id").GetInt64());
        var late = await manager.PostAsync($"/api/v1/exports/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("export.not_cancellable", (await JsonOf(late)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task a_running_export_cancelled_by_its_owner_stops_and_its_file_is_removed_and_nobody_else_may_cancel_it()
    {
        var org = await WarehouseAsync(copies: 150_000);
        var manager = await host.SignedInAsync(org[Role.Manager]);
        var started = await manager.PostAsJsonAsync("/api/v1/exports", Body(org, "xlsx"));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = (await JsonOf(started)).GetProperty("id").GetInt64();
        string[] Files() => Directory.Exists(host.ExportFolder) ? Directory.GetFiles(host.ExportFolder, $"{id}-*") : [];

        // Running: the worker is writing its file.
        await Eventually.Until(() => Task.FromResult(Files()), files => files.Length == 1, $"export {id} to be written", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
        Assert.EndsWith(".part", Files()[0], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org[Role.Executive])).PostAsync($"/api/v1/exports/{id}/cancel", null)).StatusCode);

        var cancelled = await manager.PostAsync($"/api/v1/exports/{id}/cancel", null);

        Assert.True(cancelled.StatusCode == HttpStatusCode.OK, $"{cancelled.StatusCode}: {await JobAsync(manager, id)}");
        Assert.Equal("cancelled", (await JsonOf(cancelled)).GetProperty("state").GetString());

        // The worker hears it at its next progress report (the test's clock moves it) and stops, deleting what it wrote.
        await Eventually.Until(
            () =>
            {
                host.Clock.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(Files());
            },
            files => files.Length == 0,
            $"export {id}'s file to be removed",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(50));
        var job = await JobAsync(manager, id);
        Assert.Equal("cancelled", job.GetProperty("state").GetString());
        Assert.True(job.GetProperty("rowsWritten").GetInt64() < 450_000);
        Assert.Equal(HttpStatusCode.Conflict, (await manager.GetAsync($"/api/v1/exports/{id}/file")).StatusCode);
    }
}
