using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using Npgsql;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

public sealed record IngestResult(long RunId, long WorkOrders, long Events, long OpenWorkOrders, string FromSnapshot, string ToSnapshot, TimeSpan Duration)
{
    /// <summary>The alarm episodes the run copied: new ones and those changed (cleared) since the last run.</summary>
    public long AlarmEpisodes { get; init; }

    /// <summary>The (day, asset, fault code, outcome) groups of alarm events that arrived since the last run.</summary>
    public long AlarmEventGroups { get; init; }
}

/// <summary>Which table the run is on and how many rows it has written to it.</summary>
public sealed record IngestProgress(string Table, long Rows);

/// <summary>
/// One ingest run: PostgreSQL -> binary COPY -> Arrow batches -> DuckDB. Everything is read in one REPEATABLE READ
/// snapshot and written in one DuckDB transaction together with the watermark, so a run that stops anywhere leaves
/// the warehouse as it was, and the next run takes up exactly what is missing.
/// The watermark is the previous run's PostgreSQL snapshot: a run takes the archived work orders it can see whose
/// archiving transaction the previous snapshot could not see. Each is taken exactly once, however late its
/// transaction commits, and a long transaction elsewhere in the cluster holds nothing back.
/// </summary>
public sealed partial class WarehouseIngest(
    NpgsqlDataSource dataSource, TimeProvider clock, ILogger<WarehouseIngest> logger, BusinessHours? businessHours = null)
{
    private readonly BusinessHours _hours = businessHours ?? BusinessHours.Default;

    /// <summary>A snapshot that sees no transaction: the watermark of an empty warehouse.</summary>
    internal const string NothingSeen = "1:1:";

    // The change log's rows are kept a day (runs come minutes apart); the newest transaction deleted is recorded, and a run
    // whose previous snapshot had not seen every transaction up to it copies every table whole. Concurrent runs delete
    // the same rows one after the other and keep the greater mark.
    private const string PurgeChanges = """
        WITH gone AS (DELETE FROM warehouse_changes WHERE changed_at < now() - interval '1 day' RETURNING xid)
        UPDATE warehouse_changes_purged SET purged_xid = greatest(purged_xid, (SELECT max(xid) FROM gone))
        WHERE EXISTS (SELECT 1 FROM gone)
        """;

    // Whether the log holds every change since the snapshot {1} (with xmin {0}), the tables written since, those of them
    // updated or deleted from, and those deleted from.
    private const string ChangedSources = """
        SELECT coalesce((SELECT purged_xid < '{0}'::xid8 FROM warehouse_changes_purged), true),
               coalesce(array_agg(DISTINCT source), '{{}}'), coalesce(array_agg(DISTINCT source) FILTER (WHERE kind <> 'insert'), '{{}}'),
               coalesce(array_agg(DISTINCT source) FILTER (WHERE kind = 'delete'), '{{}}')
        FROM warehouse_changes WHERE xid >= '{0}'::xid8 AND NOT pg_visible_in_snapshot(xid, '{1}'::pg_snapshot)
        """;

    /// <summary>The work orders archived by transactions the given snapshot could not see.</summary>
    internal static string ArchivedAfter(string snapshot) => After("w.archived_xid", snapshot);

    /// <summary>
    /// The rows of a table aliased <c>{row}</c> last written by a transaction the snapshot could not see, by their
    /// <c>written_xid</c>.
    /// </summary>
    internal static string WrittenAfter(string snapshot) => snapshot == NothingSeen ? "true" : After("{row}.written_xid", snapshot);

    // Everything below the snapshot's xmin was visible to it; the index on the column narrows to that, the function
    // does the rest.
    private static string After(string xid, string snapshot) => string.Create(
        CultureInfo.InvariantCulture,
        $"{xid} >= '{ulong.Parse(snapshot.Split(':')[0], CultureInfo.InvariantCulture)}'::xid8 AND NOT pg_visible_in_snapshot({xid}, '{snapshot}'::pg_snapshot)");

    /// <summary>
    /// Called on the writer's thread at each named point of a run, before anything of it is committed: "first batch of
    /// TABLE" and "copied TABLE" for each table read from PostgreSQL, "derived TABLE" for each table derived in DuckDB,
    /// and "before commit". Tests stop a run there to see that a run cut short leaves the warehouse as it was.
    /// </summary>
    public Action<string>? AtStage { get; init; }

    /// <summary>
    /// The most work orders whose intervals, history and rollups are derived in one statement; a run with more derives
    /// them in slices of ids. At 512 MB, one statement over ten million work orders and their 52 million events runs out
    /// of memory; one million fit.
    /// </summary>
    public long DeriveSlice { get; init; } = 1_000_000;

    public async Task<IngestResult> RunAsync(DuckDBConnection warehouse, IProgress<IngestProgress>? progress, CancellationToken cancellationToken)
    {
        if (_hours.Problems() is [_, ..] problems)
        {
            throw new InvalidOperationException(string.Join(" ", problems));
        }

        var stopwatch = Stopwatch.StartNew();
        var startedAt = clock.GetUtcNow().UtcDateTime;
        await using var source = await dataSource.OpenConnectionAsync(cancellationToken);
        await PurgeChangesAsync(source, cancellationToken);
        await using var snapshot = await source.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        string to;
        // The copies are plain scans and look-ups; compiling them (JIT) costs more than a small run takes.
        await using (var current = new NpgsqlCommand("SET LOCAL jit = off; SELECT pg_current_snapshot()::text", source, snapshot))
        {
            to = (string)(await current.ExecuteScalarAsync(cancellationToken))!;
        }

        var from = Scalar<string?>(warehouse, "SELECT snapshot FROM ingest_watermark WHERE id = 1") ?? NothingSeen;
        var runId = Scalar<long>(warehouse, "SELECT coalesce(max(run_id), 0) + 1 FROM ingest_run");
        var scope = new SourceScope(runId, ArchivedAfter(from), startedAt, WrittenAfter(from));
        var written = await WrittenSinceAsync(source, snapshot, from, cancellationToken);

        // DuckDB's buffer pool would otherwise grow to most of the machine's memory; past this it spills to disk.
        Execute(warehouse, "SET memory_limit = '512MB'");
        Execute(warehouse, "BEGIN TRANSACTION");
        try
        {
            Task<long> Copy(WarehouseTable table, SourceScope? within = null) => CopyAsync(source, warehouse, table, within ?? scope, progress, cancellationToken);
            void Derive(WarehouseTable table, string sql)
            {
                Execute(warehouse, sql);
                AtStage?.Invoke($"derived {table.Name}");
            }

            foreach (var whole in WarehouseSchema.Dimensions.Concat(WarehouseSchema.Programme).Concat(WarehouseSchema.Inspections))
            {
                if (written is not null && !whole.SourceTables.Any(written.Tables.Contains))
                {
                    AtStage?.Invoke($"kept {whole.Name}");
                    continue;
                }

                Execute(warehouse, $"DELETE FROM {whole.Name}");
                await Copy(whole);
            }

            var keyed = new Dictionary<WarehouseTable, long?>();
            foreach (var (table, follows) in WarehouseSchema.Keyed)
            {
                keyed[table] = await CopyKeyedAsync(warehouse, table, follows, written, scope, Copy);
                if (keyed[table] is not null && table == WarehouseSchema.Assets)
                {
                    Derive(table, WarehouseSchema.DeriveAssetTree);
                }
            }

            // The events are counted by day and added, the counts of those written since the last run; all of them when
            // what was written is not known.
            var alarmEvents = WarehouseSchema.AlarmEventDays;
            long alarmEventGroups;
            if (written is null)
            {
                Execute(warehouse, $"DELETE FROM {alarmEvents.Name}");
                alarmEventGroups = await Copy(alarmEvents, Whole(scope));
            }
            else
            {
                Execute(warehouse, WarehouseSchema.CreateStaged(alarmEvents));
                alarmEventGroups = await Copy(WarehouseSchema.Staged(alarmEvents));
                Execute(warehouse, WarehouseSchema.MergeStaged(alarmEvents));
            }

            var workOrders = await Copy(WarehouseSchema.WorkOrders);
            var events = await Copy(WarehouseSchema.Events);
            if (workOrders > 0)
            {
                // In slices of work orders (and, for the repeats, of assets), so that a first run over millions keeps
                // within the memory limit; the rollups take the sums of this run's work orders, and since a work order
                // is archived once, they are added.
                foreach (var slice in Slices(warehouse, runId, "work_order_id", workOrders))
                {
                    Derive(WarehouseSchema.StatusIntervals, WarehouseSchema.DeriveIntervals(runId, _hours, slice));
                    Derive(WarehouseSchema.History, WarehouseSchema.DeriveHistory(runId, slice));
                    Derive(WarehouseSchema.WorkOrderDays, WarehouseSchema.DeriveSums(runId, slice));
                }

                foreach (var assets in Slices(warehouse, runId, "asset_id", workOrders))
                {
                    Derive(WarehouseSchema.RepeatDays, WarehouseSchema.DeriveRepeats(runId, assets));
                }

                AtStage?.Invoke("derived rollups");
            }

            Execute(warehouse, WarehouseSchema.RollupsKept);

            Execute(warehouse, WarehouseSchema.ForgetOpenModes);
            var open = await CopyOpenWorkAsync(warehouse, written, scope, Copy);
            Derive(WarehouseSchema.PmModes, WarehouseSchema.DeriveModes(runId));
            Derive(WarehouseSchema.Dates, WarehouseSchema.FillDates(runId));

            var finishedAt = clock.GetUtcNow().UtcDateTime;
            Execute(warehouse, string.Create(CultureInfo.InvariantCulture, $"""
                INSERT OR REPLACE INTO ingest_watermark (id, snapshot, updated_at) VALUES (1, '{to}', '{finishedAt:yyyy-MM-dd HH:mm:ss.ffffff}');
                INSERT INTO ingest_run (run_id, started_at, finished_at, work_orders, events, open_work_orders, from_snapshot, to_snapshot, lag_seconds)
                VALUES ({runId}, '{startedAt:yyyy-MM-dd HH:mm:ss.ffffff}', '{finishedAt:yyyy-MM-dd HH:mm:ss.ffffff}', {workOrders}, {events}, {open}, '{from}', '{to}', NULL);
                """));
            AtStage?.Invoke("before commit");
            Execute(warehouse, "COMMIT");
            await snapshot.CommitAsync(cancellationToken);
            var result = new IngestResult(runId, workOrders, events, open, from, to, stopwatch.Elapsed)
            {
                AlarmEpisodes = keyed[WarehouseSchema.AlarmEpisodes] ?? 0,
                AlarmEventGroups = alarmEventGroups,
            };
            LogRun(runId, workOrders, events, open, result.AlarmEpisodes, stopwatch.Elapsed.TotalSeconds);
            return result;
        }
        catch
        {
            Execute(warehouse, "ROLLBACK");
            throw;
        }
    }

    /// <summary>
    /// Copies a table whole when a source it does not follow was updated or deleted from, or one it follows deleted from
    /// (no column of a row shows it was deleted), or what was written is not known; else its rows the run may have
    /// changed, merged by key. How many rows it copied; null when it copied nothing. Rows inserted into a source it does
    /// not follow change none of its rows (see <see cref="WarehouseSchema.Keyed"/>).
    /// </summary>
    private async Task<long?> CopyKeyedAsync(
        DuckDBConnection warehouse, WarehouseTable table, IReadOnlyList<string> follows, Written? written, SourceScope scope,
        Func<WarehouseTable, SourceScope?, Task<long>> copy)
    {
        if (written is null || table.SourceTables.Except(follows).Any(written.Rewritten.Contains) || follows.Any(written.Deleted.Contains))
        {
            Execute(warehouse, $"DELETE FROM {table.Name}");
            return await copy(table, Whole(scope));
        }

        if (follows.Any(written.Tables.Contains))
        {
            Execute(warehouse, WarehouseSchema.CreateStaged(table));
            var rows = await copy(WarehouseSchema.Staged(table), null);
            Execute(warehouse, WarehouseSchema.MergeStaged(table));
            AtStage?.Invoke($"merged {table.Name}");
            return rows;
        }

        AtStage?.Invoke($"kept {table.Name}");
        return null;
    }

    /// <summary>
    /// Copies the open work whole when what was written is not known or a work order was deleted; else the open work
    /// written since, merged with what the warehouse held (<see cref="WarehouseSchema.MergeOpenWork"/>). How many work
    /// orders are open.
    /// </summary>
    private async Task<long> CopyOpenWorkAsync(
        DuckDBConnection warehouse, Written? written, SourceScope scope, Func<WarehouseTable, SourceScope?, Task<long>> copy)
    {
        var open = WarehouseSchema.OpenWorkOrders;
        if (written is null || written.Deleted.Contains("work_orders"))
        {
            Execute(warehouse, $"DELETE FROM {open.Name}");
            return await copy(open, Whole(scope));
        }

        Execute(warehouse, WarehouseSchema.CreateStaged(open));
        if (written.Tables.Contains("work_orders"))
        {
            await copy(WarehouseSchema.Staged(open), null);
        }

        Execute(warehouse, WarehouseSchema.MergeOpenWork(scope.Run, scope.SnapshotAt));
        AtStage?.Invoke($"merged {open.Name}");
        return Scalar<long>(warehouse, $"SELECT count(*) FROM {open.Name}");
    }

    // The scope of a copy of every row of a table that is otherwise copied by its changed rows.
    private static SourceScope Whole(SourceScope scope) => scope with { Written = "true" };

    /// <summary>
    /// The ranges of a column's ids among the run's work orders, one for each <see cref="DeriveSlice"/> of them (the ids
    /// of a first run are dense, those of a later run few); null for the whole run when it fits in one.
    /// </summary>
    private IEnumerable<IdRange?> Slices(DuckDBConnection warehouse, long runId, string column, long workOrders)
    {
        if (workOrders <= DeriveSlice)
        {
            return [null];
        }

        using var command = warehouse.CreateCommand();
        command.CommandText = string.Create(CultureInfo.InvariantCulture, $"SELECT min({column}), max({column}) FROM fact_work_order WHERE ingest_run_id = {runId}");
        using var reader = command.ExecuteReader();
        reader.Read();
        if (reader.IsDBNull(0))
        {
            return [];
        }

        var (first, last) = (reader.GetInt64(0), reader.GetInt64(1));
        var count = (workOrders + DeriveSlice - 1) / DeriveSlice;
        return IdRange.Slices(first, last, Math.Max(1, (last - first + count) / count)).Select(r => (IdRange?)r);
    }

    private async Task PurgeChangesAsync(NpgsqlConnection source, CancellationToken cancellationToken)
    {
        try
        {
            await using var purge = new NpgsqlCommand(PurgeChanges, source);
            await purge.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            // A read-only standby: its primary's ingest, if any, keeps the log short; this run reads what is there.
            LogReadOnly();
        }
    }

    /// <summary>
    /// The PostgreSQL tables written by transactions the snapshot <paramref name="from"/> could not see, and those of them
    /// not only inserted into, read in the run's snapshot; null when that is not known (a first run, or a log that no
    /// longer goes back that far): copy all.
    /// </summary>
    private static async Task<Written?> WrittenSinceAsync(NpgsqlConnection source, NpgsqlTransaction snapshot, string from, CancellationToken cancellationToken)
    {
        if (from == NothingSeen)
        {
            return null;
        }

        var sql = string.Format(CultureInfo.InvariantCulture, ChangedSources, from.Split(':')[0], from);
        await using var command = new NpgsqlCommand(sql, source, snapshot);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.GetBoolean(0)
            ? new Written(Set(1), Set(2), Set(3))
            : null;

        HashSet<string> Set(int column) => reader.GetFieldValue<string[]>(column).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The tables written since the last run, those of them updated or deleted from, and those deleted from (or truncated).</summary>
    private sealed record Written(IReadOnlySet<string> Tables, IReadOnlySet<string> Rewritten, IReadOnlySet<string> Deleted);

    private async Task<long> CopyAsync(
        NpgsqlConnection source, DuckDBConnection warehouse, WarehouseTable table, SourceScope scope, IProgress<IngestProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var appender = new ArrowChunkAppender(warehouse, table);
        var batches = CopyToArrow.Start(source, table, scope, cancellationToken);
        await foreach (var batch in batches.ReadAllAsync(cancellationToken))
        {
            using (batch)
            {
                appender.Append(batch);
                if (appender.Rows == batch.Length)
                {
                    AtStage?.Invoke($"first batch of {table.Name}");
                }
            }

            progress?.Report(new IngestProgress(table.Name, appender.Rows));
        }

        appender.Flush();
        progress?.Report(new IngestProgress(table.Name, appender.Rows));
        AtStage?.Invoke($"copied {table.Name}");
        return appender.Rows;
    }

    private static void Execute(DuckDBConnection warehouse, string sql)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static T Scalar<T>(DuckDBConnection warehouse, string sql)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        var value = command.ExecuteScalar();
        return value is null or DBNull ? default! : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), CultureInfo.InvariantCulture);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL is read-only here: the warehouse change log was not trimmed")]
    private partial void LogReadOnly();

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingest run {RunId}: {WorkOrders} archived work orders, {Events} events, {Open} open, {AlarmEpisodes} alarm episodes new or changed, in {Seconds:F1} s")]
    private partial void LogRun(long runId, long workOrders, long events, long open, long alarmEpisodes, double seconds);
}
