using WorkOrders.Analytics.Forecasting;

namespace WorkOrders.Analytics.Tests.Forecasting;

/// <summary>The features of <see cref="ForecastWarehouse.HandBuilt"/> at 1 May 2025, worked out by hand, and the leak check.</summary>
public sealed class ForecastFeatureTests : IDisposable
{
    private static readonly DateTime Cutoff = new(2025, 5, 1, 0, 0, 0, DateTimeKind.Unspecified);
    private readonly ForecastWarehouse _warehouse = new(ForecastWarehouse.HandBuilt);

    public void Dispose() => _warehouse.Dispose();

    [Fact]
    public void the_pump_bearing_features_are_the_ones_worked_out_by_hand()
    {
        var rows = ForecastFeatures.At(_warehouse.Connection, Cutoff, 30);

        // Leak is no mode (one failure on the type); the new pump was installed after the cut-off.
        Assert.Equal([(3L, "bearing"), (4L, "bearing")], rows.Select(r => (r.AssetId, r.Mode)));
        var pump = rows[0];
        Expected(pump, new()
        {
            ["criticality"] = 4,
            ["age_years"] = 1947 / 365.25,
            // 3 bearing failures on 2 pump assets over the 120 days watched, per year.
            ["type_mode_rate"] = 3.0 / 2 / 120 * 365,
            // the third failure (still open) was raised on 1 April 12:00.
            ["days_since_mode_failure"] = 29.5,
            ["days_since_any_failure"] = 29.5,
            ["days_since_pm"] = 29,
            ["mode_failures_7"] = 0, ["mode_failures_30"] = 1, ["mode_failures_90"] = 2, ["mode_failures_365"] = 3,
            ["any_failures_30"] = 1, ["any_failures_all"] = 3,
            // the minor fault of 25 April counts; the one raised at the cut-off itself does not.
            ["minor_faults_7"] = 1, ["minor_faults_30"] = 1,
            // alarm episodes: two 21 days and one 4 days before the cut-off; not the suppressed one, nor those from the cut-off on.
            ["alarms_7"] = 1, ["alarms_30"] = 3, ["alarms_90"] = 3, ["alarms_365"] = 3,
            ["mode_mtbf_days"] = 40, ["any_mtbf_days"] = 40, ["mode_due_ratio"] = 29.5 / 40,
            // intervals 59 and 31.5 days: the last is 31.5 / 45.25 of the mean.
            ["interval_trend"] = 31.5 / 45.25,
            ["mode_share"] = 1,
            ["month_sin"] = Math.Sin(2 * Math.PI * 4 / 12), ["month_cos"] = Math.Cos(2 * Math.PI * 4 / 12),
            ["pm_interval_days"] = 60,
            // WO-5 named the bearing; the bearing preventive work of 3 May comes after the cut-off.
            ["days_since_mode_pm"] = 29,
        });
        Assert.True(pump.Label);
        Assert.Equal(9, pump.DaysToModeFailure);
        Assert.Equal(9, pump.DaysToAssetFailure);
    }

    [Fact]
    public void a_component_takes_the_preventive_work_of_its_machine_and_an_empty_history_counts_as_the_time_watched()
    {
        var unit = ForecastFeatures.At(_warehouse.Connection, Cutoff, 30)[1];
        Expected(unit, new()
        {
            ["age_years"] = 89 / 365.25,
            ["days_since_mode_failure"] = 89,
            ["days_since_any_failure"] = 11,
            ["days_since_pm"] = 29,
            ["pm_interval_days"] = 60,
            // the bearing preventive work on its machine counts for the unit too.
            ["days_since_mode_pm"] = 29,
            ["mode_failures_365"] = 0,
            ["any_failures_30"] = 1,
            ["mode_mtbf_days"] = 178,
            ["any_mtbf_days"] = 89,
            ["mode_due_ratio"] = 0.5,
            ["interval_trend"] = 1,
            ["mode_share"] = 0,
            ["minor_faults_365"] = 0,
            ["alarms_365"] = 0,
        });

        // No bearing failure in the horizon, but the leak 4 days after the cut-off is a failure of the asset.
        Assert.False(unit.Label);
        Assert.Equal(4, unit.DaysToAssetFailure);
    }

    [Fact]
    public void the_features_never_see_the_future_and_a_planted_peek_past_the_cut_off_is_caught()
    {
        var clean = ForecastLeakCheck.Check(_warehouse.Connection, Cutoff);
        Assert.Equal(2, clean.Rows);
        Assert.True(clean.Clean, string.Join("; ", clean.Differences));

        // The same features reading the history up to the end of the horizon: the check must see the difference.
        var leaky = ForecastLeakCheck.Check(_warehouse.Connection, Cutoff, 30, "$cutoff + INTERVAL 30 DAY");
        Assert.False(leaky.Clean);
        Assert.Contains(leaky.Differences, d => d.Contains("asset 3 bearing: mode_failures_7", StringComparison.Ordinal));
        Assert.Contains(leaky.Differences, d => d.Contains("asset 3 bearing: alarms_7", StringComparison.Ordinal));
        Assert.Contains(leaky.Differences, d => d.Contains("asset 3 bearing: days_since_mode_pm", StringComparison.Ordinal));

        // The check leaves the warehouse as it was and can run again.
        Assert.True(ForecastLeakCheck.Check(_warehouse.Connection, Cutoff.AddDays(-20)).Clean);
    }

    private static void Expected(FeatureRow row, Dictionary<string, double> expected)
    {
        foreach (var (feature, value) in expected)
        {
            Assert.True(Math.Abs(row[feature] - value) < 1e-4, $"{feature}: expected {value}, got {row[feature]}");
        }
    }
}
