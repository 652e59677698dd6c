using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using WorkOrders.Ingest.Tests.Warehouse;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Tests.Delivery;
using Xunit.Abstractions;

namespace WorkOrders.EndToEnd.Tests.Faults;

/// <summary>
/// The built app as a child process, killed with SIGKILL at 20 points while clients create (with Idempotency-Key),
/// move work orders through their lifecycle and upload attachments, while the webhook and e-mail outboxes send and while
/// an ingest runs. After each restart nothing acknowledged is missing and nothing half-written is visible; at the end
/// every owed webhook and e-mail has gone out under one id, and the warehouse holds what PostgreSQL holds.
/// </summary>
public sealed class KillNineTests(TestDatabase database, ITestOutputHelper output) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private const string Secret = "kill-nine-webhook-secret";
    private const int ArchivedWorkOrders = 20_000;

    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-kill9-").FullName;
    private FaultRig _rig = null!;
    private DashboardProcess _app = null!;

    // What the clients sent and what was acknowledged, across every restart.
    private readonly ConcurrentDictionary<string, long> _created = new();
    private readonly ConcurrentDictionary<string, byte> _unanswered = new();
    private readonly ConcurrentQueue<(long WorkOrder, string Action)> _transitions = new();
    private readonly ConcurrentQueue<(long Id, string Sha256)> _uploads = new();
    private readonly ConcurrentQueue<long> _lifecycle = new();
    private readonly ConcurrentDictionary<string, int> _lost = new();

    private TestReceiver Receiver => _rig.Receiver;

    private TestSmtpServer Smtp => _rig.Smtp;

    private TestOrg Org => _rig.Org;

    private string WarehousePath => Path.Combine(_folder, "warehouse.duckdb");

    /// <summary>Where the app is killed: what the test waits for, then how long after it.</summary>
    private sealed record KillPoint(int Number, string Kind, TimeSpan After);

    private static readonly KillPoint[] Points =
    [
        // An ingest of the whole archive asked for, killed while it copies (it runs with no other ingest before it).
        new(1, "ingest", TimeSpan.FromMilliseconds(300)),
        new(2, "ingest", TimeSpan.FromMilliseconds(900)),
        // Creates, transitions and uploads under way from four clients, killed after a spread of offsets.
        new(3, "work", TimeSpan.FromMilliseconds(100)),
        new(4, "work", TimeSpan.FromMilliseconds(250)),
        new(5, "work", TimeSpan.FromMilliseconds(400)),
        new(6, "work", TimeSpan.FromMilliseconds(600)),
        new(7, "work", TimeSpan.FromMilliseconds(800)),
        new(8, "work", TimeSpan.FromMilliseconds(1000)),
        new(9, "work", TimeSpan.FromMilliseconds(1300)),
        new(10, "work", TimeSpan.FromMilliseconds(1700)),
        new(11, "work", TimeSpan.FromMilliseconds(2200)),
        new(12, "work", TimeSpan.FromMilliseconds(3000)),
        // A 6 MB upload on its way in.
        new(13, "upload", TimeSpan.FromMilliseconds(30)),
        new(14, "upload", TimeSpan.FromMilliseconds(150)),
        // A webhook delivery the receiver has and holds unanswered: the dispatcher's claim is still open.
        new(15, "webhook", TimeSpan.Zero),
        new(16, "webhook", TimeSpan.FromMilliseconds(300)),
        new(17, "webhook", TimeSpan.FromMilliseconds(1500)),
        // An e-mail the SMTP server has taken and not yet answered "250".
        new(18, "email", TimeSpan.Zero),
        new(19, "email", TimeSpan.FromMilliseconds(300)),
        new(20, "email", TimeSpan.FromMilliseconds(1500)),
    ];

    public async Task InitializeAsync()
    {
        // An archive big enough that a whole ingest takes a while, so a kill finds it copying.
        _rig = await FaultRig.StartAsync(database.DataSource, ArchivedWorkOrders, "k9", Secret);
        var settings = _rig.Settings(database.ConnectionString);
        settings["Warehouse:Path"] = WarehousePath;
        settings["Ingest:RunOnStart"] = "false";
        settings["Ingest:Interval"] = "1.00:00:00";
        settings["Webhooks:FirstRetryDelay"] = "00:00:01";
        settings["Webhooks:Timeout"] = "00:00:10";
        settings["Email:FirstRetryDelay"] = "00:00:01";
        _app = new DashboardProcess("kill9", settings, _folder);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _rig.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task killed_at_twenty_points_the_app_keeps_every_acknowledged_change_shows_nothing_half_written_and_delivers_what_it_owed()
    {
        var total = Stopwatch.StartNew();
        foreach (var point in Points)
        {
            var cycle = Stopwatch.StartNew();
            var clients = await StartAndCheckAsync(point.Number);
            var hit = await RunUntilKilledAsync(point, clients);
            output.WriteLine($"point {point.Number,2} {point.Kind,-7} +{point.After.TotalMilliseconds,5:0} ms: {hit}; cycle {cycle.Elapsed.TotalSeconds:0.0} s");
        }

        // The last restart: what was left unanswered is asked again, then every outbox drains.
        Receiver.Delay = TimeSpan.Zero;
        Smtp.Delay = TimeSpan.Zero;
        var final = await StartAndCheckAsync(Points.Length + 1);
        await using (var outboxes = await database.DataSource.OpenConnectionAsync())
        {
            await FaultRig.OutboxesDrainedAsync(outboxes, TimeSpan.FromSeconds(60));
        }

        var (webhooks, webhookRepeats) = await AssertWebhooksDeliveredAsync();
        var (emails, emailRepeats) = await AssertEmailsSentAsync();

        using (var run = await final.Admin.PostAsync("/api/v1/ingest/runs?wait=true", null))
        {
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        }

        _app.Kill();
        WarehouseFixture.AssertSame(database.DataSource, WarehousePath);

        await using var connection = await database.DataSource.OpenConnectionAsync();
        var counts = await connection.QuerySingleAsync<(long WorkOrders, long Events, long Attachments)>(
            "SELECT (SELECT count(*) FROM work_orders), (SELECT count(*) FROM work_order_events), (SELECT count(*) FROM attachments)");
        output.WriteLine(
            $"acknowledged: {_created.Count} creates, {_transitions.Count} transitions, {_uploads.Count} uploads; cut off by a kill: {string.Join(", ", _lost.Select(l => $"{l.Key} {l.Value}"))}");
        output.WriteLine($"database: {counts.WorkOrders} work orders ({ArchivedWorkOrders} archived), {counts.Events} events, {counts.Attachments} attachments");
        output.WriteLine($"webhooks: {webhooks} deliveries owed, all received; {webhookRepeats} received again with the same delivery id");
        output.WriteLine($"e-mails: {emails} owed, all received; {emailRepeats} received again with the same Message-Id");
        output.WriteLine($"starts: {string.Join(" ", _app.Starts.Select(s => s.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)))} s; total {total.Elapsed.TotalSeconds:0} s");
    }

    private sealed record Clients(HttpClient Manager, HttpClient Technician, HttpClient Admin) : IDisposable
    {
        public void Dispose()
        {
            Manager.Dispose();
            Technician.Dispose();
            Admin.Dispose();
        }
    }

    /// <summary>Starts the app, asks again what went unanswered, and checks everything acknowledged so far is whole.</summary>
    private async Task<Clients> StartAndCheckAsync(int point)
    {
        await _app.StartAsync();
        var clients = new Clients(
            await SignInAsync(Org[Role.Manager].UserName),
            await SignInAsync(Org[Role.Technician].UserName),
            await SignInAsync(Org[Role.Admin].UserName));

        // A create whose answer was lost is sent again with its key: it makes the work order once in all.
        foreach (var key in _unanswered.Keys)
        {
            var (status, id) = await CreateAsync(clients.Manager, key);
            Assert.True(status is HttpStatusCode.Created or HttpStatusCode.OK, $"after point {point - 1}, the retry of {key} answered {status}");
            // 200 is the replay of a create the kill cut off after its commit, 201 one it cut off before.
            _lost.AddOrUpdate(status == HttpStatusCode.OK ? "create retried, had committed" : "create retried, had not committed", 1, (_, n) => n + 1);
            _created[key] = id;
            _unanswered.TryRemove(key, out _);
            _lifecycle.Enqueue(id);
        }

        await AssertWholeAsync(point - 1);
        return clients;
    }

    private Task<HttpClient> SignInAsync(string userName) => FaultRig.SignInAsync(_app, userName, TimeSpan.FromSeconds(30));

    /// <summary>Runs the clients until the point's moment comes, then kills the app; says what was under way.</summary>
    private async Task<string> RunUntilKilledAsync(KillPoint point, Clients clients)
    {
        using var stop = new CancellationTokenSource();
        var trigger = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bigUpload = point.Kind == "upload";
        Receiver.Delay = point.Kind == "webhook" ? TimeSpan.FromSeconds(4) : TimeSpan.Zero;
        Smtp.Delay = point.Kind == "email" ? TimeSpan.FromSeconds(4) : TimeSpan.Zero;
        Receiver.Arrived = point.Kind == "webhook" ? _ => trigger.TrySetResult() : null;
        Smtp.Arrived = point.Kind == "email" ? _ => trigger.TrySetResult() : null;
        var under = "";
        Task[] clientsRunning =
        [
            CreatorAsync(clients.Manager, stop.Token),
            CreatorAsync(clients.Manager, stop.Token),
            LifecycleAsync(clients, stop.Token),
            UploaderAsync(clients.Technician, bigUpload ? trigger : null, stop.Token),
        ];
        if (point.Kind is "work")
        {
            trigger.TrySetResult();
        }
        else if (point.Kind is "ingest")
        {
            using var asked = await clients.Admin.PostAsync("/api/v1/ingest/runs", null);
            Assert.Equal(HttpStatusCode.Accepted, asked.StatusCode);
            trigger.TrySetResult();
        }

        var hit = await Task.WhenAny(trigger.Task, Task.Delay(TimeSpan.FromSeconds(20))) == trigger.Task;
        await Task.Delay(point.After);
        if (point.Kind is "ingest")
        {
            using var status = await clients.Admin.GetAsync("/api/v1/ingest/status");
            var running = (await status.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("running").GetBoolean();
            under = running ? "ingest running" : "ingest not running";
        }

        _app.Kill();
        await stop.CancelAsync();
        await Task.WhenAll(clientsRunning);
        clients.Dispose();
        Receiver.Arrived = null;
        Smtp.Arrived = null;
        return (hit ? "killed at its moment" : "its moment never came, killed after 20 s") + (under.Length > 0 ? $", {under}" : "");
    }

    private async Task<(HttpStatusCode Status, long Id)> CreateAsync(HttpClient client, string key, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/work-orders")
        {
            Content = JsonContent.Create(new
            {
                templateId = Org.TemplateId,
                title = $"Crash {key}",
                description = "Raised by the kill -9 test.",
                priority = 3,
                assetId = Org.MachineId,
                customFields = new { fault_code = "leak" },
            }),
        };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await client.SendAsync(request, cancellationToken);
        var id = response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetInt64() : 0;
        return (response.StatusCode, id);
    }

    private async Task CreatorAsync(HttpClient client, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var key = $"k9-{Guid.NewGuid():N}";
            _unanswered[key] = 0;
            try
            {
                var (status, id) = await CreateAsync(client, key, stop);
                Assert.Equal(HttpStatusCode.Created, status);
                _created[key] = id;
                _unanswered.TryRemove(key, out _);
                _lifecycle.Enqueue(id);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                // No answer: the key stays unanswered and is sent again after the restart.
                _lost.AddOrUpdate("create unanswered", 1, (_, n) => n + 1);
                return;
            }
        }
    }

    /// <summary>Moves acknowledged work orders one step at a time: assign, start, resolve, approve.</summary>
    private async Task LifecycleAsync(Clients clients, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (!_lifecycle.TryDequeue(out var id))
            {
                try
                {
                    await Task.Delay(20, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            try
            {
                using var read = await clients.Manager.GetAsync($"/api/v1/work-orders/{id}", stop);
                read.EnsureSuccessStatusCode();
                var detail = await read.Content.ReadFromJsonAsync<JsonElement>(stop);
                var version = detail.GetProperty("rowVersion").GetInt32();
                (HttpClient Client, object Body, string Action)? next = detail.GetProperty("status").GetString() switch
                {
                    "new" => (clients.Manager, new { action = "assign", assigneeId = Org[Role.Technician].UserId, rowVersion = version }, "assign"),
                    "assigned" => (clients.Technician, new { action = "start", rowVersion = version }, "start"),
                    "in_progress" => (clients.Technician, new { action = "resolve", note = "fixed", rowVersion = version }, "resolve"),
                    "resolved" => (clients.Manager, new { action = "approve", rating = 4, rowVersion = version }, "approve"),
                    _ => null,
                };
                if (next is not { } step)
                {
                    continue;
                }

                using var moved = await step.Client.PostAsJsonAsync($"/api/v1/work-orders/{id}/transitions", step.Body, stop);
                Assert.True(moved.IsSuccessStatusCode, $"{step.Action} of {id} answered {moved.StatusCode}: {await moved.Content.ReadAsStringAsync(stop)}");
                _transitions.Enqueue((id, step.Action));
                _lifecycle.Enqueue(id);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                // The work order's state is read again after the restart.
                _lost.AddOrUpdate("transition unanswered", 1, (_, n) => n + 1);
                _lifecycle.Enqueue(id);
                return;
            }
        }
    }

    private async Task UploaderAsync(HttpClient client, TaskCompletionSource? bigOneSent, CancellationToken stop)
    {
        var random = new Random(bigOneSent is null ? 7 : 13);
        while (!stop.IsCancellationRequested)
        {
            var target = _created.Values.FirstOrDefault();
            if (target == 0)
            {
                try
                {
                    await Task.Delay(20, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            var size = bigOneSent is null ? random.Next(50_000, 1_500_000) : 6_000_000;
            var bytes = new byte[size];
            random.NextBytes(bytes);
            byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
            png.CopyTo(bytes, 0);
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var form = new MultipartFormDataContent { { file, "file", "evidence.png" } };
            try
            {
                var sending = client.PostAsync($"/api/v1/work-orders/{target}/attachments", form, stop);
                bigOneSent?.TrySetResult();
                using var response = await sending;
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                var id = (await response.Content.ReadFromJsonAsync<JsonElement>(stop)).GetProperty("id").GetInt64();
                _uploads.Enqueue((id, Convert.ToHexStringLower(SHA256.HashData(bytes))));
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                _lost.AddOrUpdate("upload unanswered", 1, (_, n) => n + 1);
                return;
            }
        }
    }

    /// <summary>Every acknowledged change is there, and nothing is there in part.</summary>
    private async Task AssertWholeAsync(int afterPoint)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var where = $"after kill point {afterPoint}";

        var titles = _created.Keys.Select(k => $"Crash {k}").ToArray();
        var present = await connection.ExecuteScalarAsync<long>("SELECT count(DISTINCT title) FROM work_orders WHERE title = ANY(@titles)", new { titles });
        Assert.True(present == titles.Length, $"{where}: {titles.Length - present} acknowledged creates are missing");
        var doubled = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM (SELECT title FROM work_orders WHERE title LIKE 'Crash k9-%' GROUP BY title HAVING count(*) > 1) d");
        Assert.True(doubled == 0, $"{where}: {doubled} Idempotency-Keys made more than one work order");

        var withoutCreated = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM work_orders w WHERE (SELECT count(*) FROM work_order_events e WHERE e.work_order_id = w.id AND e.kind = 'created') <> 1");
        Assert.True(withoutCreated == 0, $"{where}: {withoutCreated} work orders without exactly one created event");
        var statusOffHistory = await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM work_orders w
            WHERE w.status IS DISTINCT FROM (SELECT e.to_status FROM work_order_events e WHERE e.work_order_id = w.id AND e.to_status IS NOT NULL ORDER BY e.id DESC LIMIT 1)
            """);
        Assert.True(statusOffHistory == 0, $"{where}: {statusOffHistory} work orders whose status is not the one their history ends in");

        var transitions = _transitions.ToArray();
        var missingTransitions = await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM unnest(@ids, @kinds) AS a(id, kind)
            WHERE NOT EXISTS (SELECT 1 FROM work_order_events e WHERE e.work_order_id = a.id AND e.kind = a.kind)
            """,
            new { ids = transitions.Select(t => t.WorkOrder).ToArray(), kinds = transitions.Select(t => t.Action).ToArray() });
        Assert.True(missingTransitions == 0, $"{where}: {missingTransitions} acknowledged transitions are missing");

        var partial = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM attachments WHERE content IS NULL OR sha256 <> sha256(content) OR size_bytes <> length(content)");
        Assert.True(partial == 0, $"{where}: {partial} attachment rows without their whole content");
        var uploads = _uploads.ToArray();
        var missingUploads = await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM unnest(@ids, @shas) AS a(id, sha)
            WHERE NOT EXISTS (SELECT 1 FROM attachments t WHERE t.id = a.id AND encode(t.sha256, 'hex') = a.sha)
            """,
            new { ids = uploads.Select(u => u.Id).ToArray(), shas = uploads.Select(u => u.Sha256).ToArray() });
        Assert.True(missingUploads == 0, $"{where}: {missingUploads} acknowledged uploads are missing or changed");
    }

    /// <summary>Every delivery the outbox owed arrived, at least once, always under its one delivery id.</summary>
    private async Task<(int Owed, int Repeats)> AssertWebhooksDeliveredAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var owed = (await connection.QueryAsync<(long Id, long EventId)>("SELECT id, event_id FROM webhook_outbox")).ToDictionary(r => r.Id, r => r.EventId);
        var received = Receiver.Received.ToArray()
            .Select(r => (Delivery: long.Parse(r.Headers["X-WorkOrders-Delivery"], CultureInfo.InvariantCulture),
                Event: JsonDocument.Parse(r.Body).RootElement.GetProperty("eventId").GetInt64()))
            .ToArray();
        Assert.Empty(owed.Keys.Except(received.Select(r => r.Delivery)));
        Assert.All(received, r => Assert.Equal(owed[r.Delivery], r.Event));
        Assert.All(received.GroupBy(r => r.Event), g => Assert.Single(g.Select(r => r.Delivery).Distinct()));
        return (owed.Count, received.Length - received.Select(r => r.Delivery).Distinct().Count());
    }

    /// <summary>Every e-mail row was sent, each under the one Message-Id of its row; repeats come only from kills during a send.</summary>
    private async Task<(int Owed, int Repeats)> AssertEmailsSentAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var owed = (await connection.QueryAsync<long>("SELECT id FROM email_outbox")).Select(id => $"email-outbox-{id}@plant.test").ToHashSet();
        Assert.NotEmpty(owed);
        var received = Smtp.Received.Select(m => m.Message.MessageId).ToArray();
        Assert.Equal(owed.Order(), received.Distinct().Order());
        var repeats = received.Length - owed.Count;
        // The outbox settles a batch in one transaction after sending it, so a kill mid-batch sends that batch's
        // mails again: at most one batch per kill, each repeat under its row's Message-Id (checked above).
        var batch = new WorkOrders.Ticketing.Email.EmailOptions().BatchSize;
        Assert.True(repeats <= Points.Length * batch, $"{repeats} e-mails sent again, more than a batch of {batch} per kill");
        return (owed.Count, repeats);
    }
}
