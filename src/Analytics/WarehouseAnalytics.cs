using DuckDB.NET.Data;
using Microsoft.Extensions.Caching.Memory;
using WorkOrders.Analytics.Inspections;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Maintenance;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics;

/// <summary>
/// The one way into the warehouse's figures, for the pages, the API and the exports alike: each method opens a
/// warehouse connection on the thread pool, runs its query and returns records. Figures are kept per question until
/// the next ingest changes the warehouse (the key holds the latest ingest run), so a page opened again, or by the next
/// person, or the same question over the API, does not ask DuckDB again; a reader process forgets them when it swaps in
/// the next replica of the warehouse (see <see cref="WarehouseReader.SwitchTo"/>). Drill-down lists are always read fresh.
/// The token interrupts DuckDB mid-statement (see <see cref="WarehouseStatements"/>); a cancelled question keeps nothing.
/// Throws <see cref="WarehouseEmptyException"/> until the first ingest.
/// </summary>
public sealed class WarehouseAnalytics(WarehouseReader reader) : IDisposable
{
    private readonly MemoryCache _figures = new(new MemoryCacheOptions { SizeLimit = 500 });

    public void Dispose() => _figures.Dispose();

    /// <summary>How many answers are kept now (of this and earlier runs, until they expire).</summary>
    public int FiguresKept => _figures.Count;

    public Task<KpiSummary> SummaryAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(SummaryAsync), filter, (w, c) => new KpiQueries(w, c).Summary(filter), cancellationToken);

    /// <summary>The KPIs of each calendar month of the filter's period (the first from the filter's start day).</summary>
    public Task<IReadOnlyList<PeriodSummary>> MonthlyAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(MonthlyAsync), filter, (w, c) => new KpiQueries(w, c).Monthly(filter), cancellationToken);

    /// <summary>MTBF of the 50 assets with the most failures in the period.</summary>
    public Task<IReadOnlyList<AssetMtbf>> MtbfByAssetAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(MtbfByAssetAsync), filter, (w, c) => new KpiQueries(w, c).MtbfByAsset(filter), cancellationToken);

    public Task<WorkOrderRows> WorkOrdersBehindAsync(KpiFilter filter, string kpi, int skip, int take, CancellationToken cancellationToken) =>
        RunAsync((w, c) => new DrillDown(w, c).Page(filter, kpi, skip, take), cancellationToken);

    /// <summary>
    /// The work orders behind a figure, newest first, at most <paramref name="limit"/>, for a file. The warehouse is
    /// opened now, so an empty one is refused before anything is written; the rows are read as the file is written,
    /// and the token interrupts the reading. Dispose the result to close the connection.
    /// </summary>
    public Task<WarehouseRows<WorkOrderLine>> WorkOrderLinesAsync(KpiFilter filter, string kpi, int limit, CancellationToken cancellationToken) =>
        Task.Run(() => new WarehouseRows<WorkOrderLine>(reader.Open(), (w, c) => new DrillDown(w, c).Lines(filter, kpi, limit), cancellationToken), cancellationToken);

    /// <summary>How many lines <see cref="WorkOrderLinesAsync"/> would give, to decide whether a file is made now or by a job.</summary>
    public Task<long> CountWorkOrderLinesAsync(KpiFilter filter, string kpi, int limit, CancellationToken cancellationToken) =>
        RunAsync((w, c) => new DrillDown(w, c).CountLines(filter, kpi, limit), cancellationToken);

    /// <summary>
    /// The lines of <see cref="WorkOrderLinesAsync"/> written by DuckDB as Parquet at <paramref name="path"/>, the columns named as in the other
    /// formats; <paramref name="progress"/> hears the rows written so far as each slice of the list is written. Returns the rows written.
    /// </summary>
    public Task<long> WriteWorkOrderParquetAsync(KpiFilter filter, string kpi, int limit, string path, Action<long>? progress, CancellationToken cancellationToken) =>
        RunAsync((w, c) => new DrillDown(w, c).CopyLinesToParquet(filter, kpi, limit, Exports.WorkOrderExport.Headers, path, progress: progress), cancellationToken);

    public Task<IReadOnlyList<HeatmapCell>> HeatmapAsync(
        KpiFilter filter, HeatmapRows rows, HeatmapMeasure measure, TimeBucket bucket, int maxRows, CancellationToken cancellationToken) =>
        CachedAsync(
            nameof(HeatmapAsync), (filter, rows, measure, bucket, maxRows), (w, c) => new ReliabilityQueries(w, c).Heatmap(filter, rows, measure, bucket, maxRows), cancellationToken);

    public Task<WorkOrderRows> HeatmapCellWorkOrdersAsync(
        KpiFilter filter, HeatmapRows rows, string rowKey, string failureCode, TimeBucket bucket, DateOnly? bucketStart, int skip, int take, CancellationToken cancellationToken) =>
        RunAsync((w, c) => new ReliabilityQueries(w, c).CellWorkOrders(filter, rows, rowKey, failureCode, bucket, bucketStart, skip, take), cancellationToken);

    public Task<IReadOnlyList<ParetoBar>> ParetoAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(ParetoAsync), filter, (w, c) => new ReliabilityQueries(w, c).Pareto(filter), cancellationToken);

    public Task<IReadOnlyList<RepeatFailure>> RepeatFailuresAsync(KpiFilter filter, int withinDays, CancellationToken cancellationToken) =>
        CachedAsync(nameof(RepeatFailuresAsync), (filter, withinDays), (w, c) => new ReliabilityQueries(w, c).RepeatFailures(filter, withinDays), cancellationToken);

    public Task<IReadOnlyList<StaffPerformance>> StaffByTechnicianAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(StaffByTechnicianAsync), filter, (w, c) => new StaffQueries(w, c).ByTechnician(filter), cancellationToken);

    public Task<IReadOnlyList<StaffPerformance>> StaffByDepartmentAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(StaffByDepartmentAsync), filter, (w, c) => new StaffQueries(w, c).ByDepartment(filter), cancellationToken);

    /// <summary>PM compliance against occurrence due dates, the skipped, missed and moved occurrences, and the share of planned work.</summary>
    public Task<PmProgrammeSummary> PmSummaryAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(PmSummaryAsync), filter, (w, c) => new PmProgrammeQueries(w, c).Summary(filter), cancellationToken);

    public Task<IReadOnlyList<PmComplianceRow>> PmByPlanAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(PmByPlanAsync), filter, (w, c) => new PmProgrammeQueries(w, c).ByPlan(filter), cancellationToken);

    public Task<IReadOnlyList<PmComplianceRow>> PmByDepartmentAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(PmByDepartmentAsync), filter, (w, c) => new PmProgrammeQueries(w, c).ByDepartment(filter), cancellationToken);

    /// <summary>The skipped, missed and moved occurrences due in the period, latest first.</summary>
    public Task<IReadOnlyList<PmOccurrenceLine>> PmExceptionsAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(PmExceptionsAsync), filter, (w, c) => new PmProgrammeQueries(w, c).Exceptions(filter), cancellationToken);

    /// <summary>Alarm episodes raised in the period: totals, per asset and fault code, and the most chattering assets.</summary>
    public Task<AlarmFigures> AlarmFiguresAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(AlarmFiguresAsync), filter, (w, c) => new ReliabilityQueries(w, c).Alarms(filter), cancellationToken);

    /// <summary>Inspection round compliance per route over the rounds whose slot fell in the period.</summary>
    public Task<IReadOnlyList<RouteCompliance>> InspectionComplianceAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(InspectionComplianceAsync), filter, (w, c) => new InspectionQueries(w, c).ComplianceByRoute(filter), cancellationToken);

    /// <summary>Inspection findings per asset and week raised in the period, for the assets with the most.</summary>
    public Task<IReadOnlyList<FindingCell>> FindingsHeatmapAsync(KpiFilter filter, int maxRows, CancellationToken cancellationToken) =>
        CachedAsync(nameof(FindingsHeatmapAsync), (filter, maxRows), (w, c) => new InspectionQueries(w, c).FindingsHeatmap(filter, maxRows), cancellationToken);

    /// <summary>Volume and MTTR per category (fault code), the largest volume first.</summary>
    public Task<IReadOnlyList<CategoryFigures>> ByCategoryAsync(KpiFilter filter, CancellationToken cancellationToken) =>
        CachedAsync(nameof(ByCategoryAsync), filter, (w, c) => new ReliabilityQueries(w, c).ByCategory(filter), cancellationToken);

    /// <summary>The categories (fault codes) in the warehouse, for the filter's choice.</summary>
    public Task<IReadOnlyList<string>> CategoriesAsync(CancellationToken cancellationToken) =>
        CachedAsync(nameof(CategoriesAsync), "", (w, c) => new ReliabilityQueries(w, c).Categories(), cancellationToken);

    /// <summary>The templates' custom fields, for the filter's field choice.</summary>
    public Task<IReadOnlyList<CustomFieldChoice>> CustomFieldsAsync(CancellationToken cancellationToken) =>
        CachedAsync(nameof(CustomFieldsAsync), "", (w, c) => new ReliabilityQueries(w, c).CustomFields(), cancellationToken);

    /// <summary>The days that hold work, for period pickers.</summary>
    public Task<(DateOnly First, DateOnly Last)?> DataRangeAsync(CancellationToken cancellationToken) => RunAsync(
        (w, c) =>
        {
            using var command = w.Command(
                "SELECT min(created_at)::DATE, max(created_at)::DATE FROM (SELECT created_at FROM fact_work_order UNION ALL SELECT created_at FROM open_work_order)", c);
            using var data = command.ExecuteReader();
            return data.Read() && !data.IsDBNull(0) ? ((DateOnly First, DateOnly Last)?)(data.GetFieldValue<DateOnly>(0), data.GetFieldValue<DateOnly>(1)) : null;
        },
        cancellationToken);

    private Task<T> RunAsync<T>(Func<DuckDBConnection, CancellationToken, T> query, CancellationToken cancellationToken) => Task.Run(
        () =>
        {
            using var warehouse = reader.Open();
            using var interrupt = warehouse.InterruptOn(cancellationToken);
            return query(warehouse, cancellationToken);
        },
        cancellationToken);

    private Task<T> CachedAsync<T>(string question, object parameters, Func<DuckDBConnection, CancellationToken, T> query, CancellationToken cancellationToken) => RunAsync(
        (warehouse, token) =>
        {
            // The file is part of the key: a reader process that swaps in a replica forgets what the last one answered.
            using var latest = warehouse.Command("SELECT max(run_id) FROM ingest_run", token);
            var key = (question, parameters, warehouse.DataSource, Convert.ToInt64(latest.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            if (_figures.TryGetValue(key, out T? figures))
            {
                return figures!;
            }

            figures = query(warehouse, token);
            _figures.Set(key, figures, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) });
            return figures;
        },
        cancellationToken);
}
