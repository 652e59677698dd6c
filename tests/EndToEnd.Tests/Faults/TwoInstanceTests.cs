using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using MQTTnet;
using MQTTnet.Protocol;
using WorkOrders.Ingest.Tests.Warehouse;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Tests.Delivery;
using Xunit.Abstractions;

namespace WorkOrders.EndToEnd.Tests.Faults;

/// <summary>
/// Two app processes on one database, every background job on in both with short intervals, under a workload that
/// gives each job something to do: work orders with SLA targets past due, webhooks and e-mails owed, PM plans and an
/// inspection route due, alarms arriving through MQTT at both, and an ingest in each (each its own warehouse file).
/// Every effect happens once.
/// </summary>
public sealed class TwoInstanceTests(TestDatabase database, ITestOutputHelper output) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private const string Secret = "two-instance-webhook-secret";
    private const int WorkOrdersPerInstance = 15;
    private const int Machines = 5;
    private const int AlarmEventsPerMachine = 40;

    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-two-").FullName;
    private readonly TestBroker _broker = new();
    private readonly string _topicRoot = $"two-{Guid.NewGuid():N}/alarms";
    private FaultRig _rig = null!;
    private DashboardProcess[] _apps = [];

    private TestReceiver Receiver => _rig.Receiver;

    private TestOrg Org => _rig.Org;

    public async Task InitializeAsync()
    {
        await _broker.InitializeAsync();
        // History for the ingest to copy.
        _rig = await FaultRig.StartAsync(database.DataSource, 2_000, "two", Secret);
        _apps = [Instance("a"), Instance("b")];
    }

    private DashboardProcess Instance(string name)
    {
        var settings = _rig.Settings(database.ConnectionString);
        // Each instance owns its warehouse file: DuckDB lets one process write a file.
        settings["Warehouse:Path"] = Path.Combine(_folder, $"warehouse-{name}.duckdb");
        settings["Ingest:Interval"] = "00:00:05";
        settings["ForecastJob:Interval"] = "7.00:00:00";
        settings["Sla:Interval"] = "00:00:05";
        settings["Pm:Interval"] = "00:00:05";
        settings["Inspections:Interval"] = "00:00:05";
        settings["Alarms:Interval"] = "00:00:05";
        settings["Alarms:Mqtt:Host"] = _broker.Host;
        settings["Alarms:Mqtt:Port"] = _broker.Port.ToString(CultureInfo.InvariantCulture);
        settings["Alarms:Mqtt:TopicRoot"] = _topicRoot;
        // No client id: the default is each instance's own, so neither takes the other's session off the broker.
        return new DashboardProcess(name, settings, _folder);
    }

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await _rig.DisposeAsync();
        await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task two_instances_running_every_job_at_once_make_each_effect_once()
    {
        var total = Stopwatch.StartNew();
        await Task.WhenAll(_apps.Select(a => a.StartAsync()));
        var (a, b) = (_apps[0], _apps[1]);
        using var adminA = await SignInAsync(a, Role.Admin);
        using var adminB = await SignInAsync(b, Role.Admin);
        using var managerA = await SignInAsync(a, Role.Manager);
        using var managerB = await SignInAsync(b, Role.Manager);
        using var planner = await SignInAsync(b, Role.Planner);

        // An SLA target on every work order the test raises; alarm rules on five machines; PM plans and a route due.
        await PostAsync(adminA, "/api/v1/sla-policies", new { name = $"P3 {Org.Suffix}", priority = 3, templateId = Org.TemplateId, responseMinutes = 60, resolutionMinutes = 480 });
        var machines = await MachinesAsync();
        var source = await PostAsync(adminA, "/api/v1/alarm-sources", new { name = $"Scada {Org.Suffix}" });
        var sourceName = source.GetProperty("source").GetProperty("name").GetString()!;
        foreach (var (id, _) in machines)
        {
            await PostAsync(adminB, "/api/v1/alarm-rules", new
            {
                assetId = id, signal = "vibration", comparison = "above", threshold = 7.1, deadband = 0.5, severity = "critical", faultCode = "bearing", templateId = Org.TemplateId,
            });
        }

        var (preventive, inspection) = await TemplatesAsync();
        var tomorrow = DateTime.UtcNow.Date.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        for (var i = 0; i < 4; i++)
        {
            await PostAsync(planner, "/api/v1/pm/plans", new
            {
                name = $"Daily check {i} {Org.Suffix}",
                templateId = preventive,
                assetId = Org.MachineId,
                estimatedHours = 1,
                leadDays = 3,
                overlap = "allow",
                catchUp = "mark_missed",
                triggers = new object[] { new { kind = "calendar", every = 1, unit = "day", anchor = tomorrow, atTime = $"{8 + i:00}:00:00", schedule = "fixed" } },
            });
        }

        var today = DateTime.UtcNow.Date.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await PostAsync(planner, "/api/v1/inspections/routes", new
        {
            name = $"Walk {Org.Suffix}",
            templateId = inspection,
            stops = new object[] { new { assetId = Org.MachineId, items = new object[] { new { label = "Noise", kind = "pass_fail", findingTemplateId = Org.TemplateId } } } },
            schedules = new object[] { new { every = 1, unit = "day", anchor = today, times = Enumerable.Range(0, 24).Select(h => $"{h:00}:00:00").ToArray(), windowMinutes = 30 } },
        });

        // Work orders raised and assigned on both instances: webhooks and e-mails owed, SLA clocks started.
        var raised = await Task.WhenAll(Enumerable.Range(0, 2 * WorkOrdersPerInstance).Select(async i =>
        {
            var (creator, assigner) = i % 2 == 0 ? (managerA, managerB) : (managerB, managerA);
            var created = await PostAsync(creator, "/api/v1/work-orders", new
            {
                templateId = Org.TemplateId, title = $"Two {i}", description = "Raised on two instances.", priority = 3, assetId = Org.MachineId,
                customFields = new { fault_code = "leak" },
            });
            var id = created.GetProperty("id").GetInt64();
            await PostAsync(assigner, $"/api/v1/work-orders/{id}/transitions", new { action = "assign", assigneeId = Org[Role.Technician].UserId, rowVersion = 1 });
            return id;
        }));
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            // Their targets fall due now: both monitors see every breach at once.
            var due = await connection.ExecuteAsync(
                """
                UPDATE sla_clocks SET response_warn_at = now() - interval '2 minutes', response_due_at = now() - interval '1 minute',
                    resolution_warn_at = now() - interval '2 minutes', resolution_due_at = now() - interval '1 minute', next_alert_at = now() - interval '1 minute'
                WHERE work_order_id = ANY(@raised)
                """,
                new { raised });
            Assert.Equal(raised.Length, due);
        }

        // Alarms through the broker, which hands every message to both instances' bridges.
        await PublishAlarmsAsync(sourceName, machines);

        // Every generator asked to run on both instances at once, on top of their schedules.
        await Task.WhenAll(new[] { adminA, adminB }.SelectMany(admin => new[] { "/api/v1/pm/generator/run", "/api/v1/inspections/generator/run", "/api/v1/ingest/runs?wait=true" }
            .Select(async path =>
            {
                using var response = await admin.PostAsync(path, null);
                Assert.True(response.IsSuccessStatusCode, $"{path} answered {response.StatusCode}");
            })));

        await using var data = await database.DataSource.OpenConnectionAsync();
        await Eventually.Until(
            () => data.QuerySingleAsync<(long Breached, long AlarmOrders, long Pm, long Rounds, long Webhooks, long Emails)>(
                """
                SELECT (SELECT count(DISTINCT work_order_id) FROM work_order_events WHERE kind = 'sla_breach' AND work_order_id = ANY(@raised)),
                       (SELECT count(*) FROM work_orders WHERE source = 'alarm'),
                       (SELECT count(*) FROM pm_occurrences WHERE status = 'generated'),
                       (SELECT count(*) FROM inspection_rounds),
                       (SELECT count(*) FROM webhook_outbox WHERE status <> 'delivered'),
                       (SELECT count(*) FROM email_outbox WHERE status <> 'sent')
                """,
                new { raised }),
            s => s.Breached == raised.Length && s.AlarmOrders == Machines && s.Pm >= 4 && s.Rounds > 0 && s.Webhooks == 0 && s.Emails == 0,
            "every job to have done its work",
            TimeSpan.FromSeconds(120),
            TimeSpan.FromMilliseconds(500));
        // Two more rounds of every job on both instances: a duplicate would come now.
        await Task.Delay(TimeSpan.FromSeconds(12));
        await FaultRig.OutboxesDrainedAsync(data, TimeSpan.FromSeconds(30));

        var figures = new List<string>();
        async Task Once(string effect, string countSql, string duplicatesSql, object? args = null)
        {
            var count = await data.ExecuteScalarAsync<long>(countSql, args);
            var duplicates = await data.ExecuteScalarAsync<long>(duplicatesSql, args);
            figures.Add($"{effect}: {count}, {duplicates} more than once");
            Assert.True(count > 0, $"no {effect}");
            Assert.True(duplicates == 0, $"{duplicates} {effect} happened more than once");
        }

        await Once(
            "SLA breach events (work order x target)",
            "SELECT count(*) FROM work_order_events WHERE kind = 'sla_breach' AND work_order_id = ANY(@raised)",
            "SELECT count(*) FROM (SELECT 1 FROM work_order_events WHERE kind = 'sla_breach' AND work_order_id = ANY(@raised) GROUP BY work_order_id, payload->>'target' HAVING count(*) > 1) d",
            new { raised });
        await Once(
            "SLA notifications (work order x kind x user)",
            "SELECT count(*) FROM notifications WHERE kind LIKE 'sla%' AND work_order_id = ANY(@raised)",
            "SELECT count(*) FROM (SELECT 1 FROM notifications WHERE kind LIKE 'sla%' AND work_order_id = ANY(@raised) GROUP BY work_order_id, kind, user_id, text HAVING count(*) > 1) d",
            new { raised });
        await Once(
            "alarm work orders (one per machine)",
            "SELECT count(*) FROM work_orders WHERE source = 'alarm'",
            "SELECT count(*) FROM (SELECT 1 FROM work_orders WHERE source = 'alarm' GROUP BY asset_id HAVING count(*) > 1) d");
        await Once(
            "alarm events stored (one per event id)",
            "SELECT count(*) FROM alarm_events",
            $"SELECT {Machines * AlarmEventsPerMachine} - count(*) FROM alarm_events");
        await Once(
            "PM occurrences generated",
            "SELECT count(*) FROM pm_occurrences WHERE status = 'generated'",
            """
            SELECT (SELECT count(*) FROM (SELECT 1 FROM pm_occurrences GROUP BY plan_id, asset_id, due_at HAVING count(*) > 1) d)
                 + (SELECT count(*) FROM pm_occurrences WHERE status = 'generated') - (SELECT count(*) FROM work_orders WHERE source = 'pm')
            """);
        await Once(
            "inspection rounds (route x slot)",
            "SELECT count(*) FROM inspection_rounds",
            "SELECT count(*) FROM (SELECT 1 FROM inspection_rounds GROUP BY route_id, slot_key HAVING count(*) > 1) d");
        // No assignment rule names an inspector here, so rounds notify nobody; a notification would be once.
        var roundNotices = await data.QuerySingleAsync<(long Count, long Repeated)>(
            """
            SELECT (SELECT count(*) FROM notifications WHERE round_id IS NOT NULL),
                   (SELECT count(*) FROM (SELECT 1 FROM notifications WHERE round_id IS NOT NULL GROUP BY round_id, user_id, kind, round_assignment HAVING count(*) > 1) d)
            """);
        figures.Add($"round notifications: {roundNotices.Count}, {roundNotices.Repeated} more than once");
        Assert.Equal(0, roundNotices.Repeated);

        // Deliveries and e-mails as their receivers saw them.
        var deliveries = Receiver.Received.Select(r => r.Headers["X-WorkOrders-Delivery"]).ToList();
        var owedDeliveries = await data.ExecuteScalarAsync<long>("SELECT count(*) FROM webhook_outbox");
        figures.Add($"webhook deliveries: {owedDeliveries} owed, {deliveries.Count} received, {deliveries.Count - deliveries.Distinct().Count()} received more than once");
        Assert.Equal(owedDeliveries, deliveries.Distinct().Count());
        Assert.Equal(deliveries.Count, deliveries.Distinct().Count());
        var mails = _rig.Smtp.Received.Select(m => m.Message.MessageId).ToList();
        var owedMails = await data.ExecuteScalarAsync<long>("SELECT count(*) FROM email_outbox");
        figures.Add($"e-mails: {owedMails} owed, {mails.Count} received, {mails.Count - mails.Distinct().Count()} received more than once");
        Assert.True(owedMails > 0, "no e-mail was owed");
        Assert.Equal(owedMails, mails.Distinct().Count());
        Assert.Equal(mails.Count, mails.Distinct().Count());

        // Each instance's warehouse, after a last run of its own, holds what PostgreSQL holds.
        await Task.WhenAll(new[] { adminA, adminB }.Select(async admin =>
        {
            using var run = await admin.PostAsync("/api/v1/ingest/runs?wait=true", null);
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        }));
        foreach (var app in _apps)
        {
            app.Kill();
        }

        WarehouseFixture.AssertSame(database.DataSource, Path.Combine(_folder, "warehouse-a.duckdb"));
        WarehouseFixture.AssertSame(database.DataSource, Path.Combine(_folder, "warehouse-b.duckdb"));
        figures.Add("warehouses: both equal to PostgreSQL");
        foreach (var line in figures)
        {
            output.WriteLine(line);
        }

        output.WriteLine($"starts: {string.Join(", ", _apps.Select(p => $"{p.Name} {p.Starts[0].TotalSeconds:0.0} s"))}; total {total.Elapsed.TotalSeconds:0} s");
    }

    private Task<HttpClient> SignInAsync(DashboardProcess app, Role role) => FaultRig.SignInAsync(app, Org[role].UserName, TimeSpan.FromSeconds(60));

    private static async Task<JsonElement> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The org's machine and four more beside it, with their codes.</summary>
    private async Task<List<(long Id, string Code)>> MachinesAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        for (var i = 2; i <= Machines; i++)
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO assets (code, name, kind, parent_id, asset_type)
                SELECT @code, 'Pump ' || @i, 'machine', parent_id, 'pump' FROM assets WHERE id = @MachineId
                """,
                new { code = $"M{i}-{Org.Suffix}", i, Org.MachineId });
        }

        return (await connection.QueryAsync<(long, string)>(
            "SELECT id, code FROM assets WHERE kind = 'machine' AND code LIKE '%' || @Suffix ORDER BY id", new { Org.Suffix })).ToList();
    }

    private async Task<(long Preventive, long Inspection)> TemplatesAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var preventive = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields) VALUES (@name, 'preventive', 3, @DepartmentId, true, '[]') RETURNING id",
            new { name = $"Greasing {Org.Suffix}", Org.DepartmentId });
        var inspection = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'inspection', 3, @DepartmentId) RETURNING id",
            new { name = $"Rounds {Org.Suffix}", Org.DepartmentId });
        return (preventive, inspection);
    }

    private async Task PublishAlarmsAsync(string sourceName, List<(long Id, string Code)> machines)
    {
        using var publisher = new MqttClientFactory().CreateMqttClient();
        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(_broker.Host, _broker.Port).WithClientId($"pub-{Guid.NewGuid():N}").Build());
        var start = DateTime.UtcNow.AddMinutes(-5);
        foreach (var (_, code) in machines)
        {
            for (var i = 0; i < AlarmEventsPerMachine; i++)
            {
                var payload = JsonSerializer.Serialize(new { eventId = $"{code}-{i}", signal = "vibration", value = 9.0 + i % 3, time = start.AddSeconds(i) });
                await publisher.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"{_topicRoot}/{sourceName}/asset/{code}")
                    .WithPayload(Encoding.UTF8.GetBytes(payload))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build());
            }
        }

        await publisher.DisconnectAsync();
    }
}
