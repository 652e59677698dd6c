using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Assignment;

public sealed record MoveRuleRequest(MoveDirection? Direction);

/// <summary>Assignment rules, the department queue, claim, reassign and working hours under /api/v1.</summary>
public static class AssignmentApi
{
    public static IEndpointRouteBuilder MapAssignmentApi(this IEndpointRouteBuilder api)
    {
        MapRules(api.MapGroup("/assignment-rules").WithTags("Assignment rules").RequireAuthorization(p => p.RequireRole(Roles.Admin)));
        MapWork(api.MapGroup("/work-orders").WithTags("Work orders"));

        var schedules = api.MapGroup("/users/{id:long}/schedule").WithTags("Users").RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Manager));
        schedules.MapGet("/", async (long id, Actor actor, Schedules service, CancellationToken ct) =>
                (await service.GetAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<UserSchedule>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A user's weekly working hours, time zone and away periods.");
        schedules.MapPut("/", async (long id, ScheduleRequest request, Actor actor, Schedules service, CancellationToken ct) =>
                (await service.SaveAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(Schedules.AccessFirstAsync)
            .Produces<UserSchedule>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Replaces a user's whole schedule.");
        return api;
    }

    private static void MapRules(RouteGroupBuilder rules)
    {
        rules.MapGet("/", async (AssignmentRules service, CancellationToken ct, bool includeInactive = true) =>
                TypedResults.Ok(await service.ListAsync(includeInactive, ct)))
            .WithSummary("The rules in the order they are tried.");
        rules.MapGet("/{id:long}", async (long id, AssignmentRules service, CancellationToken ct) =>
                await service.FindAsync(id, ct) is { } rule ? Results.Ok(rule) : Failure.NotFound("assignment_rule.not_found", id).ToResult())
            .Produces<AssignmentRule>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        rules.MapPost("/", async (AssignmentRuleRequest request, Actor actor, AssignmentRules service, CancellationToken ct) =>
                (await service.CreateAsync(request, actor, ct)).Map(r => Results.Created($"/api/v1/assignment-rules/{r.Id}", r)))
            .Produces<AssignmentRule>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithSummary("Adds a rule at the end of the list.");
        rules.MapPut("/{id:long}", async (long id, AssignmentRuleRequest request, Actor actor, AssignmentRules service, CancellationToken ct) =>
                (await service.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<AssignmentRule>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        rules.MapDelete("/{id:long}", async (long id, Actor actor, AssignmentRules service, CancellationToken ct, int? rowVersion = null) =>
                (await service.DeactivateAsync(id, rowVersion, actor, ct)).Map(Results.Ok))
            .Produces<AssignmentRule>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Deactivates a rule; it is kept because work orders remember the rule that routed them.");
        rules.MapPost("/{id:long}/move", async (long id, MoveRuleRequest request, Actor actor, AssignmentRules service, CancellationToken ct) =>
                request.Direction is { } direction
                    ? (await service.MoveAsync(id, direction, actor, ct)).Map(Results.Ok)
                    : Failure.Invalid("direction", "assignment_rule.direction").ToResult())
            .Produces<AssignmentRule>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Moves a rule one place up or down in the order.");
    }

    private static void MapWork(RouteGroupBuilder workOrders)
    {
        workOrders.MapGet("/queue", async (Actor actor, DepartmentQueue queue, CancellationToken ct, int take = 50) =>
                (await queue.ListAsync(actor, take, ct)).Map(Results.Ok))
            .Produces<List<QueuedWorkOrder>>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Unassigned work of my department, most urgent first.");
        workOrders.MapPost("/{id:long}/claim", async (long id, Actor actor, ClaimWorkOrder claim, CancellationToken ct) =>
                (await claim.HandleAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<TransitionResult>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithSummary("A technician takes an unassigned work order of their department; the first claim wins.");
        workOrders.MapPost("/{id:long}/reassign", async (long id, ReassignRequest request, Actor actor, ReassignWorkOrder reassign, CancellationToken ct) =>
                (await reassign.HandleAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(WorkOrderAccess.AccessFirstBy((who, department, _, number) => ReassignWorkOrder.Refusal(who, department, number)))
            .Produces<TransitionResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithSummary("A manager of the department hands the work order to someone qualified, with a reason.");
        workOrders.MapGet("/{id:long}/assignee-options", async (long id, Actor actor, ReassignWorkOrder reassign, CancellationToken ct) =>
                (await reassign.OptionsAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<List<AssigneeOption>>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Who the work order could be reassigned to, least loaded first, with why someone cannot take it.");
    }
}
