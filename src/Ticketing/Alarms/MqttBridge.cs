using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>Settings of the MQTT bridge, bound from "Alarms:Mqtt". Without <see cref="Host"/> the bridge stays off.</summary>
public sealed class MqttBridgeOptions
{
    public const string Section = "Alarms:Mqtt";

    /// <summary>The broker's host name; empty: no broker is configured and the bridge does nothing.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 1883;

    /// <summary>
    /// The topic tree: events arrive on <c>{root}/{source name}/asset/{asset code}</c> or
    /// <c>{root}/{source name}/device/{device id}</c>, each payload one event or an array of events as JSON.
    /// </summary>
    [Required]
    public string TopicRoot { get; set; } = "workorders/alarms";

    /// <summary>
    /// The client id; a persistent session under it keeps unacknowledged messages across a restart. A broker keeps one
    /// connection per id and drops the older one, so the default (<see cref="NewClientId"/>) is new for each app
    /// instance: two instances never take the session from each other. Set a fixed id per instance (never shared) to
    /// have a restarted instance take back the messages its session held.
    /// </summary>
    public string ClientId { get; set; } = NewClientId();

    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 1000;

    /// <summary>How long the bridge waits to fill a batch once the first message of it has arrived.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan BatchDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Batches ingested at once. A message goes to the worker its topic (source and asset) hashes to, so the events of
    /// one asset keep their order; different assets are judged in parallel.
    /// </summary>
    [Range(1, 64)]
    public int Workers { get; set; } = 4;

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => !string.IsNullOrWhiteSpace(Host);

    /// <summary>
    /// "workorders-alarms-{machine}-{process id}-{random}": the machine and process say in the broker's log which instance
    /// a session is, and the random part keeps two hosts of one process (tests, a bench) apart as well.
    /// </summary>
    public static string NewClientId() =>
        $"workorders-alarms-{Environment.MachineName}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
}

/// <summary>
/// Subscribes to the alarm topic tree and feeds the messages into <see cref="AlarmIngestion"/>, the same path as the
/// API. Messages are taken at QoS 1 and acknowledged only after the batch holding them is committed, so a crash
/// redelivers them and the (source, event id) key makes the redelivery change nothing. The broker is the trust
/// boundary here (its access control decides who may publish under a source's name); the topic names a source by its
/// name, and a revoked or unknown source's messages are dropped.
/// </summary>
public sealed partial class MqttBridge(
    AlarmIngestion ingestion, AlarmSources sources, TimeProvider clock, IOptions<MqttBridgeOptions> options, IOptions<AlarmOptions> alarmOptions, ILogger<MqttBridge> logger)
    : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Channel<Received> _inbox = Channel.CreateBounded<Received>(new BoundedChannelOptions(100_000) { SingleReader = true });

    private long _accepted;
    private long _dropped;
    private long _processed;

    /// <summary>Events accepted (new) so far, for the bench and the log.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Messages or events dropped as malformed, of an unknown source, or refused.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events taken through the ingestion so far, whatever became of them (accepted, duplicate, refused).</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Set once subscribed; tests and the bench wait for it before publishing.</summary>
    public TaskCompletionSource Subscribed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            LogOff();
            return;
        }

        // An id set empty in the configuration means the default, not an id the broker would refuse for a persistent session.
        var clientId = string.IsNullOrWhiteSpace(settings.ClientId) ? MqttBridgeOptions.NewClientId() : settings.ClientId.Trim();

        var consumer = ConsumeAsync(stoppingToken);
        var factory = new MqttClientFactory();
        using var client = factory.CreateMqttClient();
        client.ApplicationMessageReceivedAsync += OnMessageAsync;
        var clientOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(settings.Host, settings.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(3600)
            .WithReceiveMaximum(ushort.MaxValue)
            .Build();
        var subscribe = factory.CreateSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(settings.TopicRoot.TrimEnd('/') + "/#").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .Build();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!client.IsConnected)
                {
                    try
                    {
                        await client.ConnectAsync(clientOptions, stoppingToken);
                        await client.SubscribeAsync(subscribe, stoppingToken);
                        LogConnected(settings.Host!, settings.Port, settings.TopicRoot, clientId);
                        Subscribed.TrySetResult();
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogConnectFailed(settings.Host!, settings.Port, e.Message);
                    }
                }

                // Real time, not the domain clock: this paces the connection, it decides nothing about alarms.
                await Task.Delay(settings.ReconnectDelay, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _inbox.Writer.TryComplete();
            if (client.IsConnected)
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None);
            }
        }

        await consumer;
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        e.AutoAcknowledge = false;
        var (source, events) = Parse(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload);
        if (source is null || events.Count == 0)
        {
            Interlocked.Increment(ref _dropped);
            await e.AcknowledgeAsync(CancellationToken.None);
            return;
        }

        await _inbox.Writer.WriteAsync(new Received(source, e.ApplicationMessage.Topic, events, e));
    }

    /// <summary>
    /// The source name and the well-formed events of one message; a malformed event is dropped (logged), as no retry
    /// would ever make it acceptable.
    /// </summary>
    private (string? Source, List<AlarmEventInput> Events) Parse(string topic, System.Buffers.ReadOnlySequence<byte> payload)
    {
        var root = options.Value.TopicRoot.TrimEnd('/') + "/";
        var parts = topic.StartsWith(root, StringComparison.Ordinal) ? topic[root.Length..].Split('/') : [];
        if (parts.Length != 3 || parts[0].Length == 0 || parts[2].Length == 0 || parts[1] is not ("asset" or "device"))
        {
            LogBadTopic(topic);
            return (null, []);
        }

        List<AlarmEventInput?> raw;
        try
        {
            var reader = new Utf8JsonReader(payload);
            var document = JsonElement.ParseValue(ref reader);
            raw = document.ValueKind == JsonValueKind.Array
                ? document.Deserialize<List<AlarmEventInput?>>(Json) ?? []
                : [document.Deserialize<AlarmEventInput>(Json)];
        }
        catch (JsonException e)
        {
            LogBadPayload(topic, e.Message);
            return (null, []);
        }

        var latest = clock.GetUtcNow().UtcDateTime + alarmOptions.Value.MaxClockSkew;
        var events = new List<AlarmEventInput>(raw.Count);
        foreach (var item in raw)
        {
            var e = item is null ? null : parts[1] == "asset" ? item with { AssetCode = parts[2], DeviceId = null } : item with { DeviceId = parts[2], AssetCode = null };
            var errors = new FieldErrors();
            AlarmIngestion.ValidateOne(e, latest, errors, "");
            if (errors.Any)
            {
                Interlocked.Increment(ref _dropped);
                LogBadEvent(topic, errors.ToFailure().Message);
                continue;
            }

            events.Add(e!);
        }

        return (parts[0], events);
    }

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var batch = new List<Received>();
        var known = new System.Collections.Concurrent.ConcurrentDictionary<string, AlarmSourceKey?>(StringComparer.Ordinal);
        try
        {
            while (await _inbox.Reader.WaitToReadAsync(stoppingToken))
            {
                var count = 0;
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                while (count < settings.BatchSize)
                {
                    if (_inbox.Reader.TryRead(out var message))
                    {
                        batch.Add(message);
                        count += message.Events.Count;
                        continue;
                    }

                    var left = settings.BatchDelay - System.Diagnostics.Stopwatch.GetElapsedTime(started);
                    if (left <= TimeSpan.Zero)
                    {
                        break;
                    }

                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(left);
                    try
                    {
                        if (!await _inbox.Reader.WaitToReadAsync(wait.Token))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                        break;
                    }
                }

                var workers = settings.Workers;
                await Task.WhenAll(batch
                    .GroupBy(m => (int)((uint)StringComparer.Ordinal.GetHashCode(m.Topic) % (uint)workers))
                    .Select(part => IngestAsync([.. part], known, stoppingToken)));
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task IngestAsync(List<Received> batch, System.Collections.Concurrent.ConcurrentDictionary<string, AlarmSourceKey?> known, CancellationToken stoppingToken)
    {
        foreach (var group in batch.GroupBy(m => m.Source, StringComparer.Ordinal))
        {
            if (!known.TryGetValue(group.Key, out var source) || source is null)
            {
                source = await sources.FindByNameAsync(group.Key, stoppingToken);
                known[group.Key] = source;
            }

            if (source is null || source.Revoked)
            {
                known.TryRemove(group.Key, out _);
                Interlocked.Add(ref _dropped, group.Sum(m => m.Events.Count));
                LogUnknownSource(group.Key);
            }
            else
            {
                // Failures other than shutdown leave the messages unacknowledged: the broker redelivers them.
                try
                {
                    foreach (var chunk in group.SelectMany(m => m.Events).Chunk(alarmOptions.Value.MaxBatch))
                    {
                        var result = await ingestion.IngestAsync(source, AlarmChannel.Mqtt, chunk, stoppingToken);
                        Interlocked.Add(ref _accepted, result.Accepted);
                        Interlocked.Add(ref _processed, result.Events.Count);
                        Interlocked.Add(ref _dropped, result.Refused);
                        foreach (var refused in result.Events.Where(r => r.Result == "refused"))
                        {
                            LogRefused(group.Key, refused.EventId, refused.Code);
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogIngestFailed(e, group.Key);
                    continue;
                }
            }

            foreach (var message in group)
            {
                await message.Delivery.AcknowledgeAsync(stoppingToken);
            }
        }
    }

    private sealed record Received(string Source, string Topic, List<AlarmEventInput> Events, MqttApplicationMessageReceivedEventArgs Delivery);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT alarm bridge is off: no broker is configured (Alarms:Mqtt:Host)")]
    private partial void LogOff();

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT alarm bridge connected to {Host}:{Port} as client {ClientId}, subscribed to {Root}/#")]
    private partial void LogConnected(string host, int port, string root, string clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT alarm bridge cannot reach {Host}:{Port}: {Reason}; it tries again")]
    private partial void LogConnectFailed(string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT alarm message on {Topic} dropped: the topic is not {{root}}/{{source}}/asset|device/{{id}}")]
    private partial void LogBadTopic(string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT alarm message on {Topic} dropped: {Reason}")]
    private partial void LogBadPayload(string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT alarm event on {Topic} dropped: {Reason}")]
    private partial void LogBadEvent(string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT alarm messages of source {Source} dropped: no such source, or it was revoked")]
    private partial void LogUnknownSource(string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT alarm event {EventId} of source {Source} refused: {Code}")]
    private partial void LogRefused(string source, string? eventId, string? code);

    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT alarm batch of source {Source} failed; the broker redelivers it")]
    private partial void LogIngestFailed(Exception exception, string source);
}
