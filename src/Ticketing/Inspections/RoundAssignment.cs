using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Inspections;

/// <summary>
/// A manager hands a round to another inspector. <see cref="Assignment"/>, when given, is the round's assignment number
/// the manager saw: a round reassigned meanwhile is refused as stale instead of overriding the other manager.
/// </summary>
public sealed record RoundReassignRequest(long? AssigneeId, int? Assignment);

/// <summary>Who holds a round now, and its assignment number (one per assignment: the generator's choice, then each reassignment).</summary>
public sealed record RoundAssigned(long RoundId, long AssigneeId, int Assignment);

/// <summary>
/// The assignments of rounds and the notification each one sends its inspector, with a link to the round. A round's
/// assignments are numbered; the notification is unique per (round, assignment) and written in the transaction that
/// assigns, so two generators, two instances or a retried request notify once per assignment.
/// </summary>
public sealed class RoundAssignment(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const string Kind = "round_assigned";

    private const string Notify = """
        INSERT INTO notifications (user_id, round_id, round_assignment, kind, text, link, created_at)
        SELECT r.assignee_id, r.id, r.assignment, @kind,
               left(format('Inspection round “%s” of %s was assigned to you.', rt.name, replace(r.slot_key, 'T', ' ')), 1000), '/inspections/rounds/' || r.id, @now
        FROM inspection_rounds r JOIN inspection_routes rt ON rt.id = r.route_id
        WHERE r.id = @roundId AND r.assignee_id IS NOT NULL AND r.assignment > 0
        ON CONFLICT (round_id, round_assignment) WHERE round_assignment IS NOT NULL DO NOTHING
        """;

    private const string Lock = "SELECT id, status, department_id, assignee_id, assignment FROM inspection_rounds WHERE id = @id FOR UPDATE";

    private const string Candidate = "SELECT id, display_name AS name, role, department_id, active FROM users WHERE id = @id";

    private const string Reassign = """
        UPDATE inspection_rounds SET assignee_id = @assigneeId, assignment = assignment + 1, assignment_rule_id = NULL, assignment_reason = @reason
        WHERE id = @id
        RETURNING assignment
        """;

    /// <summary>Tells the round's inspector of its current assignment, in the caller's transaction; once per assignment.</summary>
    internal static Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long roundId, DateTime now, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(Notify, new { roundId, kind = Kind, now }, transaction, cancellationToken: cancellationToken));

    /// <summary>
    /// Gives an open or started round to an active technician or manager of its department; a manager of that
    /// department (or an administrator) may. Giving it to whoever holds it already changes nothing (a retry, or a
    /// second manager who had the same idea), so the inspector is told once.
    /// </summary>
    public async Task<Outcome<RoundAssigned>> ReassignAsync(long roundId, RoundReassignRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (request.AssigneeId is not { } assigneeId)
        {
            return Failure.Invalid("assigneeId", "reassign.assignee_required");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var round = await connection.QuerySingleOrDefaultAsync<RoundRow>(new CommandDefinition(Lock, new { id = roundId }, transaction, cancellationToken: cancellationToken));
        if (round is null)
        {
            return Failure.NotFound("inspection.round_not_found", roundId);
        }

        if (!actor.ManagesDepartment(round.DepartmentId))
        {
            return Failure.Forbidden("inspection.reassign_not_allowed", roundId);
        }

        if (round.AssigneeId == assigneeId)
        {
            return new RoundAssigned(roundId, assigneeId, round.Assignment);
        }

        if (round.Status is not ("open" or "in_progress"))
        {
            return Failure.Conflict("inspection.reassign_closed", roundId);
        }

        if (request.Assignment is { } seen && seen != round.Assignment)
        {
            return Failure.Conflict("inspection.assignment_stale", roundId);
        }

        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(Candidate, new { id = assigneeId }, transaction, cancellationToken: cancellationToken));
        if (user is null)
        {
            return Failure.Invalid("assigneeId", "user.missing", assigneeId);
        }

        if (!user.Active || user.DepartmentId != round.DepartmentId || user.Role is not ("technician" or "manager"))
        {
            return Failure.Invalid("assigneeId", "inspection.assignee_not_eligible", user.Name);
        }

        var assignment = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            Reassign, new { id = roundId, assigneeId, reason = $"reassigned by {actor.UserName}" }, transaction, cancellationToken: cancellationToken));
        await NotifyAsync(connection, transaction, roundId, clock.GetUtcNow().UtcDateTime, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new RoundAssigned(roundId, assigneeId, assignment);
    }

    private sealed class RoundRow
    {
        public long Id { get; init; }
        public string Status { get; init; } = "";
        public long DepartmentId { get; init; }
        public long? AssigneeId { get; init; }
        public int Assignment { get; init; }
    }

    private sealed class UserRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
        public bool Active { get; init; }
    }
}
