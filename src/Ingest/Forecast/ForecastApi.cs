using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Analytics.Forecasting;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Forecasts;

namespace WorkOrders.Ingest.Forecast;

/// <summary>
/// The forecast's models, backtest, volume forecast and training runs under /api/v1/forecasts (proposals are served by
/// the work-order core). Readers are the forecast roles; training on demand is for administrators, reliability
/// engineers and planners.
/// </summary>
public static class ForecastApi
{
    private static readonly string[] Trainers = [Roles.Admin, Roles.ReliabilityEngineer, Roles.Planner];

    public static IEndpointRouteBuilder MapForecastApi(this IEndpointRouteBuilder app)
    {
        var forecasts = app.MapGroup("/api/v1/forecasts").WithTags("Forecasts")
            .RequireAuthorization(p => p.RequireRole(ForecastRoles.Readers.Split(',')));

        forecasts.MapGet("/models", (Forecasts models) => Warehouse(() => Results.Ok(models.Models())))
            .Produces<IReadOnlyList<ForecastModelInfo>>();

        forecasts.MapGet("/models/{version:long}/backtest", async (long version, Forecasts models, Proposals proposals, CancellationToken ct) =>
            {
                var feedback = await proposals.FeedbackAsync(ct);
                return Warehouse(() => models.Models().Any(m => m.Version == version)
                    ? Results.Ok(new { version, methods = models.Backtest(version), calibration = models.Calibration(version), feedback })
                    : Failure.NotFound("model_version.not_found", version).ToResult());
            });

        forecasts.MapGet("/volume", (Forecasts models, int? weeks, double? hoursPerTechnician) =>
            weeks is < 1 or > 26
                ? Failure.Invalid("weeks", "field.from_to", 1, 26).ToResult()
                : hoursPerTechnician is <= 0 or > 80
                    ? Failure.Invalid("hoursPerTechnician", "forecast.hours_per_technician").ToResult()
                    : Warehouse(() => Results.Ok(models.Volume(weeks ?? 8, 0.8, hoursPerTechnician ?? 40))))
            .Produces<IReadOnlyList<VolumeWeek>>();

        forecasts.MapGet("/training-runs/status", (ForecastJob job) => TypedResults.Ok(job.Status));

        forecasts.MapPost("/training-runs", async (ForecastJob job, CancellationToken ct, bool wait = false) =>
            {
                if (!job.Trains)
                {
                    return Results.Problem(
                        statusCode: StatusCodes.Status409Conflict,
                        detail: "This process is a warehouse reader: the owner trains the forecasts and its snapshot brings them here; ask the owner.");
                }

                var run = job.RequestRunAsync(retrain: true, ct);
                return wait ? Results.Ok(await run) : Results.Accepted("/api/v1/forecasts/training-runs/status", job.Status);
            })
            .RequireAuthorization(p => p.RequireRole(Trainers))
            .Produces<ForecastJobStatus>()
            .Produces<ForecastJobStatus>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static IResult Warehouse(Func<IResult> answer)
    {
        try
        {
            return answer();
        }
        catch (WarehouseEmptyException)
        {
            return Problems.WarehouseEmpty();
        }
    }
}
