using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Staff;

/// <summary>One technician's (or a department's) work in a period.</summary>
public sealed record StaffPerformance(
    long Id,
    string Name,
    string? Department,
    long WorkDone,
    double? MttrHours,
    double? SlaMetShare,
    double? FirstTimeFixShare,
    double? Satisfaction,
    double? ReassignedAwayShare);

/// <summary>
/// Staff performance from archived work: work done = closed work orders resolved in the period with the person as
/// the final assignee; reassigned away = assignments to the person in the period later moved to someone else /
/// all assignments to the person in the period. A statement does not start once the token has fired (see
/// <see cref="WarehouseStatements"/>).
/// </summary>
public sealed class StaffQueries(DuckDBConnection warehouse, CancellationToken cancellationToken = default)
{
    private const string Measures = """
        WITH done AS (
            SELECT w.*, date_diff('second', w.created_at, w.resolved_at) / 3600.0 AS hours,
                   CASE WHEN w.resolution_due_at IS NULL THEN NULL
                        ELSE w.resolved_at <= w.resolution_due_at + to_seconds(coalesce(h.paused_seconds, 0)) END AS sla_met,
                   coalesce(h.rejects, 0) = 0 AND coalesce(h.assigns, 0) <= 1 AS first_time
            FROM fact_work_order w LEFT JOIN fact_work_order_history h USING (work_order_id)
            WHERE w.status = 'closed' AND w.resolved_at >= $from AND w.resolved_at < $to AND {0}),
        away AS (
            SELECT a.assignee_id, count(*) FILTER (WHERE a.next_assignee IS NOT NULL AND a.next_assignee <> a.assignee_id) AS moved, count(*) AS total
            FROM (SELECT e.assignee_id, e.occurred_at, lead(e.assignee_id) OVER (PARTITION BY e.work_order_id ORDER BY e.event_id) AS next_assignee
                  FROM fact_event e JOIN fact_work_order w USING (work_order_id) WHERE e.kind IN ('assign', 'auto_assigned', 'claim', 'reassign') AND {1}) a
            WHERE a.occurred_at >= $from AND a.occurred_at < $to
            GROUP BY a.assignee_id)
        """;

    // The same figures from the staff rollup: per person (and the work's department) the sums the averages divide.
    private const string RolledMeasures = """
        WITH done AS (
            SELECT w.assignee_id, w.department_id, sum(w.n)::BIGINT AS n, sum(w.seconds)::DOUBLE AS seconds, sum(w.sla_due)::DOUBLE AS sla_due,
                   sum(w.sla_met)::DOUBLE AS sla_met, sum(w.first_time)::DOUBLE AS first_time, sum(w.rating_sum)::DOUBLE AS rating_sum,
                   sum(w.rated)::DOUBLE AS rated
            FROM rollup_staff_day w WHERE w.measure = 'done' AND w.day >= $from AND w.day < $to AND {0}
            GROUP BY ALL),
        away AS (
            SELECT w.assignee_id, sum(w.moved)::BIGINT AS moved, sum(w.n)::BIGINT AS total
            FROM rollup_staff_day w WHERE w.measure = 'assigned' AND w.day >= $from AND w.day < $to AND {0}
            GROUP BY ALL)
        """;

    private const string RolledFigures = """
        coalesce(sum(done.n), 0)::BIGINT AS done_n, sum(done.seconds) / sum(done.n) / 3600.0, sum(done.sla_met) / nullif(sum(done.sla_due), 0),
        sum(done.first_time) / sum(done.n), sum(done.rating_sum) / nullif(sum(done.rated), 0)
        """;

    private bool? _kept;

    /// <summary>
    /// Whether the figures come from the staff rollup when the filter allows; null, the default: when the file's
    /// rollups are kept. False asks the facts, as a test does to compare both answers.
    /// </summary>
    public bool? Rollups { get; init; }

    private bool Rolled(KpiFilter filter) =>
        filter.CarriedByRollups(byAsset: false) && (Rollups ?? (_kept ??= WarehouseRollups.Kept(warehouse, cancellationToken)));

    public IReadOnlyList<StaffPerformance> ByTechnician(KpiFilter filter) => Rolled(filter) ? Read(filter, RolledMeasures, $$"""
        SELECT u.user_id, u.display_name, d.name, {{RolledFigures}}, max(away.moved) / nullif(max(away.total), 0)
        FROM dim_user u
        LEFT JOIN dim_department d ON d.department_id = u.department_id
        LEFT JOIN done ON done.assignee_id = u.user_id
        LEFT JOIN away ON away.assignee_id = u.user_id
        WHERE u.role IN ('technician', 'manager') AND (done.n > 0 OR away.total > 0) {2}
        GROUP BY u.user_id, u.display_name, d.name ORDER BY done_n DESC, u.display_name
        """) : Read(filter, Measures, """
        SELECT u.user_id, u.display_name, d.name, count(done.work_order_id), avg(done.hours),
               avg(done.sla_met::INTEGER), avg(done.first_time::INTEGER), avg(done.rating), max(away.moved) / nullif(max(away.total), 0)
        FROM dim_user u
        LEFT JOIN dim_department d ON d.department_id = u.department_id
        LEFT JOIN done ON done.assignee_id = u.user_id
        LEFT JOIN away ON away.assignee_id = u.user_id
        WHERE u.role IN ('technician', 'manager') AND (done.work_order_id IS NOT NULL OR away.total > 0) {2}
        GROUP BY ALL ORDER BY count(done.work_order_id) DESC, u.display_name
        """);

    public IReadOnlyList<StaffPerformance> ByDepartment(KpiFilter filter) => Rolled(filter) ? Read(filter, RolledMeasures, $$"""
        SELECT d.department_id, d.name, d.name, {{RolledFigures}},
               (SELECT sum(moved) / nullif(sum(total), 0) FROM away JOIN dim_user u ON u.user_id = away.assignee_id WHERE u.department_id = d.department_id)
        FROM dim_department d JOIN done ON done.department_id = d.department_id
        WHERE TRUE {2}
        GROUP BY d.department_id, d.name ORDER BY d.name
        """) : Read(filter, Measures, """
        SELECT d.department_id, d.name, d.name, count(done.work_order_id), avg(done.hours),
               avg(done.sla_met::INTEGER), avg(done.first_time::INTEGER), avg(done.rating),
               (SELECT sum(moved) / nullif(sum(total), 0) FROM away JOIN dim_user u ON u.user_id = away.assignee_id WHERE u.department_id = d.department_id)
        FROM dim_department d JOIN done ON done.department_id = d.department_id
        WHERE TRUE {2}
        GROUP BY ALL ORDER BY d.name
        """);

    private IReadOnlyList<StaffPerformance> Read(KpiFilter filter, string measures, string select)
    {
        var department = filter.DepartmentId is { } id ? $" AND d.department_id = {id.ToString(CultureInfo.InvariantCulture)}" : "";
        using var command = warehouse.Command(
            string.Format(CultureInfo.InvariantCulture, measures, filter.Where("w"), filter.Where("w")) + "\n" + select.Replace("{2}", department, StringComparison.Ordinal),
            cancellationToken);
        filter.Bind(command);
        using var reader = command.ExecuteReader();
        var rows = new List<StaffPerformance>();
        while (reader.Read())
        {
            rows.Add(new StaffPerformance(
                reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3),
                Number(reader, 4), Number(reader, 5), Number(reader, 6), Number(reader, 7), Number(reader, 8)));
        }

        return rows;
    }

    private static double? Number(System.Data.Common.DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToDouble(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
