using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Demo;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The demo seed over a test database, on a clock the test moves, as the demo-seed tests all start it.</summary>
public static class DemoSeeds
{
    /// <summary>A Wednesday, 11:00 in Taipei: the demo's day shift is at work.</summary>
    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 5, 6, 3, 0, 0, TimeSpan.Zero));

    public static DemoSeed For(TestDatabase database, TimeProvider clock)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        return new DemoSeed(database.DataSource, new Users(database.DataSource, new PasswordHasher<Users>()), clock, NullLogger<DemoSeed>.Instance);
    }
}
