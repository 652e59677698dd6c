using WorkOrders.Analytics.Forecasting;

namespace WorkOrders.Analytics.Tests.Forecasting;

/// <summary>Training, storing and scoring on small warehouses: refusals, the stored version, the newest good model.</summary>
public sealed class ForecastTrainingTests
{
    [Fact]
    public void too_little_history_is_refused_with_what_is_needed_and_nothing_is_stored()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.HandBuilt);
        var stages = new List<string>();

        var result = ForecastTraining.Train(warehouse.Connection, new TrainingRequest(), new Inline(p => stages.Add(p.Stage)), CancellationToken.None);

        Assert.False(result.Trained);
        Assert.Equal("history", result.Refusal!.Field);
        // Failures: WO-1, 2, 3, 9, 10, 11; 1 Jan to 10 May is 4.2 months.
        Assert.Equal("forecast.history_short", result.Refusal.Code);
        Assert.Equal(new object[] { 100, 9, 6L }, result.Refusal.Args[..3]);
        Assert.Equal(4.2, (double)result.Refusal.Args[3], precision: 1);
        Assert.Empty(new ForecastStore(warehouse.Connection).Models());
        Assert.Null(new ForecastStore(warehouse.Connection).NewestGood());
    }

    [Theory]
    // 1 January to 30 September: nine calendar months, the shortest history trained on.
    [InlineData("2024-10-01", true)]
    // 1 January to 29 September: a day short.
    [InlineData("2024-09-30", false)]
    // A whole calendar year, 1 January to 31 December.
    [InlineData("2025-01-01", true)]
    public void nine_calendar_months_of_history_or_more_are_trained_on(string end, bool trains)
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.Rhythmic);
        // The history cut to 1 January 2024 .. the day before the end, its first and last moments pinned by two minor faults.
        warehouse.Execute($"""
            DELETE FROM fact_work_order WHERE created_at < '2024-01-01' OR created_at >= '{end}';
            INSERT INTO fact_work_order VALUES
                (900001, 'WO-A', 1, 'corrective', 'a', 2, 'closed', 9, 100, 1, 7, 'web', NULL, NULL, NULL, '2024-01-01 00:00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1),
                (900002, 'WO-B', 1, 'corrective', 'b', 2, 'closed', 9, 100, 1, 7, 'web', NULL, NULL, NULL, TIMESTAMP '{end}' - INTERVAL 12 HOUR, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1);
            """);

        var result = Train(warehouse, new TrainingRequest());

        Assert.Equal(trains, result.Trained);
        if (trains)
        {
            Assert.True(result.Model!.TrainTo.AddDays(30) <= result.Model.TestFrom, "training horizons end before the held-back months");
            Assert.NotEmpty(result.Backtest);
        }
        else
        {
            Assert.Equal("forecast.history_short", result.Refusal!.Code);
        }
    }

    [Fact]
    public void the_seed_changes_the_model_and_the_same_seed_gives_the_same_model()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.Rhythmic);

        var first = Train(warehouse, new TrainingRequest(Seed: 1)).Model!;
        var again = Train(warehouse, new TrainingRequest(Seed: 1)).Model!;
        var other = Train(warehouse, new TrainingRequest(Seed: 2)).Model!;

        Assert.Equal(first.LogLoss, again.LogLoss);
        Assert.Equal(first.Auc, again.Auc);
        Assert.NotEqual(first.LogLoss, other.LogLoss);
        Assert.Equal(2, other.Seed);
    }

    [Fact]
    public void a_bad_request_is_refused_naming_the_field()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.HandBuilt);

        Assert.Equal("horizonDays", Train(warehouse, new TrainingRequest(HorizonDays: 0)).Refusal!.Field);
        Assert.Equal("cutoffStepDays", Train(warehouse, new TrainingRequest(CutoffStepDays: 91)).Refusal!.Field);
        Assert.Equal("proposalShare", Train(warehouse, new TrainingRequest(ProposalShare: 1.5)).Refusal!.Field);
        Assert.Empty(new ForecastStore(warehouse.Connection).Models());
    }

    [Fact]
    public void a_threshold_outside_0_to_1_is_refused_naming_threshold()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.HandBuilt);

        foreach (var threshold in new[] { -0.01, 1.01, double.NaN })
        {
            var result = RiskScoring.Score(warehouse.Connection, threshold);
            Assert.False(result.Succeeded);
            Assert.Equal("threshold", result.Refusal!.Field);
        }

        // Within range but with no model yet: refused for the model, not the threshold.
        Assert.Equal("model", RiskScoring.Score(warehouse.Connection, 0.5).Refusal!.Field);
    }

    [Fact]
    public void training_stores_a_version_with_its_window_and_backtest_and_scoring_uses_the_newest_good_one()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.Rhythmic);
        var store = new ForecastStore(warehouse.Connection);
        var progress = new List<TrainingProgress>();

        var trained = ForecastTraining.Train(warehouse.Connection, new TrainingRequest(), new Inline(progress.Add), CancellationToken.None);

        Assert.True(trained.Trained, trained.Refusal?.Code);
        var model = trained.Model!;
        Assert.Equal(1, model.Version);
        Assert.True(model.Good, $"AUC {model.Auc}, log-loss {model.LogLoss} against {model.BaseLogLoss}");
        Assert.True(model.TrainTo.AddDays(30) <= model.TestFrom, "training horizons end before the held-back months");
        Assert.Equal(model.Cutoffs, store.Cutoffs(1).Count);
        Assert.Equal(["model", "mtbf", "fixed_interval"], store.Backtest(1).Select(b => b.Method));
        Assert.Equal(trained.Backtest, store.Backtest(1));
        Assert.NotEmpty(store.Calibration(1));
        Assert.Contains(progress, p => p.Stage == "computing features" && p.Done == p.Total);

        // Version 2 is good with a 14-day horizon, version 3 (newest) is not good: scoring must use version 2.
        var (info, bytes, _) = store.NewestGood()!.Value;
        store.Save(info with { HorizonDays = 14 }, bytes, [], [], []);
        store.Save(info with { Good = false, HorizonDays = 60 }, bytes, [], [], []);
        Assert.Equal([3L, 2L, 1L], store.Models().Select(m => m.Version));

        var scored = RiskScoring.Score(warehouse.Connection, 0);
        Assert.True(scored.Succeeded, scored.Refusal?.Code);
        Assert.Equal(2, scored.Model!.Version);
        Assert.Equal(60, scored.Scored);
        Assert.Equal(60, scored.Proposals.Count);
        Assert.All(scored.Proposals, p => Assert.True(p.WindowTo <= scored.Now.AddDays(14) && p.WindowFrom >= scored.Now));
        Assert.All(scored.Proposals, p => Assert.Equal(2, p.SuggestedTemplateId));
        Assert.All(scored.Proposals, p => Assert.Equal(3, p.EstimatedHours!.Value, 3));
        // A risk well above the base rate was pushed up by something, and says what.
        var risky = scored.Proposals.Where(p => p.Probability >= 0.3).ToList();
        Assert.NotEmpty(risky);
        Assert.All(risky, p => Assert.InRange(p.Reasons.Count, 1, ForecastReasons.Shown));
        Assert.Equal(
            scored.Proposals.OrderByDescending(p => p.Probability * p.Criticality).Select(p => p.AssetId),
            scored.Proposals.Select(p => p.AssetId));

        // The threshold keeps only the proposals at or above it.
        var high = RiskScoring.Score(warehouse.Connection, 0.5);
        Assert.Equal(scored.Proposals.Count(p => p.Probability >= 0.5), high.Proposals.Count);
    }

    [Fact]
    public void the_evidence_key_stays_while_nothing_happens_and_changes_with_a_new_failure()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.Rhythmic);
        Assert.True(ForecastTraining.Train(warehouse.Connection, new TrainingRequest(), null, CancellationToken.None).Trained);
        var before = RiskScoring.Score(warehouse.Connection, 0).Proposals.ToDictionary(p => p.AssetId, p => p.EvidenceKey);
        Assert.Equal(before, RiskScoring.Score(warehouse.Connection, 0).Proposals.ToDictionary(p => p.AssetId, p => p.EvidenceKey));

        // A failure on pump 100 raised just before the data ends; and an open preventive work order on pump 101.
        warehouse.Execute("""
            INSERT INTO open_work_order VALUES
                (90001, 'WO-90001', 1, 'corrective', 'x', 2, 'new', 100, 1, NULL, 'web', 'bearing', 'bearing', NULL, '2025-02-28 23:00', NULL, NULL, NULL, NULL, '2025-03-01'),
                (90002, 'WO-90002', 2, 'preventive', 'y', 3, 'new', 101, 1, NULL, 'pm', NULL, NULL, NULL, '2025-02-28 23:00', NULL, NULL, NULL, NULL, '2025-03-01');
            """);
        var after = RiskScoring.Score(warehouse.Connection, 0).Proposals.ToDictionary(p => p.AssetId);

        Assert.NotEqual(before[100], after[100].EvidenceKey);
        Assert.Equal("WO-90001", after[100].CoveredBy);
        Assert.Equal("WO-90002", after[101].CoveredBy);
        Assert.Null(after[102].CoveredBy);
    }

    [Fact]
    public void the_volume_forecast_gives_the_coming_weeks_per_department_beside_its_capacity()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.Rhythmic);

        var weeks = VolumeForecast.Forecast(warehouse.Connection);

        Assert.Equal(8, weeks.Count);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => new DateOnly(2025, 2, 24).AddDays(7 * i)), weeks.Select(w => w.WeekStart));
        Assert.All(weeks, w =>
        {
            Assert.Equal("Maintenance", w.Department);
            Assert.Equal(2, w.Technicians);
            Assert.Equal(80, w.CapacityHours);
            Assert.InRange(w.Forecast, 5, 30);
            Assert.True(w.Low <= w.Forecast && w.Forecast <= w.High, $"{w.Low} {w.Forecast} {w.High}");
            // Every work order of the history was 3 hours in progress.
            Assert.Equal(w.Forecast * 3, w.ExpectedWorkHours, 6);
        });

        Assert.Equal("weeks", Assert.Throws<ArgumentOutOfRangeException>(() => VolumeForecast.Forecast(warehouse.Connection, weeks: 0)).ParamName);
        Assert.Equal("coverage", Assert.Throws<ArgumentOutOfRangeException>(() => VolumeForecast.Forecast(warehouse.Connection, coverage: 1)).ParamName);
    }

    private static TrainingResult Train(ForecastWarehouse warehouse, TrainingRequest request) =>
        ForecastTraining.Train(warehouse.Connection, request, null, CancellationToken.None);

    private sealed class Inline(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
