using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Maintenance;

public sealed record PmDeactivateRequest(int? RowVersion);

/// <summary>
/// The PM programme under /api/v1/pm: everyone signed in reads plans and the calendar; planners and administrators write
/// plans and move occurrences (the services refuse others with 403); administrators ask the generator for a pass now.
/// </summary>
public static class PmApi
{
    public static IServiceCollection AddPreventiveMaintenance(this IServiceCollection services)
    {
        services.AddOptions<PmOptions>().BindConfiguration(PmOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PmPlans>();
        services.AddSingleton<PmOccurrences>();
        services.AddSingleton<PmGenerator>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<PmGenerator>());
        return services;
    }

    /// <summary>Maps the endpoints under the API's /api/v1 group.</summary>
    public static void MapPmApi(this RouteGroupBuilder api)
    {
        var pm = api.MapGroup("/pm").WithTags("Preventive maintenance");

        pm.MapGet("/plans", async (PmPlans plans, CancellationToken ct, bool? active = true, long? departmentId = null, long? assetId = null, int skip = 0, int take = 50) =>
                TypedResults.Ok(await plans.ListAsync(new PmPlanQuery(active, departmentId, assetId, skip, take), ct)));

        pm.MapGet("/plans/{id:long}", async (long id, PmPlans plans, CancellationToken ct) =>
                await plans.FindAsync(id, ct) is { } plan ? Results.Ok(plan) : Failure.NotFound("pm.plan_not_found", id).ToResult())
            .Produces<PmPlan>();

        pm.MapPost("/plans", async (PmPlanRequest request, Actor actor, PmPlans plans, CancellationToken ct) =>
                (await plans.CreateAsync(request, actor, ct)).Map(plan => Results.Created($"/api/v1/pm/plans/{plan.Id}", plan)))
            .AccessFirst(PmPlans.PlannerOnly)
            .Produces<PmPlan>(StatusCodes.Status201Created)
            .ProducesValidationProblem();

        pm.MapPut("/plans/{id:long}", async (long id, PmPlanRequest request, Actor actor, PmPlans plans, CancellationToken ct) =>
                (await plans.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(PmPlans.PlannerOnly)
            .Produces<PmPlan>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        pm.MapPost("/plans/{id:long}/deactivate", async (long id, PmDeactivateRequest request, Actor actor, PmPlans plans, CancellationToken ct) =>
                (await plans.DeactivateAsync(id, request.RowVersion, actor, ct)).Map(Results.Ok))
            .AccessFirst(PmPlans.PlannerOnly)
            .Produces<PmPlan>()
            .ProducesProblem(StatusCodes.Status409Conflict);

        // A plan or asset that does not exist is a 404, not an empty list that looks like "no schedules yet".
        pm.MapGet("/plans/{id:long}/assets", async (long id, PmPlans plans, CancellationToken ct) =>
                await plans.FindAsync(id, ct) is null ? Failure.NotFound("pm.plan_not_found", id).ToResult() : Results.Ok(await plans.SchedulesAsync(id, null, ct)))
            .Produces<IReadOnlyList<PmPlanAsset>>();

        pm.MapGet("/assets/{assetId:long}/plans", async (long assetId, PmPlans plans, Assets.AssetRegister assets, CancellationToken ct) =>
                (await assets.GetRecordAsync(assetId, ct)).Succeeded ? Results.Ok(await plans.SchedulesAsync(null, assetId, ct)) : Failure.NotFound("asset.not_found", assetId).ToResult())
            .Produces<IReadOnlyList<PmPlanAsset>>();

        pm.MapGet("/calendar", async (DateTime from, DateTime until, PmOccurrences occurrences, CancellationToken ct, long? departmentId = null, long? planId = null, long? assetId = null) =>
                (await occurrences.ForecastAsync(new PmForecastQuery(from, until, departmentId, planId, assetId), ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<PmOccurrence>>()
            .ProducesValidationProblem();

        pm.MapPost("/occurrences/move", async (PmMoveRequest request, Actor actor, PmOccurrences occurrences, CancellationToken ct) =>
                (await occurrences.MoveAsync(request, actor, ct)).Map(Results.Ok))
            .AccessFirst(PmPlans.PlannerOnly)
            .Produces<PmOccurrence>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        pm.MapPost("/generator/run", async (PmGenerator generator, CancellationToken ct) =>
                TypedResults.Ok(await generator.Runner.RequestRunAsync(ct)))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin));
    }
}
