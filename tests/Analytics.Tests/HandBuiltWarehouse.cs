using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

/// <summary>
/// A warehouse of seven work orders written by hand, with what each one is there to show in the comments. March 2026
/// is the period; asset 3 is a machine under line 2 of site 1, asset 4 a machine of site 10. Technician 7 works in
/// department 1, technician 8 in department 2. Categories (fault codes): bearing on 1, 2, 4 (the mode the preventive
/// work addressed) and 6, leak on 3. Sources: live (web) 1, 2 and 5, import 3, pm 4 and 7, alarm 6. Custom field
/// shift: night on 1 and 3, day on 2.
/// </summary>
internal static class HandBuiltWarehouse
{
    public static readonly KpiFilter March = new(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 1));

    public static void Fill(DuckDBConnection warehouse)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = """
            INSERT INTO dim_department VALUES (1, 'Maintenance'), (2, 'Facilities');
            INSERT INTO dim_user VALUES
                (5, 'boss', 'Boss', 'manager', 1, true),
                (7, 'tech-a', 'Tech A', 'technician', 1, true),
                (8, 'tech-b', 'Tech B', 'technician', 2, true),
                (9, 'asker', 'Asker', 'requester', NULL, true);
            INSERT INTO dim_asset VALUES
                (1, 'S1', 'Site one', 'site', NULL, NULL, NULL, 3, NULL, 'in_service', 1, 'S1'),
                (2, 'L2', 'Line two', 'line', 1, NULL, NULL, 3, NULL, 'in_service', 1, 'S1 > L2'),
                (3, 'M3', 'Pump', 'machine', 2, 'pump', NULL, 4, NULL, 'in_service', 1, 'S1 > L2 > M3'),
                (10, 'S10', 'Site ten', 'site', NULL, NULL, NULL, 3, NULL, 'in_service', 10, 'S10'),
                (4, 'M4', 'Press', 'machine', 10, 'press', NULL, 4, NULL, 'in_service', 10, 'S10 > M4');

            -- id, number, template, type, title, priority, status, requester, asset, department, assignee, source, failure,
            -- category, custom fields, created, acknowledged, started, resolved, closed, due, response due, resolution due, rating, run
            INSERT INTO fact_work_order VALUES
                -- 1: acknowledged after 1 h (response met); resolved after 4 h, one hour past the resolution deadline,
                --    but 2 h on hold move the deadline: met. One assignment, no rejection: first-time fix.
                (1, 'WO-1', 1, 'corrective', 'a', 2, 'closed', 9, 3, 1, 7, 'web', 'bearing', 'bearing', '{"fault_code":"bearing","shift":"night"}',
                 '2026-03-02 00:00', '2026-03-02 01:00', '2026-03-02 01:00', '2026-03-02 04:00', '2026-03-02 05:00', NULL,
                 '2026-03-02 02:00', '2026-03-02 03:00', 4, 1),
                -- 2: same asset and failure 8 days later: a repeat. Acknowledged after 3 h, past its response deadline.
                --    Resolved after 10 h, within its resolution deadline. Rejected once: not a first-time fix.
                (2, 'WO-2', 1, 'corrective', 'b', 2, 'closed', 9, 3, 1, 7, 'web', 'bearing', 'bearing', '{"fault_code":"bearing","shift":"day"}',
                 '2026-03-10 00:00', '2026-03-10 03:00', '2026-03-10 03:00', '2026-03-10 10:00', '2026-03-10 11:00', NULL,
                 '2026-03-10 02:00', '2026-03-10 12:00', 2, 1),
                -- 3: imported; created in February, resolved on 1 March after 216 h; reassigned: not a first-time fix.
                (3, 'WO-3', 1, 'corrective', 'c', 3, 'closed', 9, 4, 2, 8, 'import', 'leak', 'leak', '{"fault_code":"leak","shift":"night"}',
                 '2026-02-20 00:00', '2026-02-20 02:00', '2026-02-20 02:00', '2026-03-01 00:00', '2026-03-01 01:00', NULL,
                 NULL, NULL, 5, 1),
                -- 4: preventive due 11 March, done 12 h late: missed, but within 10% of its 10-day lead (1 day).
                (4, 'WO-4', 2, 'preventive', 'd', 3, 'closed', 9, 3, 1, 7, 'pm', NULL, 'bearing', '{"fault_code":"bearing"}',
                 '2026-03-01 00:00', '2026-03-01 02:00', '2026-03-01 02:00', '2026-03-11 12:00', '2026-03-11 13:00', '2026-03-11 00:00',
                 NULL, NULL, NULL, 1),
                -- 5: cancelled; counts in volume only.
                (5, 'WO-5', 1, 'corrective', 'e', 4, 'cancelled', 9, 3, 1, NULL, 'web', NULL, NULL, NULL,
                 '2026-03-05 00:00', NULL, NULL, NULL, '2026-03-05 01:00', NULL, NULL, NULL, NULL, 1);

            INSERT INTO fact_event VALUES
                (11, 1, '2026-03-02 00:30', 5, 'assign', 'new', 'assigned', 7, 1),
                (21, 2, '2026-03-10 00:30', 5, 'assign', 'new', 'assigned', 7, 1),
                (22, 2, '2026-03-10 08:00', 9, 'reject', 'resolved', 'in_progress', NULL, 1),
                (31, 3, '2026-02-20 01:00', 5, 'assign', 'new', 'assigned', 7, 1),
                (32, 3, '2026-02-21 01:00', 5, 'assign', 'assigned', 'assigned', 8, 1),
                (41, 4, '2026-03-01 01:00', 5, 'assign', 'new', 'assigned', 7, 1);

            INSERT INTO fact_status_interval VALUES
                -- work order, status, from, to, seconds, business seconds (Monday to Friday 08:00-17:00 UTC), paused, assignee
                (1, 'in_progress', '2026-03-02 01:00', '2026-03-02 01:30', 1800, 0, false, 7),
                (1, 'on_hold', '2026-03-02 01:30', '2026-03-02 03:30', 7200, 0, true, 7),
                (1, 'in_progress', '2026-03-02 03:30', '2026-03-02 04:00', 1800, 0, false, 7),
                (2, 'in_progress', '2026-03-10 03:00', '2026-03-10 10:00', 25200, 7200, false, 7),
                (4, 'in_progress', '2026-03-01 02:00', '2026-03-01 12:00', 36000, 0, false, 7);

            -- id, number, template, type, title, priority, status, asset, department, assignee, source, failure, category, custom fields, created,
            -- acknowledged, due, response due, resolution due, snapshot
            INSERT INTO open_work_order VALUES
                -- 6: a third bearing failure on asset 3, 10 days after the second: a repeat; 12 days old; its response deadline passed.
                (6, 'WO-6', 1, 'corrective', 'f', 1, 'new', 3, 1, NULL, 'alarm', 'bearing', 'bearing', '{"fault_code":"bearing"}', '2026-03-20 00:00', NULL, NULL,
                 '2026-03-20 01:00', NULL, '2026-04-01 00:00'),
                -- 7: preventive due 25 March and still open: missed. 4 days old.
                (7, 'WO-7', 2, 'preventive', 'g', 3, 'in_progress', 3, 1, 7, 'pm', NULL, NULL, NULL, '2026-03-28 00:00', '2026-03-28 01:00',
                 '2026-03-25 00:00', NULL, NULL, '2026-04-01 00:00');
            """;
        command.ExecuteNonQuery();
        command.CommandText = WarehouseSchema.DeriveHistory(1);
        command.ExecuteNonQuery();

        // The rollups, as an ingest adds them: the questions read them where the filter allows.
        command.CommandText = WarehouseSchema.RebuildRollups;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Adds the PM programme of March 2026 to <see cref="Fill"/>: plan 1 (monthly, on asset 3, department 1) behind
    /// work orders 4 and 7, and plan 2 (weekly, on presses under site 10, department 2) whose work orders are not in
    /// the facts. Due in March and counted: occurrences 1, 2, 4, 5 and 6; met by the due date: 4 and 6; with the
    /// variant's 10% of the interval also 1. Occurrence 3 was skipped, 5 missed, 6 moved from 18 to 20 March.
    /// </summary>
    public static void FillPm(DuckDBConnection warehouse)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = """
            -- id, name, template, department, asset, type, location, hours, lead, overlap, catch-up, active, proposal, created, triggers, interval days
            INSERT INTO dim_pm_plan VALUES
                (1, 'Pump lubrication', 2, 1, 3, NULL, NULL, 2.0, 5, 'skip', 'latest', true, NULL, '2026-01-01', 'every 1 month fixed', 30.4375),
                (2, 'Press weekly check', 2, 2, NULL, 'press', 10, 1.5, 0, 'skip', 'mark_missed', true, NULL, '2026-01-01', 'every 1 week fixed', 7);

            -- id, plan, asset, department, trigger kind, due key, due, moved to, reason, status, work order, its status, priority,
            -- created, resolved, hours, recorded
            INSERT INTO fact_pm_occurrence VALUES
                (1, 1, 3, 1, 'calendar', '2026-03-11T00:00', '2026-03-11 00:00', NULL, NULL, 'generated', 4, 'closed', 3,
                 '2026-03-01 00:00', '2026-03-11 12:00', 2.0, '2026-03-01 00:00'),
                (2, 1, 3, 1, 'calendar', '2026-03-25T00:00', '2026-03-25 00:00', NULL, NULL, 'generated', 7, 'in_progress', 3,
                 '2026-03-28 00:00', NULL, 2.0, '2026-03-28 00:00'),
                (3, 1, 3, 1, 'calendar', '2026-03-18T00:00', '2026-03-18 00:00', NULL, NULL, 'skipped', NULL, NULL, NULL,
                 NULL, NULL, 2.0, '2026-03-13 00:00'),
                (4, 2, 4, 2, 'calendar', '2026-03-04T08:00', '2026-03-04 08:00', NULL, NULL, 'generated', 104, 'closed', 3,
                 '2026-03-04 00:00', '2026-03-03 15:00', 1.5, '2026-03-04 00:00'),
                (5, 2, 4, 2, 'calendar', '2026-03-11T08:00', '2026-03-11 08:00', NULL, NULL, 'missed', NULL, NULL, NULL,
                 NULL, NULL, 1.5, '2026-03-12 00:00'),
                (6, 2, 4, 2, 'calendar', '2026-03-18T08:00', '2026-03-18 08:00', '2026-03-20 08:00', 'press in use', 'generated', 106, 'closed', 3,
                 '2026-03-18 00:00', '2026-03-19 10:00', 1.5, '2026-03-18 00:00'),
                (7, 2, 4, 2, 'calendar', '2026-04-01T08:00', '2026-04-01 08:00', NULL, NULL, 'planned', NULL, NULL, NULL,
                 NULL, NULL, 1.5, '2026-03-25 00:00'),
                (8, 1, 3, 1, 'calendar', '2026-02-11T00:00', '2026-02-11 00:00', NULL, NULL, 'generated', 108, 'closed', 3,
                 '2026-02-06 00:00', '2026-02-10 00:00', 2.0, '2026-02-06 00:00');

            INSERT INTO fact_meter_reading VALUES (1, 1, 3, 'run hours', 'h', '2026-03-01 00:00', 120.5, 120.5, false, 'api');
            """;
        command.ExecuteNonQuery();
    }
}
