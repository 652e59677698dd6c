using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Import;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>The mapping's choices for what a source leaves out: missing-value tokens, defaults beside passthrough, unknown resolved and start times.</summary>
[Collection(ImportCollection.Name)]
public sealed class MappingChoicesTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private static readonly string[] Columns = ["id", "opened", "closed", "subject", "caller"];

    private static readonly Template Template = new(
        7, "Repair", WorkType.Corrective, 3, 11, "Maintenance", AssetRequired: false, ContactRequired: false, [], Active: true, RowVersion: 1);

    private static readonly DateTime Opened = new(2024, 7, 1, 9, 0, 0);

    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-import-").FullName;
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static ImportMapping Mapping(string extra = "") => JsonSerializer.Deserialize<ImportMapping>($$"""
        {
          "externalId": { "column": "id" },
          "times": { "created": "opened", "closed": "closed" },
          "template": { "name": "Repair" },
          "title": { "column": "subject" },
          "description": { "column": "subject" }
          {{extra}}
        }
        """, ImportMapping.Json)!.Checked();

    private static SourceRow Row(string? caller) =>
        new(1, ["A-1", Opened.ToString("u"), null, "Lift stuck", caller], new SourceTimes(Opened, null, null, null, null));

    [Fact]
    public void with_passthrough_the_default_stands_in_only_for_an_empty_value()
    {
        const string Contact = """, "contact": { "column": "caller", "values": { "desk": "Front desk" }, "default": "Unknown caller" """;
        var both = new RowRules(Mapping(Contact + """, "passthrough": true } """), Columns, Template);
        var defaultOnly = new RowRules(Mapping(Contact + " }"), Columns, Template);

        Assert.Equal("Front desk", both.Decide(Row("desk")).Ticket!.Contact);
        Assert.Equal("Ms Chen, ext. 12", both.Decide(Row("Ms Chen, ext. 12")).Ticket!.Contact);
        Assert.Equal("Unknown caller", both.Decide(Row(null)).Ticket!.Contact);
        Assert.Equal("Unknown caller", both.Decide(Row("  ")).Ticket!.Contact);
        // Without passthrough the default still takes an unmapped text, as before.
        Assert.Equal("Unknown caller", defaultOnly.Decide(Row("Ms Chen, ext. 12")).Ticket!.Contact);
    }

    [Theory]
    [InlineData(ResolvedWhenMissing.Closed, true)]
    [InlineData(ResolvedWhenMissing.None, false)]
    public void a_closed_ticket_without_a_resolved_time_takes_the_closed_time_or_none_as_the_mapping_says(ResolvedWhenMissing rule, bool dated)
    {
        var created = new DateTime(2024, 5, 1, 8, 0, 0, DateTimeKind.Utc);
        var times = new TicketTimes(created, created.AddHours(1), null, null, created.AddDays(2));

        var plan = ImportHistory.Plan(WorkOrderStatus.Closed, hasAssignee: false, times, UnknownStart.NotKnown, rule);

        Assert.Equal(["created", "start", "resolve", "approve"], plan.Steps.Select(s => s.Kind));
        var resolve = plan.Steps[2];
        Assert.Equal((created.AddDays(2), dated), (resolve.At, resolve.TimeKnown));
        Assert.Equal(dated ? created.AddDays(2) : null, plan.ResolvedAt);
        Assert.Equal(created.AddDays(2), plan.ClosedAt);
        // The acknowledged time is the source's own, whatever the rule for the resolved one.
        Assert.Equal(created.AddHours(1), plan.AcknowledgedAt);
    }

    [Fact]
    public void without_an_acknowledged_or_started_time_the_start_is_not_known_by_default()
    {
        var created = new DateTime(2024, 5, 1, 8, 0, 0, DateTimeKind.Utc);

        var plan = ImportHistory.Plan(WorkOrderStatus.Closed, hasAssignee: false, new TicketTimes(created, null, null, created.AddHours(5), created.AddDays(1)), Mapping().StartWhenUnknown);

        var start = plan.Steps.Single(s => s.Kind == "start");
        Assert.Equal((created.AddHours(5), false), (start.At, start.TimeKnown));
        Assert.Equal((null, null), (plan.AcknowledgedAt, plan.StartedAt));
        Assert.Equal(created.AddHours(5), plan.ResolvedAt);
    }

    [Fact]
    public void a_missing_value_token_must_not_be_blank()
    {
        var e = Assert.Throws<MappingException>(() => Mapping(""", "missingValues": ["?", " "] """));

        Assert.Contains("missingValues", e.Message);
    }

    /// <summary>An export that writes "?", "N/A", "NULL" and "-" for nothing, in a date, a user and a category column.</summary>
    private string WriteExport()
    {
        var path = Path.Combine(_folder, "tokens.csv");
        File.WriteAllText(path, $"""
            ticket_id,opened,acknowledged,resolved,closed,category,owner,subject
            1,2024-03-01 09:00,2024-03-01 09:30,?,2024-03-02 08:00,Leak,n/a,Oil leak
            2,2024-03-02 10:00,N/A,2024-03-02 16:00,2024-03-03 10:00,NULL,Alice {_tag},Noisy bearing
            3,2024-03-03 10:00, - ,-,2024-03-04 10:00,Leak,?,Belt slips
            """);
        return path;
    }

    private ImportMapping TokenMapping(string extra) => JsonSerializer.Deserialize<ImportMapping>($$"""
        {
          "externalId": { "column": "ticket_id", "prefix": "M{{_tag}}-" },
          "dateFormats": ["%Y-%m-%d %H:%M"],
          "times": { "created": "opened", "acknowledged": "acknowledged", "resolved": "resolved", "closed": "closed" },
          "template": { "name": "Tokens {{_tag}}", "workType": "corrective", "department": "Tokens {{_tag}}" },
          "title": { "column": "subject" },
          "description": { "column": "subject" },
          "assignee": { "column": "owner" },
          "category": { "column": "category", "field": "fault_code", "values": { "Leak": "leak" }, "default": "other" }
          {{extra}}
        }
        """, ImportMapping.Json)!.Checked();

    [Fact]
    public async Task cells_holding_a_missing_value_token_are_read_as_empty_in_times_users_and_values()
    {
        var rejects = Path.Combine(_folder, "rejects.csv");
        var file = WriteExport();

        var strict = await ImportFiles.ImportAsync(database.DataSource, file, TokenMapping(""), rejects);
        var strictProblems = File.ReadAllLines(rejects).Skip(1).Select(l => l.Split(',', 4)).Select(f => $"{f[1]}:{f[2]}").Order().ToList();
        var tolerant = await ImportFiles.ImportAsync(database.DataSource, file, TokenMapping(""", "missingValues": ["?", "N/A", "null", "-"] """), rejects);

        // Without the tokens every row fails: "?", "-" and "N/A" are not dates, "n/a" and "?" not user names.
        Assert.Equal((0L, 3L), (strict.Loaded, strict.Rejected));
        Assert.Contains("1:resolved", strictProblems);
        Assert.Contains("3:resolved", strictProblems);
        Assert.Equal((3L, 0L), (tolerant.Loaded, tolerant.Rejected));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<(string Reference, DateTime? Acknowledged, DateTime? Resolved, long? Assignee, string Fault)>(
            """
            SELECT reference, acknowledged_at, resolved_at, assignee_id, custom_fields->>'fault_code'
            FROM work_orders WHERE reference LIKE @p
            """, new { p = $"M{_tag}-%" })).ToDictionary(r => r.Reference[^1..]);
        // Row 1: resolved "?" is empty, so the closed time stands in; owner "n/a" is nobody.
        Assert.Equal((new DateTime(2024, 3, 2, 8, 0, 0, DateTimeKind.Utc), (long?)null), (rows["1"].Resolved!.Value, rows["1"].Assignee));
        // Row 2: "NULL" category is empty, so the default; "N/A" acknowledged is empty, so the start is not known.
        Assert.Equal(("other", (DateTime?)null), (rows["2"].Fault, rows["2"].Acknowledged));
        Assert.NotNull(rows["2"].Assignee);
        Assert.Equal("leak", rows["3"].Fault);
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, $"M{_tag}-"));
    }

    [Fact]
    public async Task with_no_resolved_or_acknowledged_time_imported_work_counts_in_volume_but_not_in_mttr_or_mtta()
    {
        var rejects = Path.Combine(_folder, "rejects.csv");
        var result = await ImportFiles.ImportAsync(
            database.DataSource, WriteExport(), TokenMapping(""", "missingValues": ["?", "N/A", "null", "-"], "resolvedWhenMissing": "none" """), rejects);
        Assert.Equal(3L, result.Loaded);
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, $"M{_tag}-"));

        using var warehouse = WarehouseFile.Open(Path.Combine(_folder, "warehouse.duckdb"));
        await new WarehouseIngest(database.DataSource, TimeProvider.System, NullLogger<WarehouseIngest>.Instance).RunAsync(warehouse, null, CancellationToken.None);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var department = await connection.ExecuteScalarAsync<long>("SELECT id FROM departments WHERE name = @n", new { n = $"Tokens {_tag}" });
        var kpis = new KpiQueries(warehouse);
        var march = new KpiFilter(new DateOnly(2024, 3, 1), new DateOnly(2024, 4, 1), DepartmentId: department);

        Assert.Equal(3, kpis.Volume(march).Count);
        // Only row 2 gives a resolved time: 6 hours. Only row 1 gives an acknowledged time: 30 minutes.
        var mttr = kpis.Mttr(march);
        Assert.Equal((1L, 6.0), (mttr.Count, mttr.MeanHours!.Value));
        var mtta = kpis.Mtta(march);
        Assert.Equal((1L, 0.5), (mtta.Count, mtta.Value!.Value));
    }

    [Fact]
    public async Task each_row_is_raised_from_the_template_and_work_type_its_column_names()
    {
        var path = Path.Combine(_folder, "kinds.csv");
        File.WriteAllText(path, """
            ticket_id,opened,closed,kind,subject
            1,2024-05-01 08:00,2024-05-01 12:00,Repair,Pump seized
            2,2024-05-02 08:00,2024-05-02 09:00,PM,Quarterly pump service
            3,2024-05-03 08:00,2024-05-03 09:00,,Guard loose
            4,2024-05-04 08:00,2024-05-04 09:00,Audit,Not a kind the mapping knows
            """);
        var mapping = JsonSerializer.Deserialize<ImportMapping>($$"""
            {
              "externalId": { "column": "ticket_id", "prefix": "K{{_tag}}-" },
              "dateFormats": ["%Y-%m-%d %H:%M"],
              "times": { "created": "opened", "closed": "closed" },
              "template": { "name": "Repair {{_tag}}", "workType": "corrective", "department": "Kinds {{_tag}}" },
              "templates": [ { "name": "Service {{_tag}}", "workType": "preventive", "department": "Kinds {{_tag}}", "defaultPriority": 4 } ],
              "templateBy": { "column": "kind", "values": { "Repair": "Repair {{_tag}}", "PM": "Service {{_tag}}" } },
              "title": { "column": "subject" },
              "description": { "column": "subject" }
            }
            """, ImportMapping.Json)!.Checked();
        var rejects = Path.Combine(_folder, "rejects.csv");

        var result = await ImportFiles.ImportAsync(database.DataSource, path, mapping, rejects);

        Assert.Equal((3L, 1L), (result.Loaded, result.Rejected));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<(string Reference, string Template, string WorkType, int Priority)>(
            """
            SELECT w.reference, t.name, w.work_type, w.priority FROM work_orders w JOIN templates t ON t.id = w.template_id
            WHERE w.reference LIKE @p
            """, new { p = $"K{_tag}-%" })).ToDictionary(r => r.Reference[^1..]);
        Assert.Equal(($"Repair {_tag}", "corrective", 3), (rows["1"].Template, rows["1"].WorkType, rows["1"].Priority));
        Assert.Equal(($"Service {_tag}", "preventive", 4), (rows["2"].Template, rows["2"].WorkType, rows["2"].Priority));
        // An empty kind takes the default template.
        Assert.Equal(($"Repair {_tag}", "corrective"), (rows["3"].Template, rows["3"].WorkType));
        var reject = Assert.Single(File.ReadAllLines(rejects).Skip(1));
        Assert.StartsWith("4,4,template,", reject);
        Assert.Contains("'Audit' from kind", reject);
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, $"K{_tag}-"));
    }

    [Fact]
    public void a_template_choice_that_names_no_template_of_the_mapping_is_refused_before_any_row_is_read()
    {
        var e = Assert.Throws<MappingException>(() => Mapping(""", "templateBy": { "column": "caller", "values": { "x": "Nowhere" } } """));

        Assert.Contains("templateBy maps to 'Nowhere'", e.Message);
    }

    [Fact]
    public async Task the_sources_deadlines_and_reopen_counts_make_sla_and_first_time_fix_of_imported_work()
    {
        var path = Path.Combine(_folder, "deadlines.csv");
        File.WriteAllText(path, """
            ticket_id,opened,acknowledged,resolved,closed,respond_by,resolve_by,reopened,subject
            1,2024-06-03 08:00,2024-06-03 08:20,2024-06-03 12:00,2024-06-04 08:00,2024-06-03 09:00,2024-06-03 16:00,0,Met both
            2,2024-06-04 08:00,2024-06-04 10:00,2024-06-05 12:00,2024-06-06 08:00,2024-06-04 09:00,2024-06-04 16:00,2,Missed both and reopened twice
            3,2024-06-05 08:00,2024-06-05 08:10,2024-06-05 09:00,2024-06-05 10:00,,,,No deadlines
            4,2024-06-06 08:00,,,2024-06-06 09:00,2024-06-06 07:00,,,Response deadline before it was raised
            5,2024-06-07 08:00,,,2024-06-07 09:00,,,many,Not a count
            """);
        var mapping = JsonSerializer.Deserialize<ImportMapping>($$"""
            {
              "externalId": { "column": "ticket_id", "prefix": "S{{_tag}}-" },
              "dateFormats": ["%Y-%m-%d %H:%M"],
              "times": { "created": "opened", "acknowledged": "acknowledged", "resolved": "resolved", "closed": "closed",
                         "responseDue": "respond_by", "resolutionDue": "resolve_by" },
              "reopens": "reopened",
              "template": { "name": "Deadlines {{_tag}}", "workType": "corrective", "department": "Deadlines {{_tag}}" },
              "title": { "column": "subject" },
              "description": { "column": "subject" }
            }
            """, ImportMapping.Json)!.Checked();
        var rejects = Path.Combine(_folder, "rejects.csv");

        var result = await ImportFiles.ImportAsync(database.DataSource, path, mapping, rejects);

        Assert.Equal((3L, 2L), (result.Loaded, result.Rejected));
        Assert.Equal(["4,4,responseDue", "5,5,reopens"], File.ReadAllLines(rejects).Skip(1).Select(l => string.Join(',', l.Split(',').Take(3))));
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, $"S{_tag}-"));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var kinds = await connection.ExecuteScalarAsync<string>(
            "SELECT string_agg(e.kind, ' ' ORDER BY e.id) FROM work_orders w JOIN work_order_events e ON e.work_order_id = w.id WHERE w.reference = @r",
            new { r = $"S{_tag}-2" });
        Assert.Equal("created start resolve reject resolve reject resolve approve", kinds);

        using var warehouse = WarehouseFile.Open(Path.Combine(_folder, "warehouse.duckdb"));
        await new WarehouseIngest(database.DataSource, TimeProvider.System, NullLogger<WarehouseIngest>.Instance).RunAsync(warehouse, null, CancellationToken.None);
        var department = await connection.ExecuteScalarAsync<long>("SELECT id FROM departments WHERE name = @n", new { n = $"Deadlines {_tag}" });
        var kpis = new KpiQueries(warehouse);
        var june = new KpiFilter(new DateOnly(2024, 6, 1), new DateOnly(2024, 7, 1), DepartmentId: department);

        // Ticket 1 met both deadlines and ticket 2 missed both; ticket 3 has none, so it is not counted.
        var sla = kpis.Sla(june);
        Assert.Equal((1L, 2L, 1L, 2L), (sla.Response.Met, sla.Response.Due, sla.Resolution.Met, sla.Resolution.Due));
        // Ticket 2 was reopened, so only 1 and 3 were fixed the first time.
        Assert.Equal(new Compliance(2, 3), kpis.FirstTimeFix(june));
    }
}
