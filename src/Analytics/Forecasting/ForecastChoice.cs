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

    /// <summary>The site this choice is for; null: the plant (every site), which sites with too little history fall back on.</summary>
    public long? SiteId { get; init; }

    /// <summary>The site's code, as the warehouse knows it (for display).</summary>
    public string? SiteCode { get; init; }

    /// <summary>The site's failing assets over its held-back cut-offs at the shortest horizon: the evidence its own choice rests on.</summary>
    public long SiteFailures { get; init; }

    /// <summary>Whether a site uses the plant's choice (too little history of its own, or no method usable on it alone).</summary>
    public bool UsesPlant { get; init; }

    /// <summary>The choices per site of a plant's choice (each with its own rows); empty on a site's own choice.</summary>
    public IReadOnlyList<ForecastChoice> Sites { get; init; } = [];

    /// <summary>The choice that serves a site: its own, or the plant's when it has none of its own.</summary>
    public ForecastChoice For(long? siteId) =>
        siteId is { } id && Sites.FirstOrDefault(s => s.SiteId == id) is { UsesPlant: false } own ? own : this;

    /// <summary>Precision of the chosen method over that of last failure + MTBF at the same number of proposals (null when MTBF hit nothing).</summary>
    public double? GainOverMtbf => Precision is { } p && MtbfPrecision is > 0 ? p / MtbfPrecision : null;
}

/// <summary>
/// Chooses the horizon and the method of a plant by backtest, and of each of its sites. One model is trained over every
/// site (sites share asset types and fault modes, and a small site's months hold too few failures to learn from);
/// the comparison is then made for the plant and again on each site's assets alone, so a site whose failures follow
/// a different rhythm gets the horizon and method that suit it, and a site with too little history the plant's.
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

    /// <summary>
    /// The fewest failing assets a site's held-back cut-offs must hold (at the shortest horizon) for the site to get a
    /// choice of its own; below it, the site uses the plant's.
    /// </summary>
    public const int MinSiteFailures = 30;

    /// <summary>Trains a version per horizon, compares every method at every horizon, for the plant and per site, and stores the choice.</summary>
    public static ForecastChoice Run(
        DuckDB.NET.Data.DuckDBConnection warehouse, TrainingRequest request, IReadOnlyList<int> horizons, DateTime now,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var trained = ForecastTraining.Train(warehouse, request, horizons, progress, cancellationToken);
        var plant = Choose(trained, now, request.ProposalShare);
        return new ForecastStore(warehouse).SaveChoice(plant with { Sites = ChooseSites(trained, plant, now, request.ProposalShare) });
    }

    /// <summary>
    /// The choice of each site (a pure function): the same comparison on the backtest of the site's assets alone, with
    /// the models trained over every site. A site whose held-back months hold fewer than <see cref="MinSiteFailures"/>
    /// failing assets, or on which no method is usable alone, uses the plant's choice (<see cref="ForecastChoice.UsesPlant"/>),
    /// its own rows kept for the comparison.
    /// </summary>
    public static IReadOnlyList<ForecastChoice> ChooseSites(
        IReadOnlyList<(int HorizonDays, TrainingResult Result)> trained, ForecastChoice plant, DateTime now, double proposalShare, int minFailures = MinSiteFailures)
    {
        var sites = trained.SelectMany(t => t.Result.BySite.Keys).Distinct().Order().ToList();
        var choices = new List<ForecastChoice>(sites.Count);
        foreach (var site in sites)
        {
            List<(int, TrainingResult)> own = [.. trained.Select(t => (t.HorizonDays, t.Result with { Backtest = t.Result.BySite.GetValueOrDefault(site) ?? [] }))];
            var failures = trained.Where(t => t.Result.Trained).OrderBy(t => t.HorizonDays)
                .Select(t => t.Result.BySite.GetValueOrDefault(site)?.FirstOrDefault()?.FailingAssets ?? 0).FirstOrDefault();
            var choice = Choose(own, now, proposalShare);
            var usesPlant = failures < minFailures || !choice.Usable;
            choices.Add(usesPlant
                ? plant with { Id = 0, Rows = [.. choice.Rows.Select(r => r with { Chosen = false })], SiteId = site, SiteFailures = failures, UsesPlant = true, Sites = [] }
                : choice with { SiteId = site, SiteFailures = failures });
        }

        return choices;
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
