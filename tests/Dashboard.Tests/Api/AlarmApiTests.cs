using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MQTTnet;
using MQTTnet.Protocol;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.Webhooks;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The real app over a fresh database with its MQTT bridge on a real mosquitto broker.</summary>
public sealed class AlarmHost : ApiHost
{
    private readonly TestBroker _broker = new();

    public TestBroker Broker => _broker;

    public string TopicRoot { get; } = $"test-{Guid.NewGuid():N}/alarms";

    public MqttBridge Bridge => Services.GetRequiredService<MqttBridge>();

    public override async Task InitializeAsync()
    {
        await _broker.InitializeAsync();
        await base.InitializeAsync();
        await Bridge.Subscribed.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    protected override IEnumerable<(string Key, string Value)> Settings(string folder) =>
    [
        ("Alarms:Mqtt:Host", _broker.Host),
        ("Alarms:Mqtt:Port", _broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Alarms:Mqtt:TopicRoot", TopicRoot),
        ("Alarms:Mqtt:ClientId", $"test-{Guid.NewGuid():N}"),
    ];

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _broker.DisposeAsync();
    }

    public async Task<IMqttClient> PublisherAsync()
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(_broker.Host, _broker.Port).WithClientId($"pub-{Guid.NewGuid():N}").Build());
        return client;
    }
}

public sealed class AlarmApiTests(AlarmHost host) : IClassFixture<AlarmHost>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record Source(string Name, string Key, string Secret);

    private async Task<(TestOrg Org, Source Source)> SourceWithRuleAsync()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var created = await admin.PostAsJsonAsync("/api/v1/alarm-sources", new { name = $"Scada {org.Suffix}" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var rule = await admin.PostAsJsonAsync("/api/v1/alarm-rules", new
        {
            assetId = org.MachineId, signal = "vibration", comparison = "above", threshold = 7.1, deadband = 0.5, severity = "critical", faultCode = "bearing", templateId = org.TemplateId,
        });
        Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        return (org, new Source(body.GetProperty("source").GetProperty("name").GetString()!, body.GetProperty("apiKey").GetString()!, body.GetProperty("secret").GetString()!));
    }

    private static HttpRequestMessage Signed(Source source, object batch, string? signature = null, string? key = null)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(batch, Json);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/alarms") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(AlarmSources.KeyHeader, key ?? source.Key);
        request.Headers.Add(AlarmSources.SignatureHeader, signature ?? WebhookSignature.Sign(source.Secret, bytes));
        return request;
    }

    private object Event(TestOrg org, string id, DateTime at, decimal value) =>
        new { eventId = $"{org.Suffix}-{id}", assetCode = $"M-{org.Suffix}", signal = "vibration", value, time = at };

    [Fact]
    public async Task ten_thousand_events_from_eight_producers_over_the_api_and_mqtt_make_one_work_order_with_ten_thousand_occurrences_without_a_5xx_and_a_replay_changes_nothing()
    {
        var (org, source) = await SourceWithRuleAsync();
        var start = host.Clock.GetUtcNow().UtcDateTime.AddHours(-2);
        var events = Enumerable.Range(0, 10_000).Select(i => Event(org, $"e{i}", start.AddMilliseconds(i * 7), 9.5m + (i % 3))).ToArray();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var topic = $"{host.TopicRoot}/{source.Name}/asset/M-{org.Suffix}";

        async Task ProduceAllAsync()
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
            {
                var mine = events.Where((_, i) => i % 8 == p).ToArray();
                if (p % 2 == 0)
                {
                    using var client = host.Anonymous();
                    foreach (var batch in mine.Chunk(200))
                    {
                        using var response = await client.SendAsync(Signed(source, new { events = batch }));
                        statuses.Add(response.StatusCode);
                    }
                }
                else
                {
                    using var publisher = await host.PublisherAsync();
                    foreach (var batch in mine.Chunk(50))
                    {
                        var payload = JsonSerializer.SerializeToUtf8Bytes(batch.Select(e => JsonSerializer.SerializeToElement(e, Json)).Select(e => new
                        {
                            eventId = e.GetProperty("eventId").GetString(), signal = "vibration", value = e.GetProperty("value").GetDecimal(), time = e.GetProperty("time").GetDateTime(),
                        }), Json);
                        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                    }
                }
            })));
        }

        var processedBefore = host.Bridge.Processed;
        await ProduceAllAsync();
        await Eventually.Until(() => host.Bridge.Processed - processedBefore, n => n >= 5_000, "the bridge to take the MQTT half", TimeSpan.FromSeconds(60));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));

        await using var connection = await host.Data.OpenConnectionAsync();
        var stored = await connection.QuerySingleAsync<(long Events, long Api, long Mqtt)>(
            "SELECT count(*), count(*) FILTER (WHERE channel = 'api'), count(*) FILTER (WHERE channel = 'mqtt') FROM alarm_events WHERE asset_id = @id", new { id = org.MachineId });
        Assert.Equal((10_000L, 5_000L, 5_000L), stored);
        var workOrders = (await connection.QueryAsync<(long Id, long Occurrences)>(
            "SELECT work_order_id, occurrences FROM alarm_work_orders WHERE asset_id = @id", new { id = org.MachineId })).ToList();
        Assert.Equal(10_000, Assert.Single(workOrders).Occurrences);
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE asset_id = @id AND source = 'alarm'", new { id = org.MachineId }));

        statuses.Clear();
        var processedReplay = host.Bridge.Processed;
        await ProduceAllAsync();
        await Eventually.Until(() => host.Bridge.Processed - processedReplay, n => n >= 5_000, "the bridge to take the replayed MQTT half", TimeSpan.FromSeconds(60));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(10_000, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_events WHERE asset_id = @id", new { id = org.MachineId }));
        Assert.Equal(workOrders, (await connection.QueryAsync<(long Id, long Occurrences)>(
            "SELECT work_order_id, occurrences FROM alarm_work_orders WHERE asset_id = @id", new { id = org.MachineId })).ToList());
    }

    [Fact]
    public async Task a_batch_with_a_wrong_or_missing_signature_is_refused_with_401_and_a_problem_and_stores_nothing()
    {
        var (org, source) = await SourceWithRuleAsync();
        var batch = new { events = new[] { Event(org, "s1", host.Clock.GetUtcNow().UtcDateTime.AddMinutes(-1), 9) } };
        using var client = host.Anonymous();

        var wrong = await client.SendAsync(Signed(source, batch, signature: WebhookSignature.Sign("not-the-secret", Encoding.UTF8.GetBytes("{}"))));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("application/problem+json", wrong.Content.Headers.ContentType?.MediaType);
        Assert.Equal("alarm.signature_wrong", (await wrong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        using var unsigned = new HttpRequestMessage(HttpMethod.Post, "/api/v1/alarms") { Content = JsonContent.Create(batch) };
        unsigned.Headers.Add(AlarmSources.KeyHeader, source.Key);
        var missing = await client.SendAsync(unsigned);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("alarm.signature_missing", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        var unknownKey = await client.SendAsync(Signed(source, batch, key: "as_000000000000000000000000"));
        Assert.Equal(HttpStatusCode.Unauthorized, unknownKey.StatusCode);

        await using var connection = await host.Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM alarm_events WHERE asset_id = @id", new { id = org.MachineId }));
    }

    [Fact]
    public async Task a_revoked_source_is_refused_and_its_secret_is_never_read_back()
    {
        var (org, source) = await SourceWithRuleAsync();
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var listed = await admin.GetStringAsync("/api/v1/alarm-sources");
        Assert.DoesNotContain(source.Secret, listed, StringComparison.Ordinal);
        var id = JsonDocument.Parse(listed).RootElement.EnumerateArray().Single(s => s.GetProperty("name").GetString() == source.Name).GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.Forbidden, (await (await host.SignedInAsync(org[Role.Technician])).PostAsync($"/api/v1/alarm-sources/{id}/revoke", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/alarm-sources/{id}/revoke", null)).StatusCode);

        using var client = host.Anonymous();
        var refused = await client.SendAsync(Signed(source, new { events = new[] { Event(org, "r1", host.Clock.GetUtcNow().UtcDateTime.AddMinutes(-1), 9) } }));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("alarm.source_revoked", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task bad_input_is_a_problem_naming_the_field_and_a_good_batch_answers_per_event()
    {
        var (org, source) = await SourceWithRuleAsync();
        using var client = host.Anonymous();
        var now = host.Clock.GetUtcNow().UtcDateTime;

        var bad = await client.SendAsync(Signed(source, new { events = new object[] { Event(org, "b1", now.AddMinutes(-1), 9), new { eventId = "b2", assetCode = $"M-{org.Suffix}", signal = "vibration", value = 1, time = now.AddDays(1) } } }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("alarm.time_future", problem.GetProperty("codes").GetProperty("events[1].time")[0].GetString());
        var wrongType = await client.SendAsync(Signed(source, new { events = new[] { new { eventId = "b3", value = "hot" } } }));
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Contains((await wrongType.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject(), p => p.Name.Contains("value", StringComparison.Ordinal));
        var empty = await client.SendAsync(Signed(source, new { events = Array.Empty<object>() }));
        Assert.Equal("alarm.batch_size", (await empty.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").GetProperty("events")[0].GetString());

        var good = await client.SendAsync(Signed(source, new { events = new object[] { Event(org, "g1", now.AddMinutes(-2), 9), Event(org, "g1", now.AddMinutes(-2), 9), new { eventId = "g2", assetCode = "NOPE", signal = "vibration", value = 1, time = now } } }));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var results = (await good.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(["accepted", "duplicate", "refused"], results.Select(r => r.GetProperty("result").GetString()));
        Assert.Equal("raised", results[0].GetProperty("outcome").GetString());
        Assert.Equal("alarm.asset_unknown", results[2].GetProperty("code").GetString());

        using var manager = await host.SignedInAsync(org[Role.Manager]);
        var active = await manager.GetFromJsonAsync<JsonElement>("/api/v1/alarms/active");
        var mine = active.EnumerateArray().Single(a => a.GetProperty("assetId").GetInt64() == org.MachineId);
        var episode = await manager.GetFromJsonAsync<JsonElement>($"/api/v1/alarms/episodes/{mine.GetProperty("episodeId").GetInt64()}/events");
        Assert.Equal(1, episode.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task events_of_unknown_assets_over_the_api_and_mqtt_are_kept_and_listed_for_the_administrator_and_a_replay_changes_nothing()
    {
        var (org, source) = await SourceWithRuleAsync();
        var at = host.Clock.GetUtcNow().UtcDateTime.AddMinutes(-1);
        var batch = new { events = new[] { new { eventId = $"{org.Suffix}-api-u1", assetCode = $"GHOST-{org.Suffix}", signal = "vibration", value = 9.5m, time = at } } };
        using var client = host.Anonymous();
        var answered = await (await client.SendAsync(Signed(source, batch))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("alarm.asset_unknown", answered.GetProperty("events")[0].GetProperty("code").GetString());

        var payload = JsonSerializer.SerializeToUtf8Bytes(
            new[] { 1, 2, 3 }.Select(i => new { eventId = $"{org.Suffix}-mqtt-u{i}", signal = "vibration", value = 9.5m, time = at.AddSeconds(i) }), Json);
        var message = new MqttApplicationMessageBuilder().WithTopic($"{host.TopicRoot}/{source.Name}/device/SN-GHOST-{org.Suffix}").WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        using (var publisher = await host.PublisherAsync())
        {
            var before = host.Bridge.Processed;
            await publisher.PublishAsync(message);
            await Eventually.Until(() => host.Bridge.Processed - before, n => n >= 3, "the bridge to take the unknown device's events", TimeSpan.FromSeconds(30));

            // The same message again (a broker redelivery, a replay): duplicates.
            var again = host.Bridge.Processed;
            await publisher.PublishAsync(message);
            await Eventually.Until(() => host.Bridge.Processed - again, n => n >= 3, "the bridge to take the replay", TimeSpan.FromSeconds(30));
        }

        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/alarm-sources/unknown-assets?take=200");
        var mine = listed.GetProperty("items").EnumerateArray().Where(u => u.GetProperty("sourceName").GetString() == source.Name)
            .Select(u => (u.GetProperty("kind").GetString(), u.GetProperty("code").GetString(), u.GetProperty("events").GetInt64())).ToList();
        Assert.Equal([("device", $"SN-GHOST-{org.Suffix}", 3L), ("code", $"GHOST-{org.Suffix}", 1L)], mine);
        await using var connection = await host.Data.OpenConnectionAsync();
        Assert.Equal(4, await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM alarm_events e JOIN alarm_sources s ON s.id = e.source_id WHERE s.name = @name AND e.asset_id IS NULL", new { name = source.Name }));

        using var manager = await host.SignedInAsync(org[Role.Manager]);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync("/api/v1/alarm-sources/unknown-assets")).StatusCode);
    }
}
