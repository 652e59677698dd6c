using System.Globalization;
using System.Net;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Notifications;
using WorkOrders.Ticketing.Webhooks;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Delivery;

public sealed class WebhookTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _http = new ServiceCollection().AddHttpClient().BuildServiceProvider();

    private NpgsqlDataSource Data => database.DataSource;

    // The test receivers listen on this machine, which only an allowed host may be.
    private static readonly IOptions<WebhookOptions> AllowLoopback = Options.Create(new WebhookOptions { AllowedHosts = ["127.0.0.1"] });

    private WebhookSubscriptions Subscriptions => new(Data, _clock, Targets());

    private WebhookTargets Targets(IOptions<WebhookOptions>? options = null) => new(Data, options ?? AllowLoopback);

    private WebhookDeliveries Deliveries => new(Data, _clock);

    public void Dispose() => _http.Dispose();

    private WebhookDispatcher Dispatcher(WebhookOptions? options = null, ChannelListener? listener = null, WebhookTargets? targets = null, IHttpClientFactory? http = null) => new(
        Data,
        http ?? _http.GetRequiredService<IHttpClientFactory>(),
        listener ?? Listener(),
        Options.Create(options ?? new WebhookOptions { Timeout = TimeSpan.FromSeconds(5), FirstRetryDelay = TimeSpan.FromMinutes(1), BackoffFactor = 2, MaxAttempts = 3 }),
        targets ?? Targets(),
        _clock,
        NullLogger<WebhookDispatcher>.Instance);

    private ChannelListener Listener() =>
        new(Data, [new ListenChannel(WebhookDispatcher.Channel)], NullLogger<ChannelListener>.Instance);

    /// <summary>Tests of this class share a database: each starts with no other test's subscription active.</summary>
    private async Task<TestOrg> FreshAsync()
    {
        await using var connection = await Data.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE webhook_subscriptions SET active = false");
        return await TestOrg.CreateAsync(Data);
    }

    // One delivery per work order made: its "created" event (a create also records how it was assigned or queued).
    private async Task<CreatedWebhook> SubscribeAsync(TestOrg org, Uri url, string kind = "created", string? secret = null)
    {
        var outcome = await Subscriptions.CreateAsync(new WebhookRequest(url.ToString(), kind, secret), org[Role.Admin], CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    private async Task<CreatedWorkOrder> NewWorkOrderAsync(TestOrg org)
    {
        var request = new CreateWorkOrderRequest(
            org.TemplateId, "Pump leaks", "Oil under the pump.", 2, null, org.MachineId,
            CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });
        var outcome = await new CreateWorkOrder(Data, _clock).HandleAsync(request, org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    private async Task<WebhookDelivery> OnlyDeliveryAsync(TestOrg org, CreatedWebhook hook) =>
        Assert.Single((await Deliveries.ListAsync(hook.Subscription.Id, null, 10, org[Role.Admin], CancellationToken.None)).Value!);

    [Fact]
    public async Task a_delivery_carries_the_event_and_a_signature_the_receiver_can_verify_with_the_secret()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        var hook = await SubscribeAsync(org, receiver.Url, "created", secret: "a-secret-of-the-receiver");
        Assert.Equal("a-secret-of-the-receiver", hook.Secret);
        var created = await NewWorkOrderAsync(org);

        Assert.Equal(1, await Dispatcher().DispatchDueAsync(CancellationToken.None));

        var request = Assert.Single(receiver.Received);
        Assert.True(WebhookSignature.Verify(hook.Secret, request.Body, request.Headers[WebhookSignature.Header]));
        Assert.False(WebhookSignature.Verify("another-secret-entirely", request.Body, request.Headers[WebhookSignature.Header]));
        Assert.StartsWith("sha256=", request.Headers[WebhookSignature.Header], StringComparison.Ordinal);
        Assert.Equal("created", request.Headers[WebhookSignature.EventHeader]);
        Assert.Equal("application/json; charset=utf-8", request.Headers["Content-Type"]);

        var body = JsonSerializer.Deserialize<WebhookEvent>(request.Body, Json)!;
        Assert.Equal(request.Headers[WebhookSignature.DeliveryHeader], body.DeliveryId.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(("created", created.Id, created.Number, "new"), (body.Kind, body.WorkOrderId, body.WorkOrderNumber, body.ToStatus));
        Assert.Null(body.FromStatus);
        Assert.Equal(_clock.GetUtcNow().UtcDateTime, body.OccurredAt);

        var delivery = await OnlyDeliveryAsync(org, hook);
        Assert.Equal((WebhookDeliveries.Delivered, 1), (delivery.Status, delivery.Attempts));
        Assert.Equal(204, Assert.Single(delivery.AttemptLog).StatusCode);
    }

    [Fact]
    public async Task a_receiver_that_now_leads_to_this_machine_is_not_posted_to_and_the_delivery_fails_saying_why()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        var hook = await SubscribeAsync(org, receiver.Url);
        await NewWorkOrderAsync(org);

        // Saved while its host was allowed; by the time of delivery it is not (as when a name resolves elsewhere now).
        var strict = Targets(Options.Create(new WebhookOptions()));
        Assert.Equal(1, await Dispatcher(targets: strict).DispatchDueAsync(CancellationToken.None));

        Assert.Empty(receiver.Received);
        var delivery = await OnlyDeliveryAsync(org, hook);
        Assert.Equal((WebhookDeliveries.Failed, 1), (delivery.Status, delivery.Attempts));
        var attempt = Assert.Single(delivery.AttemptLog);
        Assert.Null(attempt.StatusCode);
        Assert.StartsWith("Not sent:", attempt.Error, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", attempt.Error, StringComparison.Ordinal);
    }

    /// <summary>The client the app posts with (<see cref="DeliveryExtensions.AddWebhookClient"/>), over <paramref name="targets"/>.</summary>
    private static ServiceProvider WebhookClient(WebhookTargets targets) =>
        new ServiceCollection().AddSingleton(targets).AddWebhookClient().BuildServiceProvider();

    [Fact]
    public async Task a_name_that_resolves_outside_when_checked_and_to_this_machine_when_connecting_is_refused_at_the_connection()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        // A name under the attacker's control: its first answer (the check before the delivery) is a public address,
        // every later one (the connection) this machine, as a DNS server with a zero TTL can arrange.
        var lookups = 0;
        var rebinding = new WebhookTargets(Data, Options.Create(new WebhookOptions()), (host, _) =>
            Task.FromResult<IPAddress[]>(host != "rebind.test" ? [] : Interlocked.Increment(ref lookups) == 1 ? [IPAddress.Parse("203.0.113.7")] : [IPAddress.Loopback]));
        var hook = await SubscribeAsync(org, new Uri($"http://rebind.test:{receiver.Port}/hook"));
        await NewWorkOrderAsync(org);

        using var http = WebhookClient(rebinding);
        Assert.Equal(1, await Dispatcher(targets: rebinding, http: http.GetRequiredService<IHttpClientFactory>()).DispatchDueAsync(CancellationToken.None));

        Assert.Equal(2, lookups);
        Assert.Empty(receiver.Received);
        var delivery = await OnlyDeliveryAsync(org, hook);
        Assert.Equal((WebhookDeliveries.Failed, 1), (delivery.Status, delivery.Attempts));
        var attempt = Assert.Single(delivery.AttemptLog);
        Assert.Null(attempt.StatusCode);
        Assert.StartsWith("Not sent:", attempt.Error, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", attempt.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_webhook_client_connects_to_localhost_only_when_it_is_an_allowed_host()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        var url = new Uri($"http://localhost:{receiver.Port}/hook");

        // Straight through the client, past the checks before it: the connection itself refuses.
        using (var strict = WebhookClient(Targets(Options.Create(new WebhookOptions()))))
        {
            var client = strict.GetRequiredService<IHttpClientFactory>().CreateClient(WebhookDispatcher.HttpClientName);
            var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.PostAsync(url, new StringContent("{}")));
            var reason = refused as WebhookTargetRefusedException ?? Assert.IsType<WebhookTargetRefusedException>(refused.InnerException);
            Assert.Equal("webhook.url_internal", reason.Refusal.Code);
            Assert.Empty(receiver.Received);
        }

        var allowed = Targets(Options.Create(new WebhookOptions { AllowedHosts = ["localhost"] }));
        var created = await new WebhookSubscriptions(Data, _clock, allowed).CreateAsync(new WebhookRequest(url.ToString(), "created", null), org[Role.Admin], CancellationToken.None);
        Assert.True(created.Succeeded, created.Failure?.Message);
        await NewWorkOrderAsync(org);

        using var http = WebhookClient(allowed);
        Assert.Equal(1, await Dispatcher(targets: allowed, http: http.GetRequiredService<IHttpClientFactory>()).DispatchDueAsync(CancellationToken.None));

        Assert.Single(receiver.Received);
        var delivery = await OnlyDeliveryAsync(org, created.Value!);
        Assert.Equal((WebhookDeliveries.Delivered, 204), (delivery.Status, Assert.Single(delivery.AttemptLog).StatusCode));
    }

    [Fact]
    public async Task a_receiver_that_is_down_never_blocks_the_change_and_a_retry_after_it_is_back_delivers_once()
    {
        var org = await FreshAsync();
        var port = TestReceiver.FreePort();
        var hook = await SubscribeAsync(org, new Uri($"http://127.0.0.1:{port}/hook"));
        var dispatcher = Dispatcher();

        // Nothing listens: the work order is stored all the same, and the refused connection is logged.
        var created = await NewWorkOrderAsync(org);
        Assert.Equal(1, await dispatcher.DispatchDueAsync(CancellationToken.None));
        var afterRefused = await OnlyDeliveryAsync(org, hook);
        Assert.Equal((WebhookDeliveries.Pending, 1), (afterRefused.Status, afterRefused.Attempts));
        var refused = Assert.Single(afterRefused.AttemptLog);
        Assert.Null(refused.StatusCode);
        Assert.Contains("refused", refused.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(_clock.GetUtcNow().UtcDateTime.AddMinutes(1), afterRefused.NextAttemptAt);
        await using (var connection = await Data.OpenConnectionAsync())
        {
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM work_orders WHERE id = @Id", new { created.Id }));
        }

        // Not due yet: nothing is sent before the backoff has passed.
        Assert.Equal(0, await dispatcher.DispatchDueAsync(CancellationToken.None));

        // The receiver is up but failing: a 500 is logged and the next pause doubles.
        await using var receiver = await TestReceiver.StartAsync(port);
        receiver.Answer = () => 500;
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await dispatcher.DispatchDueAsync(CancellationToken.None));
        var afterError = await OnlyDeliveryAsync(org, hook);
        Assert.Equal(500, afterError.AttemptLog[^1].StatusCode);
        Assert.Equal(_clock.GetUtcNow().UtcDateTime.AddMinutes(2), afterError.NextAttemptAt);

        // It comes back: the retry delivers, once.
        receiver.Answer = () => 200;
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await dispatcher.DispatchDueAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await dispatcher.DispatchDueAsync(CancellationToken.None));

        var delivered = await OnlyDeliveryAsync(org, hook);
        Assert.Equal((WebhookDeliveries.Delivered, 3), (delivered.Status, delivered.Attempts));
        Assert.Equal([null, 500, 200], delivered.AttemptLog.Select(a => a.StatusCode));
        Assert.Equal([500, 200], receiver.Received.Select(r => r.AnsweredWith));
        Assert.Single(receiver.Received.Select(r => r.Headers[WebhookSignature.DeliveryHeader]).Distinct());
    }

    [Fact]
    public async Task after_its_last_attempt_a_delivery_is_marked_failed_and_a_redelivery_sends_it_again()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        receiver.Answer = () => 503;
        var hook = await SubscribeAsync(org, receiver.Url);
        var dispatcher = Dispatcher(new WebhookOptions { FirstRetryDelay = TimeSpan.FromSeconds(10), BackoffFactor = 3, MaxAttempts = 2 });
        await NewWorkOrderAsync(org);

        await dispatcher.DispatchDueAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(10));
        await dispatcher.DispatchDueAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await dispatcher.DispatchDueAsync(CancellationToken.None));

        var failed = await OnlyDeliveryAsync(org, hook);
        Assert.Equal((WebhookDeliveries.Failed, 2), (failed.Status, failed.Attempts));
        Assert.All(failed.AttemptLog, a => Assert.Equal(("HTTP 503 Service Unavailable", 503), (a.Error, a.StatusCode)));

        receiver.Answer = () => 200;
        Assert.True((await Deliveries.RedeliverAsync(hook.Subscription.Id, failed.Id, org[Role.Admin], CancellationToken.None)).Succeeded);
        Assert.Equal(1, await dispatcher.DispatchDueAsync(CancellationToken.None));
        var redelivered = await OnlyDeliveryAsync(org, hook);
        Assert.Equal((WebhookDeliveries.Delivered, 1, 3), (redelivered.Status, redelivered.Attempts, redelivered.AttemptLog.Count));
    }

    [Fact]
    public async Task two_dispatchers_running_at_once_deliver_each_delivery_exactly_once()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        receiver.Delay = TimeSpan.FromMilliseconds(20);
        var hook = await SubscribeAsync(org, receiver.Url);
        for (var i = 0; i < 40; i++)
        {
            await NewWorkOrderAsync(org);
        }

        var options = new WebhookOptions { BatchSize = 3 };
        var first = Dispatcher(options);
        var second = Dispatcher(options);
        await Task.WhenAll(Task.Run(() => first.DispatchAllDueAsync(CancellationToken.None)), Task.Run(() => second.DispatchAllDueAsync(CancellationToken.None)));

        var deliveries = (await Deliveries.ListAsync(hook.Subscription.Id, null, 100, org[Role.Admin], CancellationToken.None)).Value!;
        Assert.Equal(40, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal((WebhookDeliveries.Delivered, 1), (d.Status, d.AttemptLog.Count)));
        var perDelivery = receiver.Received.GroupBy(r => r.Headers[WebhookSignature.DeliveryHeader]).ToList();
        Assert.Equal(40, perDelivery.Count);
        Assert.All(perDelivery, g => Assert.Single(g));
    }

    [Fact]
    public async Task only_subscriptions_for_the_event_kind_get_a_delivery_and_a_change_rolled_back_leaves_none()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        var created = await SubscribeAsync(org, receiver.Url, "created");
        var resolved = await SubscribeAsync(org, receiver.Url, "resolve");
        var inactive = (await Subscriptions.CreateAsync(new WebhookRequest(receiver.Url.ToString(), "*", Active: false), org[Role.Admin], CancellationToken.None)).Value!;
        var workOrder = await NewWorkOrderAsync(org);

        await using (var connection = await Data.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await History.AppendAsync(connection, transaction, workOrder.Id, _clock.GetUtcNow().UtcDateTime, null, EventKinds.Of(WorkOrderAction.Resolve), null, null, "never", null, CancellationToken.None);
            await transaction.RollbackAsync();
        }

        Assert.Single((await Deliveries.ListAsync(created.Subscription.Id, null, 10, org[Role.Admin], CancellationToken.None)).Value!);
        Assert.Empty((await Deliveries.ListAsync(resolved.Subscription.Id, null, 10, org[Role.Admin], CancellationToken.None)).Value!);
        Assert.Empty((await Deliveries.ListAsync(inactive.Subscription.Id, null, 10, org[Role.Admin], CancellationToken.None)).Value!);
    }

    [Fact]
    public async Task the_running_dispatcher_is_woken_by_a_new_delivery_without_waiting_for_its_poll()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        await SubscribeAsync(org, receiver.Url);
        var listener = Listener();
        var dispatcher = Dispatcher(new WebhookOptions { PollInterval = TimeSpan.FromMinutes(10) }, listener);
        using var stop = new CancellationTokenSource();
        await listener.StartAsync(stop.Token);
        await dispatcher.StartAsync(stop.Token);
        try
        {
            await Eventually.Until(() => listener.Listening, "the listener to be listening", TimeSpan.FromSeconds(15));
            var created = await NewWorkOrderAsync(org);
            await Eventually.Until(() => !receiver.Received.IsEmpty, "the receiver to be sent the delivery", TimeSpan.FromSeconds(15));
            Assert.Equal(created.Id, JsonSerializer.Deserialize<WebhookEvent>(Assert.Single(receiver.Received).Body, Json)!.WorkOrderId);
        }
        finally
        {
            await dispatcher.StopAsync(CancellationToken.None);
            await listener.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task a_receiver_address_the_client_cannot_use_is_logged_as_a_failed_attempt_and_the_others_are_still_sent()
    {
        var org = await FreshAsync();
        await using var receiver = await TestReceiver.StartAsync();
        var good = await SubscribeAsync(org, receiver.Url);
        var bad = await SubscribeAsync(org, receiver.Url);
        await using (var connection = await Data.OpenConnectionAsync())
        {
            // Only the database's own check stands between this and the dispatcher: it allows what validation refuses.
            await connection.ExecuteAsync("UPDATE webhook_subscriptions SET url = 'http://exa mple.test/hook' WHERE id = @Id", new { bad.Subscription.Id });
        }

        await NewWorkOrderAsync(org);
        Assert.Equal(2, await Dispatcher().DispatchDueAsync(CancellationToken.None));

        Assert.Equal(WebhookDeliveries.Delivered, (await OnlyDeliveryAsync(org, good)).Status);
        var refused = await OnlyDeliveryAsync(org, bad);
        Assert.Equal(WebhookDeliveries.Pending, refused.Status);
        Assert.Contains("not an absolute URL", Assert.Single(refused.AttemptLog).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task only_administrators_manage_webhooks()
    {
        var org = await FreshAsync();
        var request = new WebhookRequest("https://example.test/hook", "*");
        foreach (var role in Roles.All.Where(r => r != Role.Admin))
        {
            var outcome = await Subscriptions.CreateAsync(request, org[role], CancellationToken.None);
            Assert.Equal(FailureKind.Forbidden, outcome.Failure?.Kind);
        }

        Assert.Equal(FailureKind.Forbidden, (await Subscriptions.ListAsync(org[Role.Manager], CancellationToken.None)).Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, (await Deliveries.ListAsync(1, null, 10, org[Role.Technician], CancellationToken.None)).Failure?.Kind);
    }
}
