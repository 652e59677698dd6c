using System.Data;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.Field;

/// <summary>
/// What a technician takes out (the trip pack) and what changed since (the change feed). Both read in one REPEATABLE
/// READ snapshot and hand out that snapshot as the cursor: the next pull returns the work orders and rounds written by
/// every transaction that snapshot did not see (field_changes, filled by triggers), so nothing committed late is missed.
/// A cursor older than the change log kept (<see cref="FieldOptions.ChangeRetention"/>) is refused as expired
/// (<c>sync.cursor_expired</c>, 410) rather than answered with a gap.
/// </summary>
public sealed partial class TripPacks(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<FieldOptions> options)
{
    public const int DefaultDays = 3;

    // The work orders a user carries: assigned to them or collaborating, and not finished.
    private const string MyWorkOrders = """
        (w.assignee_id = @me OR EXISTS (SELECT 1 FROM work_order_collaborators wc WHERE wc.work_order_id = w.id AND wc.user_id = @me))
        """;

    private const string WorkOrderColumns = """
        w.id, w.number, w.title, w.description, w.contact, w.status, w.priority, w.asset_id, a.code AS asset_code, w.assignee_id, w.due_at,
        w.row_version, w.updated_at
        """;

    public async Task<Outcome<TripPack>> PackAsync(Actor actor, int? days, CancellationToken cancellationToken)
    {
        if (!SyncCommands.MaySync(actor))
        {
            return Failure.Forbidden("sync.forbidden");
        }

        var max = options.Value.MaxTripDays;
        if (days is < 1 || days > max)
        {
            return Failure.Invalid("days", "field.from_to", 1, max);
        }

        var span = days ?? Math.Min(DefaultDays, max);
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var cursor = await connection.ExecuteScalarAsync<string>(new CommandDefinition("SELECT pg_current_snapshot()::text", transaction: transaction, cancellationToken: cancellationToken));
        var me = new { me = actor.UserId };
        var workOrders = (await connection.QueryAsync<WorkOrderRow>(new CommandDefinition(
            $"""
            SELECT {WorkOrderColumns} FROM work_orders w LEFT JOIN assets a ON a.id = w.asset_id
            WHERE {MyWorkOrders} AND w.status IN ('new', 'assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
            ORDER BY w.priority, w.due_at NULLS LAST, w.id
            """,
            me,
            transaction,
            cancellationToken: cancellationToken))).Select(r => r.ToPack()).ToList();
        var roundIds = (await connection.QueryAsync<long>(new CommandDefinition(
            """
            SELECT r.id FROM inspection_rounds r
            WHERE r.status IN ('open', 'in_progress') AND r.grace_ends_at > @now AND r.slot_at < @until
              AND (r.assignee_id = @me OR (r.assignee_id IS NULL AND r.department_id = @department))
            ORDER BY r.slot_at, r.id
            """,
            new { me = actor.UserId, department = actor.DepartmentId ?? 0, now, until = now.AddDays(span) },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        var packRounds = new List<PackRound>();
        foreach (var id in roundIds)
        {
            // On the pack's transaction: each round as of the snapshot the cursor names, so its stops, results and version agree.
            if (await Rounds.ViewAsync(connection, transaction, id, cancellationToken) is { } view)
            {
                packRounds.Add(await ToPackAsync(connection, transaction, view, cancellationToken));
            }
        }

        var places = workOrders.Where(w => w.AssetId is not null).Select(w => w.AssetId!.Value)
            .Concat(packRounds.SelectMany(r => r.Stops.Select(s => s.AssetId))).Distinct().ToArray();
        // Every asset of the sites the work and the rounds are at: a technician on site may scan any label there.
        var assets = (await connection.QueryAsync<AssetRow>(new CommandDefinition(
            """
            WITH RECURSIVE up AS (
                SELECT id, parent_id FROM assets WHERE id = ANY(@places)
                UNION SELECT a.id, a.parent_id FROM assets a JOIN up ON a.id = up.parent_id),
            down AS (
                SELECT id FROM up WHERE parent_id IS NULL
                UNION SELECT a.id FROM assets a JOIN down ON a.parent_id = down.id)
            SELECT a.id, a.code, a.name, a.kind, a.parent_id, a.lifecycle, a.row_version, a.updated_at FROM assets a JOIN down ON down.id = a.id
            ORDER BY a.id
            """,
            new { places },
            transaction,
            cancellationToken: cancellationToken))).Select(r => r.ToPack()).ToList();
        var templates = (await connection.QueryAsync<TemplateRow>(new CommandDefinition(
            "SELECT id, name, work_type, default_priority, asset_required, fields::text AS fields, row_version, updated_at FROM templates WHERE active ORDER BY name",
            transaction: transaction,
            cancellationToken: cancellationToken))).Select(r => r.ToPack()).ToList();
        var meters = (await connection.QueryAsync<MeterRow>(new CommandDefinition(
            """
            SELECT m.id, m.asset_id, m.name, m.unit, r.read_at AS latest_read_at, r.value AS latest_value, coalesce(r.recorded_at, m.created_at) AS updated_at
            FROM meters m LEFT JOIN LATERAL (SELECT read_at, value, recorded_at FROM meter_readings x WHERE x.meter_id = m.id ORDER BY read_at DESC, id DESC LIMIT 1) r ON true
            WHERE m.asset_id = ANY(@assets) ORDER BY m.asset_id, m.name
            """,
            new { assets = assets.Select(a => a.Id).ToArray() },
            transaction,
            cancellationToken: cancellationToken))).Select(r => r.ToPack()).ToList();
        var documents = (await connection.QueryAsync<DocumentRow>(new CommandDefinition(
            """
            SELECT id, work_order_id, file_name, content_type, size_bytes, encode(sha256, 'hex') AS sha256, uploaded_at
            FROM attachments WHERE work_order_id = ANY(@ids) ORDER BY work_order_id, id
            """,
            new { ids = workOrders.Select(w => w.Id).ToArray() },
            transaction,
            cancellationToken: cancellationToken))).Select(r => r.ToPack()).ToList();
        await transaction.CommitAsync(cancellationToken);
        return new TripPack(Devices.Utc(now), actor.UserId, span, cursor!, workOrders, packRounds, assets, templates, meters, documents);
    }

    /// <summary>The work orders and rounds in the user's scope written since the cursor, as they are now, and the next cursor.</summary>
    public async Task<Outcome<ChangeSet>> ChangesAsync(Actor actor, string? cursor, CancellationToken cancellationToken)
    {
        if (!SyncCommands.MaySync(actor))
        {
            return Failure.Forbidden("sync.forbidden");
        }

        if (string.IsNullOrEmpty(cursor) || cursor.Length > 4000 || !SnapshotText().IsMatch(cursor))
        {
            return Failure.Invalid("cursor", "sync.cursor");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var next = await connection.ExecuteScalarAsync<string>(new CommandDefinition("SELECT pg_current_snapshot()::text", transaction: transaction, cancellationToken: cancellationToken));
        // In the same snapshot as the reads below: a retention pass this one does not see has deleted nothing it reads.
        var expired = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT coalesce(pg_snapshot_xmin(@cursor::pg_snapshot) <= purged_xid, false) FROM field_sync_retention",
            new { cursor },
            transaction,
            cancellationToken: cancellationToken));
        if (expired)
        {
            return Failure.Gone("sync.cursor_expired", (int)Math.Ceiling(options.Value.ChangeRetention.TotalDays));
        }

        const string Changed = """
            SELECT DISTINCT entity_id FROM field_changes
            WHERE entity = @entity AND xid >= pg_snapshot_xmin(@cursor::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, @cursor::pg_snapshot)
            """;
        var workOrders = (await connection.QueryAsync<WorkOrderRow>(new CommandDefinition(
            $"""
            SELECT {WorkOrderColumns} FROM work_orders w LEFT JOIN assets a ON a.id = w.asset_id
            WHERE w.id IN ({Changed}) AND ({MyWorkOrders} OR w.requester_id = @me OR w.id IN (
                SELECT e.work_order_id FROM work_order_events e WHERE e.work_order_id = w.id AND e.kind IN ('assign', 'reassign', 'auto_assigned')
                  AND (e.payload ->> 'previousAssigneeId')::bigint = @me))
            ORDER BY w.id
            """,
            new { entity = "work_order", cursor, me = actor.UserId },
            transaction,
            cancellationToken: cancellationToken))).Select(r => r.ToPack()).ToList();
        var changedRounds = (await connection.QueryAsync<RoundChangeRow>(new CommandDefinition(
            $"""
            SELECT r.id, r.status, r.assignee_id, r.completed_at FROM inspection_rounds r
            WHERE r.id IN ({Changed}) AND (r.assignee_id = @me OR r.department_id = @department)
            ORDER BY r.id
            """,
            new { entity = "round", cursor, me = actor.UserId, department = actor.DepartmentId ?? 0 },
            transaction,
            cancellationToken: cancellationToken))).Select(r => new RoundChange(r.Id, r.Status, r.AssigneeId, r.CompletedAt is { } c ? Devices.Utc(c) : null)).ToList();
        await transaction.CommitAsync(cancellationToken);
        return new ChangeSet(next!, clock.GetUtcNow(), workOrders, changedRounds);
    }

    private static async Task<PackRound> ToPackAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, RoundView view, CancellationToken cancellationToken)
    {
        var facts = await connection.QuerySingleAsync<(int Recorded, DateTime Updated)>(new CommandDefinition(
            """
            SELECT (SELECT count(*)::int FROM inspection_round_stops WHERE round_id = r.id) + (SELECT count(*)::int FROM inspection_results WHERE round_id = r.id)
                   + (r.started_at IS NOT NULL)::int + (r.completed_at IS NOT NULL OR r.missed_at IS NOT NULL)::int,
                   greatest(r.created_at, r.started_at, r.completed_at, r.missed_at,
                            (SELECT max(recorded_at) FROM inspection_round_stops WHERE round_id = r.id), (SELECT max(recorded_at) FROM inspection_results WHERE round_id = r.id))
            FROM inspection_rounds r WHERE r.id = @id
            """,
            new { id = view.Id },
            transaction,
            cancellationToken: cancellationToken));
        return new PackRound(
            view.Id, view.RouteId, view.RouteName, view.RouteVersion, Devices.Utc(view.SlotAt), Devices.Utc(view.WindowEndsAt), Devices.Utc(view.GraceEndsAt),
            WireNames.Of(view.Status),
            [.. view.Stops.Select(s => new PackStop(
                s.StopId, s.Position, s.AssetId, s.AssetCode, s.AssetName, s.Instructions,
                [.. s.Items.Select(i => new PackCheckItem(i.ItemId, i.CheckId, i.Position, i.Item.Label, WireNames.Of(i.Item.Kind), JsonSerializer.SerializeToElement(i.Item, TemplateSchema.Json)))]))],
            facts.Recorded,
            Devices.Utc(facts.Updated));
    }

    [GeneratedRegex(@"^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$")]
    private static partial Regex SnapshotText();

    private sealed class WorkOrderRow
    {
        public long Id { get; init; }
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public string Description { get; init; } = "";
        public string? Contact { get; init; }
        public string Status { get; init; } = "";
        public int Priority { get; init; }
        public long? AssetId { get; init; }
        public string? AssetCode { get; init; }
        public long? AssigneeId { get; init; }
        public DateTime? DueAt { get; init; }
        public int RowVersion { get; init; }
        public DateTime UpdatedAt { get; init; }

        public PackWorkOrder ToPack() => new(
            Id, Number, Title, Description, Contact, Status, Priority, AssetId, AssetCode, AssigneeId, DueAt is { } d ? Devices.Utc(d) : null, RowVersion, Devices.Utc(UpdatedAt));
    }

    private sealed class AssetRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public long? ParentId { get; init; }
        public string Lifecycle { get; init; } = "";
        public int RowVersion { get; init; }
        public DateTime UpdatedAt { get; init; }

        public PackAsset ToPack() => new(Id, Code, Name, Kind, ParentId, Lifecycle, RowVersion, Devices.Utc(UpdatedAt));
    }

    private sealed class TemplateRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public string WorkType { get; init; } = "";
        public int DefaultPriority { get; init; }
        public bool AssetRequired { get; init; }
        public string Fields { get; init; } = "[]";
        public int RowVersion { get; init; }
        public DateTime UpdatedAt { get; init; }

        public PackTemplate ToPack() => new(Id, Name, WorkType, DefaultPriority, AssetRequired, JsonDocument.Parse(Fields).RootElement.Clone(), RowVersion, Devices.Utc(UpdatedAt));
    }

    private sealed class MeterRow
    {
        public long Id { get; init; }
        public long AssetId { get; init; }
        public string Name { get; init; } = "";
        public string Unit { get; init; } = "";
        public DateTime? LatestReadAt { get; init; }
        public decimal? LatestValue { get; init; }
        public DateTime UpdatedAt { get; init; }

        public PackMeter ToPack() => new(Id, AssetId, Name, Unit, LatestReadAt is { } r ? Devices.Utc(r) : null, LatestValue, Devices.Utc(UpdatedAt));
    }

    private sealed class DocumentRow
    {
        public long Id { get; init; }
        public long WorkOrderId { get; init; }
        public string FileName { get; init; } = "";
        public string ContentType { get; init; } = "";
        public int SizeBytes { get; init; }
        public string Sha256 { get; init; } = "";
        public DateTime UploadedAt { get; init; }

        public PackDocument ToPack() => new(Id, WorkOrderId, FileName, ContentType, SizeBytes, Sha256, Devices.Utc(UploadedAt));
    }

    private sealed class RoundChangeRow
    {
        public long Id { get; init; }
        public string Status { get; init; } = "";
        public long? AssigneeId { get; init; }
        public DateTime? CompletedAt { get; init; }
    }
}
