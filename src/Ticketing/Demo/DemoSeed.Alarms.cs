using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Demo;

public sealed partial class DemoSeed
{
    private const string DemoAlarmSource = "demo-scada";

    /// <summary>
    /// An alarm source (its MQTT topic is workorders/alarms/demo-scada/asset/{code}), a site gateway, four rules and a
    /// few hours of alarm history sent through the real ingestion path: a spindle that is overheating now (an open work
    /// order with its occurrences), a compressor whose pressure dipped and recovered (a cleared episode), a pump
    /// vibration spike. Runs once: skipped when the source exists.
    /// </summary>
    private async Task SeedAlarmsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM alarm_sources WHERE name = @DemoAlarmSource)", new { DemoAlarmSource }, cancellationToken: cancellationToken)))
        {
            return;
        }

        var ids = await connection.QuerySingleOrDefaultAsync<(long? Admin, long? Template)>(new CommandDefinition(
            "SELECT (SELECT id FROM users WHERE user_name = 'admin'), (SELECT id FROM templates WHERE name = 'Equipment repair')", cancellationToken: cancellationToken));
        if (ids is not (Admin: { } admin, Template: { } template))
        {
            return;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO assets (code, name, kind, parent_id, asset_type, location, criticality)
            SELECT 'TY-GW', 'Plant gateway 廠區閘道器', 'machine', id, 'gateway', 'TY', 5 FROM assets WHERE code = 'TY-B'
            ON CONFLICT (code) DO NOTHING;
            INSERT INTO alarm_sources (name, api_key, secret, created_by, created_at)
            VALUES (@DemoAlarmSource, 'as_demo_scada_' || md5(random()::text), md5(random()::text) || md5(random()::text), @admin, @now);
            INSERT INTO alarm_rules (asset_id, asset_type, signal, comparison, threshold, deadband, for_seconds, clear_seconds, severity, fault_code, template_id,
                inhibits_site, created_by, created_at)
            VALUES ((SELECT id FROM assets WHERE code = 'TY-A-CNC1-SP'), NULL, 'temperature', 'above', 75, 3, 60, 0, 'major', 'overheating', @template, false, @admin, @now),
                   ((SELECT id FROM assets WHERE code = 'TY-B-CMP'), NULL, 'pressure', 'below', 5.5, 0.3, 120, 60, 'minor', 'leak', @template, false, @admin, @now),
                   (NULL, 'pump', 'vibration', 'above', 7.1, 0.5, 0, 0, 'critical', 'bearing', @template, false, @admin, @now),
                   ((SELECT id FROM assets WHERE code = 'TY-GW'), NULL, 'comm_lost', 'state', NULL, 0, 0, 0, 'critical', 'electrical', @template, true, @admin, @now);
            """,
            new { DemoAlarmSource, admin, template, now },
            cancellationToken: cancellationToken));

        var source = await new AlarmSources(dataSource, clock).FindByNameAsync(DemoAlarmSource, cancellationToken);
        var settings = Options.Create(new AlarmOptions());
        var engine = new AlarmEngine(new CreateWorkOrder(dataSource, clock), new ApplyTransition(dataSource, clock), settings);
        var ingestion = new AlarmIngestion(dataSource, engine, new MeterRegister(dataSource, clock), clock, settings, NullLogger<AlarmIngestion>.Instance);
        var start = now.AddHours(-4);
        var events = new List<AlarmEventInput>();
        for (var minute = 0; minute < 240; minute += 2)
        {
            // The spindle warms through the afternoon and has been above 75 °C for the last hour and a half.
            events.Add(new AlarmEventInput($"demo-sp-{minute}", "TY-A-CNC1-SP", null, "temperature", 62 + (minute * 0.075m) + (minute % 6), null, start.AddMinutes(minute)));

            // The compressor's pressure dipped for half an hour around the second hour, then recovered.
            var pressure = minute is >= 100 and < 130 ? 5.1m : 6.2m + (minute % 4 * 0.05m);
            events.Add(new AlarmEventInput($"demo-cmp-{minute}", "TY-B-CMP", null, "pressure", pressure, null, start.AddMinutes(minute)));
        }

        events.Add(new AlarmEventInput("demo-hp-1", "TY-A-PR1-HP", null, "vibration", 6.2m, null, start.AddMinutes(30)));
        events.Add(new AlarmEventInput("demo-hp-2", "TY-A-PR1-HP", null, "vibration", 9.8m, null, start.AddMinutes(200)));
        events.Add(new AlarmEventInput("demo-hp-3", "TY-A-PR1-HP", null, "vibration", 10.4m, null, start.AddMinutes(204)));
        events.Add(new AlarmEventInput("demo-gw-1", "TY-GW", null, "comm_lost", null, "raised", start.AddMinutes(40)));
        events.Add(new AlarmEventInput("demo-gw-2", "TY-GW", null, "comm_lost", null, "cleared", start.AddMinutes(46)));
        foreach (var batch in events.OrderBy(e => e.Time).Chunk(100))
        {
            await ingestion.IngestAsync(source!, AlarmChannel.Api, batch, cancellationToken);
        }
    }
}
