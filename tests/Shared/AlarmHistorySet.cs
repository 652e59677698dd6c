using Dapper;
using Npgsql;

namespace WorkOrders.Tests;

/// <summary>
/// Alarm sources, rules, episodes and events written with plain SQL for the warehouse and analytics tests, worked out
/// by hand. Rules (template: the org's repair template, so the org's department): "overheat" (temperature above 80,
/// major) for every asset of type pump, "bearing" (vibration above 5, minor) on the org's machine M. A second pump M2
/// sits beside M. Episodes, in March 2026 unless said:
/// <list type="bullet">
/// <item>M overheat: 02 08:00-10:00 raised work order A; 02 10:20-10:50 and 02 11:00-11:30 attached to A (each
/// re-raised within an hour of the previous clear: two chatters); 09 09:00, still active, suppressed.</item>
/// <item>M bearing: 05 12:00-18:00 rate limited.</item>
/// <item>M2 overheat: 10 07:00-08:00 raised work order B; and 20 February 08:00-09:00 refused, before the period.</item>
/// </list>
/// So March has 6 episodes: 2 raised a work order, 2 attached, 2 suppressed or rate limited; M overheat has 4 episodes
/// cleared after 2, 0.5 and 0.5 hours (mean 1 h, one still active) and 2 chatters, M bearing 1 (6 h), M2 overheat 1 (1 h).
/// Events (day, asset, fault, outcome: count): 03-02 M overheat raised 1, active 1, attached 2, cleared 3; 03-02 M no
/// rule (fault null) no_rule 1; 03-05 M bearing rate_limited 1, cleared 1; 03-09 M overheat suppressed 1; 03-10 M2
/// overheat raised 1, cleared 1; 02-20 M2 overheat refused_by_core 1.
/// </summary>
public static class AlarmHistorySet
{
    public sealed record Seeded(long SourceId, long MachineId, long Machine2Id, long WorkOrderA, long WorkOrderB, long SuppressedEpisode, long OverheatRule);

    public static async Task<Seeded> SeedAsync(NpgsqlDataSource dataSource, TestOrg org)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var admin = org[Ticketing.Access.Role.Admin].UserId;
        var line = await connection.ExecuteScalarAsync<long>("SELECT parent_id FROM assets WHERE id = @MachineId", new { org.MachineId });
        var machine2 = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind, parent_id, asset_type) VALUES (@c, 'Pump 2', 'machine', @line, 'pump') RETURNING id", new { c = $"M2-{org.Suffix}", line });
        var source = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO alarm_sources (name, api_key, secret, created_by, created_at) VALUES (@name, @key, 'secret', @admin, '2026-01-01Z') RETURNING id
            """,
            new { name = $"SCADA {org.Suffix}", key = $"key-{org.Suffix}-0123456789abcdef", admin });
        var overheat = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO alarm_rules (asset_type, signal, comparison, threshold, severity, fault_code, template_id, created_at)
            VALUES ('pump', 'temperature', 'above', 80, 'major', 'overheat', @TemplateId, '2026-01-01Z') RETURNING id
            """,
            new { org.TemplateId });
        var bearing = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO alarm_rules (asset_id, signal, comparison, threshold, severity, fault_code, template_id, created_at)
            VALUES (@MachineId, 'vibration', 'above', 5, 'minor', 'bearing', @TemplateId, '2026-01-01Z') RETURNING id
            """,
            new { org.MachineId, org.TemplateId });

        async Task<long> WorkOrder(string number, long asset, string at) => await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, asset_id, department_id,
                created_at, custom_fields, source, row_version, updated_at)
            VALUES (@number, @TemplateId, 'corrective', 'Alarm: temperature high', 'raised by an alarm', 2, 'new', @admin, @asset, @DepartmentId,
                @at::timestamptz, '{"fault_code": "other"}', 'alarm', 1, @at::timestamptz)
            RETURNING id
            """,
            new { number = $"WO-A-{org.Suffix}-{number}", org.TemplateId, admin, asset, org.DepartmentId, at });
        var a = await WorkOrder("A", org.MachineId, "2026-03-02 08:00Z");
        var b = await WorkOrder("B", machine2, "2026-03-10 07:00Z");

        async Task<long> Episode(long asset, long rule, string raised, string? cleared, string outcome, long? workOrder) => await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO alarm_episodes (asset_id, rule_id, site_id, raised_at, cleared_at, outcome, work_order_id, recorded_at)
            VALUES (@asset, @rule, @SiteId, @raised::timestamptz, @cleared::timestamptz, @outcome, @workOrder, @raised::timestamptz)
            RETURNING id
            """,
            new { asset, rule, org.SiteId, raised, cleared, outcome, workOrder });
        var e1 = await Episode(org.MachineId, overheat, "2026-03-02 08:00Z", "2026-03-02 10:00Z", "work_order", a);
        var e2 = await Episode(org.MachineId, overheat, "2026-03-02 10:20Z", "2026-03-02 10:50Z", "attached", a);
        var e3 = await Episode(org.MachineId, overheat, "2026-03-02 11:00Z", "2026-03-02 11:30Z", "attached", a);
        var e4 = await Episode(org.MachineId, overheat, "2026-03-09 09:00Z", null, "suppressed", null);
        var e5 = await Episode(org.MachineId, bearing, "2026-03-05 12:00Z", "2026-03-05 18:00Z", "rate_limited", null);
        var e6 = await Episode(machine2, overheat, "2026-03-10 07:00Z", "2026-03-10 08:00Z", "work_order", b);
        var e7 = await Episode(machine2, overheat, "2026-02-20 08:00Z", "2026-02-20 09:00Z", "refused", null);

        var n = 0;
        foreach (var (asset, rule, episode, at, outcome, workOrder) in new (long, long?, long?, string, string, long?)[]
        {
            (org.MachineId, overheat, e1, "2026-03-02 08:00Z", "raised", a),
            (org.MachineId, overheat, e1, "2026-03-02 08:30Z", "active", a),
            (org.MachineId, overheat, e1, "2026-03-02 10:00Z", "cleared", a),
            (org.MachineId, overheat, e2, "2026-03-02 10:20Z", "attached", a),
            (org.MachineId, overheat, e2, "2026-03-02 10:50Z", "cleared", a),
            (org.MachineId, overheat, e3, "2026-03-02 11:00Z", "attached", a),
            (org.MachineId, overheat, e3, "2026-03-02 11:30Z", "cleared", a),
            (org.MachineId, null, null, "2026-03-02 12:00Z", "no_rule", null),
            (org.MachineId, bearing, e5, "2026-03-05 12:00Z", "rate_limited", null),
            (org.MachineId, bearing, e5, "2026-03-05 18:00Z", "cleared", null),
            (org.MachineId, overheat, e4, "2026-03-09 09:00Z", "suppressed", null),
            (machine2, overheat, e6, "2026-03-10 07:00Z", "raised", b),
            (machine2, overheat, e6, "2026-03-10 08:00Z", "cleared", b),
            (machine2, overheat, e7, "2026-02-20 08:00Z", "refused_by_core", null),
        })
        {
            await AddEventAsync(connection, source, $"set-{++n}", asset, rule, episode, at, outcome, workOrder);
        }

        return new Seeded(source, org.MachineId, machine2, a, b, e4, overheat);
    }

    public static Task AddEventAsync(
        NpgsqlConnection connection, long source, string eventId, long asset, long? rule, long? episode, string at, string outcome, long? workOrder) =>
        connection.ExecuteAsync(
            """
            INSERT INTO alarm_events (source_id, event_id, asset_id, signal, value, occurred_at, received_at, channel, outcome, rule_id, episode_id, work_order_id)
            VALUES (@source, @eventId, @asset, 'temperature', 85, @at::timestamptz, @at::timestamptz, 'api', @outcome, @rule, @episode, @workOrder)
            """,
            new { source, eventId, asset, rule, episode, at, outcome, workOrder });
}
