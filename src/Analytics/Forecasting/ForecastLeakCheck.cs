using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>What the leak check found: how many feature rows it compared and the first differences (none: no leak).</summary>
public sealed record LeakCheckResult(DateTime Cutoff, int Rows, IReadOnlyList<string> Differences)
{
    public bool Clean => Differences.Count == 0;
}

/// <summary>
/// Proves that the features at a cut-off t see nothing from t on: it copies the warehouse into an in-memory catalog as
/// it stood at t (work orders raised before t, every timestamp from t on blanked, the status and rating unknown,
/// events and status intervals that ended before t, alarm episodes raised before t not yet cleared if they cleared
/// from t on, the alarm event counts of the days before t's, and the preventive work naming a mode raised before t), computes the features there and in the full warehouse, and
/// compares them value by value. A feature that peeks past t differs between the two.
/// </summary>
public static class ForecastLeakCheck
{
    private const string Catalog = "forecast_leak_check";

    private const string Truncate = """
        INSERT INTO forecast_leak_check.dim_department SELECT * FROM dim_department;
        INSERT INTO forecast_leak_check.dim_user SELECT * FROM dim_user;
        INSERT INTO forecast_leak_check.dim_asset SELECT * FROM dim_asset;
        INSERT INTO forecast_leak_check.dim_template SELECT * FROM dim_template;
        INSERT INTO forecast_leak_check.fact_work_order
        SELECT work_order_id, number, template_id, work_type, title, priority, 'unknown', requester_id, asset_id, department_id,
               NULL, source, failure_code, category, custom_fields, created_at,
               CASE WHEN acknowledged_at < $cutoff THEN acknowledged_at END, CASE WHEN started_at < $cutoff THEN started_at END,
               CASE WHEN resolved_at < $cutoff THEN resolved_at END, CASE WHEN closed_at < $cutoff THEN closed_at END,
               due_at, response_due_at, resolution_due_at, NULL, ingest_run_id
        FROM fact_work_order WHERE created_at < $cutoff;
        INSERT INTO forecast_leak_check.open_work_order
        SELECT work_order_id, number, template_id, work_type, title, priority, 'unknown', asset_id, department_id, NULL, source,
               failure_code, category, custom_fields, created_at, CASE WHEN acknowledged_at < $cutoff THEN acknowledged_at END,
               due_at, response_due_at, resolution_due_at, $cutoff
        FROM open_work_order WHERE created_at < $cutoff;
        INSERT INTO forecast_leak_check.fact_event SELECT * FROM fact_event WHERE occurred_at < $cutoff;
        INSERT INTO forecast_leak_check.fact_status_interval SELECT * FROM fact_status_interval WHERE ended_at < $cutoff;
        INSERT INTO forecast_leak_check.fact_alarm_episode
        SELECT episode_id, asset_id, site_id, rule_id, signal, fault_code, severity, department_id, raised_at,
               CASE WHEN cleared_at < $cutoff THEN cleared_at END, outcome, work_order_id, ingest_run_id
        FROM fact_alarm_episode WHERE raised_at < $cutoff;
        INSERT INTO forecast_leak_check.fact_alarm_event_day SELECT * FROM fact_alarm_event_day WHERE day < $cutoff::DATE;
        INSERT INTO forecast_leak_check.fact_pm_mode SELECT * FROM fact_pm_mode WHERE created_at < $cutoff;
        """;

    /// <summary>Compares the features at <paramref name="cutoff"/> of the warehouse with those of its copy cut at the cut-off.</summary>
    public static LeakCheckResult Check(DuckDBConnection warehouse, DateTime cutoff, int horizonDays = 30) =>
        Check(warehouse, cutoff, horizonDays, ForecastFeatures.KnownBefore);

    /// <summary>The check with the history read up to <paramref name="knownBefore"/>: a test plants a leak through it.</summary>
    internal static LeakCheckResult Check(DuckDBConnection warehouse, DateTime cutoff, int horizonDays, string knownBefore)
    {
        string main;
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = "SELECT current_database()";
            main = (string)command.ExecuteScalar()!;
            command.CommandText = $"ATTACH ':memory:' AS {Catalog}; USE {Catalog};";
            command.ExecuteNonQuery();
        }

        try
        {
            using (var command = warehouse.CreateCommand())
            {
                command.CommandText = WarehouseSchema.Create;
                command.ExecuteNonQuery();
                command.CommandText = $"USE \"{main.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
                command.ExecuteNonQuery();
                command.CommandText = Truncate;
                command.Parameters.Add(new DuckDBParameter("cutoff", cutoff));
                command.ExecuteNonQuery();
            }

            var full = ForecastFeatures.Read(warehouse, ForecastFeatures.Sql("", knownBefore), cutoff, horizonDays);
            var cut = ForecastFeatures.Read(warehouse, ForecastFeatures.Sql(Catalog + ".", knownBefore), cutoff, horizonDays);
            return new LeakCheckResult(cutoff, full.Count, Compare(full, cut));
        }
        finally
        {
            using var command = warehouse.CreateCommand();
            command.CommandText = $"USE \"{main.Replace("\"", "\"\"", StringComparison.Ordinal)}\"; DETACH {Catalog};";
            command.ExecuteNonQuery();
        }
    }

    private static List<string> Compare(List<FeatureRow> full, List<FeatureRow> cut)
    {
        const int Shown = 20;
        var differences = new List<string>();
        var byKey = cut.ToDictionary(r => (r.AssetId, r.Mode));
        foreach (var row in full)
        {
            if (!byKey.Remove((row.AssetId, row.Mode), out var other))
            {
                differences.Add($"asset {row.AssetId} {row.Mode}: only in the full warehouse");
                continue;
            }

            for (var i = 0; i < row.Features.Length; i++)
            {
                if (Math.Abs(row.Features[i] - other.Features[i]) > 1e-4 * Math.Max(1, Math.Abs(row.Features[i])))
                {
                    differences.Add(string.Create(CultureInfo.InvariantCulture,
                        $"asset {row.AssetId} {row.Mode}: {ForecastFeatures.Names[i]} is {row.Features[i]} with the future, {other.Features[i]} without"));
                }
            }

            if (differences.Count >= Shown)
            {
                return differences;
            }
        }

        differences.AddRange(byKey.Keys.Take(Shown).Select(k => $"asset {k.AssetId} {k.Mode}: only in the warehouse cut at the cut-off"));
        return differences;
    }
}
