using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics;

/// <summary>
/// What the analytics pages call: each method opens a warehouse connection, runs one query and returns records.
/// Throws <see cref="WarehouseEmptyException"/> until the first ingest.
/// </summary>
public sealed class WarehouseAnalytics(WarehouseReader reader)
{
    public KpiSummary Summary(KpiFilter filter) => Run(w => new KpiQueries(w).Summary(filter));

    /// <summary>The KPIs of each calendar month of the filter's period (the first from the filter's start day).</summary>
    public IReadOnlyList<PeriodSummary> Monthly(KpiFilter filter) => Run(w => new KpiQueries(w).Monthly(filter));

    public IReadOnlyList<AssetMtbf> MtbfByAsset(KpiFilter filter, int take = 50) => Run(w => new KpiQueries(w).MtbfByAsset(filter, take));

    public WorkOrderRows WorkOrdersBehind(KpiFilter filter, string kpi, int skip, int take) => Run(w => new DrillDown(w).Page(filter, kpi, skip, take));

    public IReadOnlyList<HeatmapCell> Heatmap(
        KpiFilter filter, HeatmapRows rows, HeatmapMeasure measure, TimeBucket bucket, int maxRows = ReliabilityQueries.DefaultHeatmapRows) =>
        Run(w => new ReliabilityQueries(w).Heatmap(filter, rows, measure, bucket, maxRows));

    public WorkOrderRows HeatmapCellWorkOrders(
        KpiFilter filter, HeatmapRows rows, string rowKey, string failureCode, TimeBucket bucket, DateOnly? bucketStart, int skip, int take) =>
        Run(w => new ReliabilityQueries(w).CellWorkOrders(filter, rows, rowKey, failureCode, bucket, bucketStart, skip, take));

    public IReadOnlyList<ParetoBar> Pareto(KpiFilter filter) => Run(w => new ReliabilityQueries(w).Pareto(filter));

    public IReadOnlyList<RepeatFailure> RepeatFailures(KpiFilter filter, int withinDays = KpiQueries.DefaultRepeatDays) =>
        Run(w => new ReliabilityQueries(w).RepeatFailures(filter, withinDays));

    public IReadOnlyList<StaffPerformance> StaffByTechnician(KpiFilter filter) => Run(w => new StaffQueries(w).ByTechnician(filter));

    public IReadOnlyList<StaffPerformance> StaffByDepartment(KpiFilter filter) => Run(w => new StaffQueries(w).ByDepartment(filter));

    /// <summary>The months that hold work, for period pickers.</summary>
    public (DateOnly First, DateOnly Last)? DataRange() => Run(w =>
    {
        using var command = w.CreateCommand();
        command.CommandText = "SELECT min(created_at)::DATE, max(created_at)::DATE FROM (SELECT created_at FROM fact_work_order UNION ALL SELECT created_at FROM open_work_order)";
        using var data = command.ExecuteReader();
        return data.Read() && !data.IsDBNull(0) ? ((DateOnly First, DateOnly Last)?)(data.GetFieldValue<DateOnly>(0), data.GetFieldValue<DateOnly>(1)) : null;
    });

    private T Run<T>(Func<DuckDBConnection, T> query)
    {
        using var warehouse = reader.Open();
        return query(warehouse);
    }
}
