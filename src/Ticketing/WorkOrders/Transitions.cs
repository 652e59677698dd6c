using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Maintenance;
using WorkOrders.Ticketing.Sla;

namespace WorkOrders.Ticketing.WorkOrders;

/// <summary>
/// A request to move a work order. The row version comes from the body or the If-Match header. A manager resolves a
/// work order whose sub-tasks are still open by setting <see cref="OverrideOpenSubTasks"/>, with the note as the reason.
/// </summary>
public sealed record TransitionRequest(
    string? Action, string? Note = null, long? AssigneeId = null, int? Rating = null, int? RowVersion = null, bool? OverrideOpenSubTasks = null);

public sealed record TransitionResult(long Id, WorkOrderStatus Status, long? AssigneeId, int RowVersion);

/// <summary>Applies one lifecycle transition and its history event in one transaction, guarded by the row version.</summary>
public sealed class ApplyTransition(NpgsqlDataSource dataSource, TimeProvider clock)
{
    private const string Lock = $"""
        SELECT {LifecycleRow.Columns}, {Visibility.IsCollaboratorSql} AS is_collaborator
        FROM work_orders w WHERE id = @id FOR UPDATE
        """;

    private const string Update = """
        UPDATE work_orders
        SET status = @to, assignee_id = @assigneeId,
            acknowledged_at = COALESCE(acknowledged_at, @acknowledgedAt),
            started_at = COALESCE(started_at, @startedAt),
            resolved_at = CASE WHEN @clearResolved THEN NULL ELSE COALESCE(@resolvedAt, resolved_at) END,
            closed_at = COALESCE(@closedAt, closed_at),
            rating = COALESCE(@rating, rating),
            row_version = row_version + 1, updated_at = @now
        WHERE id = @id
        RETURNING row_version
        """;

    public async Task<Outcome<TransitionResult>> HandleAsync(long id, TransitionRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (!WireNames.TryParse<WorkOrderAction>(request.Action, out var action))
        {
            errors.Add("action", "field.one_of", string.Join(", ", Enum.GetValues<WorkOrderAction>().Select(WireNames.Of)));
        }

        if (request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required_or_if_match");
        }

        if (errors.Any)
        {
            return await WorkOrderAccess.ResourceFirstAsync(dataSource, id, actor, errors.ToFailure(), cancellationToken);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var applied = await ApplyAsync(connection, transaction, id, action, request, actor, cancellationToken);
        if (applied.Succeeded)
        {
            await transaction.CommitAsync(cancellationToken);
        }

        return applied;
    }

    /// <summary>
    /// Applies a transition inside the caller's transaction, for features that move a work order as part of a larger
    /// change (an alarm sending a resolved work order back). The caller commits.
    /// </summary>
    internal async Task<Outcome<TransitionResult>> ApplyAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, WorkOrderAction action, TransitionRequest request, Actor actor, CancellationToken cancellationToken,
        object? origin = null)
    {
        var opened = await WorkOrderAccess.LoadAsync<LockedRow>(
            connection, transaction, Lock, id, actor, r => WorkOrderAccess.Unseen(r, actor) ?? WorkOrderAccess.Stale(r, request.RowVersion), cancellationToken);
        if (opened.Failure is { } refused)
        {
            return refused;
        }

        var row = opened.Value!;

        Candidate? candidate = null;
        if (action == WorkOrderAction.Assign && request.AssigneeId is { } assigneeId)
        {
            candidate = await WorkOrderAccess.CandidateAsync(connection, transaction, assigneeId, cancellationToken);
            if (candidate is null)
            {
                return Failure.Invalid("assigneeId", "user.missing", assigneeId);
            }
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var state = row.ToState();
        var decision = Lifecycle.Decide(state, new TransitionCommand(action, request.Note, candidate, request.Rating), actor, now);
        if (decision.Failure is { } failure)
        {
            return failure;
        }

        var change = decision.Value!;
        IReadOnlyList<string> overridden = [];
        if (action == WorkOrderAction.Resolve)
        {
            var open = await SubTaskStore.OpenNumbersAsync(connection, transaction, id, cancellationToken);
            var guard = SubTaskRules.CheckResolve(state, open, request.OverrideOpenSubTasks == true, request.Note, actor);
            if (guard.Failure is { } refusal)
            {
                return refusal;
            }

            overridden = guard.Value!;
        }

        var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            Update,
            new
            {
                id,
                to = WireNames.Of(change.To),
                change.AssigneeId,
                change.AcknowledgedAt,
                change.StartedAt,
                change.ResolvedAt,
                clearResolved = change.ClearResolvedAt,
                change.ClosedAt,
                change.Rating,
                now,
            },
            transaction,
            cancellationToken: cancellationToken));
        await History.AppendAsync(
            connection, transaction, id, now, actor.UserId, EventKinds.Of(action), change.From, change.To, request.Note?.Trim(),
            new { assigneeId = candidate?.UserId, assignee = candidate?.UserName, previousAssigneeId = action == WorkOrderAction.Assign ? row.AssigneeId : null, rating = change.Rating, via = origin },
            cancellationToken);
        if (overridden.Count > 0)
        {
            await History.AppendAsync(
                connection, transaction, id, now, actor.UserId, EventKinds.SubTaskOverride, null, null, request.Note?.Trim(), new { openSubTasks = overridden }, cancellationToken);
        }

        await SlaClocks.FollowAsync(connection, transaction, id, change.From, change.To, actor.UserId, now, cancellationToken);
        if (change.To is WorkOrderStatus.Resolved or WorkOrderStatus.Closed)
        {
            await PmOccurrences.RecordCompletionAsync(connection, transaction, id, now, cancellationToken);
        }

        return new TransitionResult(id, change.To, change.AssigneeId, version);
    }

    private sealed class LockedRow : LifecycleRow, IVisibleWorkOrder
    {
        public bool IsCollaborator { get; init; }
    }
}
