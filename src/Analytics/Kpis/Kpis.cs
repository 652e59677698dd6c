using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Warehouse;

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

/// <summary>The KPIs of the period that starts on <see cref="From"/> (a calendar month in a monthly trend).</summary>
public sealed record PeriodSummary(DateOnly From, KpiSummary Kpis);

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
/// <see cref="Definitions"/> states the variant of each, for the UI to show beside the figure. A statement does not
/// start once the token has fired (see <see cref="WarehouseStatements"/>).
/// </summary>
public sealed class KpiQueries(DuckDBConnection warehouse, CancellationToken cancellationToken = default)
{
    private enum Periods
    {
        Whole,
        Monthly,
    }

    public const int DefaultRepeatDays = 30;

    private bool? _kept;

    /// <summary>
    /// Whether a question reads the rollups when its filter allows (<see cref="KpiFilter.CarriedByRollups"/>); null, the
    /// default: when the file's rollups are kept. False asks the facts, as a test does to compare both answers.
    /// </summary>
    public bool? Rollups { get; init; }

    private bool Rolled(KpiFilter filter, bool byAsset = false) =>
        filter.CarriedByRollups(byAsset) && (Rollups ?? (_kept ??= WarehouseRollups.Kept(warehouse, cancellationToken)));

    // The archived part of a question from the rollup of one measure: rows of (period, figures...), for the caller to
    // put beside the open part from the open work and sum per period.
    private static string Archived(string measure, Periods periods, string figures, KpiFilter filter) => $"""
        SELECT {Period("w.day::TIMESTAMP", periods)} AS period, {figures} FROM rollup_work_order_day w
        WHERE w.measure = '{measure}' AND w.day >= $from AND w.day < $to AND {filter.Where("w")}
        """;

    public static IReadOnlyDictionary<string, string> Definitions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["volume"] = "Work orders created in the period (open and archived).",
        ["mtta"] = "Mean of (first acknowledged/started − created) over work orders acknowledged in the period.",
        ["mttr"] = "Mean time to restore: (resolved − created) over closed corrective work orders resolved in the period; median and p90 beside it. Wall-clock hours.",
        ["mtbf"] = "Per asset: hours in the period (assumed operating throughout) / corrective work orders with a failure code created in the period.",
        ["sla"] = "Met / due: work orders whose response or resolution deadline fell in the period. Resolution deadlines move by the time spent on hold or awaiting feedback; cancelled work is left out; open work past its deadline counts as missed.",
        ["pm"] = "PM occurrences (generated or missed) and hand-made preventive work orders due in the period, by the due date as a planner moved it, completed (resolved) by it / all due; the variant allows 10% of the plan's interval (of the time between creation and due date without one).",
        ["backlog"] = "Open work orders at the last ingest, by age since creation.",
        ["ftf"] = "Closed work orders resolved in the period with no rejection (reopen) and no reassignment / all of them.",
        ["planned"] = "Hours in progress on preventive or forecast-proposed work / hours in progress on all corrective and preventive work, by when the time started.",
        ["repeat"] = "Corrective work orders created in the period on an asset with the same failure code within N days (default 30) after an earlier one.",
        ["satisfaction"] = "Mean requester rating (1-5) of work orders approved (closed) in the period.",
    };

    // Open and archived work orders side by side, with the columns both have.
    private const string AllWorkOrders = """
        (SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, category, custom_fields, created_at, acknowledged_at
         FROM fact_work_order
         UNION ALL
         SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, category, custom_fields, created_at, acknowledged_at
         FROM open_work_order)
        """;

    public KpiSummary Summary(KpiFilter filter, int repeatDays = DefaultRepeatDays) =>
        Summaries(filter, Periods.Whole, repeatDays)[0].Kpis;

    /// <summary>
    /// The summary of each calendar month of the filter's period, every KPI in one grouped query rather than one
    /// query per month. The backlog is the open work at the last ingest, so it is the same in every month.
    /// </summary>
    public IReadOnlyList<PeriodSummary> Monthly(KpiFilter filter, int repeatDays = DefaultRepeatDays) =>
        Summaries(filter, Periods.Monthly, repeatDays);

    public KpiValue Volume(KpiFilter filter) => Single(VolumeBy(filter, Periods.Whole), filter, NoneCounted);

    public KpiValue Mtta(KpiFilter filter) => Single(MttaBy(filter, Periods.Whole), filter, NoValue);

    public DurationStats Mttr(KpiFilter filter) => Single(MttrBy(filter, Periods.Whole), filter, NoDurations);

    public SlaCompliance Sla(KpiFilter filter) => new(
        Single(SlaResponseBy(filter, Periods.Whole), filter, NoneDue),
        Single(SlaResolutionBy(filter, Periods.Whole), filter, NoneDue));

    public Compliance PmCompliance(KpiFilter filter, bool grace) => Single(PmComplianceBy(filter, grace, Periods.Whole), filter, NoneDue);

    public Compliance FirstTimeFix(KpiFilter filter) => Single(FirstTimeFixBy(filter, Periods.Whole), filter, NoneDue);

    public KpiValue PlannedMaintenanceShare(KpiFilter filter) => Single(PlannedMaintenanceShareBy(filter, Periods.Whole), filter, NoValue);

    public KpiValue RepeatFailures(KpiFilter filter, int withinDays = DefaultRepeatDays) =>
        Single(RepeatFailuresBy(filter, withinDays, Periods.Whole), filter, NoneCounted);

    public KpiValue Satisfaction(KpiFilter filter) => Single(SatisfactionBy(filter, Periods.Whole), filter, NoValue);

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

    private static readonly KpiValue NoValue = new(null, 0);

    // A count with nothing to count is zero, not "no data".
    private static readonly KpiValue NoneCounted = new(0, 0);
    private static readonly DurationStats NoDurations = new(null, null, null, 0);
    private static readonly Compliance NoneDue = new(0, 0);

    private IReadOnlyList<PeriodSummary> Summaries(KpiFilter filter, Periods periods, int repeatDays)
    {
        var volume = VolumeBy(filter, periods);
        var mtta = MttaBy(filter, periods);
        var mttr = MttrBy(filter, periods);
        var response = SlaResponseBy(filter, periods);
        var resolution = SlaResolutionBy(filter, periods);
        var pm = PmComplianceBy(filter, grace: false, periods);
        var pmGrace = PmComplianceBy(filter, grace: true, periods);
        var backlog = Backlog(filter);
        var ftf = FirstTimeFixBy(filter, periods);
        var planned = PlannedMaintenanceShareBy(filter, periods);
        var repeat = RepeatFailuresBy(filter, repeatDays, periods);
        var satisfaction = SatisfactionBy(filter, periods);
        return [.. Starts(filter, periods).Select(start => new PeriodSummary(start, new KpiSummary(
            volume.GetValueOrDefault(start, NoneCounted),
            mtta.GetValueOrDefault(start, NoValue),
            mttr.GetValueOrDefault(start, NoDurations),
            new SlaCompliance(response.GetValueOrDefault(start, NoneDue), resolution.GetValueOrDefault(start, NoneDue)),
            pm.GetValueOrDefault(start, NoneDue),
            pmGrace.GetValueOrDefault(start, NoneDue),
            backlog,
            ftf.GetValueOrDefault(start, NoneDue),
            planned.GetValueOrDefault(start, NoValue),
            repeat.GetValueOrDefault(start, NoneCounted),
            satisfaction.GetValueOrDefault(start, NoValue))))];
    }

    private static IEnumerable<DateOnly> Starts(KpiFilter filter, Periods periods)
    {
        if (periods == Periods.Whole)
        {
            yield return filter.From;
            yield break;
        }

        yield return filter.From;
        for (var month = new DateOnly(filter.From.Year, filter.From.Month, 1).AddMonths(1); month < filter.To; month = month.AddMonths(1))
        {
            yield return month;
        }
    }

    // The period a row counts in, by the moment that places it there: the whole filter period, or its calendar month
    // (the first month starts at the filter's From when that is not the first of a month).
    private static string Period(string anchor, Periods periods) => periods == Periods.Whole
        ? "$from::DATE"
        : $"greatest(date_trunc('month', {anchor}), $from)::DATE";

    private Dictionary<DateOnly, KpiValue> VolumeBy(KpiFilter filter, Periods periods) => Rolled(filter) ? Values(filter, $"""
        SELECT period, NULL, sum(n)::BIGINT FROM (
            {Archived("created", periods, "w.n", filter)}
            UNION ALL
            SELECT {Period("w.created_at", periods)}, 1 FROM open_work_order w WHERE w.created_at >= $from AND w.created_at < $to AND {filter.Where("w")})
        GROUP BY period
        """, countIsValue: true) : Values(filter, $"""
        SELECT {Period("w.created_at", periods)} AS period, NULL, count(*) FROM {AllWorkOrders} w
        WHERE w.created_at >= $from AND w.created_at < $to AND {filter.Where("w")}
        GROUP BY period
        """, countIsValue: true);

    private Dictionary<DateOnly, KpiValue> MttaBy(KpiFilter filter, Periods periods) => Rolled(filter) ? Values(filter, $"""
        SELECT period, sum(s)::DOUBLE / sum(n) / 3600.0, sum(n)::BIGINT FROM (
            {Archived("acknowledged", periods, "w.seconds AS s, w.n", filter)}
            UNION ALL
            SELECT {Period("w.acknowledged_at", periods)}, date_diff('second', w.created_at, w.acknowledged_at), 1 FROM open_work_order w
            WHERE w.acknowledged_at >= $from AND w.acknowledged_at < $to AND {filter.Where("w")})
        GROUP BY period
        """) : Values(filter, $"""
        SELECT {Period("w.acknowledged_at", periods)} AS period, avg(date_diff('second', w.created_at, w.acknowledged_at)) / 3600.0, count(*)
        FROM {AllWorkOrders} w
        WHERE w.acknowledged_at >= $from AND w.acknowledged_at < $to AND {filter.Where("w")}
        GROUP BY period
        """);

    /// <summary>
    /// The median and the 90th percentile of seconds, in hours, as a list of two: one sort of the values for both (two
    /// aggregates sorted them twice, which at ten million work orders took most of the monthly trend's time).
    /// </summary>
    internal static string MedianAndP90(string seconds) => $"list_transform(quantile_cont({seconds}, [0.5, 0.9]), x -> x / 3600.0)";

    private Dictionary<DateOnly, DurationStats> MttrBy(KpiFilter filter, Periods periods) => Rows(filter, $"""
        SELECT period, mean, q[1], q[2], n FROM (
            SELECT period, avg(s) / 3600.0 AS mean, {MedianAndP90("s")} AS q, count(*) AS n
            FROM (SELECT {Period("w.resolved_at", periods)} AS period, date_diff('second', w.created_at, w.resolved_at) AS s FROM fact_work_order w
                  WHERE w.status = 'closed' AND w.work_type = 'corrective' AND w.resolved_at >= $from AND w.resolved_at < $to AND {filter.Where("w")})
            GROUP BY period)
        """, reader => new DurationStats(Nullable(reader, 1), Nullable(reader, 2), Nullable(reader, 3), reader.GetInt64(4)));

    private Dictionary<DateOnly, Compliance> SlaResponseBy(KpiFilter filter, Periods periods) => Rolled(filter) ? Ratios(filter, $"""
        SELECT period, sum(met)::BIGINT, sum(n)::BIGINT FROM (
            {Archived("response_due", periods, "w.met, w.n", filter)}
            UNION ALL
            SELECT {Period("w.response_due_at", periods)}, (w.acknowledged_at IS NOT NULL AND w.acknowledged_at <= w.response_due_at)::BIGINT, 1
            FROM open_work_order w
            WHERE (w.acknowledged_at IS NOT NULL OR w.response_due_at < w.snapshot_at) AND w.response_due_at >= $from AND w.response_due_at < $to
              AND {filter.Where("w")})
        GROUP BY period
        """) : Ratios(filter, $"""
        SELECT {Period("w.response_due_at", periods)} AS period,
               count(*) FILTER (WHERE w.acknowledged_at IS NOT NULL AND w.acknowledged_at <= w.response_due_at), count(*)
        FROM (SELECT department_id, asset_id, work_type, priority, source, category, custom_fields, acknowledged_at, response_due_at
              FROM fact_work_order WHERE status <> 'cancelled'
              UNION ALL
              SELECT department_id, asset_id, work_type, priority, source, category, custom_fields, acknowledged_at, response_due_at FROM open_work_order
              WHERE acknowledged_at IS NOT NULL OR response_due_at < snapshot_at) w
        WHERE w.response_due_at >= $from AND w.response_due_at < $to AND {filter.Where("w")}
        GROUP BY period
        """);

    private Dictionary<DateOnly, Compliance> SlaResolutionBy(KpiFilter filter, Periods periods) => Rolled(filter) ? Ratios(filter, $"""
        SELECT period, sum(met)::BIGINT, sum(n)::BIGINT FROM (
            {Archived("resolution_due", periods, "w.met, w.n", filter)}
            UNION ALL
            SELECT {Period("w.resolution_due_at", periods)}, 0, 1 FROM open_work_order w
            WHERE w.resolution_due_at < w.snapshot_at AND w.resolution_due_at >= $from AND w.resolution_due_at < $to AND {filter.Where("w")})
        GROUP BY period
        """) : Ratios(filter, $"""
        SELECT {Period("w.resolution_due_at", periods)} AS period, count(*) FILTER (WHERE w.met), count(*)
        FROM (SELECT f.department_id, f.asset_id, f.work_type, f.priority, f.source, f.category, f.custom_fields, f.resolution_due_at,
                     f.resolved_at <= f.resolution_due_at + to_seconds(coalesce(h.paused_seconds, 0)) AS met
              FROM fact_work_order f LEFT JOIN fact_work_order_history h USING (work_order_id) WHERE f.status = 'closed'
              UNION ALL
              SELECT department_id, asset_id, work_type, priority, source, category, custom_fields, resolution_due_at, false FROM open_work_order
              WHERE resolution_due_at < snapshot_at) w
        WHERE w.resolution_due_at >= $from AND w.resolution_due_at < $to AND {filter.Where("w")}
        GROUP BY period
        """);

    // Generated and missed PM occurrences count against their due date as a planner moved it; preventive work orders
    // made by hand (no occurrence behind them) against their own due date.
    private Dictionary<DateOnly, Compliance> PmComplianceBy(KpiFilter filter, bool grace, Periods periods) => Ratios(filter, $"""
        SELECT {Period("w.due_at", periods)} AS period,
               count(*) FILTER (WHERE w.resolved_at IS NOT NULL AND epoch(w.resolved_at) <= epoch(w.due_at)
                                    + {(grace ? "0.1 * coalesce(w.interval_seconds, epoch(w.due_at) - epoch(w.created_at))" : "0")}), count(*)
        FROM (SELECT department_id, asset_id, work_type, priority, source, category, custom_fields, created_at, due_at, resolved_at, NULL::DOUBLE AS interval_seconds
              FROM fact_work_order f
              WHERE status <> 'cancelled' AND work_type = 'preventive' AND NOT EXISTS (SELECT 1 FROM fact_pm_occurrence o WHERE o.work_order_id = f.work_order_id)
              UNION ALL
              SELECT department_id, asset_id, work_type, priority, source, category, custom_fields, created_at, due_at, NULL, NULL FROM open_work_order f
              WHERE work_type = 'preventive' AND NOT EXISTS (SELECT 1 FROM fact_pm_occurrence o WHERE o.work_order_id = f.work_order_id)
              UNION ALL
              SELECT o.department_id, o.asset_id, 'preventive', o.priority, 'pm', x.category, x.custom_fields, o.created_at, coalesce(o.moved_to, o.due_at),
                     o.resolved_at, p.interval_days * 86400
              FROM fact_pm_occurrence o JOIN dim_pm_plan p USING (plan_id) LEFT JOIN {filter.WorkOrderFieldsFor(category: true)} x USING (work_order_id)
              WHERE o.status IN ('generated', 'missed') AND coalesce(o.work_order_status, '') <> 'cancelled') w
        WHERE w.due_at >= $from AND w.due_at < $to AND {filter.Where("w")}
        GROUP BY period
        """);

    private Dictionary<DateOnly, Compliance> FirstTimeFixBy(KpiFilter filter, Periods periods) => Rolled(filter) ? Ratios(filter, $"""
        SELECT period, sum(met)::BIGINT, sum(n)::BIGINT FROM ({Archived("resolved", periods, "w.met, w.n", filter)}) GROUP BY period
        """) : Ratios(filter, $"""
        SELECT {Period("w.resolved_at", periods)} AS period,
               count(*) FILTER (WHERE coalesce(h.rejects, 0) = 0 AND coalesce(h.assigns, 0) <= 1), count(*)
        FROM fact_work_order w LEFT JOIN fact_work_order_history h USING (work_order_id)
        WHERE w.status = 'closed' AND w.resolved_at >= $from AND w.resolved_at < $to AND {filter.Where("w")}
        GROUP BY period
        """);

    // The spans in progress belong to archived work only (status intervals are derived at archiving), so the rollup
    // of in_progress spans is the whole answer; planned work is told apart by the work type and channel it keeps.
    private Dictionary<DateOnly, KpiValue> PlannedMaintenanceShareBy(KpiFilter filter, Periods periods) =>
        (Rolled(filter) ? Ratios(filter, $"""
            SELECT period, coalesce(sum(s) FILTER (WHERE work_type = 'preventive' OR source = 'forecast'), 0)::BIGINT, coalesce(sum(s), 0)::BIGINT
            FROM ({Archived("in_progress", periods, "w.seconds AS s, w.work_type, w.source", filter)})
            WHERE work_type IN ('corrective', 'preventive')
            GROUP BY period
            """) : Ratios(filter, $"""
            SELECT {Period("i.started_at", periods)} AS period,
                   coalesce(sum(i.seconds) FILTER (WHERE w.work_type = 'preventive' OR w.source = 'forecast'), 0)::BIGINT, coalesce(sum(i.seconds), 0)::BIGINT
            FROM fact_status_interval i JOIN fact_work_order w USING (work_order_id)
            WHERE i.status = 'in_progress' AND w.work_type IN ('corrective', 'preventive')
              AND i.started_at >= $from AND i.started_at < $to AND {filter.Where("w")}
            GROUP BY period
            """)).ToDictionary(p => p.Key, p => new KpiValue(p.Value.Rate, p.Value.Due / 3600));

    // From the rollup: the archived failures whose previous archived one is within the days, plus, on the assets and
    // failure codes that have open failures, those whose previous one is an open failure (and not already counted) and
    // the open failures that repeat, as the facts' question answers them there.
    private Dictionary<DateOnly, KpiValue> RepeatFailuresBy(KpiFilter filter, int withinDays, Periods periods) =>
        Rolled(filter, byAsset: true) && withinDays is >= 0 and <= WarehouseSchema.RepeatDaysKept ? Values(filter, $"""
        SELECT period, NULL, sum(n)::BIGINT FROM (
            SELECT {Period("w.day::TIMESTAMP", periods)} AS period, w.n FROM rollup_repeat_day w
            WHERE w.day >= $from AND w.day < $to AND w.gap_days <= {withinDays.ToString(CultureInfo.InvariantCulture)} AND {filter.Where("w")}
            UNION ALL
            SELECT {Period("w.created_at", periods)}, 1 FROM (
                SELECT w.*, lag(w.created_at) OVER o AS previous,
                       max(CASE WHEN NOT w.open THEN w.created_at END) OVER (PARTITION BY w.asset_id, w.failure_code ORDER BY w.created_at, w.work_order_id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_archived
                FROM (SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, category, custom_fields, created_at, false AS open
                      FROM fact_work_order
                      UNION ALL
                      SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, category, custom_fields, created_at, true
                      FROM open_work_order) w
                SEMI JOIN (SELECT DISTINCT asset_id, failure_code FROM open_work_order WHERE work_type = 'corrective') k USING (asset_id, failure_code)
                WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL
                  AND w.created_at >= $from - to_days({withinDays.ToString(CultureInfo.InvariantCulture)}) AND w.created_at < $to
                WINDOW o AS (PARTITION BY w.asset_id, w.failure_code ORDER BY w.created_at, w.work_order_id)) w
            WHERE w.created_at >= $from AND w.created_at < $to AND w.previous >= w.created_at - to_days({withinDays.ToString(CultureInfo.InvariantCulture)})
              AND (w.open OR w.previous_archived IS NULL OR w.previous_archived < w.created_at - to_days({withinDays.ToString(CultureInfo.InvariantCulture)}))
              AND {filter.Where("w")})
        GROUP BY period
        """, countIsValue: true) : Values(filter, $"""
        SELECT {Period("w.created_at", periods)} AS period, NULL, count(*) FROM (
            SELECT w.*, lag(w.created_at) OVER (PARTITION BY w.asset_id, w.failure_code ORDER BY w.created_at, w.work_order_id) AS previous
            FROM {AllWorkOrders} w
            WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL
              AND w.created_at >= $from - to_days({withinDays.ToString(CultureInfo.InvariantCulture)}) AND w.created_at < $to) w
        WHERE w.created_at >= $from AND w.created_at < $to AND w.previous >= w.created_at - to_days({withinDays.ToString(CultureInfo.InvariantCulture)})
          AND {filter.Where("w")}
        GROUP BY period
        """, countIsValue: true);

    private Dictionary<DateOnly, KpiValue> SatisfactionBy(KpiFilter filter, Periods periods) => Rolled(filter) ? Values(filter, $"""
        SELECT period, sum(seconds)::DOUBLE / sum(n), sum(n)::BIGINT FROM ({Archived("rated", periods, "w.seconds, w.n", filter)}) GROUP BY period
        """) : Values(filter, $"""
        SELECT {Period("w.closed_at", periods)} AS period, avg(w.rating), count(*) FROM fact_work_order w
        WHERE w.status = 'closed' AND w.rating IS NOT NULL AND w.closed_at >= $from AND w.closed_at < $to AND {filter.Where("w")}
        GROUP BY period
        """);

    /// <summary>MTBF of each asset with failures in the period, most failures first.</summary>
    public IReadOnlyList<AssetMtbf> MtbfByAsset(KpiFilter filter, int take = 50)
    {
        var limit = Math.Clamp(take, 1, 1000).ToString(CultureInfo.InvariantCulture);
        // Counted per asset first and labelled after: joining a year of failures to the register row by row costs more
        // than the count at ten million work orders.
        using var command = Command(filter, Rolled(filter, byAsset: true) ? $"""
            SELECT a.asset_id, a.code, a.name, w.failures
            FROM (SELECT w.asset_id, sum(w.n)::BIGINT AS failures
                  FROM (SELECT w.asset_id, w.n FROM rollup_failure_day w WHERE w.day >= $from AND w.day < $to AND {filter.Where("w")}
                        UNION ALL
                        SELECT w.asset_id, 1 FROM open_work_order w
                        WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.created_at >= $from AND w.created_at < $to AND {filter.Where("w")}) w
                  GROUP BY w.asset_id) w
            JOIN dim_asset a ON a.asset_id = w.asset_id
            ORDER BY w.failures DESC, a.code LIMIT {limit}
            """ : $"""
            SELECT a.asset_id, a.code, a.name, w.failures
            FROM (SELECT w.asset_id, count(*) AS failures FROM {AllWorkOrders} w
                  WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.created_at >= $from AND w.created_at < $to AND {filter.Where("w")}
                  GROUP BY w.asset_id) w
            JOIN dim_asset a ON a.asset_id = w.asset_id
            ORDER BY w.failures DESC, a.code LIMIT {limit}
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

    private static T Single<T>(Dictionary<DateOnly, T> byPeriod, KpiFilter filter, T none) => byPeriod.GetValueOrDefault(filter.From, none);

    private Dictionary<DateOnly, KpiValue> Values(KpiFilter filter, string sql, bool countIsValue = false) => Rows(filter, sql, reader =>
    {
        var count = reader.GetInt64(2);
        return new KpiValue(countIsValue ? count : Nullable(reader, 1), count);
    });

    private Dictionary<DateOnly, Compliance> Ratios(KpiFilter filter, string sql) => Rows(filter, sql, reader => new Compliance(
        Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture)));

    // Rows of (period DATE, figures...) keyed by period.
    private Dictionary<DateOnly, T> Rows<T>(KpiFilter filter, string sql, Func<System.Data.Common.DbDataReader, T> read)
    {
        using var command = Command(filter, sql);
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<DateOnly, T>();
        while (reader.Read())
        {
            rows[reader.GetFieldValue<DateOnly>(0)] = read(reader);
        }

        return rows;
    }

    private DuckDBCommand Command(KpiFilter filter, string sql)
    {
        var command = warehouse.Command(sql, cancellationToken);
        filter.Bind(command);
        return command;
    }

    private static double? Nullable(System.Data.Common.DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToDouble(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
