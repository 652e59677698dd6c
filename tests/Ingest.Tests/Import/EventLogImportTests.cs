using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Import;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>
/// An audit export with one row per update of a ticket, written for the test, with the tickets and histories it must
/// make worked out by hand: holds, a reassignment, a transfer between departments and a reopen.
/// </summary>
[Collection(ImportCollection.Name)]
public sealed class EventLogImportTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-eventlog-").FullName;
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Prefix => $"E{_tag}-";

    private string Rejects => Path.Combine(_folder, "rejects.csv");

    // Ticket B's rows 2 and 3 are swapped in the file, and its sequence runs 9, 10, 11, 12: ordered as numbers, not text.
    private string WriteLog()
    {
        var path = Path.Combine(_folder, "audit.csv");
        File.WriteAllText(path, """
            ticket,seq,updated,opened,state,team,owner,category,priority,subject
            A,1,2024-04-01 08:00,2024-04-01 08:00,New,Mechanics,,Leak,Low,Oil leak
            A,2,2024-04-01 08:30,2024-04-01 08:00,Assigned,Mechanics,Alice,Leak,Low,Oil leak
            A,3,2024-04-01 09:00,2024-04-01 08:00,Working,Mechanics,Alice,Leak,Low,Oil leak
            A,4,2024-04-01 10:00,2024-04-01 08:00,Waiting for parts,Mechanics,Alice,Leak,Low,Oil leak
            A,5,2024-04-01 12:00,2024-04-01 08:00,Working,Mechanics,Alice,Leak,High,Oil leak at press 4
            A,6,2024-04-01 14:00,2024-04-01 08:00,Solved,Mechanics,Alice,Leak,High,Oil leak at press 4
            A,7,2024-04-02 08:00,2024-04-01 08:00,Closed,Mechanics,Alice,Leak,High,Oil leak at press 4
            B,1,2024-04-03 09:00,2024-04-03 09:00,New,Mechanics,,Leak,Normal,Noisy bearing
            B,3,2024-04-03 10:00,2024-04-03 09:00,Working,Mechanics,Bob,Leak,Normal,Noisy bearing
            B,2,2024-04-03 09:10,2024-04-03 09:00,Assigned,Mechanics,Bob,Leak,Normal,Noisy bearing
            B,4,2024-04-03 11:00,2024-04-03 09:00,Working,Electrics,Carol,Bearing,Normal,Noisy bearing
            B,9,2024-04-03 15:00,2024-04-03 09:00,Solved,Electrics,Carol,Bearing,Normal,Noisy bearing
            B,10,2024-04-04 09:00,2024-04-03 09:00,Working,Electrics,Carol,Bearing,Normal,Noisy bearing
            B,11,2024-04-04 12:00,2024-04-03 09:00,Solved,Electrics,Carol,Bearing,Normal,Noisy bearing
            B,12,2024-04-05 09:00,2024-04-03 09:00,Closed,Electrics,Carol,Bearing,Normal,Noisy bearing
            C,1,2024-04-06 10:00,2024-04-06 08:00,Closed,Mechanics,,Leak,Low,Drip tray full
            D,1,2024-04-07 08:00,2024-04-07 08:00,New,Mechanics,,Leak,Low,Belt slips
            D,2,2024-04-07 09:00,2024-04-07 08:00,Parked,Mechanics,,Leak,Low,Belt slips
            D,3,2024-04-07 10:00,2024-04-07 08:00,Working,Mechanics,,Leak,Low,Belt slips
            E,1,2024-04-08 08:00,2024-04-08 08:00,New,Mechanics,,Leak,Low,Guard loose
            E,2,2024-04-08 09:00,2024-04-08 08:00,Working,Mechanics,Dave,Leak,Low,Guard loose
            """);
        return path;
    }

    private ImportMapping Mapping() => JsonSerializer.Deserialize<ImportMapping>($$"""
        {
          "externalId": { "column": "ticket", "prefix": "{{Prefix}}" },
          "dateFormats": ["%Y-%m-%d %H:%M"],
          "times": { "created": "opened" },
          "eventLog": { "orderBy": "seq", "at": "updated" },
          "template": { "name": "Audit {{_tag}}", "workType": "corrective", "department": "Mechanics {{_tag}}" },
          "title": { "column": "subject" },
          "description": { "column": "subject" },
          "priority": { "column": "priority", "values": { "High": 2, "Normal": 3, "Low": 4 } },
          "status": { "column": "state", "values": {
            "New": "new", "Assigned": "assigned", "Working": "in_progress", "Waiting for parts": "on_hold", "Solved": "resolved", "Closed": "closed" } },
          "department": { "template": "{team} {{_tag}}" },
          "assignee": { "column": "owner" },
          "category": { "column": "category", "field": "fault_code", "values": { "Leak": "leak", "Bearing": "bearing" } }
        }
        """, ImportMapping.Json)!.Checked();

    private sealed class Imported
    {
        public string Reference { get; init; } = "";
        public string Number { get; init; } = "";
        public string Status { get; init; } = "";
        public int Priority { get; init; }
        public string Title { get; init; } = "";
        public string Fault { get; init; } = "";
        public string Department { get; init; } = "";
        public string? Assignee { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? AcknowledgedAt { get; init; }
        public DateTime? ResolvedAt { get; init; }
        public DateTime? ClosedAt { get; init; }
        public string History { get; init; } = "";
    }

    private async Task<Dictionary<string, Imported>> ImportedAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<Imported>(
            """
            SELECT w.reference, w.number, w.status, w.priority, w.title, w.custom_fields->>'fault_code' AS fault, d.name AS department,
                   u.user_name AS assignee, w.created_at AS CreatedAt, w.acknowledged_at AS AcknowledgedAt, w.resolved_at AS ResolvedAt,
                   w.closed_at AS ClosedAt,
                   string_agg(e.kind || ':' || e.to_status || '@' || to_char(e.occurred_at AT TIME ZONE 'UTC', 'DD HH24:MI')
                              || coalesce('(' || (e.payload->>'assignee') || ')', '') || coalesce('(' || (e.payload->>'department') || ')', ''),
                              ' ' ORDER BY e.id) AS history
            FROM work_orders w JOIN departments d ON d.id = w.department_id LEFT JOIN users u ON u.id = w.assignee_id
            JOIN work_order_events e ON e.work_order_id = w.id
            WHERE w.reference LIKE @p GROUP BY w.id, d.name, u.user_name
            """, new { p = Prefix + "%" })).ToDictionary(r => r.Reference[Prefix.Length..]);
    }

    [Fact]
    public async Task each_ticket_takes_its_last_rows_values_and_a_history_event_for_every_change_along_the_way()
    {
        var result = await ImportFiles.ImportAsync(database.DataSource, WriteLog(), Mapping(), Rejects);

        Assert.Equal((21L, 4L, 1L), (result.Read, result.Loaded, result.Rejected));
        var w = await ImportedAsync();
        Assert.Equal(["A", "B", "C", "E"], w.Keys.Order());
        static DateTime Utc(int day, int hour, int minute = 0) => new(2024, 4, day, hour, minute, 0, DateTimeKind.Utc);

        Assert.Equal(
            "created:new@01 08:00 assign:assigned@01 08:30(Alice) start:in_progress@01 09:00 hold:on_hold@01 10:00 resume:in_progress@01 12:00 "
            + "resolve:resolved@01 14:00 approve:closed@02 08:00",
            w["A"].History);
        Assert.Equal(("closed", 2, "Oil leak at press 4", "leak"), (w["A"].Status, w["A"].Priority, w["A"].Title, w["A"].Fault));
        Assert.Equal((Utc(1, 8), Utc(1, 9), Utc(1, 14), Utc(2, 8)), (w["A"].CreatedAt, w["A"].AcknowledgedAt!.Value, w["A"].ResolvedAt!.Value, w["A"].ClosedAt!.Value));

        Assert.Equal(
            "created:new@03 09:00 assign:assigned@03 09:10(Bob) start:in_progress@03 10:00 "
            + $"transfer:in_progress@03 11:00(Electrics {_tag}) reassign:assigned@03 11:00(Carol) start:in_progress@03 11:00 "
            + "resolve:resolved@03 15:00 reject:in_progress@04 09:00 resolve:resolved@04 12:00 approve:closed@05 09:00",
            w["B"].History);
        Assert.Equal(("bearing", $"Electrics {_tag}", "carol"), (w["B"].Fault, w["B"].Department, w["B"].Assignee));
        Assert.Equal((Utc(3, 10), Utc(4, 12)), (w["B"].AcknowledgedAt!.Value, w["B"].ResolvedAt!.Value));

        // A single row that reports closed: the lifecycle's steps all at its time.
        Assert.Equal("created:new@06 08:00 start:in_progress@06 10:00 resolve:resolved@06 10:00 approve:closed@06 10:00", w["C"].History);

        // An assignee first named on an update that reports work started: assigned, then started, at that update.
        Assert.Equal("created:new@08 08:00 assign:assigned@08 09:00(Dave) start:in_progress@08 09:00", w["E"].History);
        Assert.Equal(("in_progress", "dave"), (w["E"].Status, w["E"].Assignee));

        // Ticket D reports a status the mapping does not know on its second update (row 18 of the file): none of it is stored.
        var reject = Assert.Single(File.ReadAllLines(Rejects).Skip(1));
        Assert.StartsWith("19,D,status,", reject);
        Assert.Contains("update on row 18: 'Parked'", reject);
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, Prefix));
    }

    [Fact]
    public async Task first_time_fix_reassignments_and_paused_time_come_out_of_the_imported_history_in_the_warehouse()
    {
        await ImportFiles.ImportAsync(database.DataSource, WriteLog(), Mapping(), Rejects);
        var numbers = (await ImportedAsync()).ToDictionary(p => p.Key, p => p.Value.Number);

        using var warehouse = WarehouseFile.Open(Path.Combine(_folder, "warehouse.duckdb"));
        await new WarehouseIngest(database.DataSource, TimeProvider.System, NullLogger<WarehouseIngest>.Instance).RunAsync(warehouse, null, CancellationToken.None);
        using var command = warehouse.CreateCommand();
        command.CommandText = """
            SELECT w.number, h.rejects, h.assigns, h.paused_seconds
            FROM fact_work_order w JOIN fact_work_order_history h USING (work_order_id)
            WHERE w.number IN ($a, $b, $c)
            """;
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("a", numbers["A"]));
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("b", numbers["B"]));
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("c", numbers["C"]));
        var history = new Dictionary<string, (int Rejects, int Assigns, long Paused)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                history[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3));
            }
        }

        // A: one assignment, no reopen, two hours on hold. B: reassigned and reopened once. C: neither.
        Assert.Equal((0, 1, 7200L), history[numbers["A"]]);
        Assert.Equal((1, 2, 0L), history[numbers["B"]]);
        Assert.Equal((0, 0, 0L), history[numbers["C"]]);
    }

    [Fact]
    public async Task a_second_run_of_the_same_log_adds_nothing()
    {
        var file = WriteLog();
        await ImportFiles.ImportAsync(database.DataSource, file, Mapping(), Rejects);

        var again = await ImportFiles.ImportAsync(database.DataSource, file, Mapping(), Rejects);

        Assert.Equal((0L, 4L), (again.Loaded, again.Skipped));
    }

    [Theory]
    [InlineData(WorkOrderStatus.New, WorkOrderStatus.Closed, false, "start resolve approve")]
    [InlineData(WorkOrderStatus.OnHold, WorkOrderStatus.Closed, true, "resume resolve approve")]
    [InlineData(WorkOrderStatus.Resolved, WorkOrderStatus.InProgress, true, "reject")]
    [InlineData(WorkOrderStatus.InProgress, WorkOrderStatus.New, true, "")]
    [InlineData(WorkOrderStatus.Assigned, WorkOrderStatus.AwaitingFeedback, true, "start await_feedback")]
    public void the_way_between_two_reported_statuses_is_the_lifecycles_shortest(WorkOrderStatus from, WorkOrderStatus to, bool assigned, string actions) =>
        Assert.Equal(actions, string.Join(' ', EventLogHistory.Path(from, to, assigned).Select(Ticketing.WireNames.Of)));
}
