using System.Globalization;
using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// One (asset, fault mode) at a cut-off: what the warehouse knew before the cut-off (<see cref="Features"/>, in the
/// order of <see cref="ForecastFeatures.Names"/>) and what happened in the horizon after it (the label and the days to
/// the first failure, of the mode and of any mode on the asset; null when none came).
/// </summary>
public sealed record FeatureRow(
    DateTime Cutoff,
    long AssetId,
    string AssetType,
    string Mode,
    float[] Features,
    double? DaysToModeFailure,
    double? DaysToAssetFailure)
{
    public bool Label => DaysToModeFailure is not null;

    public float this[string feature] => Features[ForecastFeatures.Index(feature)];

    /// <summary>The same row with its outcome read over a shorter horizon: failures from <paramref name="horizonDays"/> on do not count.</summary>
    public FeatureRow Within(int horizonDays) => this with
    {
        DaysToModeFailure = DaysToModeFailure < horizonDays ? DaysToModeFailure : null,
        DaysToAssetFailure = DaysToAssetFailure < horizonDays ? DaysToAssetFailure : null,
    };
}

/// <summary>
/// The features of the failure-risk model, computed in DuckDB for every (asset, fault mode) at a cut-off time.
/// <para>
/// No future by construction: every feature is read from two relations, <c>seen</c>, the work orders raised strictly
/// before the cut-off, with only the columns known when a work order is raised (asset, template, type, source,
/// failure code, created_at), and <c>alarms_seen</c>, the sensor alarm episodes raised strictly before it (asset and
/// raised_at only; when or whether they cleared is not read). Failure times are the creation times of corrective work
/// orders with a failure code; minor faults are corrective work orders without one; alarms are the asset's alarm
/// episodes, whether they raised a work order, were attached to an open one or were held back by the rate limit, but
/// not those suppressed by an inhibiting site alarm (a gateway that lost its connection says nothing of the machine);
/// preventive work that names the mode it addressed (<c>fact_pm_mode</c>: raised before the cut-off) gives the days since
/// the last preventive work on that mode;
/// preventive work on a machine also covers its components (their parent). Asset attributes (type,
/// criticality, installed_on) are taken from the asset dimension as it is now: they describe the asset, not events.
/// The outcome (label) is computed by a separate relation over the horizon after the cut-off that no feature reads.
/// <see cref="ForecastLeakCheck"/> verifies it: the features of a warehouse cut at t equal those of the full one.
/// </para>
/// <para>
/// Fault modes: a mode is modelled for every asset of a type once assets of that type have shown it
/// <see cref="MinModeFailures"/> times before the cut-off. Each (asset, mode) gets its own label (a failure of that
/// mode within the horizon); where the asset's own history of the mode is thin, the type-level rate of the mode
/// (<c>type_mode_rate</c>) carries what is known, so there is no separate any-mode label.
/// </para>
/// </summary>
public static class ForecastFeatures
{
    public const int MinModeFailures = 3;

    /// <summary>The feature columns in model order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "criticality", "age_years", "type_mode_rate",
        "days_since_mode_failure", "days_since_any_failure", "days_since_pm",
        "mode_failures_7", "mode_failures_30", "mode_failures_90", "mode_failures_365",
        "any_failures_7", "any_failures_30", "any_failures_90", "any_failures_365", "any_failures_all",
        "minor_faults_7", "minor_faults_30", "minor_faults_90", "minor_faults_365",
        "alarms_7", "alarms_30", "alarms_90", "alarms_365",
        "mode_mtbf_days", "any_mtbf_days", "mode_due_ratio", "interval_trend", "mode_share",
        "month_sin", "month_cos", "pm_interval_days", "days_since_mode_pm",
    ];

    private static readonly Dictionary<string, int> Indexes = Names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);

    public static int Index(string feature) => Indexes[feature];

    /// <summary>The cut-off features are computed at and the horizon the outcome is read over.</summary>
    internal const string KnownBefore = "$cutoff";

    /// <summary>
    /// The feature and outcome query for one cut-off ($cutoff) and horizon ($horizon_days), reading the tables of the
    /// catalog named by <paramref name="source"/> ("" for the warehouse itself). <paramref name="knownBefore"/> is the
    /// moment the history is read up to; anything but the cut-off is a leak, which is how the leak check's own test
    /// plants one.
    /// </summary>
    internal static string Sql(string source = "", string knownBefore = KnownBefore) => $"""
        WITH
        -- The only history the features read: work orders raised before the cut-off, with what was known when raised.
        seen AS (
            SELECT asset_id, template_id, work_type, source, failure_code, created_at
            FROM {source}fact_work_order WHERE asset_id IS NOT NULL AND created_at < {knownBefore}
            UNION ALL
            SELECT asset_id, template_id, work_type, source, failure_code, created_at
            FROM {source}open_work_order WHERE asset_id IS NOT NULL AND created_at < {knownBefore}),
        -- The only alarms the features read: episodes raised before the cut-off, not suppressed by an inhibiting site alarm.
        alarms_seen AS (
            SELECT asset_id, raised_at FROM {source}fact_alarm_episode WHERE raised_at < {knownBefore} AND outcome <> 'suppressed'),
        -- Preventive work that named the mode it addressed, raised before the cut-off (asset, mode and raise time only).
        pm_modes_seen AS (
            SELECT asset_id, fault_code AS mode, created_at FROM {source}fact_pm_mode WHERE created_at < {knownBefore}),
        first_seen AS (
            SELECT coalesce(min(created_at), $cutoff) AS at,
                   least(greatest(date_diff('second', coalesce(min(created_at), $cutoff), $cutoff) / 86400.0, 1.0), 365.0) AS year_days
            FROM seen),
        assets AS (
            SELECT a.asset_id, a.asset_type, a.criticality, a.parent_id,
                   CASE WHEN a.installed_on IS NULL THEN -1.0 ELSE date_diff('day', a.installed_on::TIMESTAMP, $cutoff) / 365.25 END AS age_years,
                   greatest(date_diff('second', greatest(f.at, coalesce(a.installed_on::TIMESTAMP, f.at)), $cutoff) / 86400.0, 1.0) AS observed_days
            FROM {source}dim_asset a, first_seen f
            WHERE a.asset_type IS NOT NULL AND (a.installed_on IS NULL OR a.installed_on::TIMESTAMP < $cutoff)),
        failures AS (
            SELECT asset_id, failure_code AS mode, created_at, date_diff('second', created_at, $cutoff) / 86400.0 AS ago
            FROM seen WHERE work_type = 'corrective' AND failure_code IS NOT NULL),
        type_assets AS (SELECT asset_type, count(*) AS assets FROM assets GROUP BY ALL),
        modes AS (
            SELECT a.asset_type, f.mode, count(*) FILTER (WHERE f.ago < 365) AS last_year
            FROM failures f JOIN assets a USING (asset_id) GROUP BY ALL HAVING count(*) >= {MinModeFailures}),
        pairs AS (
            SELECT a.*, m.mode, m.last_year / t.assets / f.year_days * 365.0 AS type_mode_rate
            FROM assets a JOIN modes m USING (asset_type) JOIN type_assets t USING (asset_type), first_seen f),
        mode_failures AS (
            SELECT asset_id, mode, count(*) AS n, min(ago) AS since,
                   count(*) FILTER (WHERE ago < 7) AS n7, count(*) FILTER (WHERE ago < 30) AS n30,
                   count(*) FILTER (WHERE ago < 90) AS n90, count(*) FILTER (WHERE ago < 365) AS n365
            FROM failures GROUP BY ALL),
        any_failures AS (
            SELECT asset_id, count(*) AS n, min(ago) AS since,
                   count(*) FILTER (WHERE ago < 7) AS n7, count(*) FILTER (WHERE ago < 30) AS n30,
                   count(*) FILTER (WHERE ago < 90) AS n90, count(*) FILTER (WHERE ago < 365) AS n365
            FROM failures GROUP BY ALL),
        gaps AS (
            SELECT asset_id, mode, gap, row_number() OVER (PARTITION BY asset_id, mode ORDER BY ago) AS recent
            FROM (SELECT asset_id, mode, ago, lead(ago) OVER (PARTITION BY asset_id, mode ORDER BY ago) - ago AS gap FROM failures)
            WHERE gap IS NOT NULL),
        trend AS (
            SELECT asset_id, mode, max(gap) FILTER (WHERE recent = 1) / nullif(avg(gap), 0) AS last_to_mean
            FROM gaps GROUP BY ALL HAVING count(*) >= 2),
        signals AS (
            SELECT asset_id,
                   count(*) FILTER (WHERE ago < 7) AS m7, count(*) FILTER (WHERE ago < 30) AS m30,
                   count(*) FILTER (WHERE ago < 90) AS m90, count(*) FILTER (WHERE ago < 365) AS m365
            FROM (SELECT asset_id, date_diff('second', created_at, $cutoff) / 86400.0 AS ago FROM seen
                  WHERE work_type = 'corrective' AND failure_code IS NULL)
            GROUP BY ALL),
        alarm_counts AS (
            SELECT asset_id,
                   count(*) FILTER (WHERE ago < 7) AS a7, count(*) FILTER (WHERE ago < 30) AS a30,
                   count(*) FILTER (WHERE ago < 90) AS a90, count(*) FILTER (WHERE ago < 365) AS a365
            FROM (SELECT asset_id, date_diff('second', raised_at, $cutoff) / 86400.0 AS ago FROM alarms_seen)
            GROUP BY ALL),
        -- Preventive work: on the asset itself or, for a component, on its machine.
        pm_done AS (SELECT asset_id, created_at FROM seen WHERE work_type = 'preventive'),
        pm_gaps AS (
            SELECT asset_id, median(gap) AS interval_days FROM (
                SELECT asset_id, date_diff('second', lag(created_at) OVER (PARTITION BY asset_id ORDER BY created_at), created_at) / 86400.0 AS gap
                FROM pm_done)
            WHERE gap IS NOT NULL GROUP BY ALL),
        pm_last AS (SELECT asset_id, date_diff('second', max(created_at), $cutoff) / 86400.0 AS since FROM pm_done GROUP BY ALL),
        pm_cover AS (
            SELECT a.asset_id, least(own.since, parent.since) AS since, coalesce(own_gap.interval_days, parent_gap.interval_days) AS interval_days
            FROM assets a
            LEFT JOIN pm_last own ON own.asset_id = a.asset_id LEFT JOIN pm_last parent ON parent.asset_id = a.parent_id
            LEFT JOIN pm_gaps own_gap ON own_gap.asset_id = a.asset_id LEFT JOIN pm_gaps parent_gap ON parent_gap.asset_id = a.parent_id),
        -- Preventive work on the mode, on the asset itself or, for a component, on its machine.
        mode_pm AS (
            SELECT a.asset_id, m.mode, date_diff('second', max(m.created_at), $cutoff) / 86400.0 AS since
            FROM assets a JOIN pm_modes_seen m ON m.asset_id = a.asset_id OR m.asset_id = a.parent_id
            GROUP BY ALL),
        type_pm AS (
            SELECT a.asset_type, median(c.interval_days) AS interval_days FROM assets a JOIN pm_cover c USING (asset_id) GROUP BY ALL),
        features AS (
            SELECT p.asset_id, p.asset_type, p.mode,
                   p.criticality::DOUBLE AS criticality, p.age_years, p.type_mode_rate,
                   coalesce(mf.since, p.observed_days) AS days_since_mode_failure,
                   coalesce(af.since, p.observed_days) AS days_since_any_failure,
                   coalesce(pc.since, p.observed_days) AS days_since_pm,
                   coalesce(mf.n7, 0) AS mode_failures_7, coalesce(mf.n30, 0) AS mode_failures_30,
                   coalesce(mf.n90, 0) AS mode_failures_90, coalesce(mf.n365, 0) AS mode_failures_365,
                   coalesce(af.n7, 0) AS any_failures_7, coalesce(af.n30, 0) AS any_failures_30,
                   coalesce(af.n90, 0) AS any_failures_90, coalesce(af.n365, 0) AS any_failures_365, coalesce(af.n, 0) AS any_failures_all,
                   coalesce(s.m7, 0) AS minor_faults_7, coalesce(s.m30, 0) AS minor_faults_30,
                   coalesce(s.m90, 0) AS minor_faults_90, coalesce(s.m365, 0) AS minor_faults_365,
                   coalesce(al.a7, 0) AS alarms_7, coalesce(al.a30, 0) AS alarms_30,
                   coalesce(al.a90, 0) AS alarms_90, coalesce(al.a365, 0) AS alarms_365,
                   -- Without a failure yet, the MTBF so far is at least the time watched: count it as twice that.
                   coalesce(p.observed_days / mf.n, 2 * p.observed_days) AS mode_mtbf_days,
                   coalesce(p.observed_days / af.n, 2 * p.observed_days) AS any_mtbf_days,
                   coalesce(mf.since, p.observed_days) / coalesce(p.observed_days / mf.n, 2 * p.observed_days) AS mode_due_ratio,
                   coalesce(t.last_to_mean, 1.0) AS interval_trend,
                   coalesce(mf.n365 / nullif(af.n365, 0), 0.0) AS mode_share,
                   sin(2 * pi() * (month($cutoff) - 1) / 12) AS month_sin, cos(2 * pi() * (month($cutoff) - 1) / 12) AS month_cos,
                   coalesce(tp.interval_days, -1.0) AS pm_interval_days,
                   coalesce(mp.since, p.observed_days) AS days_since_mode_pm
            FROM pairs p
            LEFT JOIN mode_failures mf ON mf.asset_id = p.asset_id AND mf.mode = p.mode
            LEFT JOIN any_failures af ON af.asset_id = p.asset_id
            LEFT JOIN trend t ON t.asset_id = p.asset_id AND t.mode = p.mode
            LEFT JOIN signals s ON s.asset_id = p.asset_id
            LEFT JOIN alarm_counts al ON al.asset_id = p.asset_id
            LEFT JOIN pm_cover pc ON pc.asset_id = p.asset_id
            LEFT JOIN type_pm tp ON tp.asset_type = p.asset_type
            LEFT JOIN mode_pm mp ON mp.asset_id = p.asset_id AND mp.mode = p.mode),
        -- What happened in the horizon after the cut-off; read by the label only, never by a feature.
        outcome AS (
            SELECT asset_id, failure_code AS mode, min(created_at) AS first_at FROM (
                SELECT asset_id, failure_code, created_at FROM {source}fact_work_order
                WHERE work_type = 'corrective' AND failure_code IS NOT NULL AND asset_id IS NOT NULL
                UNION ALL
                SELECT asset_id, failure_code, created_at FROM {source}open_work_order
                WHERE work_type = 'corrective' AND failure_code IS NOT NULL AND asset_id IS NOT NULL)
            WHERE created_at >= $cutoff AND created_at < $cutoff + to_days($horizon_days)
            GROUP BY ALL),
        asset_outcome AS (SELECT asset_id, min(first_at) AS first_at FROM outcome GROUP BY ALL)
        SELECT f.*,
               date_diff('second', $cutoff, o.first_at) / 86400.0 AS days_to_mode_failure,
               date_diff('second', $cutoff, ao.first_at) / 86400.0 AS days_to_asset_failure
        FROM features f
        LEFT JOIN outcome o ON o.asset_id = f.asset_id AND o.mode = f.mode
        LEFT JOIN asset_outcome ao ON ao.asset_id = f.asset_id
        ORDER BY f.asset_id, f.mode
        """;

    /// <summary>The feature rows (with outcome) of every (asset, mode) at one cut-off.</summary>
    public static List<FeatureRow> At(DuckDBConnection warehouse, DateTime cutoff, int horizonDays) =>
        Read(warehouse, Sql(), cutoff, horizonDays);

    internal static List<FeatureRow> Read(DuckDBConnection warehouse, string sql, DateTime cutoff, int horizonDays)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        command.Parameters.Add(new DuckDBParameter("cutoff", cutoff));
        command.Parameters.Add(new DuckDBParameter("horizon_days", horizonDays));
        using var reader = command.ExecuteReader();
        var rows = new List<FeatureRow>();
        var first = reader.GetOrdinal(Names[0]);
        while (reader.Read())
        {
            var features = new float[Names.Count];
            for (var i = 0; i < features.Length; i++)
            {
                features[i] = Convert.ToSingle(reader.GetValue(first + i), CultureInfo.InvariantCulture);
            }

            rows.Add(new FeatureRow(
                cutoff,
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                features,
                reader.IsDBNull(first + features.Length) ? null : reader.GetDouble(first + features.Length),
                reader.IsDBNull(first + features.Length + 1) ? null : reader.GetDouble(first + features.Length + 1)));
        }

        return rows;
    }
}
