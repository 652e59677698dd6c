using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Generate;

/// <summary>The first id of each table's reserved block; a plan's index i gets id first + i.</summary>
public sealed record IdBlocks(long Departments, long Users, long Assets, long Templates, long WorkOrders, long Events, long AlarmEpisodes = 1);

/// <summary>
/// Writes planned work orders, their histories and the failures they record with binary COPY, one chunk at a time:
/// the work orders of a chunk first, since the events and failures refer to them.
/// </summary>
public sealed class HistoryWriter
{
    public const string CopyWorkOrders = """
        COPY work_orders (id, number, template_id, work_type, title, description, priority, status, requester_id, contact,
            asset_id, department_id, assignee_id, reference, due_at, response_due_at, resolution_due_at, created_at,
            acknowledged_at, started_at, resolved_at, closed_at, custom_fields, source, rating, row_version, updated_at, archived_xid)
        FROM STDIN (FORMAT BINARY)
        """;

    public const string CopyEvents = """
        COPY work_order_events (id, work_order_id, occurred_at, actor_id, kind, from_status, to_status, note, payload)
        FROM STDIN (FORMAT BINARY)
        """;

    public const string CopyFailures = """
        COPY generator.failures (run_id, work_order_id, asset_id, fault_code, failed_at) FROM STDIN (FORMAT BINARY)
        """;

    // The server may stop reading for a while mid-COPY, when it merges a full pending list of the text index.
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(10);

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly string[] StatusNames = [.. Enum.GetValues<WorkOrderStatus>().Select(s => WireNames.Of(s))];
    private static readonly string[] ActionNames = [.. Enum.GetValues<WorkOrderAction>().Select(a => WireNames.Of(a))];
    private static readonly string[] SourceNames = [.. Enum.GetValues<WorkOrderSource>().Select(s => WireNames.Of(s))];
    private static readonly string[] RatingPayloads = ["{}", .. Enumerable.Range(1, 5).Select(r => string.Create(CultureInfo.InvariantCulture, $$"""{"rating":{{r}}}"""))];

    private static readonly Dictionary<string, string> SymptomTitles = new(StringComparer.Ordinal)
    {
        ["noise"] = "Unusual noise",
        ["vibration"] = "Vibration felt",
        ["drip"] = "Small drip",
        ["heat"] = "Runs warm",
        ["smell"] = "Burning smell",
        ["intermittent_stop"] = "Stops now and then",
    };

    private readonly Plant _plant;
    private readonly StressClock _clock;
    private readonly IdBlocks _ids;
    private readonly long _runId;
    private readonly string[] _userJson;
    private readonly string[] _templateJson;
    private readonly string[] _workTypes;
    private readonly Dictionary<int, long> _numbers;
    private readonly ulong _archivedXid;

    // archivedXid: the writing transaction's id, which closed and cancelled rows carry in archived_xid (HistoryBulkLoad).
    public HistoryWriter(Plant plant, StressClock clock, IdBlocks ids, long runId, IReadOnlyDictionary<int, long> firstNumbers, ulong archivedXid)
    {
        _archivedXid = archivedXid;
        _plant = plant;
        _clock = clock;
        _ids = ids;
        _runId = runId;
        _userJson = [.. plant.Users.Select(u => Json(u.DisplayName))];
        _templateJson = [.. plant.Templates.Select(t => Json(t.Name))];
        _workTypes = [.. plant.Templates.Select(t => WireNames.Of(t.WorkType))];
        _numbers = firstNumbers.ToDictionary(p => p.Key, p => p.Value - 1);
    }

    public long WorkOrders { get; private set; }

    public long Events { get; private set; }

    public long Failures { get; private set; }

    public static string Json(string text) => JsonSerializer.Serialize(text, Relaxed);

    /// <summary>Writes one chunk: its work orders, then their events, then the failures among them.</summary>
    public async Task WriteAsync(NpgsqlConnection connection, IReadOnlyList<PlannedWorkOrder> chunk, int count, CancellationToken cancellationToken)
    {
        var first = WorkOrders;
        var numbers = new string[count];
        await using (var copy = await connection.BeginBinaryImportAsync(CopyWorkOrders, cancellationToken))
        {
            copy.Timeout = CopyTimeout;
            for (var i = 0; i < count; i++)
            {
                numbers[i] = WriteWorkOrder(copy, chunk[i], _ids.WorkOrders + first + i);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyEvents, cancellationToken))
        {
            copy.Timeout = CopyTimeout;
            for (var i = 0; i < count; i++)
            {
                WriteEvents(copy, chunk[i], _ids.WorkOrders + first + i, numbers[i]);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyFailures, cancellationToken))
        {
            copy.Timeout = CopyTimeout;
            for (var i = 0; i < count; i++)
            {
                var o = chunk[i].Occurrence;
                if (o.Kind != OccurrenceKind.Failure)
                {
                    continue;
                }

                copy.StartRow();
                copy.Write(_runId, NpgsqlDbType.Bigint);
                copy.Write(_ids.WorkOrders + first + i, NpgsqlDbType.Bigint);
                copy.Write(_ids.Assets + o.Asset, NpgsqlDbType.Bigint);
                copy.Write(_plant.Assets[o.Asset].Type!.Modes[o.Mode].FaultCode, NpgsqlDbType.Text);
                copy.Write(_clock.ToTime(o.FailedDay), NpgsqlDbType.TimestampTz);
                Failures++;
            }

            await copy.CompleteAsync(cancellationToken);
        }

        WorkOrders += count;
    }

    private string WriteWorkOrder(NpgsqlBinaryImporter copy, PlannedWorkOrder wo, long id)
    {
        var created = _clock.ToTime(wo.Created);
        var year = created.Year;
        var sequence = _numbers[year] + 1;
        _numbers[year] = sequence;
        var number = WorkOrderNumbers.Format(year, sequence);
        var (title, description) = Texts(wo);

        copy.StartRow();
        copy.Write(id, NpgsqlDbType.Bigint);
        copy.Write(number, NpgsqlDbType.Text);
        copy.Write(_ids.Templates + wo.Template, NpgsqlDbType.Bigint);
        copy.Write(_workTypes[wo.Template], NpgsqlDbType.Text);
        copy.Write(title, NpgsqlDbType.Text);
        copy.Write(description, NpgsqlDbType.Text);
        copy.Write((short)wo.Priority, NpgsqlDbType.Smallint);
        copy.Write(StatusNames[(int)wo.Status], NpgsqlDbType.Text);
        copy.Write(_ids.Users + wo.Requester, NpgsqlDbType.Bigint);
        Text(copy, wo.Contact);
        Id(copy, _ids.Assets, wo.Asset);
        copy.Write(_ids.Departments + wo.Department, NpgsqlDbType.Bigint);
        Id(copy, _ids.Users, wo.Assignee);
        Text(copy, wo.Reference);
        Time(copy, wo.DueAt);
        Time(copy, wo.ResponseDue);
        Time(copy, wo.ResolutionDue);
        copy.Write(created, NpgsqlDbType.TimestampTz);
        Time(copy, wo.Acknowledged);
        Time(copy, wo.Started);
        Time(copy, wo.Resolved);
        Time(copy, wo.Closed);
        copy.Write(CustomFields(wo), NpgsqlDbType.Jsonb);
        copy.Write(SourceNames[(int)wo.Source], NpgsqlDbType.Text);
        if (wo.Rating > 0)
        {
            copy.Write((short)wo.Rating, NpgsqlDbType.Smallint);
        }
        else
        {
            copy.WriteNull();
        }

        copy.Write(wo.RowVersion, NpgsqlDbType.Integer);
        copy.Write(_clock.ToTime(wo.Updated), NpgsqlDbType.TimestampTz);
        if (wo.Status is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled)
        {
            copy.Write(_archivedXid, NpgsqlDbType.Xid8);
        }
        else
        {
            copy.WriteNull();
        }

        return number;
    }

    private void WriteEvents(NpgsqlBinaryImporter copy, PlannedWorkOrder wo, long workOrderId, string number)
    {
        copy.StartRow();
        copy.Write(_ids.Events + Events++, NpgsqlDbType.Bigint);
        copy.Write(workOrderId, NpgsqlDbType.Bigint);
        copy.Write(_clock.ToTime(wo.Created), NpgsqlDbType.TimestampTz);
        copy.Write(_ids.Users + wo.Requester, NpgsqlDbType.Bigint);
        copy.Write("created", NpgsqlDbType.Text);
        copy.WriteNull();
        copy.Write(StatusNames[(int)WorkOrderStatus.New], NpgsqlDbType.Text);
        copy.WriteNull();
        copy.Write(
            string.Create(CultureInfo.InvariantCulture, $$"""{"number":"{{number}}","template":{{_templateJson[wo.Template]}},"priority":{{wo.Priority}},"source":"{{SourceNames[(int)wo.Source]}}"}"""),
            NpgsqlDbType.Jsonb);

        foreach (var step in wo.Steps)
        {
            copy.StartRow();
            copy.Write(_ids.Events + Events++, NpgsqlDbType.Bigint);
            copy.Write(workOrderId, NpgsqlDbType.Bigint);
            copy.Write(_clock.ToTime(step.Day), NpgsqlDbType.TimestampTz);
            copy.Write(_ids.Users + step.Actor, NpgsqlDbType.Bigint);
            copy.Write(ActionNames[(int)step.Action], NpgsqlDbType.Text);
            copy.Write(StatusNames[(int)step.From], NpgsqlDbType.Text);
            copy.Write(StatusNames[(int)step.To], NpgsqlDbType.Text);
            Text(copy, step.Note);
            copy.Write(Payload(step), NpgsqlDbType.Jsonb);
        }
    }

    /// <summary>The payload <see cref="ApplyTransition"/> writes: the new assignee (and the previous one), or the rating.</summary>
    private string Payload(in Step step)
    {
        if (step.Action != WorkOrderAction.Assign)
        {
            return RatingPayloads[step.Rating];
        }

        var assignee = _ids.Users + step.Assignee;
        return step.Previous < 0
            ? string.Create(CultureInfo.InvariantCulture, $$"""{"assigneeId":{{assignee}},"assignee":{{_userJson[step.Assignee]}}}""")
            : string.Create(CultureInfo.InvariantCulture, $$"""{"assigneeId":{{assignee}},"assignee":{{_userJson[step.Assignee]}},"previousAssigneeId":{{_ids.Users + step.Previous}}}""");
    }

    private (string Title, string Description) Texts(PlannedWorkOrder wo)
    {
        var o = wo.Occurrence;
        var asset = o.Asset >= 0 ? _plant.Assets[o.Asset] : null;
        var parent = asset is { Parent: >= 0 } ? _plant.Assets[asset.Parent].Name : "";
        switch (o.Kind)
        {
            case OccurrenceKind.Failure:
                var code = asset!.Type!.Modes[o.Mode].FaultCode;
                return (
                    $"{Catalogue.FailureTitles(code)[wo.Variant]} · {asset.Code}",
                    $"{asset.Name} on {parent} failed ({code}). Reported by the operator; the machine is stopped.");
            case OccurrenceKind.Alarm:
            case OccurrenceKind.FalseAlarm:
                var signal = Catalogue.Signals[wo.Choice];
                return (
                    $"Alarm: {signal} high on {asset!.Name} · {asset.Code}",
                    string.Create(CultureInfo.InvariantCulture, $"SCADA raised a {signal} alarm on {asset.Name} ({parent}): reading {wo.Reading} % of the limit."));
            case OccurrenceKind.MinorFault:
                return (
                    $"{SymptomTitles[Catalogue.Symptoms[wo.Choice]]} on {asset!.Name} · {asset.Code}",
                    o.Flag ? $"Found on the inspection round at {parent}; still running." : $"Noticed by the operator at {parent}; still running.");
            case OccurrenceKind.Preventive:
                return (
                    string.Create(CultureInfo.InvariantCulture, $"PM every {wo.Choice} d: {asset!.Name} · {asset.Code}"),
                    "Lubricate, check belts, filters, fasteners and safety devices per the checklist.");
            case OccurrenceKind.Inspection:
                return ($"Inspection round {asset!.Name} · {asset.Code}", "Walk the line with the checklist; raise a work order for each failed item.");
            default:
                var site = _plant.Sites[o.Site].Name;
                return ($"{TimelinePlanner.FacilityRequests[wo.Variant].Title} · {site}", $"Facility request at the {site} site.");
        }
    }

    private string CustomFields(PlannedWorkOrder wo)
    {
        var o = wo.Occurrence;
        switch (o.Kind)
        {
            case OccurrenceKind.Failure:
                var code = _plant.Assets[o.Asset].Type!.Modes[o.Mode].FaultCode;
                return wo.Resolved is { } resolved
                    ? string.Create(CultureInfo.InvariantCulture, $$"""{"fault_code":"{{code}}","downtime_hours":{{Math.Max(0, Math.Round((resolved - o.FailedDay) * 24))}}}""")
                    : $$"""{"fault_code":"{{code}}"}""";
            case OccurrenceKind.Alarm:
            case OccurrenceKind.FalseAlarm:
                return string.Create(CultureInfo.InvariantCulture, $$"""{"signal":"{{Catalogue.Signals[wo.Choice]}}","reading":{{wo.Reading}}}""");
            case OccurrenceKind.MinorFault:
                return $$"""{"symptom":"{{Catalogue.Symptoms[wo.Choice]}}"}""";
            case OccurrenceKind.Preventive:
                return o.FaultCode is { } addressed
                    ? string.Create(CultureInfo.InvariantCulture, $$"""{"interval_days":{{wo.Choice}},"checklist":"Lubricate, check belts, filters, fasteners and safety devices.","fault_code":"{{addressed}}"}""")
                    : string.Create(CultureInfo.InvariantCulture, $$"""{"interval_days":{{wo.Choice}},"checklist":"Lubricate, check belts, filters, fasteners and safety devices."}""");
            case OccurrenceKind.Inspection:
                return $$"""{"route":{{Json(_plant.Assets[o.Asset].Name + " round")}}}""";
            default:
                return $$"""{"area":"{{Catalogue.Areas[wo.Choice]}}"}""";
        }
    }

    private static void Text(NpgsqlBinaryImporter copy, string? value)
    {
        if (value is null)
        {
            copy.WriteNull();
        }
        else
        {
            copy.Write(value, NpgsqlDbType.Text);
        }
    }

    private static void Id(NpgsqlBinaryImporter copy, long first, int index)
    {
        if (index < 0)
        {
            copy.WriteNull();
        }
        else
        {
            copy.Write(first + index, NpgsqlDbType.Bigint);
        }
    }

    private void Time(NpgsqlBinaryImporter copy, double? day)
    {
        if (day is { } value)
        {
            copy.Write(_clock.ToTime(value), NpgsqlDbType.TimestampTz);
        }
        else
        {
            copy.WriteNull();
        }
    }
}
