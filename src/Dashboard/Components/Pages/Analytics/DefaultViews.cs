using WorkOrders.Analytics;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Dashboard.Api;
using WorkOrders.Ingest;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Components.Pages.Analytics;

/// <summary>
/// Asks, after each ingest (or a reader's refresh), what the three analytics pages ask when opened without a filter in
/// the address, for the whole organisation: the figures are then kept for the new run (see <see cref="WarehouseAnalytics"/>),
/// so the first person who opens a page after an ingest does not wait for them. Other filters are answered when asked,
/// from the rollups where they carry the filter.
/// </summary>
public sealed class DefaultViews(WarehouseAnalytics analytics) : IWarehouseRefreshed
{
    // Whoever sees the whole organisation, as an executive does.
    private static readonly Actor Organisation = new(0, "default-views", Role.Executive, null);

    public async Task RefreshedAsync(CancellationToken cancellationToken)
    {
        var filter = new FilterParameters(null, null, null, null, null, null, null).ToFilter(Organisation).Value!;
        try
        {
            // The filter panel's choices, on every page.
            await analytics.CategoriesAsync(cancellationToken);
            await analytics.CustomFieldsAsync(cancellationToken);
            await AnalyticsDashboard.AskAsync(analytics, filter, departments: true, cancellationToken);
            await ReliabilityPage.AskAsync(
                analytics, filter, ReliabilityPage.DefaultRows, ReliabilityPage.DefaultMeasure, ReliabilityPage.DefaultBucket, KpiQueries.DefaultRepeatDays, cancellationToken);
            await StaffPage.AskAsync(analytics, filter, cancellationToken);
        }
        catch (WarehouseEmptyException)
        {
            // A reader before its first replica: nothing to ask yet.
        }
    }
}
