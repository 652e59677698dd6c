namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// How one way of proposing work did on the held-back months, at the same number of proposals per cut-off (K):
/// precision (proposed assets that failed within the horizon / proposals), recall (failing assets that had been
/// proposed / failing assets), mean lead time (days from the proposal to the failure it preceded), and, when the
/// truly degrading assets are known (generated data), how many of the proposals were on them: null, not 0, where there
/// is no such truth (real data), so it is shown empty.
/// </summary>
public sealed record BacktestRow(
    string Method,
    int ProposalsPerCutoff,
    int Cutoffs,
    long Proposals,
    long Hits,
    long FailingAssets,
    double Precision,
    double Recall,
    double? MeanLeadDays,
    long? DegradingProposals,
    double? DegradingShare,
    double? BaseRate = null)
{
    /// <summary>
    /// Whether the method can be used to propose work: it hit at least once and its precision beats picking assets at
    /// random (<see cref="BaseRate"/>: the share of the assets at a cut-off that failed within the horizon).
    /// </summary>
    public bool BeatsRandom => Hits > 0 && Precision > (BaseRate ?? 0);
}

/// <summary>
/// The backtest: at each held-back cut-off each method proposes K assets, where K is <c>proposalShare</c> of the
/// assets at that cut-off (at least one). Methods compared, all at asset level (an asset is hit when any failure
/// with a failure code is raised on it within the horizon):
/// <list type="bullet">
/// <item>model: the assets with the highest risk that any of their modes fails, 1 - prod(1 - p);</item>
/// <item>mtbf: "next failure = last failure + MTBF" per asset (its failures so far); those due within the horizon
/// first, ranked by how close the due date is to the cut-off, then the next due;</item>
/// <item>fixed_interval: assets whose last preventive work is older than their type's median preventive interval,
/// ranked by how far overdue.</item>
/// </list>
/// A pure function of the held-back feature rows and the model's probabilities. Each row also gives the base rate, the
/// precision of picking K assets at random.
/// </summary>
public static class ForecastBacktest
{
    public const string Model = "model";
    public const string Mtbf = "mtbf";
    public const string FixedInterval = "fixed_interval";

    public static IReadOnlyList<BacktestRow> Run(
        IReadOnlyList<FeatureRow> rows, IReadOnlyList<float> probabilities, int horizonDays, double proposalShare, IReadOnlySet<long>? degrading)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(probabilities.Count, rows.Count, nameof(probabilities));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(proposalShare, nameof(proposalShare));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(proposalShare, 1, nameof(proposalShare));

        // An empty set of degrading assets is no truth at all (the generator never ran), not a truth that none degrade.
        if (degrading is { Count: 0 })
        {
            degrading = null;
        }

        var assets = Assets(rows, probabilities);
        var byCutoff = assets.GroupBy(a => a.Cutoff).OrderBy(g => g.Key).ToList();
        var k = byCutoff.Count == 0 ? 0 : (int)Math.Max(1, Math.Round(byCutoff.Average(g => g.Count()) * proposalShare));
        var result = new List<BacktestRow>();
        var assetCutoffs = assets.Count;
        foreach (var name in (string[])[Model, Mtbf, FixedInterval])
        {
            long proposals = 0, hits = 0, failing = 0, onDegrading = 0;
            double lead = 0;
            foreach (var cutoff in byCutoff)
            {
                var all = cutoff.ToList();
                failing += all.Count(a => a.DaysToFailure is not null);
                foreach (var proposal in Propose(name, all, k, horizonDays))
                {
                    proposals++;
                    if (proposal.DaysToFailure is { } days)
                    {
                        hits++;
                        lead += days;
                    }

                    if (degrading?.Contains(proposal.AssetId) == true)
                    {
                        onDegrading++;
                    }
                }
            }

            result.Add(new BacktestRow(
                name, k, byCutoff.Count, proposals, hits, failing,
                proposals == 0 ? 0 : (double)hits / proposals,
                failing == 0 ? 0 : (double)hits / failing,
                hits == 0 ? null : lead / hits,
                degrading is null ? null : onDegrading,
                degrading is null || proposals == 0 ? null : (double)onDegrading / proposals,
                assetCutoffs == 0 ? 0 : (double)failing / assetCutoffs));
        }

        return result;
    }

    /// <summary>The methods compared, simplest first (the order ties are settled in).</summary>
    public static IReadOnlyList<string> Methods { get; } = [FixedInterval, Mtbf, Model];

    /// <summary>The <paramref name="k"/> assets <paramref name="method"/> proposes among those at one cut-off (or now).</summary>
    internal static IEnumerable<AssetAtCutoff> Propose(string method, IReadOnlyList<AssetAtCutoff> all, int k, int horizonDays) => method switch
    {
        Model => all.OrderByDescending(a => a.Risk).ThenBy(a => a.AssetId).Take(k),
        Mtbf => all.Where(a => a.FailuresSoFar > 0)
            .OrderBy(a => a.DueInDays <= horizonDays ? 0 : 1)
            .ThenBy(a => a.DueInDays <= horizonDays ? Math.Abs(a.DueInDays) : a.DueInDays)
            .ThenBy(a => a.AssetId).Take(k),
        FixedInterval => all.Where(a => a.PmIntervalDays > 0)
            .OrderByDescending(a => a.DaysSincePm - a.PmIntervalDays).ThenBy(a => a.AssetId).Take(k),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "not a backtest method"),
    };

    internal sealed record AssetAtCutoff(
        DateTime Cutoff, long AssetId, double Risk, double? DaysToFailure, float FailuresSoFar, double DueInDays, float DaysSincePm, float PmIntervalDays);

    /// <summary>The (asset, mode) rows folded to one row per asset and cut-off.</summary>
    internal static List<AssetAtCutoff> Assets(IReadOnlyList<FeatureRow> rows, IReadOnlyList<float> probabilities)
    {
        var list = new List<AssetAtCutoff>();
        foreach (var group in rows.Select((row, index) => (row, index)).GroupBy(x => (x.row.Cutoff, x.row.AssetId)))
        {
            var survive = 1.0;
            foreach (var (_, index) in group)
            {
                survive *= 1 - probabilities[index];
            }

            var first = group.First().row;
            list.Add(new AssetAtCutoff(
                first.Cutoff, first.AssetId, 1 - survive, first.DaysToAssetFailure,
                first["any_failures_all"],
                first["any_mtbf_days"] - first["days_since_any_failure"],
                first["days_since_pm"],
                first["pm_interval_days"]));
        }

        return list;
    }
}
