namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// One (horizon, method) a choice compared: its backtest on the held-back months at the horizon's number of proposals
/// per cut-off, whether it was usable and whether it won. A horizon whose training was refused has one row, method
/// "model", with the refusal and nothing proposed.
/// </summary>
public sealed record ChoiceRow(
    int HorizonDays,
    long? ModelVersion,
    string Method,
    int ProposalsPerCutoff,
    long Proposals,
    long Hits,
    double Precision,
    double Recall,
    double? BaseRate,
    bool Usable,
    bool Chosen,
    ForecastRefusal? Refusal);

/// <summary>
/// The horizon and method chosen by backtest for the plant, with every row compared; or, when no method is usable,
/// nothing chosen and why (<see cref="Refusal"/>). <see cref="MtbfPrecision"/> is that of last failure + MTBF at the
/// chosen horizon, at the same number of proposals.
/// </summary>
public sealed record ForecastChoice(
    long Id,
    DateTime ChosenAt,
    int? HorizonDays,
    string? Method,
    long? ModelVersion,
    double? Precision,
    double? MtbfPrecision,
    double ProposalShare,
    ForecastRefusal? Refusal,
    IReadOnlyList<ChoiceRow> Rows)
{
    public bool Usable => Method is not null;

    /// <summary>Precision of the chosen method over that of last failure + MTBF at the same number of proposals (null when MTBF hit nothing).</summary>
    public double? GainOverMtbf => Precision is { } p && MtbfPrecision is > 0 ? p / MtbfPrecision : null;
}

/// <summary>
/// Chooses the horizon and the method of a plant by backtest. The plant is the whole warehouse: one model is trained
/// over every site (sites share asset types and fault modes, and one site's held-back months hold too few failures
/// to compare methods on), so one horizon and method serve them all.
/// <para>
/// A method is usable at a horizon when its training was not refused, it hit at least once, its precision beats
/// picking assets at random (the base rate) and, for the model, the version is good (<see cref="ForecastTraining.GoodRule"/>).
/// The usable row with the highest precision wins. Ties (precisions within half a tenth of a percentage point) go to the
/// shorter horizon, whose proposals come sooner and are checked sooner, then to the simpler method: fixed interval,
/// then last failure + MTBF, then the model. No usable row: nothing is chosen, with the refusal of the training when
/// every horizon was refused, else "forecast.no_method".
/// </para>
/// </summary>
public static class ForecastSelection
{
    public const double Tie = 0.0005;

    /// <summary>The default horizons tried, in days.</summary>
    public static IReadOnlyList<int> DefaultHorizons { get; } = [7, 14, 30];

    /// <summary>Trains a version per horizon, compares every method at every horizon and stores the choice.</summary>
    public static ForecastChoice Run(
        DuckDB.NET.Data.DuckDBConnection warehouse, TrainingRequest request, IReadOnlyList<int> horizons, DateTime now,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var trained = ForecastTraining.Train(warehouse, request, horizons, progress, cancellationToken);
        return new ForecastStore(warehouse).SaveChoice(Choose(trained, now, request.ProposalShare));
    }

    /// <summary>The choice among the trained horizons (a pure function: nothing is stored).</summary>
    public static ForecastChoice Choose(IReadOnlyList<(int HorizonDays, TrainingResult Result)> trained, DateTime now, double proposalShare)
    {
        var rows = new List<ChoiceRow>();
        foreach (var (horizon, result) in trained.OrderBy(t => t.HorizonDays))
        {
            if (result.Model is not { } model)
            {
                rows.Add(new ChoiceRow(horizon, null, ForecastBacktest.Model, 0, 0, 0, 0, 0, null, false, false, result.Refusal));
                continue;
            }

            foreach (var method in ForecastBacktest.Methods)
            {
                if (result.Backtest.FirstOrDefault(b => b.Method == method) is not { } b)
                {
                    continue;
                }

                var usable = b.BeatsRandom && (method != ForecastBacktest.Model || model.Good);
                rows.Add(new ChoiceRow(horizon, model.Version, method, b.ProposalsPerCutoff, b.Proposals, b.Hits, b.Precision, b.Recall, b.BaseRate, usable, false, null));
            }
        }

        ChoiceRow? best = null;
        foreach (var row in rows.Where(r => r.Usable))
        {
            // Rows come shortest horizon first and simplest method first: a later row wins only by more than a tie.
            if (best is null || row.Precision > best.Precision + Tie)
            {
                best = row;
            }
        }

        if (best is null)
        {
            var refusals = trained.Select(t => t.Result.Refusal).ToList();
            var refusal = refusals.Count > 0 && refusals.All(r => r is not null)
                ? refusals[0]
                : new ForecastRefusal("model", "forecast.no_method", trained.Count);
            return new ForecastChoice(0, now, null, null, null, null, null, proposalShare, refusal, rows);
        }

        var mtbf = rows.FirstOrDefault(r => r.HorizonDays == best.HorizonDays && r.Method == ForecastBacktest.Mtbf);
        return new ForecastChoice(
            0, now, best.HorizonDays, best.Method, best.ModelVersion, best.Precision, mtbf?.Precision, proposalShare, null,
            [.. rows.Select(r => r == best ? r with { Chosen = true } : r)]);
    }
}
