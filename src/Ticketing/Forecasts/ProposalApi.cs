using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Forecasts;

/// <summary>
/// Forecast proposals under /api/v1/forecasts: everyone who plans or oversees maintenance reads them; planners and
/// administrators accept, dismiss and tune the threshold (the service refuses others with 403).
/// </summary>
public static class ProposalApi
{
    public static IEndpointRouteBuilder MapProposalApi(this IEndpointRouteBuilder app)
    {
        var forecasts = app.MapGroup("/api/v1/forecasts").WithTags("Forecasts").RequireAuthorization(p => p.RequireRole(ForecastRoles.Readers.Split(',')));

        forecasts.MapGet("/proposals", async (
                Proposals proposals, CancellationToken ct, string? status = "open", double? minProbability = null, string? assetType = null,
                string? faultCode = null, int skip = 0, int take = 50) =>
            (await proposals.ListAsync(new ProposalQuery(status == "all" ? null : status, minProbability, assetType, faultCode, skip, take), ct)).Map(Results.Ok))
            .Produces<ProposalPage>()
            .ProducesValidationProblem();

        forecasts.MapGet("/proposals/{id:long}", async (long id, Proposals proposals, CancellationToken ct) =>
                await proposals.FindAsync(id, ct) is { } proposal ? Results.Ok(proposal) : Failure.NotFound("proposal.not_found", id).ToResult())
            .Produces<Proposal>();

        forecasts.MapPost("/proposals/{id:long}/accept", async (long id, Actor actor, Proposals proposals, CancellationToken ct) =>
                (await proposals.AcceptAsync(id, actor, ct)).Map(accepted => Results.Created($"/api/v1/work-orders/{accepted.WorkOrderId}", accepted)))
            .Produces<AcceptedProposal>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);

        forecasts.MapPost("/proposals/accept", async (BulkAcceptRequest request, Actor actor, Proposals proposals, CancellationToken ct) =>
                (await proposals.AcceptManyAsync(request, actor, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<BulkAcceptItem>>()
            .ProducesValidationProblem();

        forecasts.MapPost("/proposals/{id:long}/dismiss", async (long id, DismissRequest request, Actor actor, Proposals proposals, CancellationToken ct) =>
                (await proposals.DismissAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(Proposals.DismissRefusal)
            .Produces<Proposal>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        forecasts.MapGet("/threshold", async (Proposals proposals, CancellationToken ct) => Results.Ok(new { threshold = await proposals.ThresholdAsync(ct) }));

        forecasts.MapPut("/threshold", async (ThresholdRequest request, Actor actor, Proposals proposals, CancellationToken ct) =>
                (await proposals.SetThresholdAsync(request, actor, ct)).Map(threshold => Results.Ok(new { threshold })))
            .AccessFirst(Proposals.ThresholdRefusal)
            .ProducesValidationProblem();
        return app;
    }
}
