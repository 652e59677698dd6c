using System.Globalization;
using System.Security.Claims;
using Dapper;
using Npgsql;

namespace WorkOrders.Ticketing.Access;

/// <summary>A user signed in: who they are now, and the security stamp their cookie or tokens carry.</summary>
public sealed record SignedIn(Actor Actor, Guid Stamp)
{
    /// <summary>The principal a cookie or a token is made of: the actor's claims and the stamp.</summary>
    public ClaimsPrincipal Principal(string scheme) =>
        new(new ClaimsIdentity(Actor.ToClaims().Append(SessionStamps.ClaimOf(Stamp)), scheme));
}

public enum SignInRefusal
{
    WrongPassword,
    Deactivated,
    MustChangePassword,
}

/// <summary>A sign-in: the session, or why there is none.</summary>
public sealed record SignInResult(SignedIn? Session, SignInRefusal? Refusal)
{
    public static SignInResult Success(SignedIn session) => new(session, null);

    public static SignInResult Refused(SignInRefusal refusal) => new(null, refusal);

    /// <summary>The refusal code the API and the sign-in page show.</summary>
    public string? Code => Refusal switch
    {
        SignInRefusal.WrongPassword => "auth.wrong_password",
        SignInRefusal.Deactivated => "auth.deactivated",
        SignInRefusal.MustChangePassword => "auth.password_change_required",
        _ => null,
    };
}

/// <summary>
/// Whether a cookie or a token still stands: its security stamp must equal the user's <c>users.security_stamp</c>
/// and the user must be active. Read from PostgreSQL on every authenticated request (one primary-key lookup),
/// rather than cached: a revocation then holds at once on every app instance, with nothing to invalidate and no
/// window in which a lost notification leaves a stale session alive.
/// </summary>
public class SessionStamps(NpgsqlDataSource dataSource)
{
    public const string Claim = "stamp";

    private const string Current = "SELECT security_stamp FROM users WHERE id = @userId AND active";

    public static Claim ClaimOf(Guid stamp) => new(Claim, stamp.ToString("N", CultureInfo.InvariantCulture));

    /// <summary>True when the principal carries a stamp that is its user's stamp now, and the user is active.</summary>
    public virtual async Task<bool> IsCurrentAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        if (!long.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), CultureInfo.InvariantCulture, out var userId)
            || !Guid.TryParseExact(principal.FindFirstValue(Claim), "N", out var stamp))
        {
            return false;
        }

        // Retried here, a read on its own: the authentication handler keeps its first result for the whole request, so a
        // failure let out of this check could not be ridden through by retrying the request.
        var current = await Database.DatabaseRetry.Pipeline.ExecuteAsync(
            static async (state, ct) =>
            {
                await using var connection = await state.dataSource.OpenConnectionAsync(ct);
                return await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(Current, new { state.userId }, cancellationToken: ct));
            },
            (dataSource, userId),
            cancellationToken);
        return current == stamp;
    }
}
