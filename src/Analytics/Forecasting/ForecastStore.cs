using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// A stored model version: when and how it was trained, the data it saw (window, cut-offs, examples), its metrics on
/// the held-back months, and whether it is good enough to score with (<see cref="ForecastTraining.GoodRule"/>).
/// </summary>
public sealed record ForecastModelInfo(
    long Version,
    DateTime TrainedAt,
    TimeSpan Duration,
    string Trainer,
    int HorizonDays,
    int Seed,
    DateTime DataFrom,
    DateTime DataTo,
    DateTime TrainFrom,
    DateTime TrainTo,
    DateTime TestFrom,
    DateTime TestTo,
    int Cutoffs,
    long TrainExamples,
    long TrainPositives,
    long TestExamples,
    long TestPositives,
    double Auc,
    double LogLoss,
    double BaseLogLoss,
    double Precision,
    double Recall,
    bool Good,
    string GoodRule);

/// <summary>One bin of the calibration table: the mean predicted probability of the held-back examples in it and how often they failed.</summary>
public sealed record CalibrationBin(int Bin, double MeanPredicted, double ObservedRate, long Examples);

/// <summary>A cut-off a model version was trained (or tested, when held back) on.</summary>
public sealed record TrainingCutoff(DateTime Cutoff, bool HeldBack, long Examples, long Positives);

/// <summary>
/// The model versions, their cut-offs, backtests and calibration, in tables of the warehouse file created on first use
/// (they are not part of the ingested schema, so an ingest never touches them). A version is written in one transaction.
/// </summary>
public sealed class ForecastStore(DuckDBConnection warehouse)
{
    private const string Create = """
        CREATE TABLE IF NOT EXISTS forecast_model (
            version             BIGINT PRIMARY KEY,
            trained_at          TIMESTAMP NOT NULL,
            duration_seconds    DOUBLE NOT NULL,
            trainer             VARCHAR NOT NULL,
            horizon_days        INTEGER NOT NULL,
            seed                INTEGER NOT NULL,
            data_from           TIMESTAMP NOT NULL,
            data_to             TIMESTAMP NOT NULL,
            train_from          TIMESTAMP NOT NULL,
            train_to            TIMESTAMP NOT NULL,
            test_from           TIMESTAMP NOT NULL,
            test_to             TIMESTAMP NOT NULL,
            cutoffs             INTEGER NOT NULL,
            train_examples      BIGINT NOT NULL,
            train_positives     BIGINT NOT NULL,
            test_examples       BIGINT NOT NULL,
            test_positives      BIGINT NOT NULL,
            auc                 DOUBLE NOT NULL,
            log_loss            DOUBLE NOT NULL,
            base_log_loss       DOUBLE NOT NULL,
            precision           DOUBLE NOT NULL,
            recall              DOUBLE NOT NULL,
            good                BOOLEAN NOT NULL,
            good_rule           VARCHAR NOT NULL,
            features            VARCHAR NOT NULL,
            model               BLOB NOT NULL
        );

        CREATE TABLE IF NOT EXISTS forecast_cutoff (
            model_version       BIGINT NOT NULL,
            cutoff              TIMESTAMP NOT NULL,
            held_back           BOOLEAN NOT NULL,
            examples            BIGINT NOT NULL,
            positives           BIGINT NOT NULL
        );

        CREATE TABLE IF NOT EXISTS forecast_backtest (
            model_version       BIGINT NOT NULL,
            method              VARCHAR NOT NULL,
            proposals_per_cutoff INTEGER NOT NULL,
            cutoffs             INTEGER NOT NULL,
            proposals           BIGINT NOT NULL,
            hits                BIGINT NOT NULL,
            failing_assets      BIGINT NOT NULL,
            precision           DOUBLE NOT NULL,
            recall              DOUBLE NOT NULL,
            mean_lead_days      DOUBLE,
            degrading_proposals BIGINT,
            degrading_share     DOUBLE
        );

        -- Added with the method choice; versions stored before it have none.
        ALTER TABLE forecast_backtest ADD COLUMN IF NOT EXISTS base_rate DOUBLE;

        -- A choice of horizon and method by backtest: what won (nothing when no method was usable, and why).
        CREATE TABLE IF NOT EXISTS forecast_choice (
            id                  BIGINT PRIMARY KEY,
            chosen_at           TIMESTAMP NOT NULL,
            horizon_days        INTEGER,
            method              VARCHAR,
            model_version       BIGINT,
            precision           DOUBLE,
            mtbf_precision      DOUBLE,
            proposal_share      DOUBLE NOT NULL,
            refusal_code        VARCHAR,
            refusal_args        VARCHAR
        );

        -- Added with the choice per site: a site's choice points at the plant's (parent_id); uses_plant when the site
        -- has too little history of its own (site_failures) or no usable method alone.
        ALTER TABLE forecast_choice ADD COLUMN IF NOT EXISTS parent_id BIGINT;
        ALTER TABLE forecast_choice ADD COLUMN IF NOT EXISTS site_id BIGINT;
        ALTER TABLE forecast_choice ADD COLUMN IF NOT EXISTS site_failures BIGINT;
        ALTER TABLE forecast_choice ADD COLUMN IF NOT EXISTS uses_plant BOOLEAN;

        -- Every (horizon, method) the choice compared.
        CREATE TABLE IF NOT EXISTS forecast_choice_row (
            choice_id           BIGINT NOT NULL,
            horizon_days        INTEGER NOT NULL,
            model_version       BIGINT,
            method              VARCHAR NOT NULL,
            proposals_per_cutoff INTEGER NOT NULL,
            proposals           BIGINT NOT NULL,
            hits                BIGINT NOT NULL,
            precision           DOUBLE NOT NULL,
            recall              DOUBLE NOT NULL,
            base_rate           DOUBLE,
            usable              BOOLEAN NOT NULL,
            chosen              BOOLEAN NOT NULL,
            refusal_code        VARCHAR,
            refusal_args        VARCHAR
        );

        CREATE TABLE IF NOT EXISTS forecast_calibration (
            model_version       BIGINT NOT NULL,
            bin                 INTEGER NOT NULL,
            mean_predicted      DOUBLE NOT NULL,
            observed_rate       DOUBLE NOT NULL,
            examples            BIGINT NOT NULL
        );
        """;

    private const string ModelColumns = """
        version, trained_at, duration_seconds, trainer, horizon_days, seed, data_from, data_to, train_from, train_to, test_from, test_to,
        cutoffs, train_examples, train_positives, test_examples, test_positives, auc, log_loss, base_log_loss, precision, recall, good, good_rule
        """;

    /// <summary>Every model version, newest first.</summary>
    public IReadOnlyList<ForecastModelInfo> Models()
    {
        EnsureTables();
        using var command = warehouse.CreateCommand();
        command.CommandText = $"SELECT {ModelColumns} FROM forecast_model ORDER BY version DESC";
        using var reader = command.ExecuteReader();
        var models = new List<ForecastModelInfo>();
        while (reader.Read())
        {
            models.Add(ReadInfo(reader));
        }

        return models;
    }

    /// <summary>The newest version marked good, with its serialized model; null when there is none.</summary>
    public (ForecastModelInfo Info, byte[] Model, IReadOnlyList<string> Features)? NewestGood()
    {
        EnsureTables();
        using var command = warehouse.CreateCommand();
        command.CommandText = $"SELECT {ModelColumns}, features, model FROM forecast_model WHERE good ORDER BY version DESC LIMIT 1";
        return ReadModel(command);
    }

    public IReadOnlyList<BacktestRow> Backtest(long version)
    {
        EnsureTables();
        using var command = warehouse.CreateCommand();
        command.CommandText = """
            SELECT method, proposals_per_cutoff, cutoffs, proposals, hits, failing_assets, precision, recall, mean_lead_days, degrading_proposals, degrading_share,
                   base_rate
            FROM forecast_backtest WHERE model_version = $version
            ORDER BY CASE method WHEN 'model' THEN 0 WHEN 'mtbf' THEN 1 ELSE 2 END
            """;
        command.Parameters.Add(new DuckDBParameter("version", version));
        using var reader = command.ExecuteReader();
        var rows = new List<BacktestRow>();
        while (reader.Read())
        {
            rows.Add(new BacktestRow(
                reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                reader.GetDouble(6), reader.GetDouble(7),
                reader.IsDBNull(8) ? null : reader.GetDouble(8),
                reader.IsDBNull(9) ? null : reader.GetInt64(9),
                reader.IsDBNull(10) ? null : reader.GetDouble(10),
                reader.IsDBNull(11) ? null : reader.GetDouble(11)));
        }

        return rows;
    }

    public IReadOnlyList<CalibrationBin> Calibration(long version)
    {
        EnsureTables();
        using var command = warehouse.CreateCommand();
        command.CommandText = "SELECT bin, mean_predicted, observed_rate, examples FROM forecast_calibration WHERE model_version = $version ORDER BY bin";
        command.Parameters.Add(new DuckDBParameter("version", version));
        using var reader = command.ExecuteReader();
        var bins = new List<CalibrationBin>();
        while (reader.Read())
        {
            bins.Add(new CalibrationBin(reader.GetInt32(0), reader.GetDouble(1), reader.GetDouble(2), reader.GetInt64(3)));
        }

        return bins;
    }

    public IReadOnlyList<TrainingCutoff> Cutoffs(long version)
    {
        EnsureTables();
        using var command = warehouse.CreateCommand();
        command.CommandText = "SELECT cutoff, held_back, examples, positives FROM forecast_cutoff WHERE model_version = $version ORDER BY cutoff";
        command.Parameters.Add(new DuckDBParameter("version", version));
        using var reader = command.ExecuteReader();
        var cutoffs = new List<TrainingCutoff>();
        while (reader.Read())
        {
            cutoffs.Add(new TrainingCutoff(reader.GetDateTime(0), reader.GetBoolean(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return cutoffs;
    }

    /// <summary>Writes a new version with everything that belongs to it in one transaction; returns it with its version number.</summary>
    internal ForecastModelInfo Save(
        ForecastModelInfo info, byte[] model, IReadOnlyList<TrainingCutoff> cutoffs, IReadOnlyList<BacktestRow> backtest, IReadOnlyList<CalibrationBin> calibration)
    {
        EnsureTables();
        using var transaction = warehouse.BeginTransaction();
        long version;
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = "SELECT coalesce(max(version), 0) + 1 FROM forecast_model";
            version = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var saved = info with { Version = version };
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = """
                INSERT INTO forecast_model VALUES ($version, $trained_at, $duration, $trainer, $horizon, $seed, $data_from, $data_to, $train_from, $train_to,
                    $test_from, $test_to, $cutoffs, $train_examples, $train_positives, $test_examples, $test_positives, $auc, $log_loss, $base_log_loss,
                    $precision, $recall, $good, $good_rule, $features, $model)
                """;
            Add(command, "version", version);
            Add(command, "trained_at", saved.TrainedAt);
            Add(command, "duration", saved.Duration.TotalSeconds);
            Add(command, "trainer", saved.Trainer);
            Add(command, "horizon", saved.HorizonDays);
            Add(command, "seed", saved.Seed);
            Add(command, "data_from", saved.DataFrom);
            Add(command, "data_to", saved.DataTo);
            Add(command, "train_from", saved.TrainFrom);
            Add(command, "train_to", saved.TrainTo);
            Add(command, "test_from", saved.TestFrom);
            Add(command, "test_to", saved.TestTo);
            Add(command, "cutoffs", saved.Cutoffs);
            Add(command, "train_examples", saved.TrainExamples);
            Add(command, "train_positives", saved.TrainPositives);
            Add(command, "test_examples", saved.TestExamples);
            Add(command, "test_positives", saved.TestPositives);
            Add(command, "auc", saved.Auc);
            Add(command, "log_loss", saved.LogLoss);
            Add(command, "base_log_loss", saved.BaseLogLoss);
            Add(command, "precision", saved.Precision);
            Add(command, "recall", saved.Recall);
            Add(command, "good", saved.Good);
            Add(command, "good_rule", saved.GoodRule);
            Add(command, "features", string.Join(',', ForecastFeatures.Names));
            Add(command, "model", model);
            command.ExecuteNonQuery();
        }

        foreach (var cutoff in cutoffs)
        {
            Insert("INSERT INTO forecast_cutoff VALUES ($v, $a, $b, $c, $d)", version, cutoff.Cutoff, cutoff.HeldBack, cutoff.Examples, cutoff.Positives);
        }

        foreach (var row in backtest)
        {
            Insert(
                """
                INSERT INTO forecast_backtest (model_version, method, proposals_per_cutoff, cutoffs, proposals, hits, failing_assets, precision, recall,
                    mean_lead_days, degrading_proposals, degrading_share, base_rate)
                VALUES ($v, $a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k, $l)
                """,
                version, row.Method, row.ProposalsPerCutoff, row.Cutoffs, row.Proposals, row.Hits, row.FailingAssets, row.Precision, row.Recall,
                row.MeanLeadDays, row.DegradingProposals, row.DegradingShare, row.BaseRate);
        }

        foreach (var bin in calibration)
        {
            Insert("INSERT INTO forecast_calibration VALUES ($v, $a, $b, $c, $d)", version, bin.Bin, bin.MeanPredicted, bin.ObservedRate, bin.Examples);
        }

        transaction.Commit();
        return saved;
    }

    /// <summary>Stores a choice, and those of its sites, with every row each compared, in one transaction; returns it with its ids.</summary>
    public ForecastChoice SaveChoice(ForecastChoice choice)
    {
        EnsureTables();
        using var transaction = warehouse.BeginTransaction();
        long id;
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = "SELECT coalesce(max(id), 0) + 1 FROM forecast_choice";
            id = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        InsertChoice(id, null, choice);
        var sites = new List<ForecastChoice>(choice.Sites.Count);
        foreach (var site in choice.Sites)
        {
            var siteId = id + 1 + sites.Count;
            InsertChoice(siteId, id, site);
            sites.Add(site with { Id = siteId });
        }

        transaction.Commit();
        return choice with { Id = id, Sites = HasAssets() ? [.. sites.Select(s => s with { SiteCode = SiteCode(s.SiteId) })] : sites };
    }

    private string? SiteCode(long? siteId)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = "SELECT code FROM dim_asset WHERE asset_id = $id";
        command.Parameters.Add(new DuckDBParameter("id", siteId));
        return command.ExecuteScalar() as string;
    }

    private void InsertChoice(long id, long? parentId, ForecastChoice choice)
    {
        Insert(
            """
            INSERT INTO forecast_choice (id, chosen_at, horizon_days, method, model_version, precision, mtbf_precision, proposal_share, refusal_code, refusal_args,
                                         parent_id, site_id, site_failures, uses_plant)
            VALUES ($v, $a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k, $l, $m)
            """,
            id, choice.ChosenAt, choice.HorizonDays, choice.Method, choice.ModelVersion, choice.Precision, choice.MtbfPrecision, choice.ProposalShare,
            choice.Refusal?.Code, choice.Refusal is { } r ? JsonSerializer.Serialize(r.Args) : null,
            parentId, choice.SiteId, choice.SiteId is null ? null : choice.SiteFailures, choice.SiteId is null ? null : choice.UsesPlant);
        foreach (var row in choice.Rows)
        {
            Insert(
                "INSERT INTO forecast_choice_row VALUES ($v, $a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k, $l, $m)",
                id, row.HorizonDays, row.ModelVersion, row.Method, row.ProposalsPerCutoff, row.Proposals, row.Hits, row.Precision, row.Recall,
                row.BaseRate, row.Usable, row.Chosen, row.Refusal?.Code, row.Refusal is { } why ? JsonSerializer.Serialize(why.Args) : null);
        }
    }

    /// <summary>
    /// The newest choice of the plant with its rows (horizon, then method, simplest first) and its sites' choices (by
    /// site code) with theirs; null when none was made yet.
    /// </summary>
    public ForecastChoice? NewestChoice()
    {
        EnsureTables();
        var plant = Choices("c.parent_id IS NULL ORDER BY c.id DESC LIMIT 1", null).FirstOrDefault();
        return plant is null ? null : plant with { Sites = Choices("c.parent_id = $parent ORDER BY a.code NULLS LAST, c.site_id", plant.Id) };
    }

    private List<ForecastChoice> Choices(string where, long? parent)
    {
        var choices = new List<ForecastChoice>();
        using (var command = warehouse.CreateCommand())
        {
            // dim_asset is the warehouse's: a store holding only models (tests) has none, and the code is then unknown.
            var assets = HasAssets() ? "dim_asset" : "(SELECT NULL::BIGINT AS asset_id, NULL::VARCHAR AS code)";
            command.CommandText = $"""
                SELECT c.id, c.chosen_at, c.horizon_days, c.method, c.model_version, c.precision, c.mtbf_precision, c.proposal_share, c.refusal_code, c.refusal_args,
                       c.site_id, a.code, c.site_failures, c.uses_plant
                FROM forecast_choice c LEFT JOIN {assets} a ON a.asset_id = c.site_id
                WHERE {where}
                """;
            if (parent is { } p)
            {
                command.Parameters.Add(new DuckDBParameter("parent", p));
            }

            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                choices.Add(new ForecastChoice(
                    reader.GetInt64(0), reader.GetDateTime(1),
                    reader.IsDBNull(2) ? null : reader.GetInt32(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetInt64(4),
                    reader.IsDBNull(5) ? null : reader.GetDouble(5),
                    reader.IsDBNull(6) ? null : reader.GetDouble(6),
                    reader.GetDouble(7),
                    reader.IsDBNull(8) ? null : new ForecastRefusal("history", reader.GetString(8), Args(reader.IsDBNull(9) ? "[]" : reader.GetString(9))),
                    [])
                {
                    SiteId = reader.IsDBNull(10) ? null : reader.GetInt64(10),
                    SiteCode = reader.IsDBNull(11) ? null : reader.GetString(11),
                    SiteFailures = reader.IsDBNull(12) ? 0 : reader.GetInt64(12),
                    UsesPlant = !reader.IsDBNull(13) && reader.GetBoolean(13),
                });
            }
        }

        return [.. choices.Select(c => c with { Rows = Rows(c.Id) })];
    }

    private bool HasAssets()
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'dim_asset'";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }

    private List<ChoiceRow> Rows(long choiceId)
    {
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = """
                SELECT horizon_days, model_version, method, proposals_per_cutoff, proposals, hits, precision, recall, base_rate, usable, chosen,
                       refusal_code, refusal_args
                FROM forecast_choice_row WHERE choice_id = $id
                ORDER BY horizon_days, CASE method WHEN 'fixed_interval' THEN 0 WHEN 'mtbf' THEN 1 ELSE 2 END
                """;
            command.Parameters.Add(new DuckDBParameter("id", choiceId));
            using var reader = command.ExecuteReader();
            var rows = new List<ChoiceRow>();
            while (reader.Read())
            {
                rows.Add(new ChoiceRow(
                    reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4),
                    reader.GetInt64(5), reader.GetDouble(6), reader.GetDouble(7), reader.IsDBNull(8) ? null : reader.GetDouble(8),
                    reader.GetBoolean(9), reader.GetBoolean(10),
                    reader.IsDBNull(11) ? null : new ForecastRefusal("history", reader.GetString(11), Args(reader.IsDBNull(12) ? "[]" : reader.GetString(12)))));
            }

            return rows;
        }
    }

    /// <summary>A stored version with its serialized model and feature names; null when there is none.</summary>
    public (ForecastModelInfo Info, byte[] Model, IReadOnlyList<string> Features)? Version(long version)
    {
        EnsureTables();
        using var command = warehouse.CreateCommand();
        command.CommandText = $"SELECT {ModelColumns}, features, model FROM forecast_model WHERE version = $version";
        command.Parameters.Add(new DuckDBParameter("version", version));
        return ReadModel(command);
    }

    /// <summary>A refusal's arguments as stored: numbers come back as numbers (so "{3:F1}" still formats), the rest as text.</summary>
    private static object[] Args(string json) =>
        [.. (JsonSerializer.Deserialize<JsonElement[]>(json) ?? []).Select(a => a.ValueKind == JsonValueKind.Number ? a.GetDouble() : (object)(a.ToString() ?? ""))];

    private static (ForecastModelInfo Info, byte[] Model, IReadOnlyList<string> Features)? ReadModel(DuckDBCommand command)
    {
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var info = ReadInfo(reader);
        var features = reader.GetString(24).Split(',');
        using var blob = reader.GetStream(25);
        using var copy = new MemoryStream();
        blob.CopyTo(copy);
        return (info, copy.ToArray(), features);
    }

    private void Insert(string sql, long version, params object?[] values)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        Add(command, "v", version);
        for (var i = 0; i < values.Length; i++)
        {
            Add(command, ((char)('a' + i)).ToString(), values[i]);
        }

        command.ExecuteNonQuery();
    }

    private static void Add(DuckDBCommand command, string name, object? value) =>
        command.Parameters.Add(new DuckDBParameter(name, value ?? DBNull.Value));

    private void EnsureTables()
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = Create;
        command.ExecuteNonQuery();
    }

    private static ForecastModelInfo ReadInfo(System.Data.Common.DbDataReader r) => new(
        r.GetInt64(0), r.GetDateTime(1), TimeSpan.FromSeconds(r.GetDouble(2)), r.GetString(3), r.GetInt32(4), r.GetInt32(5),
        r.GetDateTime(6), r.GetDateTime(7), r.GetDateTime(8), r.GetDateTime(9), r.GetDateTime(10), r.GetDateTime(11),
        r.GetInt32(12), r.GetInt64(13), r.GetInt64(14), r.GetInt64(15), r.GetInt64(16),
        r.GetDouble(17), r.GetDouble(18), r.GetDouble(19), r.GetDouble(20), r.GetDouble(21), r.GetBoolean(22), r.GetString(23));
}
