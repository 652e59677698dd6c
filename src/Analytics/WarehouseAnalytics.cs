using DuckDB.NET.Data;
using Microsoft.Extensions.Caching.Memory;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics;

/// <summary>
/// What the analytics pages call: each method opens a warehouse connection, runs one query and returns records.
/// Figures are kept per question until the next ingest changes the warehouse (the key holds the latest ingest run),
/// so a page opened again, or by the next person, does not ask DuckDB again. Drill-down pages are always read fresh.
/// Throws <see cref="WarehouseEmptyException"/> until the first ingest.
/// </summary>
public sealed class WarehouseAnalytics(WarehouseReader reader) : IDisposable
{
    private readonly MemoryCache _figures = new(new MemoryCacheOptions { SizeLimit = 500 });

    public void Dispose() => _figures.Dispose();

    public KpiSummary Summary(KpiFilter filter) => Cached(nameof(Summary), filter, w => new KpiQueries(w).Summary(filter));

    /// <summary>The KPIs of each calendar month of the filter's period (the first from the filter's start day).</summary>
    public IReadOnlyList<PeriodSummary> Monthly(KpiFilter filter) => Cached(nameof(Monthly), filter, w => new KpiQueries(w).Monthly(filter));

    public IReadOnlyList<AssetMtbf> MtbfByAsset(KpiFilter filter, int take = 50) =>
        Cached(nameof(MtbfByAsset), (filter, take), w => new KpiQueries(w).MtbfByAsset(filter, take));

    public WorkOrderRows WorkOrdersBehind(KpiFilter filter, string kpi, int skip, int take) => Run(w => new DrillDown(w).Page(filter, kpi, skip, take));

    public IReadOnlyList<HeatmapCell> Heatmap(
        KpiFilter filter, HeatmapRows rows, HeatmapMeasure measure, TimeBucket bucket, int maxRows = ReliabilityQueries.DefaultHeatmapRows) =>
        Cached(nameof(Heatmap), (filter, rows, measure, bucket, maxRows), w => new ReliabilityQueries(w).Heatmap(filter, rows, measure, bucket, maxRows));

    public WorkOrderRows HeatmapCellWorkOrders(
        KpiFilter filter, HeatmapRows rows, string rowKey, string failureCode, TimeBucket bucket, DateOnly? bucketStart, int skip, int take) =>
        Run(w => new ReliabilityQueries(w).CellWorkOrders(filter, rows, rowKey, failureCode, bucket, bucketStart, skip, take));

    public IReadOnlyList<ParetoBar> Pareto(KpiFilter filter) => Cached(nameof(Pareto), filter, w => new ReliabilityQueries(w).Pareto(filter));

    public IReadOnlyList<RepeatFailure> RepeatFailures(KpiFilter filter, int withinDays = KpiQueries.DefaultRepeatDays) =>
        Cached(nameof(RepeatFailures), (filter, withinDays), w => new ReliabilityQueries(w).RepeatFailures(filter, withinDays));

    public IReadOnlyList<StaffPerformance> StaffByTechnician(KpiFilter filter) =>
        Cached(nameof(StaffByTechnician), filter, w => new StaffQueries(w).ByTechnician(filter));

    public IReadOnlyList<StaffPerformance> StaffByDepartment(KpiFilter filter) =>
        Cached(nameof(StaffByDepartment), filter, w => new StaffQueries(w).ByDepartment(filter));

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

    private T Cached<T>(string question, object parameters, Func<DuckDBConnection, T> query)
    {
        using var warehouse = reader.Open();
        using var latest = warehouse.CreateCommand();
        latest.CommandText = "SELECT max(run_id) FROM ingest_run";
        var key = (question, parameters, Convert.ToInt64(latest.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
        if (_figures.TryGetValue(key, out T? figures))
        {
            return figures!;
        }

        figures = query(warehouse);
        _figures.Set(key, figures, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) });
        return figures;
    }
}
