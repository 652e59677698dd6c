using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Sla;

/// <summary>The SLA's REST surface: calendars and policies for administrators, the at-risk list for managers.</summary>
public static class SlaApi
{
    /// <summary>Maps the endpoints under the API's /api/v1 group.</summary>
    public static void MapSlaApi(this RouteGroupBuilder api)
    {
        var calendars = api.MapGroup("/calendars").WithTags("SLA").RequireAuthorization(p => p.RequireRole(Roles.Admin));
        calendars.MapGet("/", async (Calendars service, CancellationToken ct) => TypedResults.Ok(await service.ListAsync(ct)));
        calendars.MapGet("/{id:long}", async (long id, Calendars service, CancellationToken ct) => (await service.GetAsync(id, ct)).Map(Results.Ok))
            .Produces<CalendarInfo>();
        calendars.MapPost("/", async (CalendarRequest request, Actor actor, Calendars service, CancellationToken ct) =>
                (await service.CreateAsync(request, actor, ct)).Map(c => Results.Created($"/api/v1/calendars/{c.Id}", c)))
            .Produces<CalendarInfo>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        calendars.MapPut("/{id:long}", async (long id, CalendarRequest request, Actor actor, Calendars service, CancellationToken ct) =>
                (await service.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<CalendarInfo>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        calendars.MapDelete("/{id:long}", async (long id, Actor actor, Calendars service, CancellationToken ct) =>
                (await service.DeleteAsync(id, actor, ct)).Map(_ => Results.NoContent()))
            .ProducesProblem(StatusCodes.Status409Conflict);

        var policies = api.MapGroup("/sla-policies").WithTags("SLA").RequireAuthorization(p => p.RequireRole(Roles.Admin));
        policies.MapGet("/", async (SlaPolicies service, CancellationToken ct) => TypedResults.Ok(await service.ListAsync(ct)));
        policies.MapGet("/{id:long}", async (long id, SlaPolicies service, CancellationToken ct) => (await service.GetAsync(id, ct)).Map(Results.Ok))
            .Produces<SlaPolicy>();
        policies.MapPost("/", async (SlaPolicyRequest request, Actor actor, SlaPolicies service, CancellationToken ct) =>
                (await service.CreateAsync(request, actor, ct)).Map(p => Results.Created($"/api/v1/sla-policies/{p.Id}", p)))
            .Produces<SlaPolicy>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        policies.MapPut("/{id:long}", async (long id, SlaPolicyRequest request, Actor actor, SlaPolicies service, CancellationToken ct) =>
                (await service.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<SlaPolicy>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        policies.MapDelete("/{id:long}", async (long id, Actor actor, SlaPolicies service, CancellationToken ct) =>
            (await service.DeleteAsync(id, actor, ct)).Map(_ => Results.NoContent()));

        api.MapGet("/work-orders/at-risk", async (Actor actor, SlaBoard board, CancellationToken ct, int take = 50) =>
                (await board.AtRiskAsync(actor, take, ct)).Map(Results.Ok))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Manager, Roles.Executive))
            .Produces<IReadOnlyList<AtRiskWorkOrder>>()
            .WithTags("Work orders");
    }

    /// <summary>Registers the SLA services and the monitor.</summary>
    public static IServiceCollection AddSla(this IServiceCollection services)
    {
        services.AddOptions<SlaOptions>().BindConfiguration(SlaOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Interval >= TimeSpan.FromSeconds(1), "Sla:Interval must be at least one second.")
            .ValidateOnStart();
        services.AddSingleton<Calendars>();
        services.AddSingleton<SlaPolicies>();
        services.AddSingleton<SlaBoard>();
        services.AddHostedService<SlaMonitor>();
        return services;
    }
}
