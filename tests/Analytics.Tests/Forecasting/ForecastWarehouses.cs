using DuckDB.NET.Data;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests.Forecasting;

/// <summary>Warehouses for the forecast tests, each in a temp file of its own.</summary>
internal sealed class ForecastWarehouse : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"forecast-{Guid.NewGuid():N}.duckdb");

    public ForecastWarehouse(string sql)
    {
        Connection = WarehouseFile.Open(_path);
        Execute(sql);
    }

    public DuckDBConnection Connection { get; }

    public void Execute(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        Connection.Dispose();
        File.Delete(_path);
    }

    /// <summary>
    /// A pump (3) with a bearing unit (4) under it, on site 1, with its history up to the cut-off of 1 May 2025 and a
    /// little after it. What each row is there to show is beside it; the answers are worked out in the tests.
    /// </summary>
    public const string HandBuilt = """
        INSERT INTO dim_department VALUES (1, 'Maintenance');
        INSERT INTO dim_user VALUES (7, 'tech-a', 'Tech A', 'technician', 1, true), (9, 'asker', 'Asker', 'requester', NULL, true);
        INSERT INTO dim_template VALUES (1, 'Repair', 'corrective', 2, 1), (2, 'Pump PM', 'preventive', 3, 1),
                                        (3, 'Alarm check', 'inspection', 2, 1), (4, 'Minor fault', 'corrective', 3, 1);
        INSERT INTO dim_asset VALUES
            (1, 'S1', 'Site one', 'site', NULL, NULL, NULL, 3, NULL, 'in_service', 1, 'S1'),
            -- installed 2020-01-01: 1,947 days before the cut-off
            (3, 'P3', 'Pump', 'machine', 1, 'pump', NULL, 4, '2020-01-01', 'in_service', 1, 'S1 > P3'),
            -- installed 2025-02-01: 89 days before the cut-off; its preventive work is done on the pump
            (4, 'B4', 'Pump bearing unit', 'component', 3, 'pump', NULL, 3, '2025-02-01', 'in_service', 1, 'S1 > P3 > B4'),
            -- installed after the cut-off: no features at it
            (6, 'P6', 'New pump', 'machine', 1, 'pump', NULL, 2, '2025-06-01', 'in_service', 1, 'S1 > P6');

        -- id, number, template, type, title, priority, status, requester, asset, department, assignee, source, failure,
        -- category, custom fields, created, acknowledged, started, resolved, closed, due, response due, resolution due, rating, run
        INSERT INTO fact_work_order VALUES
            -- bearing failures on the pump: 1 Jan, 1 Mar (59 days later); the third (1 Apr 12:00) is still open, below
            (1, 'WO-1', 1, 'corrective', 'a', 2, 'closed', 9, 3, 1, 7, 'web', 'bearing', 'bearing', NULL,
             '2025-01-01 00:00', NULL, NULL, '2025-01-02 00:00', '2025-01-03 00:00', NULL, NULL, NULL, NULL, 1),
            -- resolved after the cut-off: a feature reading resolved_at would peek
            (2, 'WO-2', 1, 'corrective', 'b', 2, 'closed', 9, 3, 1, 7, 'web', 'bearing', 'bearing', NULL,
             '2025-03-01 00:00', NULL, NULL, '2025-05-03 00:00', '2025-05-04 00:00', NULL, NULL, NULL, NULL, 1),
            -- a leak on the bearing unit 11 days before the cut-off: one failure of any kind; leak is not a mode (1 < 3 failures)
            (3, 'WO-3', 1, 'corrective', 'c', 2, 'closed', 9, 4, 1, 7, 'web', 'leak', 'leak', NULL,
             '2025-04-20 00:00', NULL, NULL, '2025-04-21 00:00', '2025-04-22 00:00', NULL, NULL, NULL, NULL, 1),
            -- preventive work on the pump on 1 Feb and 2 Apr (60 days apart, 29 days before the cut-off)
            (4, 'WO-4', 2, 'preventive', 'd', 3, 'closed', 9, 3, 1, 7, 'pm', NULL, NULL, NULL,
             '2025-02-01 00:00', NULL, '2025-02-01 02:00', '2025-02-01 06:00', '2025-02-02 00:00', NULL, NULL, NULL, NULL, 1),
            (5, 'WO-5', 2, 'preventive', 'e', 3, 'closed', 9, 3, 1, 7, 'pm', NULL, NULL, NULL,
             '2025-04-02 00:00', NULL, '2025-04-02 02:00', '2025-04-02 04:00', '2025-04-03 00:00', NULL, NULL, NULL, NULL, 1),
            -- an alarm check raised by the alarm below 21 days and a minor fault (corrective without failure code) 6 days before the cut-off
            (6, 'WO-6', 3, 'inspection', 'f', 2, 'closed', 9, 3, 1, 7, 'alarm', NULL, NULL, NULL,
             '2025-04-10 00:00', NULL, NULL, '2025-04-10 05:00', '2025-04-11 00:00', NULL, NULL, NULL, NULL, 1),
            (7, 'WO-7', 4, 'corrective', 'g', 3, 'closed', 9, 3, 1, 7, 'web', NULL, NULL, NULL,
             '2025-04-25 00:00', NULL, NULL, '2025-04-25 05:00', '2025-04-26 00:00', NULL, NULL, NULL, NULL, 1),
            -- raised at the cut-off itself: not before it, so not seen
            (8, 'WO-8', 4, 'corrective', 'h', 3, 'closed', 9, 3, 1, 7, 'web', NULL, NULL, NULL,
             '2025-05-01 00:00', NULL, NULL, '2025-05-01 05:00', '2025-05-02 00:00', NULL, NULL, NULL, NULL, 1),
            -- after the cut-off: the leak on the bearing unit 4 days after, the pump's bearing failure 9 days after
            (9, 'WO-9', 1, 'corrective', 'i', 2, 'closed', 9, 4, 1, 7, 'web', 'leak', 'leak', NULL,
             '2025-05-05 00:00', NULL, NULL, '2025-05-05 05:00', '2025-05-06 00:00', NULL, NULL, NULL, NULL, 1),
            (10, 'WO-10', 1, 'corrective', 'j', 2, 'closed', 9, 3, 1, 7, 'web', 'bearing', 'bearing', NULL,
             '2025-05-10 00:00', NULL, NULL, '2025-05-10 05:00', '2025-05-11 00:00', NULL, NULL, NULL, NULL, 1);

        INSERT INTO fact_status_interval VALUES
            (4, 'in_progress', '2025-02-01 02:00', '2025-02-01 06:00', 14400, 14400, false, 7),
            (5, 'in_progress', '2025-04-02 02:00', '2025-04-02 04:00', 7200, 7200, false, 7);

        -- id, number, template, type, title, priority, status, asset, department, assignee, source, failure, created,
        -- acknowledged, due, response due, resolution due, snapshot
        INSERT INTO open_work_order VALUES
            (11, 'WO-11', 1, 'corrective', 'k', 1, 'in_progress', 3, 1, 7, 'web', 'bearing', 'bearing', NULL, '2025-04-01 12:00', NULL, NULL, NULL, NULL,
             '2025-06-01 00:00');
        INSERT INTO ingest_run VALUES (1, '2025-06-01', '2025-06-01', 10, 0, 1, '1:1:', '1:1:', 0);

        -- Sensor alarm episodes on the pump: id, asset, site, rule, signal, fault, severity, department, raised, cleared,
        -- outcome, work order, run. Counted: the raise behind WO-6 and its re-raise 21 days before the cut-off, the
        -- rate-limited one 4 days before it. Not counted: the one suppressed by a site alarm, the one raised at the
        -- cut-off itself, and the one after it. The first cleared only after the cut-off: nothing reads that.
        INSERT INTO fact_alarm_episode VALUES
            (1, 3, 1, 1, 'vibration', 'bearing', 'major', 1, '2025-04-10 00:00', '2025-05-02 00:00', 'work_order', 6, 1),
            (2, 3, 1, 1, 'vibration', 'bearing', 'major', 1, '2025-04-10 02:00', '2025-04-10 03:00', 'attached', 6, 1),
            (3, 3, 1, 1, 'vibration', 'bearing', 'major', 1, '2025-04-27 00:00', '2025-04-27 01:00', 'rate_limited', NULL, 1),
            (4, 3, 1, 1, 'vibration', 'bearing', 'major', 1, '2025-04-28 00:00', '2025-04-28 01:00', 'suppressed', NULL, 1),
            (5, 3, 1, 1, 'vibration', 'bearing', 'major', 1, '2025-05-01 00:00', NULL, 'attached', 6, 1),
            (6, 3, 1, 1, 'vibration', 'bearing', 'major', 1, '2025-05-03 00:00', '2025-05-03 04:00', 'work_order', 10, 1);
        INSERT INTO fact_alarm_event_day VALUES ('2025-04-10', 3, 'bearing', 'raised', 1), ('2025-05-03', 3, 'bearing', 'raised', 1);

        -- Preventive work naming the bearing: WO-5 on the pump 29 days before the cut-off, and one 2 days after it (not seen).
        INSERT INTO fact_pm_mode VALUES (5, 3, 'bearing', '2025-04-02 00:00'), (12, 3, 'bearing', '2025-05-03 00:00');
        """;

    /// <summary>
    /// Sixty pumps with two years of bearing failures, each pump on a rhythm of its own (every 30 to 90 days): enough
    /// history to train on, and predictable from the days since the last failure. Preventive work (template 2) on each
    /// pump every 60 days. Data ends on 1 March 2025.
    /// </summary>
    public const string Rhythmic = """
        INSERT INTO dim_department VALUES (1, 'Maintenance');
        INSERT INTO dim_user VALUES (7, 'tech-a', 'Tech A', 'technician', 1, true), (8, 'tech-b', 'Tech B', 'technician', 1, true);
        INSERT INTO dim_template VALUES (1, 'Repair', 'corrective', 2, 1), (2, 'Pump PM', 'preventive', 3, 1);
        INSERT INTO dim_asset SELECT 100 + i, 'P' || i, 'Pump ' || i, 'machine', NULL, 'pump', NULL, 1 + i % 5, DATE '2020-01-01', 'in_service', NULL, 'P' || i
            FROM range(60) t(i);
        INSERT INTO fact_work_order
            SELECT row_number() OVER (ORDER BY happened, asset), 'WO', template, work_type, 't', 2, 'closed', 9, asset, 1, 7, 'web', code, code, NULL,
                   happened, NULL, NULL, happened + INTERVAL 4 HOUR, happened + INTERVAL 1 DAY, NULL, NULL, NULL, NULL, 1
            FROM (
                SELECT 100 + i AS asset, 1 AS template, 'corrective' AS work_type, 'bearing' AS code,
                       TIMESTAMP '2023-03-01 08:00' + to_days(((i * 13) % (30 + (i % 7) * 10)) + k * (30 + (i % 7) * 10)) AS happened
                FROM range(60) a(i), range(30) b(k)
                UNION ALL
                SELECT 100 + i, 2, 'preventive', NULL, TIMESTAMP '2023-03-01 22:00' + to_days((i % 60) + k * 60)
                FROM range(60) a(i), range(15) b(k))
            WHERE happened < TIMESTAMP '2025-03-01';
        INSERT INTO fact_status_interval
            SELECT work_order_id, 'in_progress', created_at, created_at + INTERVAL 3 HOUR, 10800, 10800, false, 7 FROM fact_work_order;
        INSERT INTO ingest_run VALUES (1, '2025-03-01', '2025-03-01', 1, 0, 0, '1:1:', '1:1:', 0);
        """;
}
