using WorkOrders.Analytics.Forecasting;

namespace WorkOrders.Analytics.Tests.Forecasting;

/// <summary>The choice of horizon and method by backtest: the rule, and on a small warehouse end to end.</summary>
public sealed class ForecastChoiceTests
{
    private static readonly DateTime Now = new(2025, 3, 2);

    [Fact]
    public void the_usable_row_with_the_best_precision_wins_and_ties_go_to_the_shorter_horizon_then_the_simpler_method()
    {
        var trained = new[]
        {
            // 7 days: the model is best here but not good, so not usable; MTBF 30 %, fixed interval no better than random.
            (7, Trained(1, good: false, model: 0.50, mtbf: 0.30, interval: 0.05)),
            // 14 days: the model and MTBF tie at 40 %: MTBF, the simpler, wins.
            (14, Trained(2, good: true, model: 0.40, mtbf: 0.40, interval: 0.20)),
            // 30 days: 40 % too, a tie with 14 days: the shorter horizon wins.
            (30, Trained(3, good: true, model: 0.4004, mtbf: 0.10, interval: 0.20)),
        };

        var choice = ForecastSelection.Choose(trained, Now, 0.05);

        Assert.True(choice.Usable);
        Assert.Equal((14, ForecastBacktest.Mtbf, 2L), (choice.HorizonDays!.Value, choice.Method!, choice.ModelVersion!.Value));
        Assert.Equal(0.40, choice.Precision);
        Assert.Equal(0.40, choice.MtbfPrecision);
        Assert.Equal(1.0, choice.GainOverMtbf);
        Assert.Equal(9, choice.Rows.Count);
        var chosen = Assert.Single(choice.Rows, r => r.Chosen);
        Assert.Equal((14, ForecastBacktest.Mtbf), (chosen.HorizonDays, chosen.Method));
        Assert.False(choice.Rows.Single(r => r is { HorizonDays: 7, Method: ForecastBacktest.Model }).Usable);
        Assert.False(choice.Rows.Single(r => r is { HorizonDays: 7, Method: ForecastBacktest.FixedInterval }).Usable);

        // A clear win by the model at 30 days takes it.
        var clear = ForecastSelection.Choose([trained[0], trained[1], (30, Trained(3, good: true, model: 0.60, mtbf: 0.10, interval: 0.20))], Now, 0.05);
        Assert.Equal((30, ForecastBacktest.Model), (clear.HorizonDays!.Value, clear.Method!));
        Assert.Equal(6.0, clear.GainOverMtbf!.Value, 6);
    }

    [Fact]
    public void with_no_usable_method_nothing_is_chosen_and_the_reason_is_kept()
    {
        var refused = TrainingResult.Refused("history", "forecast.cutoffs_few", 14, 6, Now, Now, 2, 1);
        var poor = Trained(1, good: false, model: 0.05, mtbf: 0.04, interval: 0);

        var none = ForecastSelection.Choose([(7, poor), (30, refused)], Now, 0.05);
        Assert.False(none.Usable);
        Assert.Equal("forecast.no_method", none.Refusal!.Code);
        Assert.Equal("forecast.cutoffs_few", none.Rows.Single(r => r.HorizonDays == 30).Refusal!.Code);

        // Every horizon refused: the training's own reason.
        var allRefused = ForecastSelection.Choose([(7, refused), (30, refused)], Now, 0.05);
        Assert.Equal("forecast.cutoffs_few", allRefused.Refusal!.Code);
    }

    [Fact]
    public void horizons_share_their_features_and_the_choice_is_stored_and_proposes_by_the_method_that_won()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.Rhythmic);
        var store = new ForecastStore(warehouse.Connection);

        var choice = ForecastSelection.Run(warehouse.Connection, new TrainingRequest(), [14, 30], Now, null, CancellationToken.None);

        Assert.True(choice.Usable, choice.Refusal?.Code);
        Assert.Equal(choice with { Id = 1 }, store.NewestChoice()! with { Rows = choice.Rows, Sites = choice.Sites });
        Assert.Equal(choice.Rows, store.NewestChoice()!.Rows);
        Assert.Equal([14, 14, 14, 30, 30, 30], choice.Rows.Select(r => r.HorizonDays));
        Assert.Single(choice.Rows, r => r.Chosen);
        Assert.All(choice.Rows, r => Assert.NotNull(r.BaseRate));

        // The 30-day version trained beside the 14-day one is the one trained alone: the shared features change nothing.
        var alone = ForecastTraining.Train(warehouse.Connection, new TrainingRequest(HorizonDays: 30), null, CancellationToken.None).Model!;
        var shared = store.Models().Single(m => m.Version == choice.Rows.Single(r => r is { HorizonDays: 30, Method: ForecastBacktest.Model }).ModelVersion);
        Assert.Equal((alone.LogLoss, alone.Auc, alone.TestPositives), (shared.LogLoss, shared.Auc, shared.TestPositives));

        // Last failure + MTBF made the choice: its proposals are a share of the assets, each saying it made them.
        var heuristic = store.SaveChoice(choice with { Method = ForecastBacktest.Mtbf, HorizonDays = 14, Precision = 0.3, MtbfPrecision = 0.3, ProposalShare = 0.1 });
        var scored = RiskScoring.ScoreChoice(warehouse.Connection, 0.99);
        Assert.True(scored.Succeeded, scored.Refusal?.Code);
        Assert.Equal((ForecastBacktest.Mtbf, 14, "mtbf 14d"), (scored.Method, scored.HorizonDays!.Value, scored.MadeBy));
        Assert.Equal(6, scored.Proposals.Count);
        Assert.All(scored.Proposals, p =>
        {
            Assert.Equal(0.3, p.Probability);
            Assert.StartsWith("proposed by last failure + MTBF, which did best in the backtest at 14 days", p.Reasons[0], StringComparison.Ordinal);
            Assert.Contains("mean time between failures", p.Reasons[1], StringComparison.Ordinal);
        });
        Assert.Equal(heuristic.Id, store.NewestChoice()!.Id);
    }

    [Fact]
    public void each_site_gets_the_choice_of_its_own_backtest_and_a_site_with_too_little_history_or_no_usable_method_the_plant_s()
    {
        // The plant: the model wins at 30 days. Site 10 alone: MTBF wins at 7 days. Site 20: 12 failures held back, too
        // few. Site 30: enough failures, but no method beats random picking on it alone.
        var trained = new[]
        {
            (7, Trained(1, good: true, model: 0.20, mtbf: 0.10, interval: 0.0) with
            {
                BySite = new Dictionary<long, IReadOnlyList<BacktestRow>>
                {
                    [10] = Site(40, model: 0.30, mtbf: 0.50), [20] = Site(12, model: 0.90, mtbf: 0.10), [30] = Site(40, model: 0.04, mtbf: 0.03),
                },
            }),
            (30, Trained(2, good: true, model: 0.50, mtbf: 0.20, interval: 0.0) with
            {
                BySite = new Dictionary<long, IReadOnlyList<BacktestRow>>
                {
                    [10] = Site(80, model: 0.40, mtbf: 0.45), [20] = Site(30, model: 0.95, mtbf: 0.20), [30] = Site(80, model: 0.02, mtbf: 0.01),
                },
            }),
        };
        var plant = ForecastSelection.Choose(trained, Now, 0.05);

        var sites = ForecastSelection.ChooseSites(trained, plant, Now, 0.05);

        Assert.Equal((30, ForecastBacktest.Model), (plant.HorizonDays!.Value, plant.Method!));
        Assert.Equal([10L, 20L, 30L], sites.Select(s => s.SiteId!.Value));
        var own = sites[0];
        Assert.Equal((false, 40L, 7, ForecastBacktest.Mtbf, 0.50, 0.50), (own.UsesPlant, own.SiteFailures, own.HorizonDays!.Value, own.Method!, own.Precision!.Value, own.MtbfPrecision!.Value));
        Assert.Equal((7, ForecastBacktest.Mtbf), Assert.Single(own.Rows, r => r.Chosen) is var c ? (c.HorizonDays, c.Method) : default);
        Assert.All(sites.Skip(1), s => Assert.Equal((true, 30, ForecastBacktest.Model, 0.50), (s.UsesPlant, s.HorizonDays!.Value, s.Method!, s.Precision!.Value)));
        Assert.Equal([12L, 40L], sites.Skip(1).Select(s => s.SiteFailures));
        Assert.All(sites.Skip(1), s => Assert.DoesNotContain(s.Rows, r => r.Chosen));

        // What serves a site: its own choice, else the plant's (also for a site the backtest never saw).
        var withSites = plant with { Sites = sites };
        Assert.Same(own, withSites.For(10));
        Assert.Same(withSites, withSites.For(20));
        Assert.Same(withSites, withSites.For(99));
        Assert.Same(withSites, withSites.For(null));
    }

    [Fact]
    public void a_choice_is_stored_with_its_sites_and_read_back_with_their_codes_and_rows()
    {
        using var warehouse = new ForecastWarehouse(ForecastWarehouse.Rhythmic);
        using (var command = warehouse.Connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO dim_asset VALUES (1, 'S1', 'Site one', 'site', NULL, NULL, NULL, 3, NULL, 'in_service', 1, 'S1')";
            command.ExecuteNonQuery();
        }

        var store = new ForecastStore(warehouse.Connection);
        var trained = new[] { (30, Trained(2, good: true, model: 0.50, mtbf: 0.20, interval: 0.0) with { BySite = new Dictionary<long, IReadOnlyList<BacktestRow>> { [1] = Site(40, model: 0.30, mtbf: 0.60) } }) };
        var plant = ForecastSelection.Choose(trained, Now, 0.05);

        var saved = store.SaveChoice(plant with { Sites = ForecastSelection.ChooseSites(trained, plant, Now, 0.05) });
        var read = store.NewestChoice()!;

        Assert.Equal((saved.Id, ForecastBacktest.Model, 1), (read.Id, read.Method!, read.Sites.Count));
        var site = read.Sites[0];
        Assert.Equal((1L, "S1", 40L, false, ForecastBacktest.Mtbf, 0.60), (site.SiteId!.Value, site.SiteCode!, site.SiteFailures, site.UsesPlant, site.Method!, site.Precision!.Value));
        Assert.Equal(saved.Sites[0].Rows, site.Rows);
        Assert.Equal("S1", saved.Sites[0].SiteCode);
        Assert.Equal(3, site.Rows.Count);
    }

    private static IReadOnlyList<BacktestRow> Site(long failing, double model, double mtbf) =>
    [
        Row(ForecastBacktest.Model, model) with { FailingAssets = failing },
        Row(ForecastBacktest.Mtbf, mtbf) with { FailingAssets = failing },
        Row(ForecastBacktest.FixedInterval, 0) with { FailingAssets = failing },
    ];

    private static TrainingResult Trained(long version, bool good, double model, double mtbf, double interval)
    {
        var day = new DateTime(2025, 1, 1);
        var info = new ForecastModelInfo(
            version, day, TimeSpan.Zero, ForecastTraining.Trainer, 30, 1, day, day, day, day, day, day, 10, 100, 10, 100, 10, 0.7, 0.2, 0.3, 0.5, 0.5, good, "");
        return new TrainingResult(info, [Row(ForecastBacktest.Model, model), Row(ForecastBacktest.Mtbf, mtbf), Row(ForecastBacktest.FixedInterval, interval)], [], null);
    }

    // 100 proposals; random picking finds a failure 5 % of the time.
    private static BacktestRow Row(string method, double precision) =>
        new(method, 10, 10, 100, (long)Math.Round(precision * 100), 50, precision, precision, 5, null, null, 0.05);
}
