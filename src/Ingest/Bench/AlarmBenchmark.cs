using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using Spectre.Console;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Webhooks;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// Measures alarm ingestion end to end in a throwaway database: the real app (AddTicketing, its API and its MQTT bridge)
/// hosted on a loopback port, 8 producers sending signed batches over HTTP, then 8 publishers sending the same number
/// of new events through a mosquitto broker, with de-duplication on (the unique (source, event id) and the duplicate
/// check run for every event). Events are spread over many assets; each asset's first event raises a work order through
/// the core and the rest attach to it, and the time from sending that event to the work order's creation gives the p95.
/// A replay of the API events measures the duplicate path. With <c>--beside-creates N</c>, N clients create work orders
/// with auto-assignment and an SLA clock as bench-creates does, in the same database, throughout (as fast as they go,
/// or at <c>--create-rate</c> per second in all): first alone for ten seconds after ten to settle, then beside each
/// alarm phase, so both rates are read under each other's load. Prints a table; asserts nothing.
/// </summary>
internal static class AlarmBenchmark
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string Setup = """
        INSERT INTO departments (name) VALUES ('Alarm crew');
        INSERT INTO users (user_name, display_name, password_hash, role, department_id)
        VALUES ('bench-admin', 'Bench admin', 'x', 'admin', NULL),
               ('bench-tech', 'Bench technician', 'x', 'technician', (SELECT id FROM departments WHERE name = 'Alarm crew'));
        INSERT INTO templates (name, work_type, default_priority, department_id, asset_required)
        VALUES ('Bench alarm', 'corrective', 2, (SELECT id FROM departments WHERE name = 'Alarm crew'), true);
        INSERT INTO assets (code, name, kind) VALUES ('BA', 'Bench site', 'site');
        INSERT INTO assets (code, name, kind, parent_id) VALUES ('BA-L', 'Bench line', 'line', (SELECT id FROM assets WHERE code = 'BA'));
        INSERT INTO assets (code, name, kind, parent_id, asset_type)
        SELECT 'BA-' || i, 'Pump ' || i, 'machine', (SELECT id FROM assets WHERE code = 'BA-L'), 'bench-pump' FROM generate_series(0, @assets * 2 - 1) i;
        INSERT INTO alarm_rules (asset_type, signal, comparison, threshold, deadband, severity, fault_code, template_id, created_by, created_at)
        VALUES ('bench-pump', 'temperature', 'above', 80, 2, 'major', 'overheat', (SELECT id FROM templates WHERE name = 'Bench alarm'),
                (SELECT id FROM users WHERE user_name = 'bench-admin'), now());
        INSERT INTO alarm_sources (name, api_key, secret, created_by, created_at)
        VALUES ('bench', 'as_bench_key_0000000000', 'bench-secret', (SELECT id FROM users WHERE user_name = 'bench-admin'), now());
        """;

    public static Command Verb()
    {
        var events = Cli.Whole("--events", "events per channel (API, then MQTT)", 100_000, 1_000, 10_000_000);
        var assets = Cli.Whole("--assets", "assets per channel the events are spread over (each raises one work order)", 500, 1, 100_000);
        var producers = Cli.Whole("--producers", "parallel producers per channel", 8, 1, 64);
        var batch = Cli.Whole("--batch", "events per HTTP batch", 500, 1, 1000);
        var message = Cli.Whole("--message", "events per MQTT message", 50, 1, 1000);
        var mqtt = new Option<string>("--mqtt") { Description = "the broker, host:port (./run.sh starts one on 127.0.0.1:18830)", DefaultValueFactory = _ => "127.0.0.1:18830" };
        var keep = new Option<bool>("--keep") { Description = "leave the throwaway database for a look afterwards" };
        var besideCreates = Cli.Whole(
            "--beside-creates", "clients creating work orders with auto-assignment (as bench-creates) throughout, alone first; 0: none", 0, 0, 64);
        var createRate = Cli.Whole("--create-rate", "with --beside-creates: creates per second in all, paced; 0: as fast as the clients go", 0, 0, 100_000);
        var command = new Command("bench-alarms", "measure alarm events accepted per second through the API and through MQTT, and p95 from event to work order")
        {
            events, assets, producers, batch, message, mqtt, keep, besideCreates, createRate,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            new Settings(parsed.GetValue(events), parsed.GetValue(assets), parsed.GetValue(producers), parsed.GetValue(batch), parsed.GetValue(message),
                parsed.GetValue(mqtt)!, parsed.GetValue(keep), parsed.GetValue(besideCreates),
                parsed.GetValue(createRate)),
            cancellationToken));
        return command;
    }

    private sealed record Settings(int Events, int Assets, int Producers, int Batch, int Message, string Mqtt, bool Keep, int Creates, int CreateRate)
    {
        public bool SharedAsset => Assets == 1;
    }

    private sealed record Event(string EventId, string AssetCode, string Signal, decimal Value, DateTime Time);

    private static async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken)
    {
        await using var database = await BenchDatabase.CreateAsync("bench_alarms", 100, settings.Keep, cancellationToken);
        await using (var connection = await database.Data.OpenConnectionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(Setup, new { assets = settings.Assets }, commandTimeout: 600, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition("VACUUM ANALYZE", commandTimeout: 600, cancellationToken: cancellationToken));
        }

        var create = settings.Creates > 0 ? await BenchCreate.SetUpAsync(database.Data, 200, 20_000, sla: true, cancellationToken) : null;

        var (mqttHost, mqttPort) = (settings.Mqtt.Split(':')[0], int.Parse(settings.Mqtt.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration["ConnectionStrings:WorkOrders"] = database.Connection.ConnectionString;
        builder.Configuration["Alarms:SiteRateLimit"] = "100000";
        builder.Configuration["Alarms:Mqtt:Host"] = mqttHost;
        builder.Configuration["Alarms:Mqtt:Port"] = mqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Configuration["Alarms:Mqtt:TopicRoot"] = $"bench-{Environment.ProcessId}/alarms";
        builder.Configuration["Alarms:Mqtt:ClientId"] = $"bench-{Environment.ProcessId}";
        builder.Configuration["Pm:Enabled"] = "false";
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddTicketing();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapTicketingApi();
        await app.StartAsync(cancellationToken);
        var url = app.Urls.First();
        var bridge = app.Services.GetRequiredService<MqttBridge>();
        var brokerUp = await Task.WhenAny(bridge.Subscribed.Task, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken)) == bridge.Subscribed.Task;

        var start = DateTime.UtcNow.AddDays(-1);
        Event[] Make(string prefix, int offset) => [.. Enumerable.Range(0, settings.Events).Select(i => new Event(
            $"{prefix}-{i}", $"BA-{offset + (int)((long)i * settings.Assets / settings.Events)}", "temperature", 85 + (i % 10), start.AddMilliseconds(i)))];
        var apiEvents = Make("api", 0);
        var mqttEvents = Make("mqtt", settings.Assets);
        var sentAt = new ConcurrentDictionary<string, DateTime>(StringComparer.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var statuses = new ConcurrentDictionary<int, int>();
        await SendApiAsync(http, apiEvents.Take(Math.Min(2_000, settings.Events / 10)).Select(e => e with { EventId = "warm-" + e.EventId }).ToArray(), settings, sentAt, statuses, cancellationToken);
        var phases = new List<(string Name, long From, long To)>();
        async Task<TimeSpan> Phase(string name, Func<Task> run)
        {
            var from = Stopwatch.GetTimestamp();
            await run();
            var to = Stopwatch.GetTimestamp();
            phases.Add((name, from, to));
            return Stopwatch.GetElapsedTime(from, to);
        }

        // The creates, each with the time it ended, running until the alarms are all sent.
        var created = new ConcurrentQueue<(long Ended, double Milliseconds)>();
        using var stopCreates = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var (creating, folding) = (Task.CompletedTask, Task.CompletedTask);
        if (create is not null)
        {
            folding = BenchCreate.FoldAsync(database.Data, stopCreates.Token);
            await create.WarmUpAsync(settings.Creates, cancellationToken);
            // Paced, each client starts once per its share of the rate, staggered; a create slower than that skips ticks.
            var every = settings.CreateRate > 0 ? TimeSpan.FromSeconds((double)settings.Creates / settings.CreateRate) : (TimeSpan?)null;
            creating = Task.WhenAll(Enumerable.Range(0, settings.Creates).Select(async client =>
            {
                if (every is { } stagger)
                {
                    await Task.Delay(stagger * client / settings.Creates, cancellationToken);
                }

                using var pace = every is { } period ? new PeriodicTimer(period) : null;

                while (!stopCreates.IsCancellationRequested)
                {
                    var took = await create.OneAsync(cancellationToken);
                    created.Enqueue((Stopwatch.GetTimestamp(), took));
                    if (pace is not null && !await pace.WaitForNextTickAsync(cancellationToken))
                    {
                        break;
                    }
                }
            }));

            // Tiered compilation and the plan caches settle before the creates are timed alone.
            await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
            await Phase("alone", () => Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        }

        var api = await Phase("API, first wave", () => SendApiAsync(http, apiEvents, settings, sentAt, statuses, cancellationToken));
        var replay = await Phase("API replay", () => SendApiAsync(http, apiEvents, settings, new ConcurrentDictionary<string, DateTime>(), statuses, cancellationToken));

        // A second wave of new events on the same assets: every one is an occurrence of the open work order (an alarm storm).
        var apiStorm = await Phase("API storm", () => SendApiAsync(http, Make("api2", 0), settings, new ConcurrentDictionary<string, DateTime>(), statuses, cancellationToken));

        TimeSpan? mqtt = null;
        if (brokerUp)
        {
            var before = bridge.Accepted;
            mqtt = await Phase("MQTT, first wave", async () =>
            {
                await PublishAsync(mqttHost, mqttPort, builder.Configuration["Alarms:Mqtt:TopicRoot"]!, mqttEvents, settings, sentAt, cancellationToken);
                while (bridge.Accepted - before < settings.Events && bridge.Accepted + bridge.Dropped - before < settings.Events)
                {
                    await Task.Delay(10, cancellationToken);
                }
            });
        }

        TimeSpan? mqttStorm = null;
        if (brokerUp)
        {
            var before = bridge.Accepted;
            mqttStorm = await Phase("MQTT storm", async () =>
            {
                await PublishAsync(mqttHost, mqttPort, builder.Configuration["Alarms:Mqtt:TopicRoot"]!, Make("mqtt2", settings.Assets), settings, new ConcurrentDictionary<string, DateTime>(), cancellationToken);
                while (bridge.Accepted - before < settings.Events && bridge.Accepted + bridge.Dropped - before < settings.Events)
                {
                    await Task.Delay(10, cancellationToken);
                }
            });
        }

        await stopCreates.CancelAsync();
        await creating;
        await folding;
        await app.StopAsync(cancellationToken);

        await using var read = await database.Data.OpenConnectionAsync(cancellationToken);
        var raised = (await read.QueryAsync<(string EventId, string Channel, DateTime CreatedAt)>(new CommandDefinition(
            """
            SELECT e.event_id, e.channel, w.created_at FROM alarm_events e JOIN work_orders w ON w.id = e.work_order_id
            WHERE e.outcome = 'raised' AND e.event_id NOT LIKE 'warm-%'
            """,
            commandTimeout: 600,
            cancellationToken: cancellationToken))).ToList();
        var counts = await read.QuerySingleAsync<(long Events, long WorkOrders, long Occurrences, long Duplicates)>(new CommandDefinition(
            """
            SELECT (SELECT count(*) FROM alarm_events), (SELECT count(*) FROM work_orders WHERE source = 'alarm'),
                   (SELECT coalesce(sum(occurrences), 0)::bigint FROM alarm_work_orders), (SELECT count(*) - count(DISTINCT number) FROM work_orders)
            """,
            commandTimeout: 600,
            cancellationToken: cancellationToken));

        double[] Latencies(string channel) => [.. raised.Where(r => r.Channel == channel && sentAt.ContainsKey(r.EventId))
            .Select(r => (DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc) - sentAt[r.EventId]).TotalMilliseconds).Order()];
        var apiLatency = Latencies("api");
        var mqttLatency = Latencies("mqtt");

        var table = new Table().AddColumns("measure", "value");
        table.AddRow("events per channel / assets per channel / producers", $"{settings.Events:N0} / {settings.Assets:N0} / {settings.Producers} (HTTP batches of {settings.Batch}, MQTT messages of {settings.Message})");
        table.AddRow("API: new events accepted/s", $"{settings.Events / api.TotalSeconds:N0} ({settings.Events:N0} in {api.TotalSeconds:F1} s)");
        table.AddRow("API: replayed events (all duplicates)/s", $"{settings.Events / replay.TotalSeconds:N0} ({settings.Events:N0} in {replay.TotalSeconds:F1} s)");
        table.AddRow("MQTT: new events accepted/s", mqtt is { } m ? $"{settings.Events / m.TotalSeconds:N0} ({settings.Events:N0} in {m.TotalSeconds:F1} s, from first publish to last accepted)" : $"no broker at {settings.Mqtt}");
        table.AddRow("API: new events on assets with open work orders (storm)/s", $"{settings.Events / apiStorm.TotalSeconds:N0} ({settings.Events:N0} in {apiStorm.TotalSeconds:F1} s)");
        table.AddRow("MQTT: new events on assets with open work orders (storm)/s", mqttStorm is { } ms ? $"{settings.Events / ms.TotalSeconds:N0} ({settings.Events:N0} in {ms.TotalSeconds:F1} s)" : "-");
        table.AddRow("event to work order, API (p50 / p95 / max)", Describe(apiLatency));
        table.AddRow("event to work order, MQTT (p50 / p95 / max)", mqtt is null ? "-" : Describe(mqttLatency));
        table.AddRow("HTTP statuses", string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value:N0}")));
        table.AddRow("stored events / alarm work orders / occurrences / duplicate numbers", $"{counts.Events:N0} / {counts.WorkOrders:N0} / {counts.Occurrences:N0} / {counts.Duplicates:N0}");
        if (create is not null)
        {
            var done = created.ToArray();
            var alone = 0.0;
            foreach (var (name, from, to) in phases)
            {
                var window = done.Where(c => c.Ended >= from && c.Ended < to).Select(c => c.Milliseconds).Order().ToArray();
                var perSecond = window.Length / Stopwatch.GetElapsedTime(from, to).TotalSeconds;
                alone = name == "alone" ? perSecond : alone;
                table.AddRow(
                    $"creates with assignment, {settings.Creates} clients{(settings.CreateRate > 0 ? $" at {settings.CreateRate}/s" : "")}, {name}",
                    window.Length == 0
                        ? "none ended"
                        : $"{perSecond:N0}/s ({perSecond / alone:F2}x alone), create->assigned p95 {AssignmentBenchmark.Percentile(window, 0.95):F1} ms ({window.Length:N0} creates)");
            }
        }

        table.AddRow("load average (1, 5, 15 min) at the end", CreateBenchmark.LoadAverage());
        AnsiConsole.Write(table);
        return 0;
    }

    private static async Task SendApiAsync(
        HttpClient http, Event[] events, Settings settings, ConcurrentDictionary<string, DateTime> sentAt, ConcurrentDictionary<int, int> statuses, CancellationToken cancellationToken)
    {
        await Task.WhenAll(Enumerable.Range(0, settings.Producers).Select(p => Task.Run(async () =>
        {
            foreach (var batch in events.Where(e => Producer(e, settings) == p).Chunk(settings.Batch))
            {
                var body = JsonSerializer.SerializeToUtf8Bytes(new { events = batch }, Json);
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/alarms") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Add(AlarmSources.KeyHeader, "as_bench_key_0000000000");
                request.Headers.Add(AlarmSources.SignatureHeader, WebhookSignature.Sign("bench-secret", body));
                var now = DateTime.UtcNow;
                foreach (var e in batch)
                {
                    sentAt.TryAdd(e.EventId, now);
                }

                using var response = await http.SendAsync(request, cancellationToken);
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            }
        }, cancellationToken)));
    }

    private static async Task PublishAsync(
        string host, int port, string root, Event[] events, Settings settings, ConcurrentDictionary<string, DateTime> sentAt, CancellationToken cancellationToken)
    {
        await Task.WhenAll(Enumerable.Range(0, settings.Producers).Select(p => Task.Run(async () =>
        {
            using var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId($"bench-pub-{Environment.ProcessId}-{p}").Build(), cancellationToken);
            foreach (var message in events.Where(e => Producer(e, settings) == p).Chunk(settings.Message))
            {
                // One asset per topic: a message holds the events of one asset.
                foreach (var perAsset in message.GroupBy(e => e.AssetCode))
                {
                    var payload = JsonSerializer.SerializeToUtf8Bytes(perAsset.Select(e => new { e.EventId, e.Signal, e.Value, e.Time }), Json);
                    var now = DateTime.UtcNow;
                    foreach (var e in perAsset)
                    {
                        sentAt.TryAdd(e.EventId, now);
                    }

                    await client.PublishAsync(
                        new MqttApplicationMessageBuilder().WithTopic($"{root}/bench/asset/{perAsset.Key}").WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
                        cancellationToken);
                }
            }

            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), cancellationToken);
        }, cancellationToken)));
    }

    /// <summary>
    /// Which producer sends an event: each producer (a gateway, a site's collector) owns its assets, as in a plant; the
    /// one-asset case is the shared-asset row and the 10,000-event test.
    /// </summary>
    private static int Producer(Event e, Settings settings) =>
        settings.SharedAsset ? int.Parse(e.EventId.AsSpan(e.EventId.LastIndexOf('-') + 1), System.Globalization.CultureInfo.InvariantCulture) % settings.Producers
            : int.Parse(e.AssetCode.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture) % settings.Producers;

    private static string Describe(double[] sorted) => sorted.Length == 0
        ? "-"
        : $"{Percentile(sorted, 0.5):N0} ms / {Percentile(sorted, 0.95):N0} ms / {sorted[^1]:N0} ms ({sorted.Length:N0} work orders)";

    private static double Percentile(double[] sorted, double share) =>
        sorted[Math.Clamp((int)Math.Ceiling(share * sorted.Length) - 1, 0, sorted.Length - 1)];
}
