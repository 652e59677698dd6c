using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.WorkOrders;

/// <summary>Sub-tasks and collaborators of a work order under /api/v1/work-orders/{id}.</summary>
public static class CollaborationApi
{
    public static RouteGroupBuilder MapCollaborationApi(this RouteGroupBuilder api)
    {
        var workOrder = api.MapGroup("/work-orders/{id:long}").WithTags("Collaboration");

        workOrder.MapGet("/sub-tasks", async (long id, Actor actor, SubTasks subTasks, CancellationToken ct) =>
                (await subTasks.ListAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<SubTaskBoard>();
        workOrder.MapPost("/sub-tasks", async (long id, SubTaskRequest request, Actor actor, SubTasks subTasks, CancellationToken ct) =>
                (await subTasks.AddAsync(id, request, actor, WorkOrderSource.Api, ct)).Map(c => Results.Created($"/api/v1/work-orders/{c.Id}", c)))
            .AccessFirst(WorkOrderAccess.AccessFirstBy(SubTaskRules.AddRefusal))
            .Produces<CreatedWorkOrder>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        workOrder.MapGet("/collaborators", async (long id, Actor actor, Collaborators collaborators, CancellationToken ct) =>
                (await collaborators.ListAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<CollaboratorList>();
        workOrder.MapGet("/collaborators/candidates", async (long id, Actor actor, Collaborators collaborators, CancellationToken ct, string? text = null) =>
                (await collaborators.CandidatesAsync(id, text, actor, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<CollaboratorCandidate>>();
        workOrder.MapPost("/collaborators", async (long id, CollaboratorRequest request, Actor actor, Collaborators collaborators, CancellationToken ct) =>
                (await collaborators.AddAsync(id, request, actor, ct)).Map(c => Results.Created($"/api/v1/work-orders/{id}/collaborators/{c.UserId}", c)))
            .AccessFirst(WorkOrderAccess.AccessFirstBy(Collaborators.AddRefusal))
            .Produces<Collaborator>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        workOrder.MapDelete("/collaborators/{userId:long}", async (long id, long userId, Actor actor, Collaborators collaborators, CancellationToken ct) =>
                (await collaborators.RemoveAsync(id, userId, actor, ct)).Map(_ => Results.NoContent()))
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }
}
