using WorkOrders.Analytics.Forecasting;

namespace WorkOrders.Analytics.Tests.Forecasting;

/// <summary>The pure parts: reasons in plain words, the evidence key, the backtest arithmetic, the weekly trend.</summary>
public sealed class ForecastDecisionTests
{
    private static readonly DateTime Now = new(2025, 5, 1);

    [Fact]
    public void reasons_read_as_a_planner_would_say_them()
    {
        Assert.Equal("3 bearing failures in 30 days", ForecastReasons.Describe("mode_failures_30", 3, "bearing", "pump"));
        Assert.Equal("1 sensor alarm in 7 days", ForecastReasons.Describe("alarms_7", 1, "bearing", "pump"));
        Assert.Equal("no minor fault reported in 90 days", ForecastReasons.Describe("minor_faults_90", 0, "bearing", "pump"));
        Assert.Equal("41 days since last preventive work", ForecastReasons.Describe("days_since_pm", 41.2f, "bearing", "pump"));
        Assert.Equal("12 days since the last preventive work on bearing", ForecastReasons.Describe("days_since_mode_pm", 12f, "bearing", "pump"));
        Assert.Equal("intervals between bearing failures shrinking (the last was 50% of the average)",
            ForecastReasons.Describe("interval_trend", 0.5f, "bearing", "pump"));
        Assert.Equal("2 failures of any kind in 365 days", ForecastReasons.Describe("any_failures_365", 2, "bearing", "pump"));
    }

    [Fact]
    public void the_top_reasons_are_the_largest_positive_contributions_with_the_season_said_once()
    {
        var contributions = new float[ForecastFeatures.Names.Count];
        var features = new float[ForecastFeatures.Names.Count];
        contributions[ForecastFeatures.Index("month_sin")] = 0.9f;
        contributions[ForecastFeatures.Index("month_cos")] = 0.8f;
        contributions[ForecastFeatures.Index("mode_failures_30")] = 0.5f;
        contributions[ForecastFeatures.Index("days_since_pm")] = 0.2f;
        contributions[ForecastFeatures.Index("alarms_30")] = -1f;
        features[ForecastFeatures.Index("mode_failures_30")] = 2;
        features[ForecastFeatures.Index("days_since_pm")] = 41;

        var top = ForecastReasons.Top(contributions, features, "leak", "pump");

        Assert.Equal(["month_sin", "mode_failures_30", "days_since_pm"], top.Select(t => t.Feature));
        Assert.Equal("2 leak failures in 30 days", top[1].Text);
    }

    [Fact]
    public void the_evidence_key_does_not_move_as_days_pass_but_does_when_the_evidence_changes()
    {
        var features = new float[ForecastFeatures.Names.Count];
        features[ForecastFeatures.Index("days_since_pm")] = 41;
        features[ForecastFeatures.Index("mode_failures_30")] = 3;
        string[] drivers = ["days_since_pm", "mode_failures_30"];
        var key = ForecastReasons.EvidenceKey(7, "bearing", Now, drivers, features);

        var tomorrow = (float[])features.Clone();
        tomorrow[ForecastFeatures.Index("days_since_pm")] = 42;
        Assert.Equal(key, ForecastReasons.EvidenceKey(7, "bearing", Now.AddDays(1), drivers, tomorrow));

        var another = (float[])features.Clone();
        another[ForecastFeatures.Index("mode_failures_30")] = 4;
        Assert.NotEqual(key, ForecastReasons.EvidenceKey(7, "bearing", Now, drivers, another));
        Assert.NotEqual(key, ForecastReasons.EvidenceKey(8, "bearing", Now, drivers, features));
    }

    [Fact]
    public void the_backtest_counts_hits_recall_and_lead_time_at_the_same_number_of_proposals()
    {
        // One cut-off, four assets with one mode each; K = 50% of 4 = 2. Assets 1 and 3 fail 5 and 20 days later.
        //            asset, p,    fails in, failures so far, MTBF, days since failure, days since PM, PM interval
        var rows = new[]
        {
            Row(1, 0.9f, 5, 3, 60, 50, 10, 60),     // MTBF due in 10 days
            Row(2, 0.8f, null, 3, 60, 58, 70, 60),  // MTBF due in 2 days; PM 10 days overdue
            Row(3, 0.1f, 20, 0, 200, 100, 80, 60),  // no failures: not an MTBF candidate; PM 20 days overdue
            Row(4, 0.2f, null, 2, 100, 10, 5, 60),  // MTBF due in 90 days
        };

        var backtest = ForecastBacktest.Run(rows.Select(r => r.Row).ToList(), rows.Select(r => r.P).ToList(), 30, 0.5, new HashSet<long> { 3 })
            .ToDictionary(b => b.Method);

        // Model proposes 1 and 2: one hit, 5 days ahead.
        Assert.Equal(new BacktestRow("model", 2, 1, 2, 1, 2, 0.5, 0.5, 5, 0, 0, 0.5), backtest["model"]);
        // MTBF proposes 2 (due in 2 days) then 1 (due in 10): one hit.
        Assert.Equal(new BacktestRow("mtbf", 2, 1, 2, 1, 2, 0.5, 0.5, 5, 0, 0, 0.5), backtest["mtbf"]);
        // Fixed interval proposes 3 (20 days overdue) and 2 (10 overdue): one hit, 20 days ahead, one on a degrading asset.
        // Picking 2 of the 4 at random finds a failure half the time: the base rate of every row.
        Assert.Equal(new BacktestRow("fixed_interval", 2, 1, 2, 1, 2, 0.5, 0.5, 20, 1, 0.5, 0.5), backtest["fixed_interval"]);
    }

    [Fact]
    public void without_generator_truth_the_share_on_degrading_assets_is_unknown_not_zero()
    {
        var rows = new[] { Row(1, 0.9f, 5, 3, 60, 50, 10, 60), Row(2, 0.8f, null, 3, 60, 58, 70, 60) };

        foreach (var truth in new[] { null, new HashSet<long>() })
        {
            var backtest = ForecastBacktest.Run(rows.Select(r => r.Row).ToList(), rows.Select(r => r.P).ToList(), 30, 0.5, truth);
            Assert.All(backtest, b => Assert.Null(b.DegradingShare));
            Assert.All(backtest, b => Assert.Null(b.DegradingProposals));
        }

        // With a truth that names no proposed asset, the share is a real 0 %.
        var known = ForecastBacktest.Run(rows.Select(r => r.Row).ToList(), rows.Select(r => r.P).ToList(), 30, 0.5, new HashSet<long> { 99 });
        Assert.All(known, b => Assert.Equal(0, b.DegradingShare));
    }

    [Fact]
    public void the_weekly_forecast_continues_a_straight_trend()
    {
        var start = new DateOnly(2024, 1, 1);
        var history = Enumerable.Range(0, 40).Select(i => (start.AddDays(7 * i), 10.0 + (0.5 * i))).ToList();

        var forecast = VolumeForecast.Fit(history, 3);

        Assert.Equal([30.0, 30.5, 31.0], forecast.Select(f => Math.Round(f, 6)));
    }

    private static (FeatureRow Row, float P) Row(
        long asset, float p, double? failsIn, float failures, float mtbf, float sinceFailure, float sincePm, float pmInterval)
    {
        var features = new float[ForecastFeatures.Names.Count];
        features[ForecastFeatures.Index("any_failures_all")] = failures;
        features[ForecastFeatures.Index("any_mtbf_days")] = mtbf;
        features[ForecastFeatures.Index("days_since_any_failure")] = sinceFailure;
        features[ForecastFeatures.Index("days_since_pm")] = sincePm;
        features[ForecastFeatures.Index("pm_interval_days")] = pmInterval;
        return (new FeatureRow(Now, asset, "pump", "bearing", features, failsIn, failsIn), p);
    }
}
