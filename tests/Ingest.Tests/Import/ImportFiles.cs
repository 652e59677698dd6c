using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Ingest.Import;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>Where the sample export and its mapping are in the repository, and how the tests run an import and read back its history.</summary>
internal static class ImportFiles
{
    public const string NycFolder = "samples/nyc311-elevator-2024";

    public static string NycParquet => Path.Combine(FolderHolding(NycFolder), NycFolder, "nyc311_elevator_2024.parquet");

    public static string NycCsvGz => Path.Combine(FolderHolding(NycFolder), NycFolder, "nyc311_elevator_2024.csv.gz");

    public static string NycMapping => Path.Combine(FolderHolding("samples/nyc311-elevator-mapping.json"), "samples", "nyc311-elevator-mapping.json");

    public static string NycBuildingsMapping =>
        Path.Combine(FolderHolding("samples/nyc311-elevator-buildings-mapping.json"), "samples", "nyc311-elevator-buildings-mapping.json");

    public static string AlarmMapping => Path.Combine(FolderHolding("samples/alarm-history-mapping.json"), "samples", "alarm-history-mapping.json");

    /// <summary>The nearest folder above the test binaries that holds <paramref name="relative"/>: the repository root.</summary>
    public static string FolderHolding(string relative)
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (Directory.Exists(Path.Combine(folder.FullName, relative)) || File.Exists(Path.Combine(folder.FullName, relative)))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException(
            $"'{relative}' was not found in any folder above {AppContext.BaseDirectory}; it is part of the repository.");
    }

    public static Task<ImportResult> ImportAsync(NpgsqlDataSource data, string file, ImportMapping mapping, string rejects) =>
        new HistoryImport(data, NullLogger<HistoryImport>.Instance).RunAsync(file, mapping, rejects, null, CancellationToken.None);

    /// <summary>
    /// Every imported work order whose history does not agree with its row or with the lifecycle, as a message each.
    /// The one allowed departure from <see cref="Lifecycle.Rule"/> is a start from new when no assignee is known.
    /// </summary>
    public static async Task<List<string>> HistoryProblemsAsync(NpgsqlDataSource data, string referencePrefix)
    {
        const string query = """
            SELECT w.id, w.number, w.status, w.row_version AS RowVersion, w.assignee_id AS AssigneeId, w.created_at AS CreatedAt,
                   w.acknowledged_at AS AcknowledgedAt, w.started_at AS StartedAt, w.resolved_at AS ResolvedAt, w.closed_at AS ClosedAt,
                   w.updated_at AS UpdatedAt, w.archived_xid IS NOT NULL AS Archived,
                   e.kind, e.from_status AS FromStatus, e.to_status AS ToStatus, e.occurred_at AS OccurredAt,
                   (e.payload->>'imported')::boolean AS Imported, (e.payload->>'assigneeId')::bigint AS PayloadAssignee, coalesce((e.payload->>'timeKnown')::boolean, true) AS TimeKnown, e.note
            FROM work_orders w JOIN work_order_events e ON e.work_order_id = w.id
            WHERE w.source = 'import' AND w.reference LIKE @prefix
            ORDER BY w.id, e.id
            """;
        await using var connection = await data.OpenConnectionAsync();
        var rows = await connection.QueryAsync<EventRow>(query, new { prefix = referencePrefix + "%" });
        var problems = new List<string>();
        foreach (var order in rows.GroupBy(r => r.Id))
        {
            var events = order.ToList();
            var w = events[0];
            void Check(bool ok, string what)
            {
                if (!ok)
                {
                    problems.Add($"{w.Number}: {what}");
                }
            }

            Check(w.RowVersion == events.Count, $"row_version {w.RowVersion} but {events.Count} events");
            Check(events[0] is { Kind: "created", FromStatus: null, ToStatus: "new" } && events[0].OccurredAt == w.CreatedAt, "does not open with created -> new at created_at");
            Check(events[^1].ToStatus == w.Status, $"ends in {events[^1].ToStatus} but the row is {w.Status}");
            Check(events[^1].OccurredAt == w.UpdatedAt, "updated_at is not the time of the last event");
            Check(events.All(e => e.Imported == true), "an event is not marked imported");
            Check(events.Zip(events.Skip(1)).All(p => p.First.OccurredAt <= p.Second.OccurredAt), "events go back in time");
            Check(events.Zip(events.Skip(1)).All(p => p.Second.FromStatus == p.First.ToStatus), "an event does not start where the previous ended");
            foreach (var e in events.Skip(1))
            {
                if (e.Kind == EventLogHistory.Transfer)
                {
                    Check(e.FromStatus == e.ToStatus && !string.IsNullOrEmpty(e.Note), "a transfer changes the status or has no note");
                    continue;
                }

                // A reassign is the live application's assign of a work order that had an assignee.
                var kind = e.Kind == EventLogHistory.Reassign ? "assign" : e.Kind;
                Check(Ticketing.WireNames.TryParse<WorkOrderAction>(kind, out var action), $"unknown event kind {e.Kind}");
                var (from, to) = Lifecycle.Rule(action);
                var unassigned = !events.TakeWhile(x => x != e).Any(x => x.Kind is "assign" or EventLogHistory.Reassign);
                var legal = from.Select(Ticketing.WireNames.Of).Contains(e.FromStatus) || (action == WorkOrderAction.Start && e.FromStatus == "new" && unassigned);
                Check(legal && Ticketing.WireNames.Of(to) == e.ToStatus, $"{e.Kind} from {e.FromStatus} to {e.ToStatus} is not a lifecycle move");
            }

            var start = events.FirstOrDefault(e => e.Kind == "start");
            var dated = start is { TimeKnown: true };
            Check(w.StartedAt == (dated ? start!.OccurredAt : null) && w.AcknowledgedAt is not null == dated, "started_at/acknowledged_at disagree with the start event");
            var resolve = events.LastOrDefault(e => e.Kind == "resolve");
            Check(w.ResolvedAt == (resolve is { TimeKnown: true } ? resolve.OccurredAt : null), "resolved_at disagrees with the resolve event");
            Check(w.AssigneeId == events.LastOrDefault(e => e.Kind is "assign" or EventLogHistory.Reassign)?.PayloadAssignee, "assignee_id disagrees with the assign event");
            switch (w.Status)
            {
                case "closed":
                    Check(events[^1].Kind == "approve" && w.ClosedAt == events[^1].OccurredAt && w.Archived, "a closed one does not end with approve at closed_at, archived");
                    break;
                case "cancelled":
                    Check(events[^1].Kind == "cancel" && w.ClosedAt == events[^1].OccurredAt && w.Archived && !string.IsNullOrEmpty(events[^1].Note),
                        "a cancelled one does not end with cancel (with a note) at closed_at, archived");
                    break;
                default:
                    Check(w.ClosedAt is null && !w.Archived, "an open one has a closed_at or is archived");
                    break;
            }
        }

        return problems;
    }

    private sealed class EventRow
    {
        public long Id { get; init; }
        public string Number { get; init; } = "";
        public string Status { get; init; } = "";
        public int RowVersion { get; init; }
        public long? AssigneeId { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? AcknowledgedAt { get; init; }
        public DateTime? StartedAt { get; init; }
        public DateTime? ResolvedAt { get; init; }
        public DateTime? ClosedAt { get; init; }
        public DateTime UpdatedAt { get; init; }
        public bool Archived { get; init; }
        public string Kind { get; init; } = "";
        public string? FromStatus { get; init; }
        public string? ToStatus { get; init; }
        public DateTime OccurredAt { get; init; }
        public bool? Imported { get; init; }
        public long? PayloadAssignee { get; init; }
        public bool TimeKnown { get; init; }
        public string? Note { get; init; }
    }
}
