using WorkOrders.Analytics.Warehouse;
using WorkOrders.Dashboard.Exports;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Dashboard.Api;

/// <summary>What to export as a job: the list behind a KPI, in a format, with the analytics filters.</summary>
public sealed record StartExportRequest(
    string? Kind, string? Format, string? Kpi, string? From, string? To, long? SiteId, long? DepartmentId, long? AssetId, string? WorkType, int? Priority,
    string? Category = null, string? Source = null, string? Field = null, string? FieldValue = null);

/// <summary>
/// POST /api/v1/exports starts an export job (202 with the job and its Location); its status, the user's list and the
/// file are under the same path (mapped by the work-order core's export API).
/// </summary>
public static class ExportJobApi
{
    private static readonly string[] Readers = [Roles.Admin, Roles.Executive, Roles.ReliabilityEngineer, Roles.Planner, Roles.Manager];

    public static IEndpointRouteBuilder MapExportJobApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/exports", async (
                StartExportRequest request,
                Actor actor,
                WorkOrderExportStarter starter,
                [Microsoft.AspNetCore.Mvc.FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
                CancellationToken ct) =>
            {
                if (request.Kind is not (null or WorkOrderExportStarter.Kind))
                {
                    return Failure.Invalid("kind", "field.one_of", WorkOrderExportStarter.Kind).ToResult();
                }

                var parsed = new FilterParameters(
                        request.From, request.To, request.SiteId, request.DepartmentId, request.AssetId, request.WorkType, request.Priority,
                        request.Category, request.Source, request.Field, request.FieldValue)
                    .ToFilter(actor);
                if (parsed.Failure is { } failure)
                {
                    return failure.ToResult();
                }

                try
                {
                    // A replay (same Idempotency-Key) answers as the first request did: 202 with the same Location.
                    var started = await starter.StartAsync(actor, parsed.Value!, request.Kpi ?? "", request.Format ?? "", idempotencyKey, ct);
                    return started.Map(job => TypedResults.Accepted(job.StatusPath, job));
                }
                catch (WarehouseEmptyException)
                {
                    return Problems.WarehouseEmpty();
                }
            })
            .WithTags("Exports")
            .RequireAuthorization(p => p.RequireRole(Readers));
        return app;
    }
}
