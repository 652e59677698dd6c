using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Notifications;

/// <summary>The signed-in user's notifications under /api/v1/notifications.</summary>
public static class NotificationApi
{
    public static void MapNotificationApi(this RouteGroupBuilder api)
    {
        var notifications = api.MapGroup("/notifications").WithTags("Notifications");
        notifications.MapGet("/", async (Actor actor, Notifications service, CancellationToken ct, bool unreadOnly = false, int take = 50) =>
            TypedResults.Ok(await service.ListAsync(actor, unreadOnly, take, ct)));
        notifications.MapPost("/read", async (MarkReadRequest request, Actor actor, Notifications service, CancellationToken ct) =>
            TypedResults.Ok(new { marked = await service.MarkReadAsync(actor, request.Ids, ct) }));
    }
}
