using System.Globalization;
using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Kpis;

/// <summary>A figure with how many work orders it rests on; Value is null when there were none ("no data").</summary>
public sealed record KpiValue(double? Value, long Count);

/// <summary>Time to restore in hours: mean, median and 90th percentile.</summary>
public sealed record DurationStats(double? MeanHours, double? MedianHours, double? P90Hours, long Count);

public sealed record Compliance(long Met, long Due)
{
    public double? Rate => Due == 0 ? null : (double)Met / Due;
}

public sealed record SlaCompliance(Compliance Response, Compliance Resolution);

public sealed record AgeBucket(string Bucket, long Count);

public sealed record Backlog(long Open, IReadOnlyList<AgeBucket> Ages);

public sealed record AssetMtbf(long AssetId, string Code, string Name, long Failures, double OperatingHours, double? MtbfHours);

public sealed record KpiSummary(
    KpiValue Volume,
    KpiValue MttaHours,
    DurationStats Mttr,
    SlaCompliance Sla,
    Compliance PmCompliance,
    Compliance PmComplianceWithGrace,
    Backlog Backlog,
    Compliance FirstTimeFix,
    KpiValue PlannedMaintenanceShare,
    KpiValue RepeatFailures,
    KpiValue Satisfaction);

/// <summary>
/// Every KPI of the product, computed in DuckDB from the warehouse with the definitions of PRODUCT.md.
/// <see cref="Definitions"/> states the variant of each, for the UI to show beside the figure.
/// </summary>
public sealed class KpiQueries(DuckDBConnection warehouse)
{
    public const int DefaultRepeatDays = 30;

    public static IReadOnlyDictionary<string, string> Definitions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["volume"] = "Work orders created in the period (open and archived).",
        ["mtta"] = "Mean of (first acknowledged/started − created) over work orders acknowledged in the period.",
        ["mttr"] = "Mean time to restore: (resolved − created) over closed corrective work orders resolved in the period; median and p90 beside it. Wall-clock hours.",
        ["mtbf"] = "Per asset: hours in the period (assumed operating throughout) / corrective work orders with a failure code created in the period.",
        ["sla"] = "Met / due: work orders whose response or resolution deadline fell in the period. Resolution deadlines move by the time spent on hold or awaiting feedback; cancelled work is left out; open work past its deadline counts as missed.",
        ["pm"] = "Preventive work orders due in the period completed (resolved) by their due date / all due; the variant allows 10% of the time between creation and due date.",
        ["backlog"] = "Open work orders at the last ingest, by age since creation.",
        ["ftf"] = "Closed work orders resolved in the period with no rejection (reopen) and no reassignment / all of them.",
        ["planned"] = "Hours in progress on preventive or forecast-proposed work / hours in progress on all corrective and preventive work, by when the time started.",
        ["repeat"] = "Corrective work orders created in the period on an asset with the same failure code within N days (default 30) after an earlier one.",
        ["satisfaction"] = "Mean requester rating (1-5) of work orders approved (closed) in the period.",
    };

    // Open and archived work orders side by side, with the columns both have.
    private const string AllWorkOrders = """
        (SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, created_at, acknowledged_at
         FROM fact_work_order
         UNION ALL
         SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, created_at, acknowledged_at
         FROM open_work_order)
        """;

    public KpiSummary Summary(KpiFilter filter, int repeatDays = DefaultRepeatDays) => new(
        Volume(filter),
        Mtta(filter),
        Mttr(filter),
        Sla(filter),
        PmCompliance(filter, grace: false),
        PmCompliance(filter, grace: true),
        Backlog(filter),
        FirstTimeFix(filter),
        PlannedMaintenanceShare(filter),
        RepeatFailures(filter, repeatDays),
        Satisfaction(filter));

    public KpiValue Volume(KpiFilter filter) => Value(filter, $"""
        SELECT NULL, count(*) FROM {AllWorkOrders} w
        WHERE w.created_at >= $from AND w.created_at < $to AND {filter.Where("w")}
        """, countIsValue: true);

    public KpiValue Mtta(KpiFilter filter) => Value(filter, $"""
        SELECT avg(date_diff('second', w.created_at, w.acknowledged_at)) / 3600.0, count(*) FROM {AllWorkOrders} w
        WHERE w.acknowledged_at >= $from AND w.acknowledged_at < $to AND {filter.Where("w")}
        """);

    public DurationStats Mttr(KpiFilter filter)
    {
        using var command = Command(filter, $"""
            SELECT avg(s) / 3600.0, median(s) / 3600.0, quantile_cont(s, 0.9) / 3600.0, count(*)
            FROM (SELECT date_diff('second', w.created_at, w.resolved_at) AS s FROM fact_work_order w
                  WHERE w.status = 'closed' AND w.work_type = 'corrective' AND w.resolved_at >= $from AND w.resolved_at < $to AND {filter.Where("w")})
            """);
        using var reader = command.ExecuteReader();
        reader.Read();
        return new DurationStats(Nullable(reader, 0), Nullable(reader, 1), Nullable(reader, 2), reader.GetInt64(3));
    }

    public SlaCompliance Sla(KpiFilter filter)
    {
        var response = Ratio(filter, $"""
            SELECT count(*) FILTER (WHERE w.acknowledged_at IS NOT NULL AND w.acknowledged_at <= w.response_due_at), count(*)
            FROM (SELECT department_id, asset_id, work_type, priority, acknowledged_at, response_due_at FROM fact_work_order WHERE status <> 'cancelled'
                  UNION ALL
                  SELECT department_id, asset_id, work_type, priority, acknowledged_at, response_due_at FROM open_work_order
                  WHERE acknowledged_at IS NOT NULL OR response_due_at < snapshot_at) w
            WHERE w.response_due_at >= $from AND w.response_due_at < $to AND {filter.Where("w")}
            """);
        var resolution = Ratio(filter, $"""
            WITH paused AS (SELECT work_order_id, sum(seconds) AS seconds FROM fact_status_interval WHERE paused GROUP BY work_order_id)
            SELECT count(*) FILTER (WHERE w.met), count(*)
            FROM (SELECT f.department_id, f.asset_id, f.work_type, f.priority, f.resolution_due_at,
                         f.resolved_at <= f.resolution_due_at + to_seconds(coalesce(p.seconds, 0)) AS met
                  FROM fact_work_order f LEFT JOIN paused p USING (work_order_id) WHERE f.status = 'closed'
                  UNION ALL
                  SELECT department_id, asset_id, work_type, priority, resolution_due_at, false FROM open_work_order
                  WHERE resolution_due_at < snapshot_at) w
            WHERE w.resolution_due_at >= $from AND w.resolution_due_at < $to AND {filter.Where("w")}
            """);
        return new SlaCompliance(response, resolution);
    }

    public Compliance PmCompliance(KpiFilter filter, bool grace) => Ratio(filter, $"""
        SELECT count(*) FILTER (WHERE w.resolved_at IS NOT NULL AND w.resolved_at <= w.due_at
                                    + {(grace ? "to_seconds(CAST(0.1 * date_diff('second', w.created_at, w.due_at) AS BIGINT))" : "INTERVAL 0 SECOND")}), count(*)
        FROM (SELECT department_id, asset_id, work_type, priority, created_at, due_at, resolved_at FROM fact_work_order
              WHERE status <> 'cancelled' AND work_type = 'preventive'
              UNION ALL
              SELECT department_id, asset_id, work_type, priority, created_at, due_at, NULL FROM open_work_order WHERE work_type = 'preventive') w
        WHERE w.due_at >= $from AND w.due_at < $to AND {filter.Where("w")}
        """);

    public Backlog Backlog(KpiFilter filter)
    {
        using var command = Command(filter, $"""
            SELECT bucket, count(*) FROM (
                SELECT CASE WHEN age <= 7 THEN '0-7 days' WHEN age <= 30 THEN '8-30 days' WHEN age <= 90 THEN '31-90 days' ELSE 'over 90 days' END AS bucket
                FROM (SELECT date_diff('day', w.created_at, w.snapshot_at) AS age, w.* FROM open_work_order w) w
                WHERE {filter.Where("w")})
            GROUP BY bucket
            """);
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        string[] order = ["0-7 days", "8-30 days", "31-90 days", "over 90 days"];
        return new Backlog(counts.Values.Sum(), order.Select(b => new AgeBucket(b, counts.GetValueOrDefault(b))).ToList());
    }

    public Compliance FirstTimeFix(KpiFilter filter) => Ratio(filter, $"""
        WITH history AS (
            SELECT work_order_id, count(*) FILTER (WHERE kind = 'reject') AS rejects, count(*) FILTER (WHERE kind IN ('assign', 'auto_assigned', 'claim', 'reassign')) AS assigns
            FROM fact_event GROUP BY work_order_id)
        SELECT count(*) FILTER (WHERE coalesce(h.rejects, 0) = 0 AND coalesce(h.assigns, 0) <= 1), count(*)
        FROM fact_work_order w LEFT JOIN history h USING (work_order_id)
        WHERE w.status = 'closed' AND w.resolved_at >= $from AND w.resolved_at < $to AND {filter.Where("w")}
        """);

    public KpiValue PlannedMaintenanceShare(KpiFilter filter)
    {
        var hours = Ratio(filter, $"""
            SELECT coalesce(sum(i.seconds) FILTER (WHERE w.work_type = 'preventive' OR w.source = 'forecast'), 0)::BIGINT, coalesce(sum(i.seconds), 0)::BIGINT
            FROM fact_status_interval i JOIN fact_work_order w USING (work_order_id)
            WHERE i.status = 'in_progress' AND w.work_type IN ('corrective', 'preventive')
              AND i.started_at >= $from AND i.started_at < $to AND {filter.Where("w")}
            """);
        return new KpiValue(hours.Rate, hours.Due / 3600);
    }

    public KpiValue RepeatFailures(KpiFilter filter, int withinDays = DefaultRepeatDays) => Value(filter, $"""
        SELECT NULL, count(*) FROM (
            SELECT w.*, lag(w.created_at) OVER (PARTITION BY w.asset_id, w.failure_code ORDER BY w.created_at, w.work_order_id) AS previous
            FROM {AllWorkOrders} w
            WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL) w
        WHERE w.created_at >= $from AND w.created_at < $to AND w.previous >= w.created_at - to_days({withinDays.ToString(CultureInfo.InvariantCulture)})
          AND {filter.Where("w")}
        """, countIsValue: true);

    public KpiValue Satisfaction(KpiFilter filter) => Value(filter, $"""
        SELECT avg(w.rating), count(*) FROM fact_work_order w
        WHERE w.status = 'closed' AND w.rating IS NOT NULL AND w.closed_at >= $from AND w.closed_at < $to AND {filter.Where("w")}
        """);

    /// <summary>MTBF of each asset with failures in the period, most failures first.</summary>
    public IReadOnlyList<AssetMtbf> MtbfByAsset(KpiFilter filter, int take = 50)
    {
        using var command = Command(filter, $"""
            SELECT a.asset_id, a.code, a.name, count(*) AS failures
            FROM {AllWorkOrders} w JOIN dim_asset a ON a.asset_id = w.asset_id
            WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.created_at >= $from AND w.created_at < $to AND {filter.Where("w")}
            GROUP BY ALL ORDER BY failures DESC, a.code LIMIT {Math.Clamp(take, 1, 1000).ToString(CultureInfo.InvariantCulture)}
            """);
        using var reader = command.ExecuteReader();
        var rows = new List<AssetMtbf>();
        while (reader.Read())
        {
            var failures = reader.GetInt64(3);
            rows.Add(new AssetMtbf(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), failures, filter.Hours, filter.Hours / failures));
        }

        return rows;
    }

    private KpiValue Value(KpiFilter filter, string sql, bool countIsValue = false)
    {
        using var command = Command(filter, sql);
        using var reader = command.ExecuteReader();
        reader.Read();
        var count = reader.GetInt64(1);
        return new KpiValue(countIsValue ? count : Nullable(reader, 0), count);
    }

    private Compliance Ratio(KpiFilter filter, string sql)
    {
        using var command = Command(filter, sql);
        using var reader = command.ExecuteReader();
        reader.Read();
        return new Compliance(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
    }

    private DuckDBCommand Command(KpiFilter filter, string sql)
    {
        var command = warehouse.CreateCommand();
        command.CommandText = sql;
        filter.Bind(command);
        return command;
    }

    private static double? Nullable(System.Data.Common.DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToDouble(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
