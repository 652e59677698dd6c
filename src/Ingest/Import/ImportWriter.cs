using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Import;

/// <summary>What one batch did: work orders written, rows skipped as imported before, events written.</summary>
public sealed record BatchResult(int Loaded, int Skipped, int Events);

/// <summary>
/// Writes a batch of checked tickets in one transaction with binary COPY: work orders with ids, numbers and histories, so
/// a batch is in whole or not at all. Ids and work-order numbers come from blocks reserved beforehand, under a table
/// lock so that no live insert can draw inside a block: the identity sequences and each year's number sequence
/// (WorkOrderNumbers) are moved past the blocks before the batch is written, so the application carries on after the
/// last imported number of each year. A batch that fails leaves its blocks unused (gaps, never duplicates).
/// </summary>
/// <para>
/// At the first batch with anything to write, <paramref name="beginWhole"/> (given the rows left in the file) may open a
/// transaction for the rest of the import, holding both tables ACCESS EXCLUSIVE: every batch is then written in it, the
/// blocks taken without a lock of their own, and the bulk foreign-key checks and trigger effects run once over all
/// batches in <see cref="FinishAsync"/>. A re-run that finds everything imported before never opens it.
/// </para>
public sealed class ImportWriter(
    NpgsqlConnection connection, ImportReferences references, ImportTimings? timings = null, Func<long, CancellationToken, Task<NpgsqlTransaction?>>? beginWhole = null)
{
    private static readonly string[] Tables = ["work_orders", "work_order_events"];

    // Whether batches are written without the tables' row triggers (HistoryBulkLoad), asked at the first batch.
    private bool? _bypass;

    // The whole-import transaction once decided (null: each batch its own), its id (for archived_xid) and the rows written.
    private bool _decided;
    private bool _noneImportedBefore;
    private NpgsqlTransaction? _whole;
    private ulong? _wholeXid;
    private readonly List<LoadedRows> _loaded = [];

    private const string AlreadyImported = "SELECT reference FROM work_orders WHERE source = 'import' AND reference = ANY(@references)";

    // Live inserts take ROW EXCLUSIVE on the table before their identity default calls nextval, so this lock keeps them out
    // of the gap between the nextval and the setval below (a sequence itself cannot be locked).
    private const string LockTables = "LOCK TABLE work_orders, work_order_events IN SHARE ROW EXCLUSIVE MODE";

    // Both id blocks and every year's number block (work_order_numbers_take, as WorkOrderNumbers.TakeAsync) in one round trip.
    private const string Reserve = """
        SELECT setval(pg_get_serial_sequence('work_orders', 'id'), nextval(pg_get_serial_sequence('work_orders', 'id')) + @workOrders - 1),
               setval(pg_get_serial_sequence('work_order_events', 'id'), nextval(pg_get_serial_sequence('work_order_events', 'id')) + @events - 1),
               (SELECT array_agg(work_order_numbers_take(y, c) ORDER BY y) FROM unnest(@years::integer[], @counts::bigint[]) AS t(y, c));
        """;

    // Whether any import wrote work orders before this one took the tables; when none did, a batch can hold no reference
    // imported before (the file's own repeats are caught as it is read).
    private const string AnyImported = "SELECT EXISTS (SELECT 1 FROM work_orders WHERE source = 'import')";

    private const string CopyWorkOrders = """
        COPY work_orders (id, number, template_id, work_type, title, description, priority, status, requester_id, contact, asset_id,
            department_id, assignee_id, reference, created_at, acknowledged_at, started_at, resolved_at, closed_at, custom_fields, source,
            row_version, updated_at, response_due_at, resolution_due_at, archived_xid)
        FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyEvents = """
        COPY work_order_events (id, work_order_id, occurred_at, actor_id, kind, from_status, to_status, note, payload)
        FROM STDIN (FORMAT BINARY)
        """;

    private static readonly string AssignKind = WireNames.Of(WorkOrderAction.Assign);

    private static readonly string Imported = JsonSerializer.Serialize(new { imported = true });

    // A step the source implies without its time: placed at the next known time, which the payload says is not its own.
    private static readonly string Undated = JsonSerializer.Serialize(new { imported = true, timeKnown = false });

    private readonly ImportTimings _timings = timings ?? new ImportTimings();

    /// <summary>The transaction of the whole import, when one was opened.</summary>
    public NpgsqlTransaction? Whole => _whole;

    /// <param name="batch">The checked tickets, in the file's order.</param>
    /// <param name="rowsLeft">Rows of the file from this batch on, for the decision on a whole-import transaction.</param>
    /// <param name="cancellationToken">Stops the write; the batch is then absent.</param>
    public async Task<BatchResult> WriteAsync(IReadOnlyList<ImportedTicket> batch, long rowsLeft, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        HashSet<string> known = _noneImportedBefore
            ? []
            : (await connection.QueryAsync<string>(new CommandDefinition(
                AlreadyImported, new { references = batch.Select(t => t.Reference).ToArray() }, _whole, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
        var fresh = batch.Where(t => !known.Contains(t.Reference)).ToList();
        started = _timings.Add(ImportPhase.Dedup, started);
        if (fresh.Count == 0)
        {
            return new BatchResult(0, batch.Count, 0);
        }

        if (!_decided)
        {
            _whole = beginWhole is null ? null : await beginWhole(rowsLeft, cancellationToken);
            _decided = true;
            // Under the whole import's lock nobody else writes work orders, and this run has written none yet.
            _noneImportedBefore = _whole is not null
                && !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(AnyImported, transaction: _whole, cancellationToken: cancellationToken));
            started = Stopwatch.GetTimestamp();
        }

        var whole = _whole;

        var eventCount = fresh.Sum(t => t.History.Steps.Count);
        var years = fresh.GroupBy(t => t.History.CreatedAt.Year).ToDictionary(g => g.Key, g => (long)g.Count());
        var (firstWorkOrder, firstEvent, firstNumbers) = await ReserveAsync(fresh.Count, eventCount, years, cancellationToken);
        var numbers = Numbers(fresh, firstNumbers);
        started = _timings.Add(ImportPhase.Reserve, started);

        var own = whole is null ? await connection.BeginTransactionAsync(cancellationToken) : null;
        await using var disposeOwn = own;
        var transaction = whole ?? own!;
        await ResolveAssigneesAsync(fresh, transaction, cancellationToken);
        var rows = new List<WorkOrderRow>(fresh.Count);
        for (var i = 0; i < fresh.Count; i++)
        {
            var ticket = fresh[i];
            var department = await references.DepartmentAsync(connection, transaction, ticket.DepartmentName, cancellationToken);
            long? siteId = ticket.Site is { } site ? await references.SiteAsync(connection, transaction, site, cancellationToken) : null;
            long? asset = ticket.Asset is { } onAsset
                ? await references.AssetAsync(connection, transaction, onAsset, siteId, ticket.Site?.Code, cancellationToken)
                : siteId;
            long? assignee = ticket.AssigneeUserName is { } userName
                ? await references.AssigneeAsync(connection, transaction, userName, ticket.AssigneeDisplayName ?? userName, department, cancellationToken)
                : null;
            // An event log names an assignee on each of its assigns; others take the work order's.
            var stepAssignees = new long?[ticket.History.Steps.Count];
            for (var s = 0; s < stepAssignees.Length; s++)
            {
                var step = ticket.History.Steps[s];
                stepAssignees[s] = step.Assignee is { } name
                    ? await references.AssigneeAsync(connection, transaction, name, step.AssigneeName ?? name, department, cancellationToken)
                    : assignee;
            }

            rows.Add(new WorkOrderRow(firstWorkOrder + i, numbers[i], ticket, department, asset, assignee, stepAssignees));
        }

        var firstInWhole = _bypass is null;
        _bypass ??= await HistoryBulkLoad.CanBypassAsync(connection, Tables, cancellationToken);
        if (_bypass.Value && (whole is null || firstInWhole))
        {
            await HistoryBulkLoad.BeginAsync(connection, transaction, cancellationToken);
        }

        var archivedXid = whole is null
            ? await HistoryBulkLoad.ArchivedXidAsync(connection, transaction, cancellationToken)
            : _wholeXid ??= await HistoryBulkLoad.ArchivedXidAsync(connection, transaction, cancellationToken);
        started = _timings.Add(ImportPhase.Resolve, started);
        await WriteWorkOrdersAsync(rows, archivedXid, cancellationToken);
        started = _timings.Add(ImportPhase.CopyWorkOrders, started);
        await WriteEventsAsync(rows, firstEvent, cancellationToken);
        started = _timings.Add(ImportPhase.CopyEvents, started);
        LoadedRows[] loaded = [new("work_orders", "id", firstWorkOrder, fresh.Count), new("work_order_events", "id", firstEvent, eventCount)];
        if (whole is not null)
        {
            _loaded.AddRange(loaded);
            return new BatchResult(fresh.Count, batch.Count - fresh.Count, eventCount);
        }

        if (_bypass.Value)
        {
            await HistoryBulkLoad.EndAsync(connection, transaction, loaded, cancellationToken);
        }

        started = _timings.Add(ImportPhase.BulkChecks, started);
        await transaction.CommitAsync(cancellationToken);
        _timings.Add(ImportPhase.Commit, started);
        return new BatchResult(fresh.Count, batch.Count - fresh.Count, eventCount);
    }

    /// <summary>
    /// In a whole-import transaction, after the last batch: the bulk foreign-key checks and trigger effects over every
    /// batch at once (adjacent blocks joined into one range), and the triggers back on. Nothing to do otherwise.
    /// </summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (_whole is not { } whole || _bypass is not true)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        await HistoryBulkLoad.EndAsync(connection, whole, Joined(_loaded), cancellationToken);
        _timings.Add(ImportPhase.BulkChecks, started);
    }

    /// <summary>The ranges of each table with ranges that meet joined into one.</summary>
    internal static List<LoadedRows> Joined(IEnumerable<LoadedRows> loaded)
    {
        var joined = new List<LoadedRows>();
        foreach (var rows in loaded.Where(l => l.Count > 0).OrderBy(l => l.Table, StringComparer.Ordinal).ThenBy(l => l.First))
        {
            if (joined.Count > 0 && joined[^1] is var last && last.Table == rows.Table && last.Column == rows.Column && last.First + last.Count == rows.First)
            {
                joined[^1] = last with { Count = last.Count + rows.Count };
            }
            else
            {
                joined.Add(rows);
            }
        }

        return joined;
    }

    /// <summary>
    /// The batch's assignees that are not known yet, looked up and the missing ones created in one statement, each with the
    /// department and name of the first ticket or update that names it (as one at a time in the batch's order would).
    /// </summary>
    private async Task ResolveAssigneesAsync(List<ImportedTicket> tickets, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var wanted = new List<(string UserName, string DisplayName, long DepartmentId)>();
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ticket in tickets)
        {
            if (ticket.AssigneeUserName is null && ticket.History.Steps.All(s => s.Assignee is null))
            {
                continue;
            }

            var department = await references.DepartmentAsync(connection, transaction, ticket.DepartmentName, cancellationToken);
            if (ticket.AssigneeUserName is { } userName && !references.KnowsAssignee(userName) && named.Add(userName))
            {
                wanted.Add((userName, ticket.AssigneeDisplayName ?? userName, department));
            }

            foreach (var step in ticket.History.Steps)
            {
                if (step.Assignee is { } name && !references.KnowsAssignee(name) && named.Add(name))
                {
                    wanted.Add((name, step.AssigneeName ?? name, department));
                }
            }
        }

        await references.AssigneesAsync(connection, transaction, wanted, cancellationToken);
    }

    /// <summary>
    /// Moves both identity sequences past a block of ids for this batch, and each year's number sequence past a block
    /// of numbers; returns the first id of each block and the first number of each year.
    /// </summary>
    private async Task<(long WorkOrder, long Event, Dictionary<int, long> Numbers)> ReserveAsync(
        int workOrders, int events, Dictionary<int, long> years, CancellationToken cancellationToken)
    {
        // The whole import's transaction holds the tables ACCESS EXCLUSIVE already, and the sequences move outside it.
        var whole = _whole;
        var own = whole is null ? await connection.BeginTransactionAsync(cancellationToken) : null;
        await using var disposeOwn = own;
        var transaction = whole ?? own!;
        if (own is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(LockTables, transaction: transaction, cancellationToken: cancellationToken));
        }

        var ordered = years.Where(y => y.Value > 0).OrderBy(y => y.Key).ToArray();
        var (lastWorkOrder, lastEvent, firsts) = await connection.QuerySingleAsync<(long, long, long[])>(new CommandDefinition(
            Reserve,
            new { workOrders, events, years = ordered.Select(y => y.Key).ToArray(), counts = ordered.Select(y => y.Value).ToArray() },
            transaction,
            cancellationToken: cancellationToken));
        var numbers = ordered.Zip(firsts, (year, first) => (year.Key, first)).ToDictionary(p => p.Key, p => p.first);
        if (own is not null)
        {
            await own.CommitAsync(cancellationToken);
        }

        return (lastWorkOrder - workOrders + 1, lastEvent - events + 1, numbers);
    }

    /// <summary>WO-YYYY-NNNNNN by the (UTC) year of creation, in the batch's order, which is the order of creation.</summary>
    private static string[] Numbers(List<ImportedTicket> tickets, Dictionary<int, long> firstNumbers)
    {
        var next = new Dictionary<int, long>(firstNumbers);
        var numbers = new string[tickets.Count];
        for (var i = 0; i < tickets.Count; i++)
        {
            var year = tickets[i].History.CreatedAt.Year;
            numbers[i] = WorkOrderNumbers.Format(year, next[year]++);
        }

        return numbers;
    }

    private async Task WriteWorkOrdersAsync(List<WorkOrderRow> rows, ulong archivedXid, CancellationToken cancellationToken)
    {
        var source = WireNames.Of(WorkOrderSource.Import);
        await using var copy = await connection.BeginBinaryImportAsync(CopyWorkOrders, cancellationToken);
        foreach (var row in rows)
        {
            var ticket = row.Ticket;
            var history = ticket.History;
            copy.StartRow();
            copy.Write(row.Id, NpgsqlDbType.Bigint);
            copy.Write(row.Number, NpgsqlDbType.Text);
            copy.Write(ticket.Template.Id, NpgsqlDbType.Bigint);
            copy.Write(WireNames.Of(ticket.Template.WorkType), NpgsqlDbType.Text);
            copy.Write(ticket.Title, NpgsqlDbType.Text);
            copy.Write(ticket.Description, NpgsqlDbType.Text);
            copy.Write((short)ticket.Priority, NpgsqlDbType.Smallint);
            copy.Write(WireNames.Of(history.Status), NpgsqlDbType.Text);
            copy.Write(references.ImportUserId, NpgsqlDbType.Bigint);
            Write(copy, ticket.Contact, NpgsqlDbType.Text);
            Write(copy, row.AssetId, NpgsqlDbType.Bigint);
            copy.Write(row.DepartmentId, NpgsqlDbType.Bigint);
            Write(copy, row.AssigneeId, NpgsqlDbType.Bigint);
            copy.Write(ticket.Reference, NpgsqlDbType.Text);
            copy.Write(history.CreatedAt, NpgsqlDbType.TimestampTz);
            Write(copy, history.AcknowledgedAt, NpgsqlDbType.TimestampTz);
            Write(copy, history.StartedAt, NpgsqlDbType.TimestampTz);
            Write(copy, history.ResolvedAt, NpgsqlDbType.TimestampTz);
            Write(copy, history.ClosedAt, NpgsqlDbType.TimestampTz);
            copy.Write(ticket.CustomFieldsJson, NpgsqlDbType.Jsonb);
            copy.Write(source, NpgsqlDbType.Text);
            copy.Write(history.RowVersion, NpgsqlDbType.Integer);
            copy.Write(history.UpdatedAt, NpgsqlDbType.TimestampTz);
            Write(copy, ticket.ResponseDueAt, NpgsqlDbType.TimestampTz);
            Write(copy, ticket.ResolutionDueAt, NpgsqlDbType.TimestampTz);
            Write(copy, history.Status is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled ? archivedXid : (ulong?)null, NpgsqlDbType.Xid8);
        }

        await copy.CompleteAsync(cancellationToken);
    }

    private async Task WriteEventsAsync(List<WorkOrderRow> rows, long firstEvent, CancellationToken cancellationToken)
    {
        var id = firstEvent;
        await using var copy = await connection.BeginBinaryImportAsync(CopyEvents, cancellationToken);
        foreach (var row in rows)
        {
            for (var s = 0; s < row.Ticket.History.Steps.Count; s++)
            {
                var step = row.Ticket.History.Steps[s];
                copy.StartRow();
                copy.Write(id++, NpgsqlDbType.Bigint);
                copy.Write(row.Id, NpgsqlDbType.Bigint);
                copy.Write(step.At, NpgsqlDbType.TimestampTz);
                copy.Write(references.ImportUserId, NpgsqlDbType.Bigint);
                copy.Write(step.Kind, NpgsqlDbType.Text);
                Write(copy, step.From is { } from ? WireNames.Of(from) : null, NpgsqlDbType.Text);
                copy.Write(WireNames.Of(step.To), NpgsqlDbType.Text);
                Write(copy, step.Note, NpgsqlDbType.Text);
                copy.Write(Payload(row, step, row.StepAssignees[s]), NpgsqlDbType.Jsonb);
            }
        }

        await copy.CompleteAsync(cancellationToken);
    }

    /// <summary>The payload the live application writes for the event, marked imported.</summary>
    private string Payload(WorkOrderRow row, HistoryStep step, long? assigneeId) => step.Kind switch
    {
        ImportHistory.Created => JsonSerializer.Serialize(
            new
            {
                imported = true,
                number = row.Number,
                template = row.Ticket.Template.Name,
                priority = row.Ticket.Priority,
                source = WireNames.Of(WorkOrderSource.Import),
                externalId = row.Ticket.Reference,
                sourceRow = row.Ticket.SourceRow,
            },
            TemplateSchema.Json),
        EventLogHistory.Transfer => JsonSerializer.Serialize(new { imported = true, department = step.Department }, TemplateSchema.Json),
        _ when step.Assignee is not null || step.Kind == AssignKind => JsonSerializer.Serialize(
            new { imported = true, assigneeId, assignee = step.AssigneeName ?? row.Ticket.AssigneeDisplayName }, TemplateSchema.Json),
        _ when !step.TimeKnown => Undated,
        _ => Imported,
    };

    private static void Write<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type)
        where T : class
    {
        if (value is null)
        {
            copy.WriteNull();
        }
        else
        {
            copy.Write(value, type);
        }
    }

    private static void Write<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type)
        where T : struct
    {
        if (value is { } present)
        {
            copy.Write(present, type);
        }
        else
        {
            copy.WriteNull();
        }
    }

    private sealed record WorkOrderRow(long Id, string Number, ImportedTicket Ticket, long DepartmentId, long? AssetId, long? AssigneeId, long?[] StepAssignees);
}
