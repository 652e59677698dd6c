using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Dapper;
using Npgsql;

namespace WorkOrders.Ticketing.WorkOrders;

/// <summary>
/// Work-order numbers, WO-YYYY-NNNNNN by the (UTC) year of creation, counted from 1 each year. Each year has its own
/// PostgreSQL sequence (work_order_numbers.yYYYY, made on first use; migration 0023). A live create draws its number
/// with nextval inside its INSERT, so creates never wait for each other's commits; a create that rolls back after
/// drawing leaves a gap, as nextval is not undone. Bulk writers take a block of consecutive numbers at once with
/// <see cref="TakeAsync"/>, which moves the sequence past the block before they write it.
/// </summary>
public static class WorkOrderNumbers
{
    /// <summary>The SQL expression that draws the next number of the year given as @year.</summary>
    public const string Next = "work_order_number(@year)";

    /// <summary>The table lock a bulk writer holds while taking numbers: live inserts (ROW EXCLUSIVE) wait for its commit.</summary>
    public const string LockOutLiveCreates = "LOCK TABLE work_orders IN SHARE ROW EXCLUSIVE MODE";

    private const string Take = "SELECT work_order_numbers_take(@year, @count)";

    private const string MakeSequence = "SELECT work_order_number_sequence(@year)::text";

    /// <summary>The years whose sequence this process has seen made, per database.</summary>
    private static readonly ConditionalWeakTable<NpgsqlDataSource, ConcurrentDictionary<int, bool>> Made = new();

    /// <summary>The number as people read it; the same as the database's work_order_number.</summary>
    public static string Format(int year, long sequence) => string.Create(CultureInfo.InvariantCulture, $"WO-{year}-{sequence:D6}");

    /// <summary>
    /// Makes the year's sequence, once per process and year, on a connection of its own and committed at once. Drawing
    /// would make it too, but inside the caller's transaction: every other create of that year would then wait on the
    /// catalog for that transaction's commit. Call before drawing in a transaction; only saves waiting, never needed
    /// for correctness.
    /// </summary>
    public static async ValueTask EnsureYearAsync(NpgsqlDataSource dataSource, int year, CancellationToken cancellationToken)
    {
        var made = Made.GetValue(dataSource, _ => new ConcurrentDictionary<int, bool>());
        if (made.ContainsKey(year))
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteScalarAsync<string>(new CommandDefinition(MakeSequence, new { year }, cancellationToken: cancellationToken));
        made.TryAdd(year, true);
    }

    /// <summary>
    /// Takes <c>count</c> consecutive numbers of each year and returns the first of each. The caller's transaction must
    /// already hold work_orders in SHARE ROW EXCLUSIVE mode or stronger (<see cref="LockOutLiveCreates"/>): the database
    /// refuses otherwise. Keep that transaction short; the numbers are the caller's even if it rolls back later.
    /// </summary>
    public static async Task<Dictionary<int, long>> TakeAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyDictionary<int, long> counts, CancellationToken cancellationToken)
    {
        var first = new Dictionary<int, long>();
        foreach (var (year, count) in counts.Where(c => c.Value > 0).OrderBy(c => c.Key))
        {
            first[year] = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                Take, new { year, count }, transaction, cancellationToken: cancellationToken));
        }

        return first;
    }
}
