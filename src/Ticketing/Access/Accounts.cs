using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Npgsql;

namespace WorkOrders.Ticketing.Access;

/// <summary>An administrator's edit of a user. Skills replace the user's skills; rowVersion, when given, must be the one read.</summary>
public sealed record EditUserRequest(string? DisplayName, string? Email, string? Role, long? DepartmentId, IReadOnlyList<UserSkill>? Skills, int? RowVersion = null);

/// <summary>The temporary password of a reset, shown once to the administrator, who hands it to the user.</summary>
public sealed record PasswordResetResponse(long UserId, string TemporaryPassword);

/// <summary>
/// A user changes their own password. A signed-in caller may leave <see cref="UserName"/> out; one who holds only a
/// temporary password gives it with the user name.
/// </summary>
public sealed record ChangePasswordRequest(string? UserName, string? CurrentPassword, string? NewPassword);

/// <summary>
/// The account changes: an administrator's edit, deactivation, reactivation and password reset, a user's own
/// password change and sign-out. Each writes a <c>user_events</c> row (who, when, what) in the same transaction, and
/// each that must end the user's sessions replaces their security stamp (see <see cref="SessionStamps"/>): every
/// instance hears of it from PostgreSQL, and this one forgets the old stamp before it answers.
/// </summary>
public sealed class Accounts(NpgsqlDataSource dataSource, IPasswordHasher<Users> hasher, Users users, SessionStamps stamps, TimeProvider clock)
{
    public const int TemporaryPasswordLength = 12;

    // No look-alikes (0/O, 1/l/I), so a temporary password read out or copied by hand comes through.
    private const string TemporaryAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    private const string Audit = """
        INSERT INTO user_events (user_id, occurred_at, actor_id, kind, payload)
        VALUES (@userId, @at, @actorId, @kind, @payload::jsonb)
        """;

    public async Task<Outcome<UserInfo>> EditAsync(long id, EditUserRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("user.admin_only");
        }

        var errors = new FieldErrors();
        var displayName = request.DisplayName?.Trim();
        if (string.IsNullOrEmpty(displayName))
        {
            errors.Add("displayName", "field.required");
        }
        else if (displayName.Length > 200)
        {
            errors.Add("displayName", "field.too_long", 200);
        }

        var email = string.IsNullOrWhiteSpace(request.Email) ? null : request.Email.Trim();
        if (email is not null && !Users.IsEmail(email))
        {
            errors.Add("email", "user.email_form");
        }

        if (!WireNames.TryParse<Role>(request.Role, out var role))
        {
            errors.Add("role", "field.one_of", string.Join(", ", Roles.All.Select(Roles.ToName)));
        }
        else if (role is Role.Manager or Role.Technician && request.DepartmentId is null)
        {
            errors.Add("departmentId", "user.department_required");
        }

        var skills = request.Skills ?? [];
        foreach (var (skill, i) in skills.Select((s, i) => (s, i)))
        {
            if (string.IsNullOrWhiteSpace(skill.Skill))
            {
                errors.Add($"skills[{i}].skill", "field.required");
            }

            if (skill.Level is < 1 or > 5)
            {
                errors.Add($"skills[{i}].level", "field.from_to", 1, 5);
            }
        }

        if (skills.GroupBy(s => s.Skill).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            errors.Add("skills", "user.skill_twice", twice.Key);
        }

        if (id == actor.UserId && role != Role.Admin && !errors.Any)
        {
            errors.Add("role", "user.own_admin_role");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var before = await LockAsync(connection, transaction, id, cancellationToken);
        if (before is null)
        {
            return Failure.NotFound("user.not_found", id);
        }

        if (request.RowVersion is { } expected && expected != before.RowVersion)
        {
            return Failure.Conflict("user.changed", id);
        }

        var roleName = Roles.ToName(role);
        // A new role or department changes what the user may do: their sessions end, so the next one carries the new claims.
        var revoke = roleName != before.Role || request.DepartmentId != before.DepartmentId;
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE users SET display_name = @displayName, email = @email, role = @roleName, department_id = @departmentId,
                       security_stamp = CASE WHEN @revoke THEN gen_random_uuid() ELSE security_stamp END,
                       row_version = row_version + 1, updated_at = @at
                WHERE id = @id;
                DELETE FROM user_skills WHERE user_id = @id;
                INSERT INTO user_skills (user_id, skill, level) SELECT @id, unnest(@names), unnest(@levels);
                """,
                new
                {
                    id, displayName, email, roleName, request.DepartmentId, revoke, at = clock.GetUtcNow(),
                    names = skills.Select(s => s.Skill.Trim()).ToArray(), levels = skills.Select(s => s.Level).ToArray(),
                },
                transaction,
                cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return e.ConstraintName?.Contains("skill", StringComparison.Ordinal) == true
                ? Failure.Invalid("skills", "skill.missing")
                : Failure.Invalid("departmentId", "department.missing", request.DepartmentId);
        }

        var payload = new
        {
            before = new { before.DisplayName, before.Email, before.Role, before.DepartmentId, before.Skills },
            after = new { displayName, email, role = roleName, request.DepartmentId, skills = string.Join(',', skills.OrderBy(s => s.Skill, StringComparer.Ordinal).Select(s => $"{s.Skill.Trim()}:{s.Level}")) },
            sessionsEnded = revoke,
        };
        await AuditAsync(connection, transaction, id, actor.UserId, "edited", payload, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (revoke)
        {
            stamps.Forget(id);
        }

        return (await users.GetAsync(id, cancellationToken))!;
    }

    /// <summary>Deactivates a user: they cannot sign in, their sessions end, auto-assignment passes them by.</summary>
    public Task<Outcome<UserInfo>> DeactivateAsync(long id, Actor actor, CancellationToken cancellationToken) =>
        SetActiveAsync(id, false, actor, cancellationToken);

    public Task<Outcome<UserInfo>> ReactivateAsync(long id, Actor actor, CancellationToken cancellationToken) =>
        SetActiveAsync(id, true, actor, cancellationToken);

    /// <summary>
    /// Gives the user a temporary password that signs in only to choose a new one, and ends their sessions. The
    /// temporary password is in the answer once and stored only as a hash.
    /// </summary>
    public async Task<Outcome<PasswordResetResponse>> ResetPasswordAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("user.admin_only");
        }

        var temporary = RandomNumberGenerator.GetString(TemporaryAlphabet, TemporaryPasswordLength);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE users SET password_hash = @hash, must_change_password = true, security_stamp = gen_random_uuid(),
                   row_version = row_version + 1, updated_at = @at
            WHERE id = @id
            """,
            new { id, hash = hasher.HashPassword(users, temporary), at = clock.GetUtcNow() },
            transaction,
            cancellationToken: cancellationToken));
        if (changed == 0)
        {
            return Failure.NotFound("user.not_found", id);
        }

        await AuditAsync(connection, transaction, id, actor.UserId, "password_reset", new { }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        stamps.Forget(id);
        return new PasswordResetResponse(id, temporary);
    }

    /// <summary>
    /// A user's own password change, with their current (or temporary) password. Every other session of theirs
    /// ends; the answer is the new session. A wrong current password is a <see cref="Failure"/> on currentPassword.
    /// </summary>
    public async Task<Outcome<SignedIn>> ChangePasswordAsync(ChangePasswordRequest request, Actor? signedIn, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var userName = signedIn?.UserName ?? request.UserName?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(userName))
        {
            errors.Add("userName", "field.required");
        }

        if (string.IsNullOrEmpty(request.CurrentPassword))
        {
            errors.Add("currentPassword", "field.required");
        }

        if (request.NewPassword is not { Length: >= Users.MinPasswordLength })
        {
            errors.Add("newPassword", "user.password_short", Users.MinPasswordLength);
        }
        else if (request.NewPassword == request.CurrentPassword)
        {
            errors.Add("newPassword", "user.password_same");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Users.AccountRow>(new CommandDefinition(
            $"{Users.AccountColumns} WHERE user_name = @userName FOR UPDATE",
            new { userName },
            transaction,
            cancellationToken: cancellationToken));
        if (row is null || hasher.VerifyHashedPassword(users, row.PasswordHash, request.CurrentPassword!) == PasswordVerificationResult.Failed)
        {
            return Failure.Invalid("currentPassword", "auth.wrong_password");
        }

        if (!row.Active)
        {
            return Failure.Forbidden("auth.deactivated");
        }

        var stamp = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
            """
            UPDATE users SET password_hash = @hash, must_change_password = false, security_stamp = gen_random_uuid(),
                   row_version = row_version + 1, updated_at = @at
            WHERE id = @id RETURNING security_stamp
            """,
            new { id = row.Id, hash = hasher.HashPassword(users, request.NewPassword!), at = clock.GetUtcNow() },
            transaction,
            cancellationToken: cancellationToken));
        await AuditAsync(connection, transaction, row.Id, row.Id, "password_changed", new { wasTemporary = row.MustChangePassword }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        stamps.Forget(row.Id);
        return row.ToSession() with { Stamp = stamp };
    }

    /// <summary>Signing out ends every session of the user (cookie copies and tokens included): their stamp is replaced.</summary>
    public async Task SignOutAsync(long userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET security_stamp = gen_random_uuid() WHERE id = @userId",
            new { userId },
            transaction,
            cancellationToken: cancellationToken));
        await AuditAsync(connection, transaction, userId, userId, "signed_out", new { }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        stamps.Forget(userId);
    }

    /// <summary>The account's changes, newest first.</summary>
    public async Task<Outcome<IReadOnlyList<UserEvent>>> HistoryAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = @id)", new { id }, cancellationToken: cancellationToken)))
        {
            return Failure.NotFound("user.not_found", id);
        }

        return (await connection.QueryAsync<UserEvent>(new CommandDefinition(
            """
            SELECT e.id AS Id, e.occurred_at AS OccurredAt, e.actor_id AS ActorId, a.display_name AS ActorName, e.kind AS Kind, e.payload::text AS Payload
            FROM user_events e LEFT JOIN users a ON a.id = e.actor_id
            WHERE e.user_id = @id ORDER BY e.id DESC LIMIT 100
            """,
            new { id },
            cancellationToken: cancellationToken))).ToList();
    }

    private async Task<Outcome<UserInfo>> SetActiveAsync(long id, bool active, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("user.admin_only");
        }

        if (id == actor.UserId && !active)
        {
            return Failure.Illegal("user.deactivate_self");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var before = await LockAsync(connection, transaction, id, cancellationToken);
        if (before is null)
        {
            return Failure.NotFound("user.not_found", id);
        }

        if (before.Active != active)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE users SET active = @active, security_stamp = gen_random_uuid(), row_version = row_version + 1, updated_at = @at
                WHERE id = @id
                """,
                new { id, active, at = clock.GetUtcNow() },
                transaction,
                cancellationToken: cancellationToken));
            await AuditAsync(connection, transaction, id, actor.UserId, active ? "reactivated" : "deactivated", new { }, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        stamps.Forget(id);
        return (await users.GetAsync(id, cancellationToken))!;
    }

    private static Task<LockedUser?> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long id, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<LockedUser>(new CommandDefinition(
            """
            SELECT u.display_name, u.email, u.role, u.department_id, u.active, u.row_version,
                   coalesce((SELECT string_agg(s.skill || ':' || s.level, ',' ORDER BY s.skill) FROM user_skills s WHERE s.user_id = u.id), '') AS skills
            FROM users u WHERE u.id = @id FOR UPDATE
            """,
            new { id },
            transaction,
            cancellationToken: cancellationToken));

    private Task AuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long userId, long? actorId, string kind, object payload, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            Audit,
            new { userId, at = clock.GetUtcNow(), actorId, kind, payload = JsonSerializer.Serialize(payload, JsonSerializerOptions.Web) },
            transaction,
            cancellationToken: cancellationToken));

    private sealed class LockedUser
    {
        public string DisplayName { get; init; } = "";
        public string? Email { get; init; }
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
        public bool Active { get; init; }
        public int RowVersion { get; init; }
        public string Skills { get; init; } = "";
    }
}

/// <summary>One change of an account: who made it and when; <see cref="Payload"/> is JSON (fields before and after).</summary>
public sealed record UserEvent(long Id, DateTime OccurredAt, long? ActorId, string? ActorName, string Kind, string Payload);
