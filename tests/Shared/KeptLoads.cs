using Dapper;
using Npgsql;

namespace WorkOrders.Tests;

/// <summary>The loads PostgreSQL keeps per person (assignee_loads_now) against a count of everyone's open work.</summary>
public static class KeptLoads
{
    private const string Differences = """
        WITH counted AS (
            SELECT assignee_id AS user_id, count(*)::int AS open_count,
                   sum(CASE priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END)::int AS load
            FROM work_orders
            WHERE assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
            GROUP BY assignee_id)
        SELECT format('user %s: kept %s open (load %s), counted %s open (load %s)', u.id,
                      coalesce(k.open_count, 0), coalesce(k.load, 0), coalesce(c.open_count, 0), coalesce(c.load, 0))
        FROM users u
        LEFT JOIN assignee_loads_now k ON k.user_id = u.id
        LEFT JOIN counted c ON c.user_id = u.id
        WHERE coalesce(k.open_count, 0) <> coalesce(c.open_count, 0) OR coalesce(k.load, 0) <> coalesce(c.load, 0)
        ORDER BY u.id
        """;

    /// <summary>One line per person whose kept load differs from the count; empty when all agree.</summary>
    public static async Task<List<string>> DifferencesAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction = null) =>
        (await connection.QueryAsync<string>(Differences, transaction: transaction)).AsList();

    public static async Task<List<string>> DifferencesAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return await DifferencesAsync(connection);
    }

    /// <summary>The number of change rows not folded yet.</summary>
    public static async Task<long> UnfoldedAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM assignee_load_changes");
    }
}
