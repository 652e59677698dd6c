using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Hosting;
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
/// Sends due webhook deliveries. Each batch is claimed with FOR UPDATE SKIP LOCKED and kept locked in one transaction
/// while its POSTs run, so two instances never send the same delivery at once; every attempt is logged in
/// webhook_attempts with the delivery's new state in that transaction. A crash before the commit leaves the delivery
/// pending, so it is sent again: at least once, and receivers de-duplicate on the delivery id.
/// </summary>
public sealed partial class WebhookDispatcher(
    NpgsqlDataSource dataSource,
    IHttpClientFactory httpClients,
    ChannelListener listener,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string Channel = "webhook_outbox";
    public const string HttpClientName = "webhooks";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string Claim = """
        SELECT o.id, o.attempts, s.url, s.secret, e.id AS event_id, e.kind, e.work_order_id, w.number AS work_order_number,
               e.occurred_at, e.from_status, e.to_status, e.note, e.payload::text AS payload
        FROM webhook_outbox o
        JOIN webhook_subscriptions s ON s.id = o.subscription_id
        JOIN work_order_events e ON e.id = o.event_id
        JOIN work_orders w ON w.id = e.work_order_id
        WHERE o.status = 'pending' AND o.next_attempt_at <= @now AND s.active
        ORDER BY o.next_attempt_at, o.id
        LIMIT @batch
        FOR UPDATE OF o SKIP LOCKED
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

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        listener.RunOnSignalAsync(Channel, options.Value.PollInterval, DispatchAllDueAsync, stoppingToken);

    /// <summary>Sends batches until none is due; database trouble is logged and left for the next round.</summary>
    public Task DispatchAllDueAsync(CancellationToken cancellationToken) =>
        OutboxRound.DrainAsync(DispatchDueAsync, options.Value.BatchSize, LogDatabaseTrouble, LogRoundFailed, cancellationToken);

    /// <summary>Claims one batch of due deliveries, sends them, and records the outcome; returns how many it tried.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = (await connection.QueryAsync<DueDelivery>(new CommandDefinition(
            Claim, new { now = clock.GetUtcNow().UtcDateTime, batch = settings.BatchSize }, transaction, cancellationToken: cancellationToken))).AsList();
        if (due.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return 0;
        }

        var client = httpClients.CreateClient(HttpClientName);
        var results = await Task.WhenAll(due.Select(d => SendAsync(client, d, settings.Timeout, cancellationToken)));
        foreach (var (delivery, result) in due.Zip(results))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                LogAttempt,
                new { deliveryId = delivery.Id, attemptedAt = result.At, durationMs = result.DurationMs, statusCode = result.StatusCode, error = result.Error },
                transaction,
                cancellationToken: cancellationToken));

            var attempt = delivery.Attempts + 1;
            var now = clock.GetUtcNow().UtcDateTime;
            string status;
            DateTime next;
            if (result.Error is null)
            {
                (status, next) = (WebhookDeliveries.Delivered, now);
                LogDelivered(delivery.Id, delivery.Url, result.StatusCode ?? 0, result.DurationMs);
            }
            else if (Retry.AfterFailure(attempt, now, settings.Retry) is { GiveUp: false } retry)
            {
                (status, next) = (WebhookDeliveries.Pending, retry.NextAttemptAt);
                LogRetrying(delivery.Id, delivery.Url, attempt, result.Error, result.DurationMs, next);
            }
            else
            {
                (status, next) = (WebhookDeliveries.Failed, now);
                LogFailed(delivery.Id, delivery.Url, attempt, result.Error);
            }

            await connection.ExecuteAsync(new CommandDefinition(
                Settle,
                new { deliveryId = delivery.Id, status, nextAttemptAt = next, deliveredAt = result.Error is null ? now : (DateTime?)null },
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return due.Count;
    }

    /// <summary>The exact bytes sent for a delivery; the signature is over these.</summary>
    public static byte[] Body(WebhookEvent body) => JsonSerializer.SerializeToUtf8Bytes(body, Json);

    private async Task<AttemptResult> SendAsync(HttpClient client, DueDelivery delivery, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var payload = JsonDocument.Parse(delivery.Payload);
        var body = Body(new WebhookEvent(
            delivery.Id, delivery.EventId, delivery.Kind, delivery.WorkOrderId, delivery.WorkOrderNumber,
            delivery.OccurredAt, delivery.FromStatus, delivery.ToStatus, delivery.Note, payload.RootElement));

        var at = clock.GetUtcNow().UtcDateTime;
        if (!Uri.TryCreate(delivery.Url, UriKind.Absolute, out var url))
        {
            return new AttemptResult(at, 0, null, $"'{delivery.Url}' is not an absolute URL.");
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
        catch (HttpRequestException e)
        {
            return new AttemptResult(at, Elapsed(watch), null, e.HttpRequestError is HttpRequestError.Unknown ? e.Message : $"{e.HttpRequestError}: {e.Message}");
        }
    }

    private static int Elapsed(Stopwatch watch) => (int)Math.Min(int.MaxValue, watch.ElapsedMilliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} to {Url}: HTTP {StatusCode} in {DurationMs} ms.")]
    private partial void LogDelivered(long deliveryId, string url, int statusCode, int durationMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} to {Url}, attempt {Attempt}: {Error} after {DurationMs} ms; next attempt at {NextAttemptAt:o}.")]
    private partial void LogRetrying(long deliveryId, string url, int attempt, string error, int durationMs, DateTime nextAttemptAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} to {Url} failed for good after {Attempt} attempts: {Error}.")]
    private partial void LogFailed(long deliveryId, string url, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook deliveries could not be read or settled; trying again on the next round.")]
    private partial void LogDatabaseTrouble(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A round of sending failed unexpectedly; the next round tries again.")]
    private partial void LogRoundFailed(Exception exception);

    private sealed record DueDelivery(
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
        string Payload);

    private readonly record struct AttemptResult(DateTime At, int DurationMs, int? StatusCode, string? Error);
}
