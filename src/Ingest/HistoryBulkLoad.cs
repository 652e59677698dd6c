using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Assignment;

namespace WorkOrders.Ingest;

/// <summary>Rows one load wrote to a table: those whose <paramref name="Column"/> is in [First, First + Count).</summary>
public sealed record LoadedRows(string Table, string Column, long First, long Count);

/// <summary>
/// Writes history in bulk without the per-row triggers of the tables it loads, and then does what those triggers would
/// have done, once per load, in the same transaction. Per row, the foreign-key checks and the triggers cost more than
/// the COPY itself (500,000 work-order events took 20.7 s with them and 8.0 s without, on a loaded machine): each is a lookup and an entry in the transaction's queue of
/// after-trigger events, which grows with every row of a load held in one transaction.
/// <para>
/// Off means <c>session_replication_role = replica</c>, which only a superuser may set; any other role keeps the
/// triggers, and so does a table with a trigger on insert that is not one of those whose effect is repeated
/// here (<see cref="KnownInsertTriggers"/>), so a later migration's trigger is never skipped silently. Constraints other
/// than foreign keys (unique, check, not null) are enforced either way.
/// </para>
/// <para>
/// Repeated at the end (<see cref="EndAsync"/>): every foreign key of every loaded table is checked over the loaded rows
/// with one anti-join (the load fails naming the constraint, as the row check would have); the referenced rows of
/// tables the load did not write are locked <c>FOR KEY SHARE</c> as the row check locks them, so nobody deletes them
/// before the commit; rows referencing rows of the load itself need no lock (nobody else sees them yet).
/// <c>work_orders_mark_archived</c>: the writer puts the transaction's id in <c>archived_xid</c> of closed and
/// cancelled rows itself (<see cref="ArchivedXidAsync"/>), the same value the trigger would set.
/// <c>work_orders_field_insert</c>: one <c>field_changes</c> row per open work order, in id order.
/// <c>work_orders_load_insert</c>: the loaded open work's change to each assignee's load (<see cref="AssigneeLoads.NoteLoaded"/>).
/// <c>work_order_events_webhooks</c>: the webhook deliveries of the events, and the outbox's notification.
/// </para>
/// </summary>
public static class HistoryBulkLoad
{
    /// <summary>The insert triggers whose effects <see cref="EndAsync"/> repeats, by table.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> KnownInsertTriggers = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["work_orders"] = ["work_orders_field_insert", "work_orders_load_insert", "work_orders_mark_archived"],
        ["work_order_events"] = ["work_order_events_webhooks"],
    };

    private const string IsSuperuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user";

    // Row or statement triggers on INSERT (tgtype bit 2) that fire in the origin role and would not fire as replica.
    private const string InsertTriggers = """
        SELECT t.tgrelid::regclass::text AS "Table", t.tgname AS "Name"
        FROM pg_trigger t
        WHERE NOT t.tgisinternal AND t.tgenabled = 'O' AND (t.tgtype & 4) <> 0 AND t.tgrelid = ANY(@tables::regclass[])
        """;

    private const string ForeignKeys = """
        SELECT c.conname AS "Name", c.conrelid::regclass::text AS "Table", c.confrelid::regclass::text AS "Parent",
               array(SELECT quote_ident(a.attname) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS "Columns",
               array(SELECT quote_ident(a.attname) FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS "ParentColumns"
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.conrelid = ANY(@tables::regclass[])
        ORDER BY c.conrelid::regclass::text, c.conname
        """;

    private const string NoteFieldChanges = """
        INSERT INTO field_changes (entity, entity_id)
        SELECT 'work_order', w.id FROM work_orders w
        WHERE w.id >= @first AND w.id < @first + @count AND w.status NOT IN ('closed', 'cancelled')
        ORDER BY w.id
        """;

    private const string QueueWebhooks = """
        INSERT INTO webhook_outbox (subscription_id, event_id, next_attempt_at, created_at)
        SELECT s.id, e.id, e.occurred_at, e.occurred_at
        FROM work_order_events e
        JOIN webhook_subscriptions s ON s.active AND (s.event_kind = '*' OR s.event_kind = e.kind)
        WHERE e.id >= @first AND e.id < @first + @count
        ORDER BY e.id, s.id
        """;

    internal const string Replica = "SET LOCAL session_replication_role = replica";

    internal const string Origin = "SET LOCAL session_replication_role = origin";

    /// <summary>
    /// Whether a load into <paramref name="tables"/> may run without their triggers on this connection (asked once per
    /// run: a superuser, and no insert trigger but the known ones).
    /// </summary>
    public static async Task<bool> CanBypassAsync(NpgsqlConnection connection, IReadOnlyList<string> tables, CancellationToken cancellationToken)
    {
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(IsSuperuser, cancellationToken: cancellationToken)))
        {
            return false;
        }

        var triggers = await connection.QueryAsync<(string Table, string Name)>(new CommandDefinition(
            InsertTriggers, new { tables = tables.ToArray() }, cancellationToken: cancellationToken));
        return triggers.All(t => KnownInsertTriggers.TryGetValue(t.Table, out var known) && known.Contains(t.Name, StringComparer.Ordinal));
    }

    /// <summary>Turns the triggers off until <see cref="EndAsync"/> (or the end of the transaction).</summary>
    public static Task BeginAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(Replica, transaction: transaction, cancellationToken: cancellationToken));

    /// <summary>The id of the transaction, which <c>work_orders_mark_archived</c> writes in <c>archived_xid</c> of closed and cancelled rows.</summary>
    public static async Task<ulong> ArchivedXidAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        ulong.Parse(
            await connection.ExecuteScalarAsync<string>(new CommandDefinition("SELECT pg_current_xact_id()::text", transaction: transaction, cancellationToken: cancellationToken))
                ?? throw new InvalidOperationException("no transaction id"),
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Checks the loaded rows' foreign keys, does the known triggers' effects, and turns the triggers back on.</summary>
    public static async Task EndAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<LoadedRows> loaded, CancellationToken cancellationToken)
    {
        var tables = loaded.Select(l => l.Table).Distinct(StringComparer.Ordinal).ToArray();
        var keys = await connection.QueryAsync<ForeignKey>(new CommandDefinition(
            ForeignKeys, new { tables }, transaction, cancellationToken: cancellationToken));
        foreach (var key in keys)
        {
            foreach (var rows in loaded.Where(l => l.Table == key.Table && l.Count > 0))
            {
                var missing = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    CheckSql(key, rows, lockParents: !tables.Contains(key.Parent, StringComparer.Ordinal)),
                    new { first = rows.First, count = rows.Count },
                    transaction,
                    commandTimeout: 0,
                    cancellationToken: cancellationToken));
                if (missing > 0)
                {
                    throw new PostgresException(
                        $"insert or update on table \"{key.Table}\" violates foreign key constraint \"{key.Name}\" ({missing} key(s) not present in table \"{key.Parent}\")",
                        "ERROR", "ERROR", PostgresErrorCodes.ForeignKeyViolation);
                }
            }
        }

        foreach (var rows in loaded.Where(l => l.Count > 0))
        {
            var sql = rows.Table switch
            {
                "work_orders" => NoteFieldChanges + ";\n" + AssigneeLoads.NoteLoaded,
                "work_order_events" => QueueWebhooks,
                _ => null,
            };
            if (sql is null)
            {
                continue;
            }

            var written = await connection.ExecuteAsync(new CommandDefinition(
                sql, new { first = rows.First, count = rows.Count }, transaction, commandTimeout: 0, cancellationToken: cancellationToken));
            if (rows.Table == "work_order_events" && written > 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "SELECT pg_notify('webhook_outbox', '')", transaction: transaction, cancellationToken: cancellationToken));
            }
        }

        await connection.ExecuteAsync(new CommandDefinition(Origin, transaction: transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The number of distinct keys of the loaded rows (all columns set, as MATCH SIMPLE checks) that the parent lacks;
    /// with <paramref name="lockParents"/> the parent rows found are locked as the row check would lock them. Without,
    /// only the keys missing are made distinct: the loaded rows have no statistics yet, so a DISTINCT over all their
    /// keys (10 million work orders of 52 million events) was planned as a small hash aggregate and spilled for an hour.
    /// </summary>
    private static string CheckSql(ForeignKey key, LoadedRows rows, bool lockParents)
    {
        var keyColumns = string.Join(", ", key.Columns.Select(c => "c." + c));
        var notNull = string.Join(" AND ", key.Columns.Select(c => $"c.{c} IS NOT NULL"));
        var parentColumns = string.Join(", ", key.ParentColumns.Select(c => "p." + c));
        var range = $"c.{QuoteIdent(rows.Column)} >= @first AND c.{QuoteIdent(rows.Column)} < @first + @count";
        return lockParents
            ? $"""
              WITH k AS MATERIALIZED (SELECT DISTINCT {keyColumns} FROM {key.Table} c WHERE {range} AND {notNull}),
                   found AS (SELECT 1 FROM {key.Parent} p WHERE ({parentColumns}) IN (SELECT * FROM k) FOR KEY SHARE OF p)
              SELECT (SELECT count(*) FROM k) - (SELECT count(*) FROM found)
              """
            : $"""
              SELECT count(*) FROM (
                  SELECT DISTINCT {keyColumns} FROM {key.Table} c
                  WHERE {range} AND {notNull} AND NOT EXISTS (SELECT 1 FROM {key.Parent} p WHERE ({parentColumns}) = ({keyColumns}))) k
              """;
    }

    private static string QuoteIdent(string name) => name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')
        ? name
        : "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private sealed class ForeignKey
    {
        public string Name { get; set; } = "";

        public string Table { get; set; } = "";

        public string Parent { get; set; } = "";

        public string[] Columns { get; set; } = [];

        public string[] ParentColumns { get; set; } = [];
    }
}
