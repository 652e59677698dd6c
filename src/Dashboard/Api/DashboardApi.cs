namespace WorkOrders.Dashboard.Api;

/// <summary>
/// The endpoints the dashboard host serves for projects without a web reference of their own: the warehouse's
/// analytics. (The work-order core and the ingest map theirs with MapTicketingApi and MapIngestApi.)
/// </summary>
public static class DashboardApi
{
    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder app) => app.MapAnalyticsApi().MapPmCalendarApi().MapExportJobApi();
}
