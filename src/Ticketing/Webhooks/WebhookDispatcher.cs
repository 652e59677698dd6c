using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Notifications;

namespace WorkOrders.Ticketing.Webhooks;

/// <summary>The JSON body of a delivery. <see cref="DeliveryId"/> is also the X-WorkOrders-Delivery header: receivers de-duplicate on it.</summary>
public sealed record WebhookEvent(
    long DeliveryId,
    long EventId,
    string Kind,
    long WorkOrderId,
    string WorkOrderNumber,
    DateTime OccurredAt,
    string? FromStatus,
    string? ToStatus,
    string? Note,
    JsonElement Payload);

/// <summary>
/// Sends due webhook deliveries from the outbox, the POSTs of a batch at once. Every attempt is logged in
/// webhook_attempts with the delivery's new state; a delivery may be sent more than once, so receivers de-duplicate on
/// the delivery id.
/// </summary>
internal sealed partial class WebhookDispatcher(
    NpgsqlDataSource dataSource,
    IHttpClientFactory httpClients,
    ChannelListener listener,
    IOptions<WebhookOptions> options,
    WebhookTargets targets,
    TimeProvider clock,
    ILogger<WebhookDispatcher> logger)
    : OutboxSender<WebhookDispatcher.DueDelivery, WebhookDispatcher.AttemptResult>("webhook dispatcher", Channel, dataSource, listener, clock, logger)
{
    public const string Channel = "webhook_outbox";
    public const string HttpClientName = "webhooks";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string ClaimDue = $"""
        SELECT o.id, o.attempts, s.url, s.secret, e.id AS event_id, e.kind, e.work_order_id, w.number AS work_order_number,
               e.occurred_at, e.from_status, e.to_status, e.note, e.payload::text AS payload
        FROM webhook_outbox o
        JOIN webhook_subscriptions s ON s.id = o.subscription_id
        JOIN work_order_events e ON e.id = o.event_id
        JOIN work_orders w ON w.id = e.work_order_id
        WHERE s.active AND {DuePending}
        """;

    private const string LogAttempt = """
        INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code, error)
        VALUES (@deliveryId, @attemptedAt, @durationMs, @statusCode, @error)
        """;

    private const string Settle = """
        UPDATE webhook_outbox
        SET attempts = attempts + 1, status = @status, next_attempt_at = @nextAttemptAt, delivered_at = @deliveredAt
        WHERE id = @deliveryId
        """;

    protected override string Claim => ClaimDue;

    protected override OutboxSettings Settings => new(options.Value.PollInterval, options.Value.BatchSize, options.Value.Retry);

    /// <summary>Sends batches of due deliveries until none is left.</summary>
    public Task DispatchAllDueAsync(CancellationToken cancellationToken) => SendAllDueAsync(cancellationToken);

    /// <summary>Claims one batch of due deliveries, sends them, and records the outcome; returns how many it tried.</summary>
    public Task<int> DispatchDueAsync(CancellationToken cancellationToken) => SendBatchAsync(cancellationToken);

    protected override Task<AttemptResult[]> SendAsync(IReadOnlyList<DueDelivery> due, CancellationToken cancellationToken)
    {
        var client = httpClients.CreateClient(HttpClientName);
        return Task.WhenAll(due.Select(d => SendAsync(client, d, options.Value.Timeout, cancellationToken)));
    }

    protected override async Task SettleAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Settlement<DueDelivery, AttemptResult> settlement, CancellationToken cancellationToken)
    {
        var (delivery, result, state, attempt, now, next) = settlement;
        await connection.ExecuteAsync(new CommandDefinition(
            LogAttempt,
            new { deliveryId = delivery.Id, attemptedAt = result.At, durationMs = result.DurationMs, statusCode = result.StatusCode, error = result.Error },
            transaction,
            cancellationToken: cancellationToken));

        var status = state switch
        {
            OutboxState.Done => WebhookDeliveries.Delivered,
            OutboxState.Pending => WebhookDeliveries.Pending,
            _ => WebhookDeliveries.Failed,
        };
        switch (state)
        {
            case OutboxState.Done:
                LogDelivered(Logger, delivery.Id, delivery.Url, result.StatusCode ?? 0, result.DurationMs);
                break;
            case OutboxState.Pending:
                LogRetrying(Logger, delivery.Id, delivery.Url, attempt, result.Error!, result.DurationMs, next);
                break;
            default:
                LogFailed(Logger, delivery.Id, delivery.Url, attempt, result.Error!);
                break;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            Settle,
            new { deliveryId = delivery.Id, status, nextAttemptAt = next, deliveredAt = result.Error is null ? now : (DateTime?)null },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>The exact bytes sent for a delivery; the signature is over these.</summary>
    public static byte[] Body(WebhookEvent body) => JsonSerializer.SerializeToUtf8Bytes(body, Json);

    private async Task<AttemptResult> SendAsync(HttpClient client, DueDelivery delivery, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var payload = JsonDocument.Parse(delivery.Payload);
        var body = Body(new WebhookEvent(
            delivery.Id, delivery.EventId, delivery.Kind, delivery.WorkOrderId, delivery.WorkOrderNumber,
            delivery.OccurredAt, delivery.FromStatus, delivery.ToStatus, delivery.Note, payload.RootElement));

        var at = Clock.GetUtcNow().UtcDateTime;
        if (!Uri.TryCreate(delivery.Url, UriKind.Absolute, out var url))
        {
            return new AttemptResult(at, 0, null, $"'{delivery.Url}' is not an absolute URL.");
        }

        // Again at each delivery: the name may resolve elsewhere now than when the subscription was saved.
        if (await targets.RefuseAsync(url, cancellationToken) is { } refused)
        {
            return new AttemptResult(at, 0, null, $"Not sent: {refused}", Permanent: true);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(delivery.Secret, body));
        request.Headers.Add(WebhookSignature.EventHeader, delivery.Kind);
        request.Headers.Add(WebhookSignature.DeliveryHeader, delivery.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var watch = Stopwatch.StartNew();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            var code = (int)response.StatusCode;
            return new AttemptResult(at, Elapsed(watch), code, response.IsSuccessStatusCode ? null : $"HTTP {code} {response.ReasonPhrase}".TrimEnd());
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(at, Elapsed(watch), null, $"no answer within {timeout.TotalSeconds:0.###} s");
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or UriFormatException)
        {
            // A URL the client cannot use (the database allows what validation refused): logged as a failed attempt.
            return new AttemptResult(at, Elapsed(watch), null, e.Message);
        }
        catch (HttpRequestException e) when (e is WebhookTargetRefusedException || e.InnerException is WebhookTargetRefusedException)
        {
            // Refused when connecting (the name resolves to this machine now, or a redirect led there): never retried.
            var atConnect = e as WebhookTargetRefusedException ?? (WebhookTargetRefusedException)e.InnerException!;
            return new AttemptResult(at, Elapsed(watch), null, atConnect.Message, Permanent: true);
        }
        catch (HttpRequestException e)
        {
            return new AttemptResult(at, Elapsed(watch), null, e.HttpRequestError is HttpRequestError.Unknown ? e.Message : $"{e.HttpRequestError}: {e.Message}");
        }
    }

    private static int Elapsed(Stopwatch watch) => (int)Math.Min(int.MaxValue, watch.ElapsedMilliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} to {Url}: HTTP {StatusCode} in {DurationMs} ms.")]
    private static partial void LogDelivered(ILogger logger, long deliveryId, string url, int statusCode, int durationMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} to {Url}, attempt {Attempt}: {Error} after {DurationMs} ms; next attempt at {NextAttemptAt:o}.")]
    private static partial void LogRetrying(ILogger logger, long deliveryId, string url, int attempt, string error, int durationMs, DateTime nextAttemptAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} to {Url} failed for good after {Attempt} attempts: {Error}.")]
    private static partial void LogFailed(ILogger logger, long deliveryId, string url, int attempt, string error);

    internal sealed record DueDelivery(
        long Id,
        int Attempts,
        string Url,
        string Secret,
        long EventId,
        string Kind,
        long WorkOrderId,
        string WorkOrderNumber,
        DateTime OccurredAt,
        string? FromStatus,
        string? ToStatus,
        string? Note,
        string Payload) : IOutboxRow;

    // Permanent: a receiver this server may not post to, failed at once rather than retried.
    internal readonly record struct AttemptResult(DateTime At, int DurationMs, int? StatusCode, string? Error, bool Permanent = false) : IOutboxAttempt;
}
