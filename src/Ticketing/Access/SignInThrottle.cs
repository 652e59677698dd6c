using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace WorkOrders.Ticketing.Access;

/// <summary>
/// Slows password guessing on both sign-in paths (the API and the form), with token buckets that only failures spend:
/// <list type="bullet">
/// <item>per user name, <see cref="FailuresPerName"/> failures, then one more every <see cref="NameRefill"/>: past
/// that the name is refused (even with the right password) until a token is back, so a lockout is temporary and an
/// attacker gets about two guesses a minute per name;</item>
/// <item>per client address, <see cref="FailuresPerAddress"/> failures, then one more every
/// <see cref="AddressRefill"/>, so one address cannot walk through many names. Successes are free, so a plant's staff
/// signing in at 08:00 behind one address are never held.</item>
/// </list>
/// The counts live in the process (on the app's clock): each instance slows guessing on its own, which multiplies the
/// rate by the number of instances but never lets it run free.
/// </summary>
public sealed class SignInThrottle(TimeProvider clock)
{
    public const int FailuresPerName = 10;
    public const int FailuresPerAddress = 30;
    public static readonly TimeSpan NameRefill = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan AddressRefill = TimeSpan.FromSeconds(2);

    // Buckets that have refilled carry no information; past this many they are dropped.
    private const int MaxBuckets = 100_000;

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new();

    /// <summary>Before the password is checked: null to go on, or how long this caller must wait.</summary>
    public TimeSpan? Refuse(HttpContext http, string? userName)
    {
        var now = clock.GetUtcNow();
        var address = Wait(AddressKey(http), now);
        var name = Wait(NameKey(userName), now);
        return new[] { address, name }.Max();
    }

    /// <summary>After a wrong password: spends a token of the name and one of the address.</summary>
    public void Failed(HttpContext http, string? userName)
    {
        var now = clock.GetUtcNow();
        Spend(AddressKey(http), FailuresPerAddress, AddressRefill, now);
        Spend(NameKey(userName), FailuresPerName, NameRefill, now);
        if (_buckets.Count > MaxBuckets)
        {
            foreach (var (key, bucket) in _buckets)
            {
                if (bucket.Full(now))
                {
                    _buckets.TryRemove(key, out _);
                }
            }
        }
    }

    private TimeSpan? Wait(string key, DateTimeOffset now) =>
        _buckets.TryGetValue(key, out var bucket) ? bucket.Wait(now) : null;

    private void Spend(string key, int limit, TimeSpan refill, DateTimeOffset now) =>
        _buckets.GetOrAdd(key, _ => new Bucket(limit, refill, now)).Spend(now);

    private static string NameKey(string? userName) => "name:" + (userName?.Trim().ToLowerInvariant() ?? "");

    private static string AddressKey(HttpContext http) => "address:" + (http.Connection.RemoteIpAddress?.ToString() ?? "local");

    private sealed class Bucket(int limit, TimeSpan refill, DateTimeOffset now)
    {
        private readonly Lock _lock = new();
        private double _tokens = limit;
        private DateTimeOffset _at = now;

        public TimeSpan? Wait(DateTimeOffset now)
        {
            lock (_lock)
            {
                Refill(now);
                return _tokens >= 1 ? null : (1 - _tokens) * refill;
            }
        }

        public void Spend(DateTimeOffset now)
        {
            lock (_lock)
            {
                Refill(now);
                _tokens = Math.Max(0, _tokens - 1);
            }
        }

        public bool Full(DateTimeOffset now)
        {
            lock (_lock)
            {
                Refill(now);
                return _tokens >= limit;
            }
        }

        private void Refill(DateTimeOffset now)
        {
            if (now > _at)
            {
                _tokens = Math.Min(limit, _tokens + ((now - _at) / refill));
                _at = now;
            }
        }
    }
}
