using System.Data.Common;
using System.Globalization;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Warehouse;

/// <summary>Helpers shared by the warehouse tests: bulk archived history, and rows of both sides for comparison.</summary>
internal static class WarehouseFixture
{
    /// <summary>One ingest run into the warehouse at <paramref name="path"/>, created if missing.</summary>
    public static async Task<IngestResult> IngestAsync(
        NpgsqlDataSource data, string path, TimeProvider clock, Action<string>? atStage = null, long deriveSlice = 1_000_000)
    {
        using var warehouse = WarehouseFile.Open(path);
        var ingest = new WarehouseIngest(data, clock, NullLogger<WarehouseIngest>.Instance) { AtStage = atStage, DeriveSlice = deriveSlice };
        return await ingest.RunAsync(warehouse, null, CancellationToken.None);
    }

    /// <summary>Archived work orders with a five-event history each, written with plain SQL for volume.</summary>
    public static async Task<long> AddArchivedAsync(NpgsqlDataSource data, TestOrg org, int count, string tag)
    {
        await using var connection = await data.OpenConnectionAsync();
        return await AddArchivedAsync(connection, null, org, count, tag);
    }

    public static async Task<long> AddArchivedAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, TestOrg org, int count, string tag)
    {
        const string insert = """
            WITH made AS (
                INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, asset_id, department_id,
                    assignee_id, created_at, acknowledged_at, started_at, resolved_at, closed_at, custom_fields, source, rating, row_version, updated_at)
                SELECT 'WO-T-' || @tag || '-' || g, @TemplateId, 'corrective', 'Bulk ' || g || ' 漏油', 'bulk', 1 + g % 4, 'closed', @requester, @MachineId,
                       @DepartmentId, @technician, ts, ts + interval '10 minutes', ts + interval '10 minutes', ts + interval '2 hours',
                       ts + interval '3 hours', '{"fault_code": "leak"}', 'api', 1 + g % 5, 5, ts + interval '3 hours'
                FROM generate_series(1, @count) g, LATERAL (SELECT timestamptz '2025-01-01' + g * interval '7 minutes' AS ts) x
                RETURNING id, created_at)
            INSERT INTO work_order_events (work_order_id, occurred_at, actor_id, kind, from_status, to_status, payload)
            SELECT m.id, m.created_at + s.after, @requester, s.kind, s.from_status, s.to_status,
                   CASE WHEN s.kind = 'assign' THEN jsonb_build_object('assigneeId', @technician) ELSE '{}' END
            FROM made m CROSS JOIN (VALUES
                (1, interval '0', 'created', NULL, 'new'),
                (2, interval '5 minutes', 'assign', 'new', 'assigned'),
                (3, interval '10 minutes', 'start', 'assigned', 'in_progress'),
                (4, interval '2 hours', 'resolve', 'in_progress', 'resolved'),
                (5, interval '3 hours', 'approve', 'resolved', 'closed')) s(step, after, kind, from_status, to_status)
            ORDER BY m.id, s.step
            """;
        return await connection.ExecuteAsync(insert, new
        {
            tag,
            count,
            org.TemplateId,
            org.MachineId,
            org.DepartmentId,
            requester = org[Ticketing.Access.Role.Requester].UserId,
            technician = org[Ticketing.Access.Role.Technician].UserId,
        }, transaction);
    }

    public const string SourceWorkOrders = """
        SELECT id, number, template_id, work_type, title, priority, status, requester_id, asset_id, department_id, assignee_id, source,
               CASE WHEN work_type = 'corrective' THEN custom_fields->>'fault_code' END, created_at, acknowledged_at, started_at, resolved_at,
               closed_at, due_at, response_due_at, resolution_due_at, rating
        FROM work_orders WHERE status IN ('closed', 'cancelled') ORDER BY id
        """;

    public const string WarehouseWorkOrders = """
        SELECT work_order_id, number, template_id, work_type, title, priority, status, requester_id, asset_id, department_id, assignee_id, source,
               failure_code, created_at, acknowledged_at, started_at, resolved_at, closed_at, due_at, response_due_at, resolution_due_at, rating
        FROM fact_work_order ORDER BY work_order_id
        """;

    public const string SourceEvents = """
        SELECT e.id, e.work_order_id, e.occurred_at, e.actor_id, e.kind, e.from_status, e.to_status, (e.payload->>'assigneeId')::bigint
        FROM work_order_events e JOIN work_orders w ON w.id = e.work_order_id
        WHERE w.status IN ('closed', 'cancelled') ORDER BY e.id
        """;

    public const string WarehouseEvents = """
        SELECT event_id, work_order_id, occurred_at, actor_id, kind, from_status, to_status, assignee_id FROM fact_event ORDER BY event_id
        """;

    /// <summary>Every row as one text line, values written the same way whichever database they came from.</summary>
    public static List<string> Rows(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        var values = new string[reader.FieldCount];
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                values[i] = reader.IsDBNull(i) ? "∅" : reader.GetValue(i) switch
                {
                    DateTime t => (t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : t).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    var v => v.ToString()!,
                };
            }

            rows.Add(string.Join('|', values));
        }

        return rows;
    }

    public static void AssertSame(NpgsqlDataSource data, string warehousePath)
    {
        using var source = data.OpenConnection();
        using var warehouse = new DuckDBConnection($"Data Source={warehousePath}");
        warehouse.Open();
        Assert.Equal(Rows(source, SourceWorkOrders), Rows(warehouse, WarehouseWorkOrders));
        Assert.Equal(Rows(source, SourceEvents), Rows(warehouse, WarehouseEvents));
        Assert.Equal(Rows(source, "SELECT id, name FROM departments ORDER BY id"), Rows(warehouse, "SELECT department_id, name FROM dim_department ORDER BY department_id"));
        Assert.Equal(
            Rows(source, "SELECT id, code, name, kind, parent_id, criticality FROM assets ORDER BY id"),
            Rows(warehouse, "SELECT asset_id, code, name, kind, parent_id, criticality FROM dim_asset ORDER BY asset_id"));
        Assert.Equal(
            Rows(source, "SELECT id, status FROM work_orders WHERE status NOT IN ('closed', 'cancelled') ORDER BY id"),
            Rows(warehouse, "SELECT work_order_id, status FROM open_work_order ORDER BY work_order_id"));
    }
}
