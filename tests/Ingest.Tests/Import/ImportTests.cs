using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ingest.Import;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>Imports of a small hand-made export with good and malformed rows. Every test names its own template, teams and ids.</summary>
[Collection(ImportCollection.Name)]
public sealed class ImportTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-import-").FullName;
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Prefix => $"T{_tag}-";

    private string Rejects => Path.Combine(_folder, "rejects.csv");

    /// <summary>A helpdesk export in Taipei time: 5 good rows, 7 bad ones.</summary>
    private string WriteExport()
    {
        var longSubject = string.Join(' ', Enumerable.Repeat("Conveyor belt drifts to the left under load", 6));
        var path = Path.Combine(_folder, "helpdesk.csv");
        File.WriteAllText(path, $"""
            ticket_id,opened,acknowledged,resolved,closed,category,priority,team,owner,site,state,subject,details
            1,2024-03-01 09:00,2024-03-01 09:30,2024-03-01 12:00,2024-03-02 08:00,Leak,High,Mechanics,Alice {_tag},Plant {_tag},Done,Oil leak at press 4,Puddle under the press
            2,2024-03-02 10:00,2024-03-02 10:05,,,Bearing,,Mechanics,,Plant {_tag},In Progress,Noisy bearing,Grinding noise
            3,2024-13-45 10:00,,,2024-03-05 10:00,Leak,Low,Mechanics,,Plant {_tag},Done,Bad date,The opened date is not a date
            4,2024-03-06 10:00,,,2024-03-05 10:00,Leak,Low,Mechanics,,Plant {_tag},Done,Closed before opened,Closed a day before it opened
            5,2024-03-07 10:00,,,2024-03-08 10:00,Leak,Low,Mechanics,,Plant {_tag},Done,,No subject
            6,2024-03-08 10:00,,,2024-03-09 10:00,Leak,Whenever,Mechanics,,Plant {_tag},Done,Odd priority,Priority not in the map
            7,2024-03-09 10:00,,,2024-03-09 11:00,Other,Low,Electrics,,Depot {_tag},Cancelled,Duplicate call,Raised twice
            ,2024-03-10 10:00,,,2024-03-10 11:00,Leak,Low,Mechanics,,Plant {_tag},Done,No id,The external id is missing
            1,2024-03-11 10:00,,,2024-03-11 11:00,Leak,Low,Mechanics,,Plant {_tag},Done,Same id again,Row 1 already has this id
            8,2024-03-12 10:00,,,2024-03-13 10:00,Belt,Urgent,Mechanics,,Plant {_tag},Done,{longSubject},Long subject
            9,2024-03-13 10:00,,,,Leak,Low,Mechanics,,Plant {_tag},Done,Closed without date,Status says done but no date
            10,2024-12-31 23:30,,,2025-01-02 09:00,Leak,Normal,Electrics,,Depot {_tag},Done,New year leak,Opened on new year's eve in Taipei
            """);
        return path;
    }

    private ImportMapping Mapping() => JsonSerializer.Deserialize<ImportMapping>($$"""
        {
          "externalId": { "column": "ticket_id", "prefix": "{{Prefix}}" },
          "timeZone": "Asia/Taipei",
          "dateFormats": ["%Y-%m-%d %H:%M"],
          "times": { "created": "opened", "acknowledged": "acknowledged", "resolved": "resolved", "closed": "closed" },
          "template": { "name": "Helpdesk {{_tag}}", "workType": "corrective", "department": "Maintenance {{_tag}}", "defaultPriority": 3 },
          "title": { "column": "subject" },
          "description": { "column": "details" },
          "priority": { "column": "priority", "values": { "Urgent": 1, "High": 2, "Normal": 3, "Low": 4 } },
          "status": { "column": "state", "values": { "Done": "closed", "In Progress": "in_progress", "Cancelled": "cancelled", "New": "new" } },
          "department": { "template": "{team} {{_tag}}" },
          "assignee": { "column": "owner" },
          "site": { "column": "site", "codePrefix": "IMP-" },
          "category": { "column": "category", "field": "fault_code", "values": { "Leak": "leak", "Bearing": "bearing", "Belt": "belt" }, "default": "other" }
        }
        """, ImportMapping.Json)!.Checked();

    private async Task<List<string>> ImportedReferencesAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<string>(
            "SELECT reference FROM work_orders WHERE source = 'import' AND reference LIKE @p ORDER BY created_at", new { p = Prefix + "%" })).ToList();
    }

    [Fact]
    public async Task assignees_an_import_creates_cannot_sign_in_with_any_password_until_an_administrator_sets_one()
    {
        await ImportFiles.ImportAsync(database.DataSource, WriteExport(), Mapping(), Rejects);
        var hasher = new PasswordHasher<Users>();
        var users = new Users(database.DataSource, hasher);
        var userName = $"alice.{_tag}";
        foreach (var password in new[] { "", "demo", userName, ImportReferences.ImportUserName, "password" })
        {
            Assert.Equal(SignInRefusal.WrongPassword, (await users.SignInAsync(new LoginRequest(userName, password), CancellationToken.None)).Refusal);
        }

        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE users SET password_hash = @hash, active = true WHERE user_name = @userName",
                new { hash = hasher.HashPassword(null!, "set by the administrator"), userName });
        }

        Assert.NotNull((await users.SignInAsync(new LoginRequest(userName, "set by the administrator"), CancellationToken.None)).Session);
    }

    [Fact]
    public async Task an_import_leaves_what_the_row_triggers_leave_open_work_for_the_field_app_and_closed_work_marked_archived()
    {
        await ImportFiles.ImportAsync(database.DataSource, WriteExport(), Mapping(), Rejects);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<(string Reference, string Status, bool Archived, long Noted)>(
            """
            SELECT w.reference, w.status, w.archived_xid IS NOT NULL,
                   (SELECT count(*) FROM field_changes f WHERE f.entity = 'work_order' AND f.entity_id = w.id)
            FROM work_orders w WHERE w.source = 'import' AND w.reference LIKE @p
            """,
            new { p = Prefix + "%" })).ToList();
        Assert.Equal(5, rows.Count);
        Assert.All(rows, r => Assert.Equal(r.Status is "closed" or "cancelled", r.Archived));
        Assert.All(rows, r => Assert.Equal(r.Status is "closed" or "cancelled" ? 0 : 1, r.Noted));
        Assert.Contains(rows, r => r.Status == "in_progress");
    }

    [Fact]
    public async Task a_file_with_malformed_rows_loads_the_good_rows_and_rejects_each_bad_one_with_its_reason()
    {
        var result = await ImportFiles.ImportAsync(database.DataSource, WriteExport(), Mapping(), Rejects);

        Assert.Equal((12L, 5L, 7L, 0L), (result.Read, result.Loaded, result.Rejected, result.Skipped));
        Assert.Equal([$"{Prefix}1", $"{Prefix}2", $"{Prefix}7", $"{Prefix}8", $"{Prefix}10"], await ImportedReferencesAsync());
        var rejects = File.ReadAllLines(Rejects);
        Assert.Equal(RejectFile.Header, rejects[0]);
        var byRow = rejects.Skip(1).Select(l => l.Split(',', 4)).ToDictionary(f => int.Parse(f[0]), f => (Id: f[1], Field: f[2], Reason: f[3]));
        Assert.Equal([3, 4, 5, 6, 8, 9, 11], byRow.Keys.Order());
        Assert.Equal(("3", "created"), (byRow[3].Id, byRow[3].Field));
        Assert.Contains("'2024-13-45 10:00' in opened is not a date", byRow[3].Reason);
        Assert.Equal(("4", "closed"), (byRow[4].Id, byRow[4].Field));
        Assert.Contains("is before opened", byRow[4].Reason);
        Assert.Equal(("5", "title"), (byRow[5].Id, byRow[5].Field));
        Assert.Equal(("6", "priority"), (byRow[6].Id, byRow[6].Field));
        Assert.Contains("'Whenever' from priority is not in the mapping's values", byRow[6].Reason);
        Assert.Equal(("", "reference"), (byRow[8].Id, byRow[8].Field));
        Assert.Equal(("1", "reference"), (byRow[9].Id, byRow[9].Field));
        Assert.Contains("also on row 1", byRow[9].Reason);
        Assert.Equal(("9", "closed"), (byRow[11].Id, byRow[11].Field));
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, Prefix));
    }

    [Fact]
    public async Task the_good_rows_carry_their_mapped_values_times_in_utc_and_a_long_title_moved_into_the_description()
    {
        await ImportFiles.ImportAsync(database.DataSource, WriteExport(), Mapping(), Rejects);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<ImportedRow>(
            """
            SELECT w.reference, w.number, w.status, w.priority, w.title, w.description, d.name AS department, a.code AS site,
                   w.custom_fields->>'fault_code' AS fault, u.user_name AS assignee, u.active AS AssigneeActive, w.created_at AS CreatedAt
            FROM work_orders w JOIN departments d ON d.id = w.department_id JOIN assets a ON a.id = w.asset_id LEFT JOIN users u ON u.id = w.assignee_id
            WHERE w.reference LIKE @p
            """, new { p = Prefix + "%" })).ToDictionary(r => r.Reference[Prefix.Length..]);

        Assert.Equal("closed", rows["1"].Status);
        Assert.Equal(2, rows["1"].Priority);
        Assert.Equal("leak", rows["1"].Fault);
        Assert.Equal($"alice.{_tag}", rows["1"].Assignee);
        Assert.False(rows["1"].AssigneeActive);
        Assert.Equal($"Mechanics {_tag}", rows["1"].Department);
        Assert.Equal($"IMP-PLANT-{_tag.ToUpperInvariant()}", rows["1"].Site);
        Assert.Equal(new DateTime(2024, 3, 1, 1, 0, 0, DateTimeKind.Utc), rows["1"].CreatedAt);
        Assert.Equal("in_progress", rows["2"].Status);
        Assert.Equal(3, rows["2"].Priority);
        Assert.Equal("bearing", rows["2"].Fault);
        Assert.Equal("cancelled", rows["7"].Status);
        Assert.Equal("other", rows["7"].Fault);
        Assert.Equal($"Electrics {_tag}", rows["7"].Department);
        Assert.Equal(1, rows["8"].Priority);
        Assert.InRange(rows["8"].Title.Length, 150, 200);
        Assert.EndsWith("drifts…", rows["8"].Title);
        Assert.StartsWith(rows["8"].Title[..^1] + " to the left under load Conveyor", rows["8"].Description);
        Assert.EndsWith("under load\n\nLong subject", rows["8"].Description);
        // 23:30 on 31 December in Taipei is 15:30 UTC the same day: numbered in 2024, like the live application would.
        Assert.Equal(new DateTime(2024, 12, 31, 15, 30, 0, DateTimeKind.Utc), rows["10"].CreatedAt);
        Assert.StartsWith("WO-2024-", rows["10"].Number);
    }

    [Fact]
    public async Task reimporting_the_same_file_adds_nothing()
    {
        var file = WriteExport();
        var first = await ImportFiles.ImportAsync(database.DataSource, file, Mapping(), Rejects);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        const string counts = "SELECT (SELECT count(*) FROM work_orders) + 1000000 * (SELECT count(*) FROM work_order_events) + (SELECT coalesce(sum(last_value), 0) FROM work_order_number_years) * 1000000000000";
        var before = await connection.ExecuteScalarAsync<decimal>(counts);

        var second = await ImportFiles.ImportAsync(database.DataSource, file, Mapping(), Rejects);

        Assert.Equal((5L, 0L), (first.Loaded, first.Skipped));
        Assert.Equal((0L, 5L, 7L), (second.Loaded, second.Skipped, second.Rejected));
        Assert.Equal(before, await connection.ExecuteScalarAsync<decimal>(counts));
        Assert.False(second.TemplateCreated);
        Assert.Equal((0, 0, 0), (second.DepartmentsCreated, second.SitesCreated, second.UsersCreated));
    }

    [Fact]
    public async Task imported_histories_are_the_ones_the_live_lifecycle_writes()
    {
        await ImportFiles.ImportAsync(database.DataSource, WriteExport(), Mapping(), Rejects);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var kinds = (await connection.QueryAsync<(string Reference, string Kinds, DateTime? Acknowledged, DateTime? Started)>(
            """
            SELECT w.reference, string_agg(e.kind || ':' || e.to_status, ' ' ORDER BY e.id), w.acknowledged_at, w.started_at
            FROM work_orders w JOIN work_order_events e ON e.work_order_id = w.id
            WHERE w.reference LIKE @p GROUP BY w.id
            """, new { p = Prefix + "%" })).ToDictionary(r => r.Reference[Prefix.Length..]);

        Assert.Equal("created:new assign:assigned start:in_progress resolve:resolved approve:closed", kinds["1"].Kinds);
        Assert.Equal(new DateTime(2024, 3, 1, 1, 30, 0, DateTimeKind.Utc), kinds["1"].Started);
        Assert.Equal("created:new start:in_progress", kinds["2"].Kinds);
        Assert.Equal("created:new cancel:cancelled", kinds["7"].Kinds);
        // No acknowledged time in the source: the start event is placed at the resolve, undated, and the work order keeps
        // no acknowledged or started time (startWhenUnknown is not_known by default).
        Assert.Equal("created:new start:in_progress resolve:resolved approve:closed", kinds["10"].Kinds);
        Assert.Equal((null, null), (kinds["10"].Acknowledged, kinds["10"].Started));
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, Prefix));
    }

    [Fact]
    public async Task the_live_application_numbers_and_ids_carry_on_after_an_import()
    {
        await ImportFiles.ImportAsync(database.DataSource, WriteExport(), Mapping(), Rejects);
        var org = await TestOrg.CreateAsync(database.DataSource);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var (lastId, lastNumber) = await connection.QuerySingleAsync<(long, string)>(
            "SELECT id, number FROM work_orders WHERE number LIKE 'WO-2024-%' ORDER BY number DESC LIMIT 1");

        var created = await new CreateWorkOrder(database.DataSource, new FakeTimeProvider(new DateTimeOffset(2024, 6, 1, 8, 0, 0, TimeSpan.Zero))).HandleAsync(
            new CreateWorkOrderRequest(org.TemplateId, "After the import", "live", null, null, org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") }),
            org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None);

        Assert.True(created.Value!.Id > lastId);
        Assert.Equal($"WO-2024-{int.Parse(lastNumber[8..]) + 1:D6}", created.Value.Number);
    }

    private sealed class ImportedRow
    {
        public string Reference { get; init; } = "";
        public string Number { get; init; } = "";
        public string Status { get; init; } = "";
        public short Priority { get; init; }
        public string Title { get; init; } = "";
        public string Description { get; init; } = "";
        public string Department { get; init; } = "";
        public string Site { get; init; } = "";
        public string? Fault { get; init; }
        public string? Assignee { get; init; }
        public bool? AssigneeActive { get; init; }
        public DateTime CreatedAt { get; init; }
    }
}
