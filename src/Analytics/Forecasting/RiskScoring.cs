using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.ML;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// The risk that an in-service asset fails by one fault mode within the horizon, as a proposal for preventive work:
/// the probability, the window the failure is expected in, the reasons in plain words, the preventive template to use
/// and how long its work usually takes in progress, the open preventive or corrective work order that already covers
/// it (if any), and the evidence key (same key = same evidence, so a dismissed proposal can stay dismissed). Reasons
/// are the features that pushed the risk up, largest first; none when nothing did (a risk below the base rate).
/// </summary>
public sealed record RiskProposal(
    long AssetId,
    string AssetCode,
    string AssetName,
    string AssetType,
    int Criticality,
    string FaultMode,
    double Probability,
    DateTime WindowFrom,
    DateTime WindowTo,
    IReadOnlyList<string> Reasons,
    long? SuggestedTemplateId,
    string? SuggestedTemplateName,
    double? EstimatedHours,
    string? CoveredBy,
    string EvidenceKey);

/// <summary>
/// The proposals of one scoring run, the model version of the choice behind them, the method that made them (the model
/// or a heuristic, <see cref="ForecastBacktest.Methods"/>) at its horizon, and the moment they are for; or why there are none.
/// </summary>
public sealed record ScoringResult(
    ForecastModelInfo? Model, DateTime Now, IReadOnlyList<RiskProposal> Proposals, ForecastRefusal? Refusal, int Scored,
    string Method = ForecastBacktest.Model, int? HorizonDays = null)
{
    public bool Succeeded => Refusal is null;

    /// <summary>What made the proposals, as stored with them: the model version ("3"), or the heuristic and its horizon ("mtbf 14d").</summary>
    public string MadeBy => Method == ForecastBacktest.Model
        ? Model?.Version.ToString(CultureInfo.InvariantCulture) ?? ""
        : string.Create(CultureInfo.InvariantCulture, $"{Method} {HorizonDays}d");
}

/// <summary>
/// Scores every (in-service asset, fault mode) at "now", the moment of the warehouse's latest data, with the newest good
/// model version, and returns those at or above the threshold, highest risk x criticality first.
/// </summary>
public static class RiskScoring
{
    private const string AssetDetails = """
        WITH work AS (
            SELECT work_order_id, asset_id, template_id, department_id, work_type FROM fact_work_order WHERE asset_id IS NOT NULL
            UNION ALL
            SELECT work_order_id, asset_id, template_id, department_id, work_type FROM open_work_order WHERE asset_id IS NOT NULL),
        -- Preventive work is done on a machine for its components too: count the parent's templates as the asset's.
        owners AS (
            SELECT asset_id, asset_id AS owner FROM dim_asset
            UNION ALL
            SELECT asset_id, parent_id FROM dim_asset WHERE parent_id IS NOT NULL),
        pm_use AS (
            SELECT o.asset_id, w.template_id, count(*) AS n
            FROM owners o JOIN work w ON w.asset_id = o.owner AND w.work_type = 'preventive'
            GROUP BY ALL),
        best_pm AS (
            SELECT asset_id, template_id FROM (
                SELECT *, row_number() OVER (PARTITION BY asset_id ORDER BY n DESC, template_id) AS r FROM pm_use)
            WHERE r = 1),
        department AS (
            SELECT asset_id, department_id FROM (
                SELECT asset_id, department_id, row_number() OVER (PARTITION BY asset_id ORDER BY count(*) DESC, department_id) AS r
                FROM work GROUP BY asset_id, department_id)
            WHERE r = 1),
        any_pm AS (SELECT department_id, min(template_id) AS template_id FROM dim_template WHERE work_type = 'preventive' GROUP BY ALL),
        hands_on AS (
            SELECT w.template_id, median(s.seconds) / 3600.0 AS hours
            FROM (SELECT work_order_id, sum(seconds) AS seconds FROM fact_status_interval WHERE status = 'in_progress' GROUP BY ALL) s
            JOIN fact_work_order w USING (work_order_id)
            GROUP BY ALL)
        SELECT a.asset_id, a.code, a.name, a.criticality, t.template_id, t.name, h.hours
        FROM dim_asset a
        LEFT JOIN best_pm b ON b.asset_id = a.asset_id
        LEFT JOIN department d ON d.asset_id = a.asset_id
        LEFT JOIN any_pm f ON f.department_id = d.department_id
        LEFT JOIN dim_template t ON t.template_id = coalesce(b.template_id, f.template_id)
        LEFT JOIN hands_on h ON h.template_id = t.template_id
        WHERE a.lifecycle = 'in_service' AND a.asset_type IS NOT NULL
        """;

    // Open preventive work on the asset or its machine covers every mode; open corrective work covers its failure code.
    private const string Covering = """
        SELECT asset_id, mode, min(number) FROM (
            SELECT a.asset_id, NULL::VARCHAR AS mode, o.number
            FROM (SELECT asset_id, asset_id AS owner FROM dim_asset
                  UNION ALL SELECT asset_id, parent_id FROM dim_asset WHERE parent_id IS NOT NULL) a
            JOIN open_work_order o ON o.asset_id = a.owner AND o.work_type = 'preventive'
            UNION ALL
            SELECT asset_id, failure_code, number FROM open_work_order
            WHERE work_type = 'corrective' AND failure_code IS NOT NULL AND asset_id IS NOT NULL)
        GROUP BY ALL
        """;

    /// <summary>
    /// The proposals at or above <paramref name="threshold"/> (0 to 1; refused otherwise, naming "threshold"). Refused
    /// naming "model" when no good model version is stored yet.
    /// </summary>
    public static ScoringResult Score(DuckDBConnection warehouse, double threshold, CancellationToken cancellationToken = default) =>
        Score(warehouse, threshold, null, cancellationToken);

    /// <summary>
    /// Proposals by the newest choice of horizon and method (<see cref="ForecastSelection"/>): the model's at or above
    /// the threshold when the model won, else the top <see cref="ForecastChoice.ProposalShare"/> of the in-service assets
    /// by the heuristic that won, as in its backtest (the threshold is a cut on the model's probabilities; a heuristic
    /// has none, so its proposals carry its backtest precision as their probability). Refused naming "model" when
    /// there is no usable choice.
    /// </summary>
    public static ScoringResult ScoreChoice(DuckDBConnection warehouse, double threshold, CancellationToken cancellationToken = default)
    {
        var store = new ForecastStore(warehouse);
        if (store.NewestChoice() is not { Usable: true } choice)
        {
            return new ScoringResult(null, default, [], new ForecastRefusal("model", "forecast.no_model"), 0);
        }

        if (choice.Method == ForecastBacktest.Model)
        {
            return Score(warehouse, threshold, choice.ModelVersion, cancellationToken);
        }

        var info = choice.ModelVersion is { } v ? store.Version(v)?.Info : null;
        var horizon = choice.HorizonDays!.Value;
        var now = Now(warehouse);
        var details = Details(warehouse);
        var covering = Coverings(warehouse);
        cancellationToken.ThrowIfCancellationRequested();
        var rows = ForecastFeatures.At(warehouse, now, horizon).Where(r => details.ContainsKey(r.AssetId)).ToList();
        var assets = ForecastBacktest.Assets(rows, new float[rows.Count]);
        var k = (int)Math.Max(1, Math.Round(assets.Count * choice.ProposalShare));
        var byAsset = rows.ToLookup(r => r.AssetId);
        var proposals = new List<RiskProposal>();
        foreach (var a in ForecastBacktest.Propose(choice.Method!, assets, k, horizon))
        {
            // The asset's mode due soonest by its own MTBF names the work.
            var row = byAsset[a.AssetId]
                .OrderBy(r => r["mode_failures_365"] > 0 ? 0 : 1).ThenBy(r => r["mode_mtbf_days"] - r["days_since_mode_failure"]).ThenBy(r => r.Mode, StringComparer.Ordinal)
                .First();
            var asset = details[a.AssetId];
            var mtbf = choice.Method == ForecastBacktest.Mtbf;
            string[] drivers = mtbf ? ["any_failures_all", "days_since_any_failure"] : ["days_since_pm"];
            var (from, to) = mtbf ? Window(now, horizon, row) : (now, now.AddDays(horizon));
            proposals.Add(new RiskProposal(
                a.AssetId, asset.Code, asset.Name, row.AssetType, asset.Criticality, row.Mode, choice.Precision!.Value, from, to,
                [ForecastReasons.Method(choice.Method!, horizon, choice.Precision.Value, choice.MtbfPrecision), ForecastReasons.Heuristic(choice.Method!, row)],
                asset.TemplateId, asset.TemplateName, asset.Hours,
                covering.GetValueOrDefault((a.AssetId, row.Mode)) ?? covering.GetValueOrDefault((a.AssetId, "")),
                choice.Method + ":" + ForecastReasons.EvidenceKey(a.AssetId, row.Mode, now, drivers, row.Features)));
        }

        return new ScoringResult(
            info, now,
            [.. proposals.OrderByDescending(p => p.Criticality).ThenBy(p => p.AssetCode, StringComparer.Ordinal)],
            null, rows.Count, choice.Method!, horizon);
    }

    /// <summary>Proposals of one stored version (<paramref name="version"/>), or of the newest good one when null.</summary>
    public static ScoringResult Score(DuckDBConnection warehouse, double threshold, long? version, CancellationToken cancellationToken = default)
    {
        if (double.IsNaN(threshold) || threshold < 0 || threshold > 1)
        {
            return new ScoringResult(null, default, [], new ForecastRefusal("threshold", "forecast.threshold"), 0);
        }

        var store = new ForecastStore(warehouse);
        var stored = version is { } chosen ? store.Version(chosen) : store.NewestGood();
        if (stored is not { } newest)
        {
            return new ScoringResult(null, default, [], new ForecastRefusal("model", "forecast.no_model"), 0);
        }

        if (!newest.Features.SequenceEqual(ForecastFeatures.Names))
        {
            return new ScoringResult(newest.Info, default, [], new ForecastRefusal("model", "forecast.model_features", newest.Info.Version), 0);
        }

        var now = Now(warehouse);
        var horizon = newest.Info.HorizonDays;
        var details = Details(warehouse);
        var covering = Coverings(warehouse);
        cancellationToken.ThrowIfCancellationRequested();
        var rows = ForecastFeatures.At(warehouse, now, horizon).Where(r => details.ContainsKey(r.AssetId)).ToList();
        cancellationToken.ThrowIfCancellationRequested();

        var ml = new MLContext(newest.Info.Seed);
        ITransformer model;
        using (var stream = new MemoryStream(newest.Model))
        {
            model = ml.Model.Load(stream, out _);
        }

        var scored = ml.Data.CreateEnumerable<ForecastTraining.Scored>(
            model.Transform(ml.Data.LoadFromEnumerable(ForecastTraining.Examples(rows))), reuseRowObject: false);
        var proposals = new List<RiskProposal>();
        foreach (var (row, score) in rows.Zip(scored))
        {
            if (score.Probability < threshold)
            {
                continue;
            }

            var asset = details[row.AssetId];
            var reasons = ForecastReasons.Top(score.FeatureContributions, row.Features, row.Mode, row.AssetType);
            var (from, to) = Window(now, horizon, row);
            proposals.Add(new RiskProposal(
                row.AssetId, asset.Code, asset.Name, row.AssetType, asset.Criticality, row.Mode, score.Probability, from, to,
                [.. reasons.Select(r => r.Text)],
                asset.TemplateId, asset.TemplateName, asset.Hours,
                covering.GetValueOrDefault((row.AssetId, row.Mode)) ?? covering.GetValueOrDefault((row.AssetId, "")),
                ForecastReasons.EvidenceKey(row.AssetId, row.Mode, now, reasons.Select(r => r.Feature), row.Features)));
        }

        return new ScoringResult(
            newest.Info, now,
            [.. proposals.OrderByDescending(p => p.Probability * p.Criticality).ThenBy(p => p.AssetCode, StringComparer.Ordinal).ThenBy(p => p.FaultMode, StringComparer.Ordinal)],
            null, rows.Count, ForecastBacktest.Model, horizon);
    }

    /// <summary>
    /// The moment of the warehouse's latest data: just after the newest work order or history event it holds. Not the
    /// time of the ingest, which for an imported or generated history can lie long after its last day.
    /// </summary>
    public static DateTime Now(DuckDBConnection warehouse)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = """
            SELECT greatest((SELECT max(occurred_at) FROM fact_event),
                            (SELECT max(created_at) FROM (SELECT created_at FROM fact_work_order UNION ALL SELECT created_at FROM open_work_order)))
                   + INTERVAL 1 SECOND
            """;
        return command.ExecuteScalar() is DateTime now ? now : throw new InvalidOperationException("The warehouse holds no work orders to score from.");
    }

    /// <summary>
    /// The horizon after now, narrowed to a quarter of the horizon either side of the mode's MTBF due date
    /// (last failure + MTBF) when that falls inside it.
    /// </summary>
    internal static (DateTime From, DateTime To) Window(DateTime now, int horizonDays, FeatureRow row)
    {
        var end = now.AddDays(horizonDays);
        var due = now.AddDays(row["mode_mtbf_days"] - row["days_since_mode_failure"]);
        if (row["mode_failures_365"] == 0 || due <= now || due >= end)
        {
            return (now, end);
        }

        var half = TimeSpan.FromDays(horizonDays / 4.0);
        var from = due - half < now ? now : due - half;
        var to = due + half > end ? end : due + half;
        return (from, to);
    }

    private sealed record AssetDetail(string Code, string Name, int Criticality, long? TemplateId, string? TemplateName, double? Hours);

    private static Dictionary<long, AssetDetail> Details(DuckDBConnection warehouse)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = AssetDetails;
        using var reader = command.ExecuteReader();
        var details = new Dictionary<long, AssetDetail>();
        while (reader.Read())
        {
            details[reader.GetInt64(0)] = new AssetDetail(
                reader.GetString(1), reader.GetString(2), Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture),
                reader.IsDBNull(4) ? null : reader.GetInt64(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetDouble(6));
        }

        return details;
    }

    /// <summary>Open work by (asset, mode); mode "" for preventive work, which covers every mode.</summary>
    private static Dictionary<(long, string), string> Coverings(DuckDBConnection warehouse)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = Covering;
        using var reader = command.ExecuteReader();
        var covering = new Dictionary<(long, string), string>();
        while (reader.Read())
        {
            covering[(reader.GetInt64(0), reader.IsDBNull(1) ? "" : reader.GetString(1))] = reader.GetString(2);
        }

        return covering;
    }
}
