using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// Turns the features that pushed a risk up into sentences a planner reads ("3 bearing failures in 30 days",
/// "41 days since last preventive work", "intervals between bearing failures shrinking"), and the evidence behind a
/// proposal into a key that stays the same while no new event changes it.
/// </summary>
public static class ForecastReasons
{
    /// <summary>How many reasons a proposal gives.</summary>
    public const int Shown = 3;

    /// <summary>The plain-words reason for one feature value of an (asset, mode).</summary>
    public static string Describe(string feature, float value, string mode, string assetType)
    {
        var n = (int)Math.Round(value);
        var mode1 = mode.Replace('_', ' ');
        return feature switch
        {
            "mode_failures_7" or "mode_failures_30" or "mode_failures_90" or "mode_failures_365" =>
                Count(n, $"{mode1} failure", $"in {Window(feature)} days"),
            "any_failures_7" or "any_failures_30" or "any_failures_90" or "any_failures_365" =>
                Count(n, "failure", $"of any kind in {Window(feature)} days"),
            "any_failures_all" => Count(n, "failure", "on record"),
            "minor_faults_7" or "minor_faults_30" or "minor_faults_90" or "minor_faults_365" =>
                Count(n, "minor fault", $"reported in {Window(feature)} days"),
            "alarms_7" or "alarms_30" or "alarms_90" or "alarms_365" => Count(n, "sensor alarm", $"in {Window(feature)} days"),
            "days_since_mode_failure" => Invariant($"{n} days since the last {mode1} failure"),
            "days_since_any_failure" => Invariant($"{n} days since the last failure"),
            "days_since_pm" => Invariant($"{n} days since last preventive work"),
            "days_since_mode_pm" => Invariant($"{n} days since the last preventive work on {mode1}"),
            "mode_mtbf_days" => Invariant($"a {mode1} failure every {n} days on average"),
            "any_mtbf_days" => Invariant($"a failure every {n} days on average"),
            "mode_due_ratio" => value >= 1
                ? Invariant($"past its usual time between {mode1} failures ({Percent(value)} of it)")
                : Invariant($"{Percent(value)} of its usual time between {mode1} failures has passed"),
            "interval_trend" => value < 1
                ? Invariant($"intervals between {mode1} failures shrinking (the last was {Percent(value)} of the average)")
                : Invariant($"intervals between {mode1} failures growing (the last was {Percent(value)} of the average)"),
            "mode_share" => Invariant($"{Percent(value)} of its failures in the last year were {mode1}"),
            "type_mode_rate" => Invariant($"{assetType.Replace('_', ' ')} assets have {value:F1} {mode1} failures a year each"),
            "age_years" => value < 0 ? "installation date unknown" : Invariant($"{value:F0} years in service"),
            "criticality" => Invariant($"criticality {n}"),
            "month_sin" or "month_cos" => "the season: this mode fails more at this time of year",
            "pm_interval_days" => value < 0 ? "no regular preventive work" : Invariant($"preventive work usually every {n} days"),
            _ => feature,
        };
    }

    /// <summary>
    /// The reasons of a scored (asset, mode): the features with the largest positive contributions, largest first.
    /// </summary>
    public static IReadOnlyList<(string Feature, string Text)> Top(IReadOnlyList<float> contributions, IReadOnlyList<float> features, string mode, string assetType)
    {
        var top = new List<(string, string)>();
        var seasonSaid = false;
        foreach (var i in Enumerable.Range(0, contributions.Count).Where(i => contributions[i] > 0).OrderByDescending(i => contributions[i]).ThenBy(i => i))
        {
            var name = ForecastFeatures.Names[i];
            // "No sensor alarm in 7 days" is no evidence a planner can act on, even where the trees count it.
            if (IsCount(name) && features[i] == 0)
            {
                continue;
            }

            if (name is "month_sin" or "month_cos")
            {
                if (seasonSaid)
                {
                    continue;
                }

                seasonSaid = true;
            }

            top.Add((name, Describe(name, features[i], mode, assetType)));
            if (top.Count == Shown)
            {
                break;
            }
        }

        return top;
    }

    /// <summary>
    /// A stable key of the evidence behind a proposal: the asset, the mode and the values of the features that drove
    /// it, with each "days since" turned into the date it counts from, so the key does not change as days pass but
    /// does when a new failure, alarm or preventive work arrives.
    /// </summary>
    public static string EvidenceKey(long assetId, string mode, DateTime now, IEnumerable<string> drivers, IReadOnlyList<float> features)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{assetId}|{mode}");
        foreach (var name in drivers.Order(StringComparer.Ordinal))
        {
            var value = features[ForecastFeatures.Index(name)];
            var evidence = name switch
            {
                "days_since_mode_failure" or "days_since_any_failure" or "days_since_pm" or "days_since_mode_pm" =>
                    DateOnly.FromDateTime(now.AddDays(-value)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                "month_sin" or "month_cos" => now.Month.ToString(CultureInfo.InvariantCulture),
                "mode_due_ratio" or "age_years" => "-",
                _ => Math.Round(value, 2).ToString(CultureInfo.InvariantCulture),
            };
            text.Append('|').Append(name).Append('=').Append(evidence);
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..20];
    }

    /// <summary>The name of a backtest method as a planner reads it.</summary>
    public static string MethodName(string method) => method switch
    {
        ForecastBacktest.Mtbf => "last failure + MTBF",
        ForecastBacktest.FixedInterval => "fixed-interval preventive work",
        _ => "the failure-risk model",
    };

    /// <summary>The first reason of a heuristic's proposal: which method made it and why that method.</summary>
    public static string Method(string method, int horizonDays, double precision, double? mtbfPrecision) => Invariant(
        $"proposed by {MethodName(method)}, which did best in the backtest at {horizonDays} days: {Math.Round(precision * 100)}% of its proposals were followed by a failure")
        + (method != ForecastBacktest.Mtbf && mtbfPrecision is { } m ? Invariant($" ({Math.Round(m * 100)}% for last failure + MTBF)") : "");

    /// <summary>The evidence a heuristic went by for one asset.</summary>
    public static string Heuristic(string method, FeatureRow row) => method == ForecastBacktest.Mtbf
        ? Invariant($"last failure {Math.Round(row["days_since_any_failure"])} days ago, mean time between failures {Math.Round(row["any_mtbf_days"])} days: due in {Math.Round(row["any_mtbf_days"] - row["days_since_any_failure"])} days")
        : Invariant($"{Math.Round(row["days_since_pm"])} days since last preventive work; the usual interval is {Math.Round(row["pm_interval_days"])} days");

    private static bool IsCount(string feature) =>
        feature.StartsWith("mode_failures_", StringComparison.Ordinal) || feature.StartsWith("any_failures_", StringComparison.Ordinal)
        || feature.StartsWith("minor_faults_", StringComparison.Ordinal) || feature.StartsWith("alarms_", StringComparison.Ordinal);

    private static string Percent(float value) => Math.Round(value * 100).ToString(CultureInfo.InvariantCulture) + "%";

    private static string Window(string feature) => feature[(feature.LastIndexOf('_') + 1)..];

    private static string Count(int n, string what, string when) =>
        n == 0 ? $"no {what} {when}" : Invariant($"{n} {what}{(n == 1 ? "" : "s")} {when}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
