using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Webhooks;

/// <summary>One POST to a receiver: when, how long, and what came back (a status code, or the error).</summary>
public sealed record WebhookAttempt(long Id, DateTime AttemptedAt, int DurationMs, int? StatusCode, string? Error);

/// <summary>One history event to be delivered to one subscription: pending, delivered or failed, with every attempt.</summary>
public sealed record WebhookDelivery(
    long Id,
    long SubscriptionId,
    long EventId,
    string EventKind,
    long WorkOrderId,
    string WorkOrderNumber,
    string Status,
    int Attempts,
    DateTime NextAttemptAt,
    DateTime CreatedAt,
    DateTime? DeliveredAt)
{
    public IReadOnlyList<WebhookAttempt> AttemptLog { get; init; } = [];
}

/// <summary>What administrators see of deliveries, and the way to send one again.</summary>
public sealed class WebhookDeliveries(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";

    private const string Recent = """
        SELECT o.id, o.subscription_id, o.event_id, e.kind AS event_kind, e.work_order_id, w.number AS work_order_number,
               o.status, o.attempts, o.next_attempt_at, o.created_at, o.delivered_at
        FROM webhook_outbox o
        JOIN work_order_events e ON e.id = o.event_id
        JOIN work_orders w ON w.id = e.work_order_id
        WHERE o.subscription_id = @subscriptionId AND (@status::text IS NULL OR o.status = @status)
        ORDER BY o.id DESC
        LIMIT @take
        """;

    private const string AttemptsOf = """
        SELECT delivery_id, id, attempted_at, duration_ms, status_code, error
        FROM webhook_attempts WHERE delivery_id = ANY (@ids)
        ORDER BY id
        """;

    private const string Again = """
        UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = @now, delivered_at = NULL
        WHERE id = @deliveryId AND subscription_id = @subscriptionId
        """;

    /// <summary>The latest deliveries of a subscription, newest first, each with its attempts oldest first.</summary>
    public async Task<Outcome<IReadOnlyList<WebhookDelivery>>> ListAsync(
        long subscriptionId, string? status, int take, Actor actor, CancellationToken cancellationToken)
    {
        if (WebhookSubscriptions.Refuse(actor) is { } refused)
        {
            return refused;
        }

        if (status is not (null or Pending or Delivered or Failed))
        {
            return Failure.Invalid("status", "delivery.status", status);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = @subscriptionId)", new { subscriptionId }, cancellationToken: cancellationToken)))
        {
            return Failure.NotFound("webhook.not_found", subscriptionId);
        }

        var deliveries = (await connection.QueryAsync<WebhookDelivery>(new CommandDefinition(
            Recent, new { subscriptionId, status, take = Math.Clamp(take, 1, 200) }, cancellationToken: cancellationToken))).AsList();
        var attempts = (await connection.QueryAsync<AttemptRow>(new CommandDefinition(
                AttemptsOf, new { ids = deliveries.Select(d => d.Id).ToArray() }, cancellationToken: cancellationToken)))
            .ToLookup(a => a.DeliveryId, a => new WebhookAttempt(a.Id, a.AttemptedAt, a.DurationMs, a.StatusCode, a.Error));
        return deliveries.Select(d => d with { AttemptLog = attempts[d.Id].ToList() }).ToList();
    }

    /// <summary>Queues a delivery again, now, with a fresh set of attempts, whatever its status; the attempt log is kept.</summary>
    public async Task<Outcome<long>> RedeliverAsync(long subscriptionId, long deliveryId, Actor actor, CancellationToken cancellationToken)
    {
        if (WebhookSubscriptions.Refuse(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            Again, new { subscriptionId, deliveryId, now = clock.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
        if (changed == 0)
        {
            return Failure.NotFound("delivery.not_found", deliveryId, subscriptionId);
        }

        await connection.ExecuteAsync(new CommandDefinition($"SELECT pg_notify('{WebhookDispatcher.Channel}', '')", cancellationToken: cancellationToken));
        return deliveryId;
    }

    private sealed record AttemptRow(long DeliveryId, long Id, DateTime AttemptedAt, int DurationMs, int? StatusCode, string? Error);
}
