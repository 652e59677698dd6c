using Dapper;
using Npgsql;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>
/// The skills and weekly hours PostgreSQL keeps per person for the auto-assignment (user_rosters, migration 0038) equal
/// those of user_skills and user_working_hours after every kind of change, and when two instances change one person at
/// once.
/// </summary>
public class UserRosterTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    // The roster as the tables say it should be, for the given people: the same text and arrays the triggers write.
    private const string Expected = """
        SELECT u.id AS user_id,
               coalesce((SELECT string_agg(s.skill || ':' || s.level, ',' ORDER BY s.skill) FROM user_skills s WHERE s.user_id = u.id), '') AS skills,
               (SELECT array_agg(w.weekday::text || ' ' || w.starts_at::text || '-' || w.ends_at::text ORDER BY w.weekday, w.starts_at)
                FROM user_working_hours w WHERE w.user_id = u.id) AS hours
        FROM users u WHERE u.id = ANY (@ids) ORDER BY u.id
        """;

    private const string Kept = """
        SELECT u.id AS user_id, coalesce(r.skills, '') AS skills,
               (SELECT array_agg(d::text || ' ' || s::text || '-' || e::text ORDER BY o)
                FROM unnest(r.hour_weekdays, r.hour_starts, r.hour_ends) WITH ORDINALITY AS h(d, s, e, o)) AS hours
        FROM users u LEFT JOIN user_rosters r ON r.user_id = u.id WHERE u.id = ANY (@ids) ORDER BY u.id
        """;

    private sealed class Roster
    {
        public long UserId { get; init; }

        public string Skills { get; init; } = "";

        public string[]? Hours { get; init; }
    }

    private static async Task<List<Roster>> ReadAsync(NpgsqlDataSource data, string sql, long[] ids)
    {
        await using var connection = await data.OpenConnectionAsync();
        return [.. await connection.QueryAsync<Roster>(sql, new { ids })];
    }

    private static async Task AssertKeptAsync(NpgsqlDataSource data, long[] ids, string after)
    {
        var expected = await ReadAsync(data, Expected, ids);
        var kept = await ReadAsync(data, Kept, ids);
        Assert.True(
            expected.Zip(kept).All(p => p.First.Skills == p.Second.Skills && (p.First.Hours ?? []).SequenceEqual(p.Second.Hours ?? [])),
            $"After {after}: expected {string.Join("; ", expected.Select(Show))}, kept {string.Join("; ", kept.Select(Show))}");

        static string Show(Roster r) => $"{r.UserId} [{r.Skills}] [{string.Join(",", r.Hours ?? [])}]";
    }

    private static async Task<long[]> PeopleAsync(NpgsqlDataSource data, TestOrg org, int count)
    {
        await using var connection = await data.OpenConnectionAsync();
        await connection.ExecuteAsync("INSERT INTO skills (name) VALUES ('pumps'), ('electrical'), ('welding') ON CONFLICT DO NOTHING");
        var ids = new long[count];
        for (var i = 0; i < count; i++)
        {
            var userName = $"roster{i}-{org.Suffix}";
            ids[i] = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO users (user_name, display_name, password_hash, role, department_id) VALUES (@userName, @userName, 'x', 'technician', @DepartmentId) RETURNING id",
                new { userName, org.DepartmentId });
        }

        return ids;
    }

    [Fact]
    public async Task the_roster_equals_the_skills_and_hours_after_every_kind_of_change()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var ids = await PeopleAsync(database.DataSource, org, 3);
        var (a, b, c) = (ids[0], ids[1], ids[2]);
        await AssertKeptAsync(database.DataSource, ids, "nothing set");

        (string Sql, object Parameters, string What)[] changes =
        [
            ("INSERT INTO user_skills (user_id, skill, level) VALUES (@a, 'pumps', 3), (@a, 'electrical', 1), (@b, 'welding', 5)", new { a, b }, "skills of two people in one statement"),
            ("INSERT INTO user_working_hours (user_id, weekday, starts_at, ends_at) SELECT p, d, '08:00', '12:00' FROM unnest(@ids) p, generate_series(1, 5) d", new { ids }, "hours of everyone"),
            ("INSERT INTO user_working_hours (user_id, weekday, starts_at, ends_at) VALUES (@a, 1, '13:00', '17:00'), (@a, 7, '06:00', '10:00')", new { a }, "a second shift and a Sunday"),
            ("UPDATE user_skills SET level = level + 1 WHERE user_id = @a AND skill = 'electrical'", new { a }, "a level raised"),
            ("UPDATE user_skills SET user_id = @c WHERE user_id = @b", new { b, c }, "skills moved from one person to another"),
            ("UPDATE user_working_hours SET ends_at = '11:00' WHERE weekday = 3", new { }, "one weekday's hours shortened for everyone"),
            ("DELETE FROM user_skills WHERE user_id = @a AND skill = 'pumps'", new { a }, "one skill removed"),
            ("DELETE FROM user_working_hours WHERE user_id = @b", new { b }, "all of one person's hours removed"),
            ("DELETE FROM user_skills WHERE user_id = @a; INSERT INTO user_skills (user_id, skill, level) VALUES (@a, 'welding', 2)", new { a }, "skills replaced as the account form does"),
        ];
        foreach (var (sql, parameters, what) in changes)
        {
            await using (var connection = await database.DataSource.OpenConnectionAsync())
            {
                await connection.ExecuteAsync(sql, parameters);
            }

            await AssertKeptAsync(database.DataSource, ids, what);
        }

        // A change rolled back leaves the roster as it was.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("DELETE FROM user_skills WHERE user_id = @c", new { c }, transaction);
            await transaction.RollbackAsync();
        }

        await AssertKeptAsync(database.DataSource, ids, "a rolled-back removal");
        Assert.Equal("welding:5", (await ReadAsync(database.DataSource, Kept, [c]))[0].Skills);

        // Emptied at once, by TRUNCATE, both tables leave every roster empty.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("TRUNCATE user_skills, user_working_hours");
        }

        await AssertKeptAsync(database.DataSource, ids, "both tables truncated");
        Assert.All(await ReadAsync(database.DataSource, Kept, ids), r => Assert.Equal(("", (string[]?)null), (r.Skills, r.Hours)));
    }

    [Fact]
    public async Task two_instances_changing_one_person_at_once_both_land_in_the_roster()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var person = (await PeopleAsync(database.DataSource, org, 1))[0];
        await using var first = NpgsqlDataSource.Create(database.ConnectionString);
        await using var second = NpgsqlDataSource.Create(database.ConnectionString);

        // The first instance's change is still open when the second makes its own: the second waits for the person, and
        // then computes the roster with the first's change committed beside its own.
        (string First, string Second)[] rounds =
        [
            ("INSERT INTO user_skills (user_id, skill, level) VALUES (@person, 'pumps', 2)",
             "INSERT INTO user_skills (user_id, skill, level) VALUES (@person, 'electrical', 4)"),
            ("INSERT INTO user_working_hours (user_id, weekday, starts_at, ends_at) VALUES (@person, 1, '08:00', '16:00')",
             "INSERT INTO user_working_hours (user_id, weekday, starts_at, ends_at) VALUES (@person, 2, '08:00', '16:00')"),
            ("UPDATE user_skills SET level = 5 WHERE user_id = @person AND skill = 'pumps'",
             "DELETE FROM user_working_hours WHERE user_id = @person AND weekday = 1"),
        ];
        foreach (var (one, other) in rounds)
        {
            await using var a = await first.OpenConnectionAsync();
            await using var b = await second.OpenConnectionAsync();
            await using var ta = await a.BeginTransactionAsync();
            await a.ExecuteAsync(one, new { person }, ta);
            var waiterPid = b.ProcessID;
            var waiting = Task.Run(async () =>
            {
                await using var tb = await b.BeginTransactionAsync();
                await b.ExecuteAsync(other, new { person }, tb);
                await tb.CommitAsync();
            });
            await Eventually.Until(
                async () =>
                {
                    await using var look = await database.DataSource.OpenConnectionAsync();
                    return await look.ExecuteScalarAsync<string?>("SELECT wait_event_type FROM pg_stat_activity WHERE pid = @waiterPid", new { waiterPid });
                },
                type => type == "Lock",
                "the second instance to wait for the person the first is changing",
                TimeSpan.FromSeconds(10));
            await ta.CommitAsync();
            await waiting;
            await AssertKeptAsync(database.DataSource, [person], $"{one} beside {other}");
        }

        var roster = (await ReadAsync(database.DataSource, Kept, [person]))[0];
        Assert.Equal("electrical:4,pumps:5", roster.Skills);
        Assert.Equal(["2 08:00:00-16:00:00"], roster.Hours ?? []);
    }
}
