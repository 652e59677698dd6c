using Dapper;
using Npgsql;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Field;

/// <summary>The decision on a field edit from a device, given what the work order holds now.</summary>
public enum EditDecision
{
    /// <summary>Nobody changed the field since the device's base: set it.</summary>
    Apply,

    /// <summary>The field holds the proposed value already: nothing to do, and no conflict.</summary>
    Same,

    /// <summary>Another edit changed the field after the device's base: a conflict for a manager.</summary>
    Conflict,
}

/// <summary>
/// Edits of a work order's fields from devices. Each field remembers the row version at which a device (or a manager
/// resolving a conflict) last set it; an edit whose base is older than that, with another value, is a conflict.
/// Edits of other fields, comments and status changes in between are not conflicts: they are merged.
/// </summary>
public static class FieldEdits
{
    public static int MaxLength(string field) => field switch
    {
        EditableFields.Title => CreateWorkOrder.MaxTitleLength,
        EditableFields.Description => CreateWorkOrder.MaxDescriptionLength,
        _ => CreateWorkOrder.MaxContactLength,
    };

    /// <summary>The pure rule: (base version, version the field last changed at, current and proposed value) -> decision.</summary>
    public static EditDecision Decide(int baseVersion, int? fieldChangedAt, string? current, string? proposed) =>
        string.Equals(current, proposed, StringComparison.Ordinal) ? EditDecision.Same
        : fieldChangedAt is { } changed && changed > baseVersion ? EditDecision.Conflict
        : EditDecision.Apply;

    internal static async Task<Effect> ApplyAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, FieldEditPayload p, int? baseVersion, Actor actor, DateTime now, Origin origin, Guid commandId,
        CancellationToken cancellationToken)
    {
        if (p.WorkOrderId is not { } id)
        {
            return Failure.Invalid("workOrderId", "field.required");
        }

        if (p.Field is not { } field || !EditableFields.All.Contains(field))
        {
            return Failure.Invalid("field", "field.one_of", string.Join(", ", EditableFields.All));
        }

        if (baseVersion is not { } @base)
        {
            return Failure.Invalid("baseVersion", "field.required");
        }

        var value = string.IsNullOrWhiteSpace(p.Value) ? null : p.Value.Trim();
        if ((value is null && field != EditableFields.Contact) || value?.Length > MaxLength(field))
        {
            return Failure.Invalid("value", "field.required_short", MaxLength(field));
        }

        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"""
            SELECT w.number, w.status, w.requester_id, w.assignee_id, w.department_id, w.row_version, w.{field} AS current,
                   {Visibility.IsCollaboratorSql} AS is_collaborator,
                   (SELECT v.row_version FROM sync_field_versions v WHERE v.work_order_id = w.id AND v.field = @field) AS field_changed_at
            FROM work_orders w WHERE w.id = @id FOR UPDATE OF w
            """,
            new { id, field, me = actor.UserId },
            transaction,
            cancellationToken: cancellationToken));
        if (row is null)
        {
            return Failure.NotFound("work_order.not_found", id);
        }

        if (WorkOrderAccess.Unseen(row, actor) is { } unseen)
        {
            return unseen;
        }

        if (row.AssigneeId != actor.UserId && row.RequesterId != actor.UserId && !actor.ManagesDepartment(row.DepartmentId))
        {
            return Failure.Forbidden("sync.edit_not_allowed", row.Number);
        }

        if (row.Status is "closed" or "cancelled")
        {
            return Failure.Illegal("sync.edit_closed", row.Number, row.Status);
        }

        switch (Decide(@base, row.FieldChangedAt, row.Current, value))
        {
            case EditDecision.Same:
                return new Effect(id, row.RowVersion);
            case EditDecision.Conflict:
                var conflictId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    """
                    INSERT INTO sync_conflicts (work_order_id, department_id, field, base_version, current_version, current_value, proposed_value,
                        command_id, user_id, device_id, device_time, created_at)
                    VALUES (@id, @departmentId, @field, @base, @currentVersion, @current, @value, @commandId, @userId, @deviceId, @deviceTime, @now)
                    RETURNING id
                    """,
                    new
                    {
                        id, row.DepartmentId, field, @base, currentVersion = row.RowVersion, row.Current, value, commandId, userId = actor.UserId,
                        origin.DeviceId, origin.DeviceTime, now,
                    },
                    transaction,
                    cancellationToken: cancellationToken));
                await History.AppendAsync(
                    connection, transaction, id, now, actor.UserId, EventKinds.SyncConflict, null, null, null,
                    new { conflictId, field, baseVersion = @base, proposed = value, via = origin }, cancellationToken);
                return new Effect(id, row.RowVersion, ConflictId: conflictId);
            default:
                var version = await SetAsync(connection, transaction, id, field, value, actor, now, new { baseVersion = @base, via = origin }, row.Current, cancellationToken);
                return new Effect(id, version);
        }
    }

    /// <summary>Sets a field, notes the version it changed at, and writes the edit to the history with its before and after.</summary>
    internal static async Task<int> SetAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, string field, string? value, Actor actor, DateTime now, object extra, string? before,
        CancellationToken cancellationToken)
    {
        if (!EditableFields.All.Contains(field))
        {
            throw new ArgumentOutOfRangeException(nameof(field), field, null);
        }

        var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"""
            UPDATE work_orders SET {field} = @value, row_version = row_version + 1, updated_at = @now WHERE id = @id RETURNING row_version;
            """,
            new { id, value, now },
            transaction,
            cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO sync_field_versions (work_order_id, field, row_version) VALUES (@id, @field, @version)
            ON CONFLICT (work_order_id, field) DO UPDATE SET row_version = excluded.row_version
            """,
            new { id, field, version },
            transaction,
            cancellationToken: cancellationToken));
        await History.AppendAsync(
            connection, transaction, id, now, actor.UserId, EventKinds.FieldEdited, null, null, null, new { field, from = before, to = value, detail = extra }, cancellationToken);
        return version;
    }

    private sealed class Row : IVisibleWorkOrder
    {
        public string Number { get; init; } = "";
        public string Status { get; init; } = "";
        public long RequesterId { get; init; }
        public long? AssigneeId { get; init; }
        public long DepartmentId { get; init; }
        public int RowVersion { get; init; }
        public string? Current { get; init; }
        public bool IsCollaborator { get; init; }
        public int? FieldChangedAt { get; init; }
    }
}
