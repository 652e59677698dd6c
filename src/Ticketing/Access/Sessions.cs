using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Database;

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
/// and the user must be active. The stamp read from PostgreSQL is kept in memory, so the check on each request costs
/// no round trip, and forgotten the moment it may have changed:
/// <list type="bullet">
/// <item>every change of a stamp or of <c>active</c> announces the user on <see cref="Channel"/> in its own transaction
/// (a trigger, migration 0029), and every instance's <see cref="ChannelListener"/> forgets that user on hearing it;
/// the instance that made the change forgets at once, before it answers (<see cref="Forget"/>);</item>
/// <item>only while the listener is connected: before it has listened, while it is down or reconnecting, every check
/// reads PostgreSQL, and a reconnect empties the memory, because what was announced meanwhile is lost;</item>
/// <item>a remembered stamp answers for <see cref="TicketingOptions.SessionStampLifetime"/> at most, so a notification
/// lost on a connection not yet known to be dead cannot keep a session alive longer;</item>
/// <item>memory only ever says yes: a stamp that differs from the remembered one is read again before it is refused,
/// so a session that began a moment ago on another instance is never turned away.</item>
/// </list>
/// </summary>
public class SessionStamps : IDisposable
{
    public const string Claim = "stamp";

    /// <summary>The notification channel on which every change of a user's stamp or active flag names the user.</summary>
    public const string Channel = "user_sessions";

    private const string Current = "SELECT security_stamp FROM users WHERE id = @userId AND active";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ChannelListener _listener;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _lifetime;
    private readonly ConcurrentDictionary<long, Remembered> _remembered = new();
    private readonly Lock _gate = new();
    private readonly IDisposable _subscription;

    // Counts every forgetting. A read that began before one and ends after it may hold the stamp from before the change,
    // so it is not remembered.
    private long _forgettings;

    // The listener connection whose start this memory has taken (emptied itself for): remembered stamps are trusted only
    // while that connection is the one listening.
    private long _synced;

    public SessionStamps(NpgsqlDataSource dataSource, ChannelListener listener, TimeProvider clock, IOptions<TicketingOptions> options)
    {
        _dataSource = dataSource;
        _listener = listener;
        _clock = clock;
        _lifetime = options.Value.SessionStampLifetime;
        _subscription = listener.Subscribe(Channel, Heard);
        lock (_gate)
        {
            // Nothing is remembered yet, so what the connection listening now announced before this is not missed.
            _synced = Math.Max(_synced, listener.Connected);
        }
    }

    public static Claim ClaimOf(Guid stamp) => new(Claim, stamp.ToString("N", CultureInfo.InvariantCulture));

    /// <summary>True when the principal carries a stamp that is its user's stamp now, and the user is active.</summary>
    public virtual async Task<bool> IsCurrentAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        if (!long.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), CultureInfo.InvariantCulture, out var userId)
            || !Guid.TryParseExact(principal.FindFirstValue(Claim), "N", out var stamp))
        {
            return false;
        }

        var connected = _listener.Connected;
        var trusted = connected != 0 && connected == Volatile.Read(ref _synced);
        if (trusted && _remembered.TryGetValue(userId, out var remembered)
            && remembered.Stamp == stamp && _clock.GetElapsedTime(remembered.ReadAt) < _lifetime)
        {
            return true;
        }

        var forgettings = Interlocked.Read(ref _forgettings);
        var readAt = _clock.GetTimestamp();

        // Retried here, a read on its own: the authentication handler keeps its first result for the whole request, so a
        // failure let out of this check could not be ridden through by retrying the request.
        var current = await Database.DatabaseRetry.Pipeline.ExecuteAsync(
            static async (state, ct) =>
            {
                await using var connection = await state._dataSource.OpenConnectionAsync(ct);
                return await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(Current, new { state.userId }, cancellationToken: ct));
            },
            (_dataSource, userId),
            cancellationToken);

        if (trusted && current is { } now && _lifetime > TimeSpan.Zero)
        {
            lock (_gate)
            {
                if (_forgettings == forgettings && _synced == connected && _listener.Connected == connected)
                {
                    _remembered[userId] = new Remembered(now, readAt);
                }
            }
        }

        return current == stamp;
    }

    /// <summary>
    /// Forgets the user's stamp on this instance. Called after a change of their stamp has committed, so this instance's
    /// very next request reads it, without waiting for its own notification to come back.
    /// </summary>
    public void Forget(long userId)
    {
        lock (_gate)
        {
            _forgettings++;
            _remembered.TryRemove(userId, out _);
        }
    }

    /// <summary>Whether this instance remembers the user's stamp now (it holds one entry per user who made a request).</summary>
    public bool Remembers(long userId) => _remembered.ContainsKey(userId);

    public void Dispose()
    {
        _subscription.Dispose();
        GC.SuppressFinalize(this);
    }

    // On the listener's loop: a user id forgets that user; null (the listener has just connected, and whatever was
    // announced while it was away is lost) or anything else forgets everyone.
    private void Heard(string? payload)
    {
        lock (_gate)
        {
            _forgettings++;
            if (payload is not null && long.TryParse(payload, CultureInfo.InvariantCulture, out var userId))
            {
                _remembered.TryRemove(userId, out _);
                return;
            }

            _remembered.Clear();
            if (payload is null)
            {
                _synced = _listener.Connected;
            }
        }
    }

    private readonly record struct Remembered(Guid Stamp, long ReadAt);
}
