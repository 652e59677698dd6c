using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Webhooks;

/// <summary>/api/v1/webhooks: administrators manage receivers and look at deliveries.</summary>
public static class WebhookApi
{
    public static RouteGroupBuilder MapWebhookApi(this RouteGroupBuilder api)
    {
        var webhooks = api.MapGroup("/webhooks").WithTags("Webhooks");
        webhooks.MapGet("/", async (Actor actor, WebhookSubscriptions service, CancellationToken ct) =>
                (await service.ListAsync(actor, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<WebhookSubscription>>();
        webhooks.MapGet("/{id:long}", async (long id, Actor actor, WebhookSubscriptions service, CancellationToken ct) =>
                (await service.GetAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<WebhookSubscription>();
        webhooks.MapPost("/", async (WebhookRequest request, Actor actor, WebhookSubscriptions service, CancellationToken ct) =>
                (await service.CreateAsync(request, actor, ct)).Map(created => Results.Created($"/api/v1/webhooks/{created.Subscription.Id}", created)))
            .AccessFirst(WebhookSubscriptions.Refuse)
            .Produces<CreatedWebhook>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        webhooks.MapPut("/{id:long}", async (long id, WebhookRequest request, Actor actor, WebhookSubscriptions service, CancellationToken ct) =>
                (await service.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(WebhookSubscriptions.Refuse)
            .Produces<WebhookSubscription>()
            .ProducesValidationProblem();
        webhooks.MapDelete("/{id:long}", async (long id, Actor actor, WebhookSubscriptions service, CancellationToken ct) =>
                (await service.DeleteAsync(id, actor, ct)).Map(_ => Results.NoContent()))
            .Produces(StatusCodes.Status204NoContent);
        webhooks.MapGet("/{id:long}/deliveries", async (long id, Actor actor, WebhookDeliveries deliveries, CancellationToken ct, string? status = null, int take = 50) =>
                (await deliveries.ListAsync(id, status, take, actor, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<WebhookDelivery>>()
            .ProducesValidationProblem();
        webhooks.MapPost("/{id:long}/deliveries/{deliveryId:long}/redeliver", async (long id, long deliveryId, Actor actor, WebhookDeliveries deliveries, CancellationToken ct) =>
                (await deliveries.RedeliverAsync(id, deliveryId, actor, ct)).Map(_ => Results.Accepted($"/api/v1/webhooks/{id}/deliveries")))
            .Produces(StatusCodes.Status202Accepted);
        return api;
    }
}
