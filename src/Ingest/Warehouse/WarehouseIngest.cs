using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using Npgsql;
using WorkOrders.Analytics.Warehouse;
using static WorkOrders.Ingest.Warehouse.ColumnKind;

namespace WorkOrders.Ingest.Warehouse;

public sealed record IngestResult(long RunId, long WorkOrders, long Events, long OpenWorkOrders, string FromSnapshot, string ToSnapshot, TimeSpan Duration);

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

    // Everything below the previous snapshot's xmin was visible to it; the index narrows to that, the function does the rest.
    private const string ArchivedSince = "w.archived_xid >= '{0}'::xid8 AND NOT pg_visible_in_snapshot(w.archived_xid, '{1}'::pg_snapshot)";

    /// <summary>A snapshot that sees no transaction: the watermark of an empty warehouse.</summary>
    internal const string NothingSeen = "1:1:";

    private static readonly CopySpec[] Dimensions =
    [
        new("dim_department", "SELECT id, name FROM departments", [new("department_id", BigInt), new("name", Text)]),
        new("dim_user", "SELECT id, user_name, display_name, role, department_id, active FROM users",
            [new("user_id", BigInt), new("user_name", Text), new("display_name", Text), new("role", Text), new("department_id", BigInt), new("active", Bool)]),
        new("dim_asset", """
            WITH RECURSIVE tree AS (
                SELECT id, id AS site_id, code AS path FROM assets WHERE parent_id IS NULL
                UNION ALL
                SELECT a.id, t.site_id, t.path || ' > ' || a.code FROM assets a JOIN tree t ON a.parent_id = t.id)
            SELECT a.id, a.code, a.name, a.kind, a.parent_id, a.asset_type, a.location, a.criticality, a.installed_on, a.lifecycle, t.site_id, t.path
            FROM assets a JOIN tree t ON t.id = a.id
            """,
            [new("asset_id", BigInt), new("code", Text), new("name", Text), new("kind", Text), new("parent_id", BigInt), new("asset_type", Text), new("location", Text),
             new("criticality", SmallInt), new("installed_on", Date), new("lifecycle", Text), new("site_id", BigInt), new("path", Text)]),
        new("dim_template", "SELECT id, name, work_type, default_priority, department_id FROM templates",
            [new("template_id", BigInt), new("name", Text), new("work_type", Text), new("default_priority", SmallInt), new("department_id", BigInt)]),
    ];

    private static readonly ColumnSpec[] WorkOrderColumns =
    [
        new("work_order_id", BigInt), new("number", Text), new("template_id", BigInt), new("work_type", Text), new("title", Text), new("priority", SmallInt),
        new("status", Text), new("requester_id", BigInt), new("asset_id", BigInt), new("department_id", BigInt), new("assignee_id", BigInt), new("source", Text),
        new("failure_code", Text), new("created_at", Timestamp), new("acknowledged_at", Timestamp), new("started_at", Timestamp), new("resolved_at", Timestamp),
        new("closed_at", Timestamp), new("due_at", Timestamp), new("response_due_at", Timestamp), new("resolution_due_at", Timestamp), new("rating", SmallInt),
        new("ingest_run_id", BigInt),
    ];

    private static readonly ColumnSpec[] EventColumns =
    [
        new("event_id", BigInt), new("work_order_id", BigInt), new("occurred_at", Timestamp), new("actor_id", BigInt), new("kind", Text),
        new("from_status", Text), new("to_status", Text), new("assignee_id", BigInt), new("ingest_run_id", BigInt),
    ];

    private static readonly ColumnSpec[] OpenColumns =
    [
        new("work_order_id", BigInt), new("number", Text), new("template_id", BigInt), new("work_type", Text), new("title", Text), new("priority", SmallInt),
        new("status", Text), new("asset_id", BigInt), new("department_id", BigInt), new("assignee_id", BigInt), new("source", Text),
        new("failure_code", Text), new("created_at", Timestamp),
        new("acknowledged_at", Timestamp), new("due_at", Timestamp), new("response_due_at", Timestamp), new("resolution_due_at", Timestamp),
        new("snapshot_at", Timestamp),
    ];

    // Spans between status changes, in wall-clock and business seconds; on hold and awaiting feedback stop the SLA clock.
    private const string DeriveIntervals = """
        INSERT INTO fact_status_interval
        SELECT work_order_id, to_status, occurred_at, ended_at, date_diff('second', occurred_at, ended_at),
               business_clock((ended_at AT TIME ZONE 'UTC') AT TIME ZONE '{1}', {2}, {3})
                   - business_clock((occurred_at AT TIME ZONE 'UTC') AT TIME ZONE '{1}', {2}, {3}),
               to_status IN ('on_hold', 'awaiting_feedback'), assignee
        FROM (
            SELECT work_order_id, to_status, occurred_at,
                   lead(occurred_at) OVER (PARTITION BY work_order_id ORDER BY event_id) AS ended_at,
                   last_value(assignee_id IGNORE NULLS) OVER (PARTITION BY work_order_id ORDER BY event_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS assignee
            FROM fact_event
            WHERE ingest_run_id = {0} AND to_status IS NOT NULL)
        WHERE ended_at IS NOT NULL
        """;

    private const string FillDates = """
        DELETE FROM dim_date;
        INSERT INTO dim_date
        SELECT d::DATE, year(d), quarter(d), month(d), weekofyear(d), isodow(d), isodow(d) >= 6
        FROM range(
            (SELECT coalesce(least(min(created_at), (SELECT min(created_at) FROM open_work_order)), current_date)::DATE FROM fact_work_order)::TIMESTAMP,
            (current_date + INTERVAL 400 DAY)::TIMESTAMP,
            INTERVAL 1 DAY) r(d);
        """;

    /// <summary>The archived work orders whose archive transaction lies in the range.</summary>
    internal static CopySpec WorkOrderFacts(string range, string run) => new("fact_work_order", $"""
        SELECT w.id, w.number, w.template_id, w.work_type, w.title, w.priority, w.status, w.requester_id, w.asset_id, w.department_id,
               w.assignee_id, w.source, CASE WHEN w.work_type = 'corrective' THEN w.custom_fields->>'fault_code' END,
               w.created_at, w.acknowledged_at, w.started_at, w.resolved_at, w.closed_at, w.due_at, w.response_due_at, w.resolution_due_at,
               w.rating, {run}::bigint
        FROM work_orders w WHERE {range}
        """, WorkOrderColumns);

    /// <summary>The history of those work orders.</summary>
    internal static CopySpec EventFacts(string range, string run) => new("fact_event", $"""
        SELECT e.id, e.work_order_id, e.occurred_at, e.actor_id, e.kind, e.from_status, e.to_status,
               (e.payload->>'assigneeId')::bigint, {run}::bigint
        FROM work_order_events e JOIN work_orders w ON w.id = e.work_order_id
        WHERE {range}
        """, EventColumns);

    /// <summary>The work orders archived by transactions the given snapshot could not see.</summary>
    internal static string ArchivedAfter(string snapshot) =>
        string.Format(CultureInfo.InvariantCulture, ArchivedSince, ulong.Parse(snapshot.Split(':')[0], CultureInfo.InvariantCulture), snapshot);

    public async Task<IngestResult> RunAsync(DuckDBConnection warehouse, IProgress<IngestProgress>? progress, CancellationToken cancellationToken)
    {
        if (_hours.Problem() is { } problem)
        {
            throw new InvalidOperationException($"Warehouse business hours: {problem}.");
        }

        var stopwatch = Stopwatch.StartNew();
        var startedAt = clock.GetUtcNow().UtcDateTime;
        await using var source = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var snapshot = await source.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        string to;
        await using (var current = new NpgsqlCommand("SELECT pg_current_snapshot()::text", source, snapshot))
        {
            to = (string)(await current.ExecuteScalarAsync(cancellationToken))!;
        }

        var from = Scalar<string?>(warehouse, "SELECT snapshot FROM ingest_watermark WHERE id = 1") ?? NothingSeen;
        var runId = Scalar<long>(warehouse, "SELECT coalesce(max(run_id), 0) + 1 FROM ingest_run");
        var range = ArchivedAfter(from);
        var run = runId.ToString(CultureInfo.InvariantCulture);

        // DuckDB's buffer pool would otherwise grow to most of the machine's memory; past this it spills to disk.
        Execute(warehouse, "SET memory_limit = '512MB'");
        Execute(warehouse, "BEGIN TRANSACTION");
        try
        {
            foreach (var dimension in Dimensions)
            {
                Execute(warehouse, $"DELETE FROM {dimension.Table}");
                await CopyAsync(source, warehouse, dimension, progress, cancellationToken);
            }

            var workOrders = await CopyAsync(source, warehouse, WorkOrderFacts(range, run), progress, cancellationToken);
            var events = await CopyAsync(source, warehouse, EventFacts(range, run), progress, cancellationToken);
            Execute(warehouse, string.Format(
                CultureInfo.InvariantCulture, DeriveIntervals, runId, _hours.TimeZone.Replace("'", "''", StringComparison.Ordinal),
                (long)_hours.Start.TotalSeconds, (long)_hours.End.TotalSeconds));
            Execute(warehouse, string.Format(CultureInfo.InvariantCulture, WarehouseSchema.DeriveHistory, runId));

            Execute(warehouse, "DELETE FROM open_work_order");
            var snapshotAt = startedAt.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
            var open = await CopyAsync(source, warehouse, new CopySpec("open_work_order", $"""
                SELECT w.id, w.number, w.template_id, w.work_type, w.title, w.priority, w.status, w.asset_id, w.department_id, w.assignee_id,
                       w.source, CASE WHEN w.work_type = 'corrective' THEN w.custom_fields->>'fault_code' END, w.created_at, w.acknowledged_at, w.due_at, w.response_due_at, w.resolution_due_at, '{snapshotAt}+00'::timestamptz
                FROM work_orders w WHERE w.status NOT IN ('closed', 'cancelled')
                """, OpenColumns), progress, cancellationToken);

            Execute(warehouse, FillDates);
            var finishedAt = clock.GetUtcNow().UtcDateTime;
            Execute(warehouse, string.Create(CultureInfo.InvariantCulture, $"""
                INSERT OR REPLACE INTO ingest_watermark VALUES (1, '{to}', '{finishedAt:yyyy-MM-dd HH:mm:ss.ffffff}');
                INSERT INTO ingest_run VALUES ({runId}, '{startedAt:yyyy-MM-dd HH:mm:ss.ffffff}', '{finishedAt:yyyy-MM-dd HH:mm:ss.ffffff}',
                    {workOrders}, {events}, {open}, '{from}', '{to}', NULL);
                """));
            Execute(warehouse, "COMMIT");
            await snapshot.CommitAsync(cancellationToken);
            var result = new IngestResult(runId, workOrders, events, open, from, to, stopwatch.Elapsed);
            LogRun(runId, workOrders, events, open, stopwatch.Elapsed.TotalSeconds);
            return result;
        }
        catch
        {
            Execute(warehouse, "ROLLBACK");
            throw;
        }
    }

    private static async Task<long> CopyAsync(
        NpgsqlConnection source, DuckDBConnection warehouse, CopySpec spec, IProgress<IngestProgress>? progress, CancellationToken cancellationToken)
    {
        using var appender = new ArrowChunkAppender(warehouse, spec.Table, spec.Schema);
        var batches = CopyToArrow.Start(source, spec, cancellationToken);
        await foreach (var batch in batches.ReadAllAsync(cancellationToken))
        {
            using (batch)
            {
                appender.Append(batch);
            }

            progress?.Report(new IngestProgress(spec.Table, appender.Rows));
        }

        appender.Flush();
        progress?.Report(new IngestProgress(spec.Table, appender.Rows));
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingest run {RunId}: {WorkOrders} archived work orders, {Events} events, {Open} open, in {Seconds:F1} s")]
    private partial void LogRun(long runId, long workOrders, long events, long open, double seconds);
}
