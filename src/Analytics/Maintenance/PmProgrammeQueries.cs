using System.Data.Common;
using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Maintenance;

/// <summary>The PM programme over a period: compliance, and what happened to the occurrences that fell due in it.</summary>
public sealed record PmProgrammeSummary(
    Compliance Compliance, Compliance ComplianceWithGrace, long Skipped, long Missed, long Moved, double DueHours, KpiValue PlannedShare);

/// <summary>Compliance and the skipped, missed and moved occurrences of one plan, or of one department (then PlanId is null).</summary>
public sealed record PmComplianceRow(
    long? PlanId, string Name, long DepartmentId, string Department, string Triggers, Compliance Compliance, Compliance ComplianceWithGrace,
    long Skipped, long Missed, long Moved);

/// <summary>An occurrence that was skipped, missed or moved, for the list beside the figures.</summary>
public sealed record PmOccurrenceLine(
    long OccurrenceId, long PlanId, string Plan, long AssetId, string AssetCode, string Department, DateTime DueAt, DateTime? MovedTo,
    string Status, string? MoveReason, long? WorkOrderId);

/// <summary>
/// PM compliance (SMRP 5.4.14) counted against occurrence due dates, with its variant, per plan and per department.
/// An occurrence is due when its due date (as moved by a planner, if it was) falls in the period and it was generated
/// or missed; it is met when its work order was resolved by that date (the variant adds 10% of the plan's calendar
/// interval, or of the time from creation to due for meter-only plans). Cancelled work orders are left out. Skipped
/// occurrences are not counted: the earlier occurrence still open is, so the lateness is not counted twice.
/// </summary>
public sealed class PmProgrammeQueries(DuckDBConnection warehouse, CancellationToken cancellationToken = default)
{
    public const string Definition =
        "Occurrences due in the period (by their due date, as moved) that were generated or missed; met when the work order was resolved by the due date. " +
        "The variant allows 10% of the plan's interval. Skipped occurrences (an earlier one was still open) are shown but not counted; cancelled work is left out.";

    // Every occurrence with its effective due date and whether it met it, strictly and with the variant's grace.
    private static string Occurrences(KpiFilter filter) => $"""
        (SELECT o.*, coalesce(o.moved_to, o.due_at) AS due, o.moved_to IS NOT NULL AS moved,
                o.status IN ('generated', 'missed') AND coalesce(o.work_order_status, '') <> 'cancelled' AS counted,
                o.resolved_at IS NOT NULL AND o.resolved_at <= coalesce(o.moved_to, o.due_at) AS met,
                o.resolved_at IS NOT NULL AND epoch(o.resolved_at) <= epoch(coalesce(o.moved_to, o.due_at))
                    + 0.1 * coalesce(p.interval_days * 86400, epoch(coalesce(o.moved_to, o.due_at)) - epoch(o.created_at), 0) AS met_grace,
                p.name AS plan_name, p.triggers, 'pm' AS source, x.category, x.custom_fields
         FROM fact_pm_occurrence o JOIN dim_pm_plan p USING (plan_id) LEFT JOIN {filter.WorkOrderFieldsFor(category: true)} x USING (work_order_id))
        """;

    private const string Figures = """
        count(*) FILTER (WHERE o.counted AND o.met), count(*) FILTER (WHERE o.counted),
        count(*) FILTER (WHERE o.counted AND o.met_grace),
        count(*) FILTER (WHERE o.status = 'skipped'), count(*) FILTER (WHERE o.status = 'missed'), count(*) FILTER (WHERE o.moved)
        """;

    public PmProgrammeSummary Summary(KpiFilter filter)
    {
        using var command = Command(filter, $"""
            SELECT {Figures}, coalesce(sum(o.estimated_hours) FILTER (WHERE o.counted), 0)
            FROM {Occurrences(filter)} o
            WHERE o.due >= $from AND o.due < $to AND {Where(filter)}
            """);
        using var reader = command.ExecuteReader();
        reader.Read();
        return new PmProgrammeSummary(
            new Compliance(reader.GetInt64(0), reader.GetInt64(1)), new Compliance(reader.GetInt64(2), reader.GetInt64(1)),
            reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), Convert.ToDouble(reader.GetValue(6), CultureInfo.InvariantCulture),
            new KpiQueries(warehouse, cancellationToken).PlannedMaintenanceShare(filter with { WorkType = null, Priority = null }));
    }

    /// <summary>Each plan with an occurrence due in the period, the least compliant first.</summary>
    public IReadOnlyList<PmComplianceRow> ByPlan(KpiFilter filter) => Rows(filter, $"""
        SELECT o.plan_id, any_value(o.plan_name), any_value(p.department_id), any_value(d.name), any_value(o.triggers), {Figures}
        FROM {Occurrences(filter)} o JOIN dim_pm_plan p USING (plan_id) LEFT JOIN dim_department d ON d.department_id = p.department_id
        WHERE o.due >= $from AND o.due < $to AND {Where(filter)}
        GROUP BY o.plan_id
        ORDER BY count(*) FILTER (WHERE o.counted AND o.met) / greatest(count(*) FILTER (WHERE o.counted), 1), any_value(o.plan_name)
        """, withPlan: true);

    /// <summary>Each department with an occurrence due in the period (the department of the work order, else of the plan's template).</summary>
    public IReadOnlyList<PmComplianceRow> ByDepartment(KpiFilter filter) => Rows(filter, $"""
        SELECT NULL, coalesce(any_value(d.name), ''), o.department_id, coalesce(any_value(d.name), ''), '', {Figures}
        FROM {Occurrences(filter)} o LEFT JOIN dim_department d USING (department_id)
        WHERE o.due >= $from AND o.due < $to AND {Where(filter)}
        GROUP BY o.department_id
        ORDER BY 2
        """, withPlan: false);

    /// <summary>The skipped, missed and moved occurrences due in the period, latest first, at most <paramref name="take"/>.</summary>
    public IReadOnlyList<PmOccurrenceLine> Exceptions(KpiFilter filter, int take = 200)
    {
        using var command = Command(filter, $"""
            SELECT o.occurrence_id, o.plan_id, o.plan_name, o.asset_id, coalesce(a.code, ''), coalesce(d.name, ''), o.due_at, o.moved_to, o.status,
                   o.move_reason, o.work_order_id
            FROM {Occurrences(filter)} o LEFT JOIN dim_asset a USING (asset_id) LEFT JOIN dim_department d ON d.department_id = o.department_id
            WHERE o.due >= $from AND o.due < $to AND (o.status IN ('skipped', 'missed') OR o.moved) AND {Where(filter)}
            ORDER BY o.due DESC, o.occurrence_id DESC
            LIMIT {Math.Clamp(take, 1, 1000).ToString(CultureInfo.InvariantCulture)}
            """);
        using var reader = command.ExecuteReader();
        var lines = new List<PmOccurrenceLine>();
        while (reader.Read())
        {
            lines.Add(new PmOccurrenceLine(
                reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5),
                reader.GetDateTime(6), reader.IsDBNull(7) ? null : reader.GetDateTime(7), reader.GetString(8),
                reader.IsDBNull(9) ? null : reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetInt64(10)));
        }

        return lines;
    }

    // Occurrences have no work type or priority of their own: those parts of a KPI filter do not apply here.
    private static string Where(KpiFilter filter) => (filter with { WorkType = null, Priority = null }).Where("o");

    private List<PmComplianceRow> Rows(KpiFilter filter, string sql, bool withPlan)
    {
        using var command = Command(filter, sql);
        using var reader = command.ExecuteReader();
        var rows = new List<PmComplianceRow>();
        while (reader.Read())
        {
            rows.Add(new PmComplianceRow(
                withPlan ? reader.GetInt64(0) : null, reader.GetString(1), reader.GetInt64(2), Text(reader, 3), reader.GetString(4),
                new Compliance(reader.GetInt64(5), reader.GetInt64(6)), new Compliance(reader.GetInt64(7), reader.GetInt64(6)),
                reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10)));
        }

        return rows;
    }

    private static string Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? "" : reader.GetString(ordinal);

    private DuckDBCommand Command(KpiFilter filter, string sql)
    {
        var command = warehouse.Command(sql, cancellationToken);
        filter.Bind(command);
        return command;
    }
}
