using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Reliability;

public enum HeatmapRows
{
    Asset,
    AssetType,
}

public enum HeatmapMeasure
{
    Count,
    DowntimeHours,
}

public enum TimeBucket
{
    Week,
    Month,
}

/// <summary>One cell: a row (asset or asset type) x a failure code in one time bucket.</summary>
public sealed record HeatmapCell(string RowKey, string RowLabel, string FailureCode, DateOnly Bucket, double Value, long WorkOrders);

public sealed record ParetoBar(string FailureCode, long Failures, double CumulativeShare);

/// <summary>
/// One category (fault code; null: work without one) in a period: the work orders created in it (open and archived),
/// and the time to restore of its closed corrective work orders resolved in it, as the KPI tiles count them.
/// </summary>
public sealed record CategoryFigures(string? Category, long Volume, DurationStats Mttr);

/// <summary>A custom field to filter by: its key, its neutral label and its labels per culture as JSON text (null: none).</summary>
public sealed record CustomFieldChoice(string Key, string Label, string? Labels)
{
    /// <summary>The label in a culture (or its parent cultures), else the neutral one.</summary>
    public string LabelFor(System.Globalization.CultureInfo culture)
    {
        if (Labels is not null)
        {
            using var labels = System.Text.Json.JsonDocument.Parse(Labels);
            for (var c = culture; c.Name.Length > 0; c = c.Parent)
            {
                if (labels.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                    && labels.RootElement.TryGetProperty(c.Name, out var label) && label.GetString() is { Length: > 0 } text)
                {
                    return text;
                }
            }
        }

        return Label;
    }
}

public sealed record RepeatFailure(long WorkOrderId, string Number, long AssetId, string AssetCode, string FailureCode, DateTime CreatedAt, long PreviousWorkOrderId, double DaysSincePrevious);

/// <summary>
/// The alarm episodes of one asset and fault code raised in the period, by what they did: raised a work order, were
/// attached to an open one (or sent a resolved one back), were suppressed (site inhibition or the rate limit), or were
/// refused by the work-order core. MeanHoursToClear: raised to cleared over the cleared ones (null: none cleared);
/// Chatters: episodes raised within <see cref="ReliabilityQueries.ChatterWithin"/> of the previous episode of the same
/// rule on the asset clearing.
/// </summary>
public sealed record AlarmEpisodeRow(
    long AssetId, string AssetLabel, string FaultCode, long Episodes, long WorkOrders, long Attached, long Suppressed, long Refused, long StillActive,
    double? MeanHoursToClear, long Chatters)
{
    public double WorkOrderShare => Episodes == 0 ? 0 : (double)WorkOrders / Episodes;
}

/// <summary>An asset whose alarms chatter: its episodes in the period and how many of them were re-raises soon after a clear.</summary>
public sealed record ChatteringAsset(long AssetId, string AssetLabel, long Episodes, long Chatters);

/// <summary>The alarm figures of a period: the totals (as one row with no asset), the rows per asset and fault code with the most episodes, and the assets that chatter most.</summary>
public sealed record AlarmFigures(AlarmEpisodeRow Total, IReadOnlyList<AlarmEpisodeRow> ByAssetAndFault, IReadOnlyList<ChatteringAsset> Chattering);

/// <summary>
/// Recurring-fault views for reliability engineers: corrective work with a failure code, open and archived. A
/// statement does not start once the token has fired (see <see cref="WarehouseStatements"/>).
/// </summary>
public sealed class ReliabilityQueries(DuckDBConnection warehouse, CancellationToken cancellationToken = default)
{
    // Corrective work with a failure code; downtime is the wall time from creation to resolution (open work: to the snapshot).
    private const string Failures = """
        (SELECT work_order_id, number, title, status, department_id, asset_id, work_type, priority, failure_code, source, category, custom_fields,
                created_at, resolved_at, date_diff('second', created_at, resolved_at) / 3600.0 AS downtime_hours
         FROM fact_work_order WHERE work_type = 'corrective' AND failure_code IS NOT NULL AND status = 'closed'
         UNION ALL
         SELECT work_order_id, number, title, status, department_id, asset_id, work_type, priority, failure_code, source, category, custom_fields,
                created_at, NULL::TIMESTAMP, date_diff('second', created_at, snapshot_at) / 3600.0
         FROM open_work_order WHERE work_type = 'corrective' AND failure_code IS NOT NULL)
        """;

    // The same failures from the failure rollup (closed ones; a row stands for n work orders) and the open work, by
    // day of creation; the filter's custom field is not carried (see KpiFilter.CarriedByRollups).
    private const string RolledFailures = """
        (SELECT asset_id, failure_code, department_id, work_type, priority, source, category, day, n, downtime_seconds / 3600.0 AS downtime_hours
         FROM rollup_failure_day WHERE status = 'closed'
         UNION ALL
         SELECT asset_id, failure_code, department_id, work_type, priority, source, category, created_at::DATE, 1,
                date_diff('second', created_at, snapshot_at) / 3600.0
         FROM open_work_order WHERE work_type = 'corrective' AND failure_code IS NOT NULL)
        """;

    private bool? _kept;

    /// <summary>
    /// Whether the heatmap and the Pareto read the failure rollup when the filter allows; null, the default: when the
    /// file's rollups are kept. False asks the facts, as a test does to compare both answers.
    /// </summary>
    public bool? Rollups { get; init; }

    private bool Rolled(KpiFilter filter) =>
        filter.CarriedByRollups(byAsset: true) && (Rollups ?? (_kept ??= WarehouseRollups.Kept(warehouse, cancellationToken)));

    private static string RowKey(HeatmapRows rows) => rows == HeatmapRows.Asset ? "a.asset_id::VARCHAR" : "coalesce(a.asset_type, '(none)')";

    private static string BucketOf(TimeBucket bucket) => $"date_trunc('{(bucket == TimeBucket.Week ? "week" : "month")}', f.created_at)::DATE";

    /// <summary>The heatmap's rows with the largest totals: more than a screenful of rows is not a heatmap anyone reads.</summary>
    public const int DefaultHeatmapRows = 40;

    /// <summary>
    /// Cells of the <paramref name="maxRows"/> rows (assets or asset types) with the largest value over the whole
    /// period; narrow the filter (site, asset subtree, type) to see others.
    /// </summary>
    public IReadOnlyList<HeatmapCell> Heatmap(KpiFilter filter, HeatmapRows rows, HeatmapMeasure measure, TimeBucket bucket, int maxRows = DefaultHeatmapRows)
    {
        // The rows are chosen by their totals before any label is made: an asset row is labelled only once it is among
        // the largest, so a year of failures at ten million work orders is not joined to the asset register row by row.
        var byAsset = rows == HeatmapRows.Asset;
        var (failures, created, n) = Rolled(filter) ? (RolledFailures, "f.day", "f.n") : (Failures, "f.created_at", "1");
        var (rowKey, assetJoin) = byAsset ? ("f.asset_id", "") : ("coalesce(a.asset_type, '(none)')", "JOIN dim_asset a ON a.asset_id = f.asset_id");
        var (rowLabel, labelJoin) = byAsset ? ("a.code || ' ' || a.name", "JOIN dim_asset a ON a.asset_id = t.row_key") : ("t.row_key", "");
        // Asset types are few, so the failures of the period are summed into their cells before the rows are chosen (27
        // -> 19.5 ms by type at a million work orders); assets are many, and summing first cost more than it saved there
        // (21.5 -> 30 ms), so their failures are kept one by one until the forty rows are known.
        var value = measure == HeatmapMeasure.Count ? n : "f.downtime_hours";
        var (values, counts, summed) = byAsset ? (value, n, "") : ($"sum({value})", $"sum({n})", "GROUP BY ALL");
        using var command = warehouse.Command($"""
            WITH f AS MATERIALIZED (
                SELECT {rowKey} AS row_key, f.failure_code, date_trunc('{(bucket == TimeBucket.Week ? "week" : "month")}', {created})::DATE AS bucket,
                       {values} AS value, {counts} AS n
                FROM {failures} f {assetJoin}
                WHERE {created} >= $from AND {created} < $to AND {filter.Where("f")}
                {summed}),
            top AS (
                SELECT t.row_key, {rowLabel} AS row_label
                FROM (SELECT row_key, sum(value) AS total FROM f GROUP BY row_key) t {labelJoin}
                ORDER BY t.total DESC, row_label LIMIT {Math.Clamp(maxRows, 1, 1000).ToString(CultureInfo.InvariantCulture)})
            SELECT t.row_key::VARCHAR, t.row_label, f.failure_code, f.bucket, coalesce(sum(f.value), 0)::DOUBLE, sum(f.n)::BIGINT
            FROM f JOIN top t USING (row_key)
            GROUP BY ALL
            ORDER BY f.bucket, t.row_label, f.failure_code
            """, cancellationToken);
        filter.Bind(command);
        using var reader = command.ExecuteReader();
        var cells = new List<HeatmapCell>();
        while (reader.Read())
        {
            cells.Add(new HeatmapCell(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), DateOnly.FromDateTime(reader.GetDateTime(3)), reader.GetDouble(4), reader.GetInt64(5)));
        }

        return cells;
    }

    /// <summary>The work orders a heatmap cell counts: its row, failure code and bucket (null: the whole period).</summary>
    public WorkOrderRows CellWorkOrders(
        KpiFilter filter, HeatmapRows rows, string rowKey, string failureCode, TimeBucket bucket, DateOnly? bucketStart, int skip, int take)
    {
        var where = $"""
            f.created_at >= $from AND f.created_at < $to AND {filter.Where("f")} AND {RowKey(rows)} = $row AND f.failure_code = $code
            AND ($bucket IS NULL OR {BucketOf(bucket)} = $bucket)
            """;
        DuckDBCommand Command(string sql)
        {
            var command = warehouse.Command(sql, cancellationToken);
            filter.Bind(command);
            command.Parameters.Add(new DuckDBParameter("row", rowKey));
            command.Parameters.Add(new DuckDBParameter("code", failureCode));
            command.Parameters.Add(new DuckDBParameter("bucket", bucketStart));
            return command;
        }

        return DrillDown.ReadPage(Command, $"{Failures} f JOIN dim_asset a ON a.asset_id = f.asset_id", where, "f", skip, take);
    }

    /// <summary>A re-raise this soon after the previous episode of the same rule on the asset cleared is a chatter.</summary>
    public static readonly TimeSpan ChatterWithin = TimeSpan.FromHours(1);

    /// <summary>The most chattering assets shown.</summary>
    public const int DefaultChatteringAssets = 10;

    /// <summary>
    /// Alarm episodes raised in the period (the filter's department is that of the rule's template; site and asset
    /// apply by the episode's asset): totals, the <paramref name="maxRows"/> (asset, fault code) rows with the most
    /// episodes, and the <paramref name="chattering"/> assets with the most chatters. A chatter looks back past the
    /// period's start for the episode before it.
    /// </summary>
    public AlarmFigures Alarms(KpiFilter filter, int maxRows = DefaultHeatmapRows, int chattering = DefaultChatteringAssets)
    {
        using var command = warehouse.Command($"""
            WITH episodes AS (
                SELECT e.*, a.code || ' ' || a.name AS label,
                       date_diff('second', lag(e.cleared_at) OVER (PARTITION BY e.asset_id, e.rule_id ORDER BY e.raised_at, e.episode_id), e.raised_at)
                           BETWEEN 0 AND {(long)ChatterWithin.TotalSeconds} AS chatter
                FROM (SELECT e.*, e.fault_code AS category, 'alarm' AS source, x.custom_fields
                      FROM fact_alarm_episode e LEFT JOIN {filter.WorkOrderFieldsFor(category: false)} x USING (work_order_id)) e
                JOIN dim_asset a ON a.asset_id = e.asset_id
                WHERE e.raised_at < $to AND {(filter with { WorkType = null, Priority = null }).Where("e")})
            SELECT grouping(asset_id, fault_code) AS level, asset_id, CASE WHEN grouping(asset_id) = 0 THEN any_value(label) END, fault_code, count(*),
                   count(*) FILTER (WHERE outcome = 'work_order'), count(*) FILTER (WHERE outcome IN ('attached', 'rejected_back')),
                   count(*) FILTER (WHERE outcome IN ('suppressed', 'rate_limited')), count(*) FILTER (WHERE outcome = 'refused'),
                   count(*) FILTER (WHERE cleared_at IS NULL), avg(date_diff('second', raised_at, cleared_at)) / 3600.0, count(*) FILTER (WHERE chatter)
            FROM episodes WHERE raised_at >= $from
            GROUP BY GROUPING SETS ((asset_id, fault_code), (asset_id), ())
            """, cancellationToken);
        filter.Bind(command);
        using var reader = command.ExecuteReader();
        var total = new AlarmEpisodeRow(0, "", "", 0, 0, 0, 0, 0, 0, null, 0);
        var rows = new List<AlarmEpisodeRow>();
        var assets = new List<ChatteringAsset>();
        while (reader.Read())
        {
            var row = new AlarmEpisodeRow(
                reader.IsDBNull(1) ? 0 : reader.GetInt64(1), reader.IsDBNull(2) ? "" : reader.GetString(2), reader.IsDBNull(3) ? "" : reader.GetString(3),
                reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9),
                reader.IsDBNull(10) ? null : reader.GetDouble(10), reader.GetInt64(11));
            switch (Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture))
            {
                case 0:
                    rows.Add(row);
                    break;
                case 1:
                    assets.Add(new ChatteringAsset(row.AssetId, row.AssetLabel, row.Episodes, row.Chatters));
                    break;
                default:
                    total = row;
                    break;
            }
        }

        return new AlarmFigures(
            total,
            [.. rows.OrderByDescending(r => r.Episodes).ThenBy(r => r.AssetLabel, StringComparer.Ordinal).ThenBy(r => r.FaultCode, StringComparer.Ordinal)
                .Take(Math.Clamp(maxRows, 1, 1000))],
            [.. assets.Where(a => a.Chatters > 0).OrderByDescending(a => a.Chatters).ThenBy(a => a.AssetLabel, StringComparer.Ordinal).Take(Math.Max(chattering, 1))]);
    }

    public IReadOnlyList<ParetoBar> Pareto(KpiFilter filter)
    {
        var (count, failures, created) = Rolled(filter) ? ("sum(f.n)::BIGINT", RolledFailures, "f.day") : ("count(*)", Failures, "f.created_at");
        using var command = warehouse.Command($"""
            SELECT failure_code, n, sum(n) OVER (ORDER BY n DESC, failure_code ROWS UNBOUNDED PRECEDING) / sum(n) OVER () AS share
            FROM (SELECT f.failure_code, {count} AS n FROM {failures} f
                  WHERE {created} >= $from AND {created} < $to AND {filter.Where("f")} GROUP BY ALL)
            ORDER BY n DESC, failure_code
            """, cancellationToken);
        filter.Bind(command);
        using var reader = command.ExecuteReader();
        var bars = new List<ParetoBar>();
        while (reader.Read())
        {
            bars.Add(new ParetoBar(reader.GetString(0), reader.GetInt64(1), Convert.ToDouble(reader.GetValue(2), CultureInfo.InvariantCulture)));
        }

        return bars;
    }

    /// <summary>
    /// Volume and MTTR per category (fault code) over the filter, the largest volume first: the same sets as the volume
    /// and MTTR tiles (<see cref="KpiQueries"/>), split by category, so that the rows of a category add up to its tiles
    /// with the category filter set. Work without a category is one row with a null category.
    /// </summary>
    public IReadOnlyList<CategoryFigures> ByCategory(KpiFilter filter)
    {
        using var command = warehouse.Command($$"""
            WITH volume AS (
                SELECT w.category, count(*) AS n
                FROM (SELECT department_id, asset_id, work_type, priority, source, category, custom_fields, created_at FROM fact_work_order
                      UNION ALL
                      SELECT department_id, asset_id, work_type, priority, source, category, custom_fields, created_at FROM open_work_order) w
                WHERE w.created_at >= $from AND w.created_at < $to AND {{filter.Where("w")}}
                GROUP BY ALL),
            restore AS (
                SELECT category, mean, q[1] AS median, q[2] AS p90, n FROM (
                    SELECT w.category, avg(s) / 3600.0 AS mean, {{KpiQueries.MedianAndP90("s")}} AS q, count(*) AS n
                    FROM (SELECT w.*, date_diff('second', w.created_at, w.resolved_at) AS s FROM fact_work_order w) w
                    WHERE w.status = 'closed' AND w.work_type = 'corrective' AND w.resolved_at >= $from AND w.resolved_at < $to AND {{filter.Where("w")}}
                    GROUP BY ALL))
            SELECT coalesce(v.category, r.category) AS category, coalesce(v.n, 0), r.mean, r.median, r.p90, coalesce(r.n, 0)
            FROM volume v FULL JOIN restore r ON r.category IS NOT DISTINCT FROM v.category
            ORDER BY coalesce(v.n, 0) DESC, category NULLS LAST
            """, cancellationToken);
        filter.Bind(command);
        using var reader = command.ExecuteReader();
        var rows = new List<CategoryFigures>();
        double? Hours(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
        while (reader.Read())
        {
            rows.Add(new CategoryFigures(
                reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1), new DurationStats(Hours(2), Hours(3), Hours(4), reader.GetInt64(5))));
        }

        return rows;
    }

    /// <summary>The categories (fault codes) of the work in the warehouse, for the filter's choice.</summary>
    public IReadOnlyList<string> Categories()
    {
        using var command = warehouse.Command("""
            SELECT category FROM fact_work_order WHERE category IS NOT NULL
            UNION
            SELECT category FROM open_work_order WHERE category IS NOT NULL
            ORDER BY category
            LIMIT 1000
            """, cancellationToken);
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    /// <summary>
    /// The custom fields of the templates, one per key (the label of the lowest template id that has it), for the
    /// filter's field choice; fault_code is the category filter's and is left out.
    /// </summary>
    public IReadOnlyList<CustomFieldChoice> CustomFields()
    {
        using var command = warehouse.Command("""
            SELECT key, arg_min(label, template_id), arg_min(labels, template_id) FROM dim_template_field
            WHERE key <> 'fault_code' GROUP BY key ORDER BY key
            """, cancellationToken);
        using var reader = command.ExecuteReader();
        var rows = new List<CustomFieldChoice>();
        while (reader.Read())
        {
            rows.Add(new CustomFieldChoice(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return rows;
    }

    /// <summary>
    /// The <paramref name="take"/> newest failures in the period whose previous failure of the same asset and failure code
    /// (open or closed) came within <paramref name="withinDays"/> days, newest first.
    /// </summary>
    public IReadOnlyList<RepeatFailure> RepeatFailures(KpiFilter filter, int withinDays = KpiQueries.DefaultRepeatDays, int take = 200)
    {
        // The newest repeats are asked of the newest weeks first, and of a span four times as long while fewer than take
        // come back: the previous failure of one created since a day is at most withinDays older, so the failures from
        // then on answer it exactly, and at ten million work orders two weeks usually hold the page's 200.
        var limit = Math.Clamp(take, 1, 5000);
        for (var days = 14; ; days *= 4)
        {
            var since = filter.End.AddDays(-days);
            var rows = RepeatFailuresSince(filter, withinDays, since > filter.Start ? since : filter.Start, limit);
            if (rows.Count == limit || since <= filter.Start)
            {
                return rows;
            }
        }
    }

    private List<RepeatFailure> RepeatFailuresSince(KpiFilter filter, int withinDays, DateTime since, int limit)
    {
        using var command = warehouse.Command($"""
            SELECT f.work_order_id, f.number, f.asset_id, a.code, f.failure_code, f.created_at, f.previous_id,
                   date_diff('second', f.previous_at, f.created_at) / 86400.0
            FROM (SELECT *, lag(created_at) OVER w AS previous_at, lag(work_order_id) OVER w AS previous_id FROM {Failures} r
                  WHERE r.created_at >= $since - to_days({withinDays.ToString(CultureInfo.InvariantCulture)}) AND r.created_at < $to
                  WINDOW w AS (PARTITION BY asset_id, failure_code ORDER BY created_at, work_order_id)) f
            JOIN dim_asset a ON a.asset_id = f.asset_id
            WHERE f.created_at >= $since AND f.created_at < $to AND f.previous_at >= f.created_at - to_days({withinDays.ToString(CultureInfo.InvariantCulture)})
              AND {filter.Where("f")}
            ORDER BY f.created_at DESC LIMIT {limit.ToString(CultureInfo.InvariantCulture)}
            """, cancellationToken);
        filter.Bind(command);
        command.Parameters.Add(new DuckDBParameter("since", since));
        using var reader = command.ExecuteReader();
        var rows = new List<RepeatFailure>();
        while (reader.Read())
        {
            rows.Add(new RepeatFailure(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                reader.GetDateTime(5), reader.GetInt64(6), reader.GetDouble(7)));
        }

        return rows;
    }
}
