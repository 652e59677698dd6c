using System.Collections.Concurrent;
using Dapper;
using Npgsql;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>A person's skills and weekly hours as one version of their user_rosters row held them.</summary>
internal sealed record Roster(IReadOnlyDictionary<string, int> Skills, IReadOnlyList<WorkingHours> Hours)
{
    /// <summary>Who has no roster row: no skills, and no weekly hours (available at any hour).</summary>
    public static Roster None { get; } = new(new Dictionary<string, int>(), []);
}

/// <summary>
/// The rosters this process has read, per database, each under the version of the row it came from. Auto-assignment
/// considers every person of a department on every create, and their skills and hours change only when someone edits
/// them; sending and parsing 200 people's skills and hours on each create cost more than the rest of the candidates
/// statement. So that statement reads each roster row's version (<see cref="Stamp"/>) and this reads the rows whose
/// version it does not hold, usually none.
/// <para>
/// The version is the row's <c>xmin</c>, the transaction that wrote it: every change of a row writes a new version
/// under the changing transaction's id, and no two transactions of a cluster share one, so a row read again under the
/// version held is the row held. (Only after the 4 billion transactions of the 32-bit id's wraparound could one come
/// back, to one person's row, in one process's lifetime.) A version seen that is no longer current (a change rolled
/// back, or another process's newer read) only costs a read.
/// </para>
/// </summary>
internal static class Rosters
{
    /// <summary>The version of the roster row aliased ro, as a bigint; null without a row.</summary>
    public const string Stamp = "ro.xmin::text::bigint";

    private const string Read = $"""
        SELECT ro.user_id, {Stamp} AS stamp, ro.skills, ro.hour_weekdays, ro.hour_starts, ro.hour_ends
        FROM user_rosters ro WHERE ro.user_id = ANY(@ids)
        """;

    private static readonly ConcurrentDictionary<string, ConcurrentDictionary<long, (long Stamp, Roster Roster)>> Held = new();

    /// <summary>
    /// The rosters of the people given with the version of their row as read (null for none): those held under that
    /// version as held, the others read in one statement in the transaction.
    /// </summary>
    public static async Task<Dictionary<long, Roster>> ReadAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, IEnumerable<(long UserId, long? Stamp)> people, CancellationToken cancellationToken)
    {
        var held = Held.GetOrAdd($"{connection.Host}:{connection.Port}/{connection.Database}", _ => new());
        var rosters = new Dictionary<long, Roster>();
        List<long>? missing = null;
        foreach (var (userId, stamp) in people)
        {
            if (stamp is not { } version)
            {
                rosters[userId] = Roster.None;
            }
            else if (held.TryGetValue(userId, out var kept) && kept.Stamp == version)
            {
                rosters[userId] = kept.Roster;
            }
            else
            {
                (missing ??= []).Add(userId);
            }
        }

        if (missing is null)
        {
            return rosters;
        }

        var rows = await connection.QueryAsync<RosterRow>(new CommandDefinition(
            Read, new { ids = missing.ToArray() }, transaction, cancellationToken: cancellationToken));
        foreach (var row in rows)
        {
            var roster = row.ToRoster();
            held[row.UserId] = (row.Stamp, roster);
            rosters[row.UserId] = roster;
        }

        // A row deleted since the first read (the user removed meanwhile): as without one.
        foreach (var userId in missing.Where(id => !rosters.ContainsKey(id)))
        {
            rosters[userId] = Roster.None;
        }

        return rosters;
    }

    private sealed class RosterRow
    {
        public long UserId { get; init; }
        public long Stamp { get; init; }
        public string Skills { get; init; } = "";
        public short[]? HourWeekdays { get; init; }
        public TimeOnly[]? HourStarts { get; init; }
        public TimeOnly[]? HourEnds { get; init; }

        public Roster ToRoster() => new(
            AutoAssign.ParseSkills(Skills),
            HourWeekdays is null ? [] : [.. HourWeekdays.Select((d, i) => new WorkingHours(d, HourStarts![i], HourEnds![i]))]);
    }
}
