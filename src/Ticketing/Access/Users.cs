using System.Globalization;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Npgsql;

namespace WorkOrders.Ticketing.Access;

public sealed record UserSkill(string Skill, int Level);

public sealed record UserInfo(long Id, string UserName, string DisplayName, string? Email, Role Role, long? DepartmentId, string? DepartmentName, bool Active, IReadOnlyList<UserSkill> Skills, bool MustChangePassword = false, int RowVersion = 1);

public sealed record CreateUserRequest(string? UserName, string? DisplayName, string? Password, string? Role, long? DepartmentId = null, string? Email = null, IReadOnlyList<UserSkill>? Skills = null);

public sealed record LoginRequest(string? UserName, string? Password);

public sealed record RefreshRequest(string? RefreshToken);

public sealed record Department(long Id, string Name);

/// <summary>Accounts: sign-in with hashed passwords, and administration of users.</summary>
public sealed partial class Users(NpgsqlDataSource dataSource, IPasswordHasher<Users> hasher)
{
    /// <summary>The refusal of an account change through the API by anyone but an administrator.</summary>
    public static Failure? AdminOnly(Actor actor) => actor.Role == Role.Admin ? null : Failure.Forbidden("user.admin_only");

    public const int MinPasswordLength = 4;

    // Verified when the user does not exist, so a wrong user name costs as much time as a wrong password.
    private static readonly string DecoyHash = new PasswordHasher<Users>().HashPassword(null!, "decoy-password");

    /// <summary>
    /// Checks a user name and password. Only a caller who knows the password learns that the account is deactivated
    /// or must choose a new password, so a guesser learns nothing beyond "wrong".
    /// </summary>
    public async Task<SignInResult> SignInAsync(LoginRequest request, CancellationToken cancellationToken)
    {
        var userName = request.UserName?.Trim().ToLowerInvariant() ?? "";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AccountRow>(new CommandDefinition(
            $"{AccountColumns} WHERE user_name = @userName",
            new { userName },
            cancellationToken: cancellationToken));
        var verdict = hasher.VerifyHashedPassword(this, row?.PasswordHash ?? DecoyHash, request.Password ?? "");
        if (row is null || verdict == PasswordVerificationResult.Failed)
        {
            return SignInResult.Refused(SignInRefusal.WrongPassword);
        }

        if (!row.Active)
        {
            return SignInResult.Refused(SignInRefusal.Deactivated);
        }

        if (row.MustChangePassword)
        {
            return SignInResult.Refused(SignInRefusal.MustChangePassword);
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET password_hash = @hash WHERE id = @id",
                new { hash = hasher.HashPassword(this, request.Password!), id = row.Id },
                cancellationToken: cancellationToken));
        }

        return SignInResult.Success(row.ToSession());
    }

    /// <summary>The user as they are now (role, department, stamp), or null when they no longer exist or are deactivated.</summary>
    public async Task<SignedIn?> CurrentAsync(long userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AccountRow>(new CommandDefinition(
            $"{AccountColumns} WHERE id = @userId AND active",
            new { userId },
            cancellationToken: cancellationToken));
        return row?.ToSession();
    }

    public async Task<Outcome<UserInfo>> CreateAsync(CreateUserRequest request, Actor? actor, CancellationToken cancellationToken)
    {
        // A null actor is the command line of the server itself, which creates the first administrator.
        if (actor is not null && actor.Role != Role.Admin)
        {
            return Failure.Forbidden("user.admin_only");
        }

        var errors = new FieldErrors();
        var userName = request.UserName?.Trim().ToLowerInvariant();
        if (userName is null || !System.Text.RegularExpressions.Regex.IsMatch(userName, "^[a-z0-9._-]{2,64}$"))
        {
            errors.Add("userName", "user.name_form");
        }

        var displayName = string.IsNullOrWhiteSpace(request.DisplayName) ? userName : request.DisplayName.Trim();
        if (displayName is { Length: > 200 })
        {
            errors.Add("displayName", "field.too_long", 200);
        }

        if (!string.IsNullOrWhiteSpace(request.Email) && !EmailForm().IsMatch(request.Email.Trim()))
        {
            errors.Add("email", "user.email_form");
        }

        if (request.Password is not { Length: >= MinPasswordLength })
        {
            errors.Add("password", "user.password_short", MinPasswordLength);
        }

        if (!WireNames.TryParse<Role>(request.Role, out var role))
        {
            errors.Add("role", "field.one_of", string.Join(", ", Roles.All.Select(Roles.ToName)));
        }
        else if (role is Role.Manager or Role.Technician && request.DepartmentId is null)
        {
            errors.Add("departmentId", "user.department_required");
        }

        foreach (var (skill, i) in (request.Skills ?? []).Select((s, i) => (s, i)))
        {
            if (skill.Level is < 1 or > 5)
            {
                errors.Add($"skills[{i}].level", "field.from_to", 1, 5);
            }
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long id;
        try
        {
            id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                """
                INSERT INTO users (user_name, display_name, email, password_hash, role, department_id)
                VALUES (@userName, @displayName, @email, @hash, @role, @departmentId) RETURNING id
                """,
                new { userName, displayName, email = string.IsNullOrWhiteSpace(request.Email) ? null : request.Email.Trim(), hash = hasher.HashPassword(this, request.Password!), role = Roles.ToName(role), request.DepartmentId },
                transaction,
                cancellationToken: cancellationToken));
            foreach (var skill in request.Skills ?? [])
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO user_skills (user_id, skill, level) VALUES (@id, @Skill, @Level)",
                    new { id, skill.Skill, skill.Level },
                    transaction,
                    cancellationToken: cancellationToken));
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("userName", "user.name_taken", userName);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return e.ConstraintName?.Contains("skill", StringComparison.Ordinal) == true
                ? Failure.Invalid("skills", "skill.missing")
                : Failure.Invalid("departmentId", "department.missing", request.DepartmentId);
        }

        await transaction.CommitAsync(cancellationToken);
        return (await ListAsync(id, null, cancellationToken)).Single();
    }

    public Task<IReadOnlyList<UserInfo>> ListAsync(CancellationToken cancellationToken) => ListAsync(null, null, cancellationToken);

    /// <summary>One user, or null when there is none with this id.</summary>
    public async Task<UserInfo?> GetAsync(long id, CancellationToken cancellationToken) =>
        (await ListAsync(id, null, cancellationToken)).SingleOrDefault();

    /// <summary>The active technicians and managers of a department: who a work order of it can be assigned to.</summary>
    public Task<IReadOnlyList<UserInfo>> AssignableAsync(long departmentId, CancellationToken cancellationToken) =>
        ListAsync(null, departmentId, cancellationToken);

    private async Task<IReadOnlyList<UserInfo>> ListAsync(long? id, long? assignableIn, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<UserRow>(new CommandDefinition(
            """
            SELECT u.id, u.user_name, u.display_name, u.email, u.role, u.department_id, d.name AS department_name, u.active,
                   u.must_change_password, u.row_version,
                   coalesce(string_agg(s.skill || ':' || s.level, ',' ORDER BY s.skill), '') AS skills
            FROM users u LEFT JOIN departments d ON d.id = u.department_id LEFT JOIN user_skills s ON s.user_id = u.id
            WHERE (@id::bigint IS NULL OR u.id = @id)
              AND (@assignableIn::bigint IS NULL OR (u.department_id = @assignableIn AND u.active AND u.role IN ('technician', 'manager')))
            GROUP BY u.id, d.name ORDER BY u.display_name, u.id
            """,
            new { id, assignableIn },
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToInfo()).ToList();
    }

    /// <summary>The user's time zone (<c>users.time_zone</c>, an IANA name); UTC for a name this machine does not know.</summary>
    public async Task<TimeZoneInfo> TimeZoneAsync(long userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var name = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT time_zone FROM users WHERE id = @userId", new { userId }, cancellationToken: cancellationToken));
        return name is not null && TimeZoneInfo.TryFindSystemTimeZoneById(name, out var zone) ? zone : TimeZoneInfo.Utc;
    }

    public async Task<IReadOnlyList<Department>> DepartmentsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<Department>(new CommandDefinition(
            "SELECT id AS Id, name AS Name FROM departments ORDER BY name", cancellationToken: cancellationToken))).ToList();
    }

    internal static bool IsEmail(string text) => EmailForm().IsMatch(text);

    // One @, something before it, a dotted domain after it, no spaces: what a mail server can be given, at most 254 long.
    [System.Text.RegularExpressions.GeneratedRegex(@"^(?=.{3,254}$)[^@\s]+@[^@\s]+\.[^@\s.]+$")]
    private static partial System.Text.RegularExpressions.Regex EmailForm();

    internal const string AccountColumns =
        "SELECT id, user_name, password_hash, role, department_id, active, must_change_password, security_stamp FROM users";

    internal sealed class AccountRow
    {
        public long Id { get; init; }
        public string UserName { get; init; } = "";
        public string PasswordHash { get; init; } = "";
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
        public bool Active { get; init; }
        public bool MustChangePassword { get; init; }
        public Guid SecurityStamp { get; init; }

        public SignedIn ToSession() => new(new Actor(Id, UserName, WireNames.Parse<Role>(Role), DepartmentId), SecurityStamp);
    }

    private sealed class UserRow
    {
        public long Id { get; init; }
        public string UserName { get; init; } = "";
        public string DisplayName { get; init; } = "";
        public string? Email { get; init; }
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
        public string? DepartmentName { get; init; }
        public bool Active { get; init; }
        public string Skills { get; init; } = "";
        public bool MustChangePassword { get; init; }
        public int RowVersion { get; init; }

        public UserInfo ToInfo() => new(
            Id, UserName, DisplayName, Email, WireNames.Parse<Role>(Role), DepartmentId, DepartmentName, Active,
            Skills.Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => s.Split(':'))
                .Select(p => new UserSkill(p[0], int.Parse(p[1], CultureInfo.InvariantCulture)))
                .ToList(),
            MustChangePassword,
            RowVersion);
    }
}
