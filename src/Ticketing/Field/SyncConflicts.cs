using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Field;

public enum ConflictResolution
{
    /// <summary>The work order keeps the value it has; the device's edit is dropped.</summary>
    KeepCurrent,

    /// <summary>The device's value replaces the current one.</summary>
    TakeProposed,
}

public sealed record ConflictView(
    long Id,
    long WorkOrderId,
    string WorkOrderNumber,
    string WorkOrderTitle,
    string Field,
    int BaseVersion,
    int CurrentVersion,
    string? CurrentValue,
    string? ProposedValue,
    string UserName,
    string DeviceName,
    DateTime? DeviceTime,
    DateTime CreatedAt,
    DateTime? ResolvedAt,
    string? ResolvedBy,
    ConflictResolution? Resolution,
    string? CurrentBy = null,
    string? CurrentDevice = null,
    DateTime? CurrentAt = null);

public sealed record ConflictPage(IReadOnlyList<ConflictView> Items, long Count);

public sealed record ResolveConflictRequest(ConflictResolution? Resolution);

/// <summary>Conflicting field edits from devices, for the managers of the work order's department (and administrators) to settle.</summary>
public sealed class SyncConflicts(NpgsqlDataSource dataSource, TimeProvider clock)
{
    // The current value's side: the last edit of the field before the conflict (who, from which device, when synced).
    private const string Select = """
        SELECT c.id, c.work_order_id, w.number AS work_order_number, w.title AS work_order_title, c.field, c.base_version, c.current_version,
               c.current_value, c.proposed_value, u.display_name AS user_name, d.name AS device_name, c.device_time, c.created_at, c.resolved_at,
               r.display_name AS resolved_by, c.resolution, cur.current_by, cur.current_device, cur.current_at
        FROM sync_conflicts c JOIN work_orders w ON w.id = c.work_order_id JOIN users u ON u.id = c.user_id
        JOIN field_devices d ON d.id = c.device_id LEFT JOIN users r ON r.id = c.resolved_by
        LEFT JOIN LATERAL (
            SELECT eu.display_name AS current_by, ed.name AS current_device, e.occurred_at AS current_at
            FROM work_order_events e LEFT JOIN users eu ON eu.id = e.actor_id
            LEFT JOIN field_devices ed ON ed.id = (e.payload #>> '{detail,via,deviceId}')::bigint
            WHERE e.work_order_id = c.work_order_id AND e.kind = 'field_edited' AND e.payload->>'field' = c.field AND e.occurred_at <= c.created_at
            ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) cur ON true
        """;

    public static bool MayResolve(Actor actor) => actor.Role is Role.Admin or Role.Manager;

    /// <summary>The refusal of a caller who may not see or settle conflicts, whatever the request says.</summary>
    public static Failure? Refusal(Actor actor) => MayResolve(actor) ? null : Failure.Forbidden("sync.conflicts_forbidden");

    /// <summary>Open conflicts first, oldest first; an administrator's of every department, a manager's of their own.</summary>
    public async Task<Outcome<ConflictPage>> ListAsync(Actor actor, bool includeResolved, int skip, int take, CancellationToken cancellationToken)
    {
        if (Refusal(actor) is { } refused)
        {
            return refused;
        }

        var filter = "(@all OR c.department_id = @department) AND (@includeResolved OR c.resolved_at IS NULL)";
        var parameters = new { all = actor.Role == Role.Admin, department = actor.DepartmentId ?? 0, includeResolved, skip, take };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var items = await connection.QueryAsync<Row>(new CommandDefinition(
            $"{Select} WHERE {filter} ORDER BY c.resolved_at IS NOT NULL, c.created_at, c.id OFFSET @skip LIMIT @take", parameters, cancellationToken: cancellationToken));
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT count(*) FROM sync_conflicts c WHERE {filter}", parameters, cancellationToken: cancellationToken));
        return new ConflictPage([.. items.Select(r => r.ToView())], count);
    }

    /// <summary>Settles a conflict once: a second resolve (from anyone, anywhere) is refused as already settled.</summary>
    public async Task<Outcome<ConflictView>> ResolveAsync(long id, ResolveConflictRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (Refusal(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var conflict = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"{Select} WHERE c.id = @id FOR UPDATE OF c", new { id }, transaction, cancellationToken: cancellationToken));
        if (conflict is null)
        {
            return Failure.NotFound("sync.conflict_not_found", id);
        }

        var department = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT department_id FROM sync_conflicts WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
        if (!actor.ManagesDepartment(department))
        {
            return Failure.Forbidden("sync.conflicts_forbidden");
        }

        if (request.Resolution is not { } resolution)
        {
            return Failure.Invalid("resolution", "field.one_of", string.Join(", ", Enum.GetValues<ConflictResolution>().Select(WireNames.Of)));
        }

        if (conflict.ResolvedAt is not null)
        {
            return Failure.Conflict("sync.conflict_resolved", id);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (resolution == ConflictResolution.TakeProposed)
        {
            var current = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                $"SELECT {conflict.Field} FROM work_orders WHERE id = @workOrderId FOR UPDATE",
                new { conflict.WorkOrderId },
                transaction,
                cancellationToken: cancellationToken));
            await FieldEdits.SetAsync(
                connection, transaction, conflict.WorkOrderId, conflict.Field, conflict.ProposedValue, actor, now, new { conflictId = id }, current, cancellationToken);
        }

        await History.AppendAsync(
            connection, transaction, conflict.WorkOrderId, now, actor.UserId, EventKinds.SyncConflict, null, null, null,
            new { conflictId = id, conflict.Field, resolution = WireNames.Of(resolution) }, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE sync_conflicts SET resolved_at = @now, resolved_by = @actorId, resolution = @resolution WHERE id = @id",
            new { id, now, actorId = actor.UserId, resolution = WireNames.Of(resolution) },
            transaction,
            cancellationToken: cancellationToken));
        var view = await connection.QuerySingleAsync<Row>(new CommandDefinition($"{Select} WHERE c.id = @id", new { id }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return view.ToView();
    }

    private sealed class Row
    {
        public long Id { get; init; }
        public long WorkOrderId { get; init; }
        public string WorkOrderNumber { get; init; } = "";
        public string WorkOrderTitle { get; init; } = "";
        public string Field { get; init; } = "";
        public int BaseVersion { get; init; }
        public int CurrentVersion { get; init; }
        public string? CurrentValue { get; init; }
        public string? ProposedValue { get; init; }
        public string UserName { get; init; } = "";
        public string DeviceName { get; init; } = "";
        public DateTime? DeviceTime { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? ResolvedAt { get; init; }
        public string? ResolvedBy { get; init; }
        public string? Resolution { get; init; }
        public string? CurrentBy { get; init; }
        public string? CurrentDevice { get; init; }
        public DateTime? CurrentAt { get; init; }

        public ConflictView ToView() => new(
            Id, WorkOrderId, WorkOrderNumber, WorkOrderTitle, Field, BaseVersion, CurrentVersion, CurrentValue, ProposedValue, UserName, DeviceName, DeviceTime,
            CreatedAt, ResolvedAt, ResolvedBy, Resolution is null ? null : WireNames.Parse<ConflictResolution>(Resolution), CurrentBy, CurrentDevice, CurrentAt);
    }
}
