using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Inspections;

/// <summary>
/// The rounds of one route whose slot fell in the period: on time, late and missed (open rounds are not yet judged).
/// Compliance is (on time + late) / (on time + late + missed); the late share is late / (on time + late), the part of
/// the rounds done that were done after their window. Both are null when nothing counts.
/// </summary>
public sealed record RouteCompliance(long RouteId, string RouteName, long OnTime, long Late, long Missed, long Open)
{
    public double? Compliance => OnTime + Late + Missed == 0 ? null : (double)(OnTime + Late) / (OnTime + Late + Missed);

    public double? LateShare => OnTime + Late == 0 ? null : (double)Late / (OnTime + Late);
}

/// <summary>One cell of the findings heatmap: the findings raised on an asset in one week (starting Monday, UTC).</summary>
public sealed record FindingCell(long AssetId, string AssetLabel, DateOnly Week, long Findings);

/// <summary>
/// Inspection rounds and findings over the warehouse. The filter's period and department apply (a round's department
/// is its route's); the site and asset filters apply to findings by their asset.
/// </summary>
public sealed class InspectionQueries(DuckDBConnection warehouse, CancellationToken cancellationToken = default)
{
    /// <summary>The heatmap's assets with the most findings in the period.</summary>
    public const int DefaultHeatmapRows = 40;

    /// <summary>Compliance per route over the rounds whose slot fell in the period, the least compliant first.</summary>
    public IReadOnlyList<RouteCompliance> ComplianceByRoute(KpiFilter filter)
    {
        using var command = warehouse.Command($"""
            SELECT r.route_id, any_value(r.route_name ORDER BY r.slot_at DESC),
                   count(*) FILTER (WHERE r.timeliness = 'on_time'), count(*) FILTER (WHERE r.timeliness = 'late'),
                   count(*) FILTER (WHERE r.timeliness = 'missed'), count(*) FILTER (WHERE r.timeliness IS NULL)
            FROM (SELECT *, NULL::VARCHAR AS category, 'inspection' AS source, NULL::VARCHAR AS custom_fields FROM fact_inspection_round) r
            WHERE r.slot_at >= $from AND r.slot_at < $to AND {(filter with { SiteId = null, AssetId = null, WorkType = null, Priority = null }).Where("r")}
            GROUP BY r.route_id
            ORDER BY (count(*) FILTER (WHERE r.timeliness IN ('on_time', 'late')))::DOUBLE / nullif(count(*) FILTER (WHERE r.timeliness IS NOT NULL), 0) NULLS LAST,
                     2
            """, cancellationToken);
        filter.Bind(command);
        using var reader = command.ExecuteReader();
        var rows = new List<RouteCompliance>();
        while (reader.Read())
        {
            rows.Add(new RouteCompliance(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        return rows;
    }

    /// <summary>Findings per asset and week raised in the period, for the <paramref name="maxRows"/> assets with the most.</summary>
    public IReadOnlyList<FindingCell> FindingsHeatmap(KpiFilter filter, int maxRows = DefaultHeatmapRows)
    {
        using var command = warehouse.Command($"""
            WITH cells AS (
                SELECT f.asset_id, a.code || ' ' || a.name AS label, date_trunc('week', f.raised_at)::DATE AS week, count(*) AS n
                FROM (SELECT f.*, r.department_id, f.fault_code AS category, 'inspection' AS source, x.custom_fields
                      FROM fact_inspection_finding f JOIN fact_inspection_round r ON r.round_id = f.round_id
                      LEFT JOIN {filter.WorkOrderFieldsFor(category: false)} x ON x.work_order_id = f.work_order_id) f
                JOIN dim_asset a ON a.asset_id = f.asset_id
                WHERE f.raised_at >= $from AND f.raised_at < $to AND {(filter with { WorkType = null, Priority = null }).Where("f")}
                GROUP BY ALL),
            top AS (SELECT asset_id FROM cells GROUP BY asset_id ORDER BY sum(n) DESC, min(label) LIMIT {Math.Clamp(maxRows, 1, 1000).ToString(CultureInfo.InvariantCulture)})
            SELECT asset_id, label, week, n FROM cells WHERE asset_id IN (SELECT asset_id FROM top) ORDER BY week, label
            """, cancellationToken);
        filter.Bind(command);
        using var reader = command.ExecuteReader();
        var cells = new List<FindingCell>();
        while (reader.Read())
        {
            cells.Add(new FindingCell(reader.GetInt64(0), reader.GetString(1), DateOnly.FromDateTime(reader.GetDateTime(2)), reader.GetInt64(3)));
        }

        return cells;
    }
}
