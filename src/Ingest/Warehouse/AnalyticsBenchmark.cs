using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Npgsql;
using Spectre.Console;
using WorkOrders.Analytics.Exports;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>
/// Each question a dashboard page asks, answered by the warehouse (the query the page runs) and by PostgreSQL
/// directly (the same question over the live tables, status intervals derived from the history on the fly), in
/// one run: median of several runs after one warm-up, the ratio, and whether both gave the same answer. Then the
/// Excel and CSV export of 100,000 work orders. Prints tables; asserts nothing.
/// </summary>
internal static class AnalyticsBenchmark
{

    private const int ExportRows = 100_000;

    // The live tables shaped like the warehouse: archived work, open work, all work, and status intervals.
    private const string Archived = """
        (SELECT w.id AS work_order_id, w.number, w.title, w.status, w.department_id, w.asset_id, w.work_type, w.priority, w.source, w.assignee_id,
                w.rating, CASE WHEN w.work_type = 'corrective' THEN w.custom_fields->>'fault_code' END AS failure_code, w.created_at,
                w.acknowledged_at, w.resolved_at, w.closed_at, w.due_at, w.response_due_at, w.resolution_due_at, w.custom_fields
         FROM work_orders w WHERE w.status IN ('closed', 'cancelled'))
        """;

    private const string Open = """
        (SELECT w.id AS work_order_id, w.number, w.title, w.status, w.department_id, w.asset_id, w.work_type, w.priority, w.source,
                CASE WHEN w.work_type = 'corrective' THEN w.custom_fields->>'fault_code' END AS failure_code, w.created_at,
                w.acknowledged_at, w.due_at, w.response_due_at, w.resolution_due_at, @snapshot AS snapshot_at, w.custom_fields
         FROM work_orders w WHERE w.status NOT IN ('closed', 'cancelled'))
        """;

    private const string All = $"""
        (SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, custom_fields, created_at, acknowledged_at FROM {Archived} a
         UNION ALL
         SELECT work_order_id, department_id, asset_id, work_type, priority, source, failure_code, custom_fields, created_at, acknowledged_at FROM {Open} o)
        """;

    private const string Intervals = """
        (SELECT work_order_id, status, started_at, extract(epoch FROM ended_at - started_at) AS seconds, status IN ('on_hold', 'awaiting_feedback') AS paused
         FROM (SELECT e.work_order_id, e.to_status AS status, e.occurred_at AS started_at,
                      lead(e.occurred_at) OVER (PARTITION BY e.work_order_id ORDER BY e.id) AS ended_at
               FROM work_order_events e JOIN work_orders w ON w.id = e.work_order_id
               WHERE w.status IN ('closed', 'cancelled') AND e.to_status IS NOT NULL) s
         WHERE ended_at IS NOT NULL)
        """;

    private const string Failures = $"""
        (SELECT work_order_id, number, department_id, asset_id, work_type, priority, source, custom_fields, failure_code, created_at,
                extract(epoch FROM resolved_at - created_at) / 3600.0 AS downtime_hours
         FROM {Archived} a WHERE work_type = 'corrective' AND failure_code IS NOT NULL AND status = 'closed'
         UNION ALL
         SELECT work_order_id, number, department_id, asset_id, work_type, priority, source, custom_fields, failure_code, created_at,
                extract(epoch FROM snapshot_at - created_at) / 3600.0
         FROM {Open} o WHERE work_type = 'corrective' AND failure_code IS NOT NULL)
        """;

    private const string History = """
        history AS (SELECT work_order_id, count(*) FILTER (WHERE kind = 'reject') AS rejects, count(*) FILTER (WHERE kind IN ('assign', 'auto_assigned', 'claim', 'reassign')) AS assigns
                    FROM work_order_events GROUP BY work_order_id)
        """;

    public static Command Verb()
    {
        var warehouse = Cli.WarehouseOption("the ingested DuckDB warehouse to ask");
        var runs = Cli.Whole("--runs", "timed runs of each question after one warm-up", 5, 1, 50);
        var category = new Option<string?>("--category") { Description = "ask every question of one category (fault code) only" };
        var source = new Option<string?>("--source") { Description = $"ask every question of one source only: {string.Join(", ", KpiFilter.Sources)}" };
        var field = new Option<string?>("--field") { Description = "with --field-value: ask every question of the work whose custom field holds the value" };
        var fieldValue = new Option<string?>("--field-value") { Description = "the value of --field" };
        var only = new Option<string?>("--only") { Description = "ask only the questions whose name holds this text (and skip the export)" };
        var warehouseOnly = new Option<bool>("--warehouse-only") { Description = "time the warehouse's answers alone, without PostgreSQL's (nothing is compared)" };
        var command = new Command("bench-analytics", "time every dashboard query in DuckDB beside the same question asked of PostgreSQL, and a 100k-row export")
        {
            warehouse, runs, category, source, field, fieldValue, only, warehouseOnly,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            parsed.GetRequiredValue(warehouse), parsed.GetValue(runs),
            new Filters(parsed.GetValue(category), parsed.GetValue(source), parsed.GetValue(field), parsed.GetValue(fieldValue)),
            new Scope(parsed.GetValue(only), parsed.GetValue(warehouseOnly)), cancellationToken));
        return command;
    }

    /// <summary>The filters of the command line, beside the period the benchmark picks.</summary>
    private sealed record Filters(string? Category, string? Source, string? Field, string? FieldValue);

    /// <summary>Which questions to ask (by a part of their name), and whether to ask PostgreSQL too.</summary>
    private sealed record Scope(string? Only, bool WarehouseOnly);

    private static async Task<int> RunAsync(string path, int runs, Filters filters, Scope scope, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"no warehouse at {path}; run the ingest first (--warehouse names another file)", Cli.Failed);
        }

        var builder = new NpgsqlConnectionStringBuilder(Cli.ConnectionString()) { Timezone = "UTC", CommandTimeout = 600 };
        await using var data = NpgsqlDataSource.Create(builder.ConnectionString);
        using var warehouse = WarehouseFile.Open(path);
        var snapshot = Scalar<DateTime>(warehouse, "SELECT max(snapshot_at) FROM open_work_order");
        var last = Scalar<DateTime>(warehouse, "SELECT max(created_at) FROM fact_work_order");
        var to = new DateOnly(last.Year, last.Month, 1);
        var filter = new KpiFilter(
            to.AddMonths(-12), to, Category: filters.Category, Source: filters.Source, FieldKey: filters.Field, FieldValue: filters.FieldValue);
        if (filter.Problems() is { Count: > 0 } problems)
        {
            throw new CliException(
                $"the filter cannot be asked: {string.Join("; ", problems.Select(p => $"{(p.Key == "fieldValue" ? "--field-value" : "--" + p.Key)} {p.Value}"))}", Cli.UsageError);
        }

        AnsiConsole.MarkupLine($"period [bold]{filter.Describe()}[/], {runs} runs each after one warm-up; open work as of {snapshot:yyyy-MM-dd HH:mm}");

        // The export takes the newest work of the longest period a filter may ask (ten years).
        var export = scope.Only is null ? Export(warehouse, filter with { From = filter.To.AddDays(-3660) }) : null;

        var table = new Table().AddColumns("question", "DuckDB median", "PostgreSQL median", "ratio", "same answer");
        foreach (var question in Questions(filter).Where(q => scope.Only is null || q.Name.Contains(scope.Only, StringComparison.OrdinalIgnoreCase)))
        {
            var (duckMs, duckAnswer) = Time(runs, () => question.Duck(warehouse));
            if (scope.WarehouseOnly)
            {
                table.AddRow(question.Name, $"{duckMs:N1} ms", "-", "-", "-");
                continue;
            }

            var (pgMs, pgAnswer) = await TimeAsync(runs, async () =>
            {
                var answers = new List<double[]>();
                foreach (var sql in question.Postgres)
                {
                    answers.Add(await QueryAsync(data, sql, filter, snapshot, cancellationToken));
                }

                return question.Combine?.Invoke(answers) ?? answers[0];
            });
            table.AddRow(
                question.Name, $"{duckMs:N1} ms", $"{pgMs:N0} ms", $"{pgMs / duckMs:N0}x",
                Same(duckAnswer, pgAnswer) ? "yes" : $"[red]no[/] ({Markup.Escape(Show(duckAnswer))} vs {Markup.Escape(Show(pgAnswer))})");
        }

        AnsiConsole.Write(table);
        if (export is not null)
        {
            AnsiConsole.Write(export);
        }

        return 0;
    }

    /// <summary>A question: the warehouse's answer, and the PostgreSQL statements (with how to combine their answers when several).</summary>
    private sealed record Question(string Name, Func<DuckDBConnection, double[]> Duck, string[] Postgres, Func<List<double[]>, double[]>? Combine = null);

    private static IEnumerable<Question> Questions(KpiFilter filter)
    {
        KpiQueries Kpis(DuckDBConnection w) => new(w);
        double N(double? value) => value ?? double.NaN;
        string F(string alias) => filter.PostgresWhere(alias);

        var tiles = KpiQuestions(filter).ToList();
        foreach (var (name, duck, sql) in tiles)
        {
            yield return new(name, duck, [sql(Whole)]);
        }

        // The trend asks every KPI query grouped by month; the answers compared are the monthly volumes and MTTRs.
        yield return new(
            "monthly trend (every KPI by month)",
            w => [.. Kpis(w).Monthly(filter).SelectMany(m => new[] { m.Kpis.Volume.Count, N(m.Kpis.Mttr.MeanHours) })],
            [.. tiles.Select(t => t.Sql(Monthly))],
            answers => [.. answers[0].Chunk(1).Zip(answers[2].Chunk(4)).SelectMany(p => new[] { p.First[0], p.Second[0] })]);
        yield return new("heatmap asset type x fault x month", w => Cells(new ReliabilityQueries(w).Heatmap(filter, HeatmapRows.AssetType, HeatmapMeasure.Count, TimeBucket.Month)), [$"""
            SELECT count(*), sum(n) FROM (
                SELECT coalesce(a.asset_type, '(none)'), f.failure_code, date_trunc('month', f.created_at), count(*) AS n
                FROM {Failures} f JOIN assets a ON a.id = f.asset_id
                WHERE f.created_at >= @from AND f.created_at < @to AND {F("f")} GROUP BY 1, 2, 3) c
            """]);
        // The page shows the assets with the most downtime over the period (ReliabilityQueries.DefaultHeatmapRows).
        yield return new("heatmap asset x fault x week (downtime)", w => Cells(new ReliabilityQueries(w).Heatmap(filter, HeatmapRows.Asset, HeatmapMeasure.DowntimeHours, TimeBucket.Week)), [$"""
            WITH cells AS (
                SELECT a.id AS row_key, a.code || ' ' || a.name AS row_label, f.failure_code, date_trunc('week', f.created_at), count(*) AS n,
                       coalesce(sum(f.downtime_hours), 0) AS value
                FROM {Failures} f JOIN assets a ON a.id = f.asset_id
                WHERE f.created_at >= @from AND f.created_at < @to AND {F("f")} GROUP BY 1, 2, 3, 4),
            top AS (SELECT row_key FROM cells GROUP BY row_key ORDER BY sum(value) DESC, min(row_label) LIMIT {ReliabilityQueries.DefaultHeatmapRows})
            SELECT count(*), sum(n) FROM cells WHERE row_key IN (SELECT row_key FROM top)
            """]);
        yield return new("Pareto of fault codes", w => [.. new ReliabilityQueries(w).Pareto(filter).Select(b => (double)b.Failures)], [$"""
            SELECT count(*) AS n FROM {Failures} f WHERE f.created_at >= @from AND f.created_at < @to AND {F("f")}
            GROUP BY f.failure_code ORDER BY n DESC, f.failure_code
            """]);
        yield return new("repeat failures (newest 200)", w => [.. new ReliabilityQueries(w).RepeatFailures(filter).Select(r => (double)r.WorkOrderId)], [$"""
            SELECT f.work_order_id FROM (
                SELECT *, lag(created_at) OVER w AS previous_at FROM {Failures} x
                WINDOW w AS (PARTITION BY asset_id, failure_code ORDER BY created_at, work_order_id)) f
            WHERE f.created_at >= @from AND f.created_at < @to AND f.previous_at >= f.created_at - interval '{KpiQueries.DefaultRepeatDays} days'
              AND {F("f")}
            ORDER BY f.created_at DESC LIMIT 200
            """]);
        yield return new("MTBF per asset (top 50)", w => [.. Kpis(w).MtbfByAsset(filter).Select(a => (double)a.Failures)], [$"""
            SELECT count(*) AS failures FROM {All} w JOIN assets a ON a.id = w.asset_id
            WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.created_at >= @from AND w.created_at < @to AND {F("w")}
            GROUP BY a.id, a.code ORDER BY failures DESC, a.code LIMIT 50
            """]);
        yield return new("staff by technician", w => [.. new StaffQueries(w).ByTechnician(filter).Select(s => (double)s.WorkDone)], [$"""
            WITH paused AS (SELECT work_order_id, sum(seconds) AS seconds FROM {Intervals} i WHERE paused GROUP BY work_order_id),
            {History},
            done AS (
                SELECT w.*, extract(epoch FROM w.resolved_at - w.created_at) / 3600.0 AS hours,
                       CASE WHEN w.resolution_due_at IS NULL THEN NULL
                            ELSE w.resolved_at <= w.resolution_due_at + make_interval(secs => coalesce(p.seconds, 0)) END AS sla_met,
                       coalesce(h.rejects, 0) = 0 AND coalesce(h.assigns, 0) <= 1 AS first_time
                FROM {Archived} w LEFT JOIN paused p USING (work_order_id) LEFT JOIN history h USING (work_order_id)
                WHERE w.status = 'closed' AND w.resolved_at >= @from AND w.resolved_at < @to AND {F("w")}),
            away AS (
                SELECT a.assignee_id, count(*) FILTER (WHERE a.next_assignee IS NOT NULL AND a.next_assignee <> a.assignee_id) AS moved, count(*) AS total
                FROM (SELECT (e.payload->>'assigneeId')::bigint AS assignee_id, e.occurred_at,
                             lead((e.payload->>'assigneeId')::bigint) OVER (PARTITION BY e.work_order_id ORDER BY e.id) AS next_assignee
                      FROM work_order_events e JOIN work_orders w ON w.id = e.work_order_id
                      WHERE e.kind IN ('assign', 'auto_assigned', 'claim', 'reassign') AND w.status IN ('closed', 'cancelled') AND {F("w")}) a
                WHERE a.occurred_at >= @from AND a.occurred_at < @to
                GROUP BY a.assignee_id)
            SELECT count(done.work_order_id)
            FROM users u
            LEFT JOIN done ON done.assignee_id = u.id
            LEFT JOIN away ON away.assignee_id = u.id
            WHERE u.role IN ('technician', 'manager') AND (done.work_order_id IS NOT NULL OR away.total > 0)
            GROUP BY u.id, u.display_name ORDER BY count(done.work_order_id) DESC, u.display_name
            """]);
        yield return new("drill-down: first page of the volume tile", w => new DrillDown(w).Page(filter, "volume", 0, 50) is var p ? [p.Total, .. p.Items.Select(i => (double)i.WorkOrderId)] : [], [$"""
            SELECT v FROM (
                SELECT 0 AS k, 0::bigint AS r, count(*) AS v FROM {All} w WHERE w.created_at >= @from AND w.created_at < @to AND {F("w")}
                UNION ALL
                (SELECT 1, row_number() OVER (ORDER BY w.created_at DESC, w.work_order_id DESC), w.work_order_id FROM {All} w
                 WHERE w.created_at >= @from AND w.created_at < @to AND {F("w")} ORDER BY w.created_at DESC, w.work_order_id DESC LIMIT 50)) x
            ORDER BY k, r
            """]);
    }

    private static string Whole(string anchor) => "@from::date";

    private static string Monthly(string anchor) => $"greatest(date_trunc('month', {anchor}), @from)::date";

    // The KPI questions; each SQL takes the period a row counts in (the whole period, or its month) from its anchor.
    private static IEnumerable<(string Name, Func<DuckDBConnection, double[]> Duck, Func<Func<string, string>, string> Sql)> KpiQuestions(KpiFilter filter)
    {
        KpiQueries Kpis(DuckDBConnection w) => new(w);
        double N(double? value) => value ?? double.NaN;
        string F(string alias) => filter.PostgresWhere(alias);
        const string Columns = "department_id, asset_id, work_type, priority, source, custom_fields";

        yield return ("KPI volume", w => [Kpis(w).Volume(filter).Count], p => $"""
            SELECT {p("w.created_at")} AS period, count(*) FROM {All} w WHERE w.created_at >= @from AND w.created_at < @to AND {F("w")} GROUP BY 1 ORDER BY 1
            """);
        yield return ("KPI MTTA", w => Kpi(Kpis(w).Mtta(filter)), p => $"""
            SELECT {p("w.acknowledged_at")} AS period, avg(extract(epoch FROM w.acknowledged_at - w.created_at)) / 3600.0, count(*) FROM {All} w
            WHERE w.acknowledged_at >= @from AND w.acknowledged_at < @to AND {F("w")} GROUP BY 1 ORDER BY 1
            """);
        yield return ("KPI MTTR mean/median/p90", w => Kpis(w).Mttr(filter) is var m ? [N(m.MeanHours), N(m.MedianHours), N(m.P90Hours), m.Count] : [], p => $"""
            SELECT period, avg(s) / 3600.0, percentile_cont(0.5) WITHIN GROUP (ORDER BY s) / 3600.0, percentile_cont(0.9) WITHIN GROUP (ORDER BY s) / 3600.0, count(*)
            FROM (SELECT {p("w.resolved_at")} AS period, extract(epoch FROM w.resolved_at - w.created_at) AS s FROM {Archived} w
                  WHERE w.status = 'closed' AND w.work_type = 'corrective' AND w.resolved_at >= @from AND w.resolved_at < @to AND {F("w")}) x
            GROUP BY 1 ORDER BY 1
            """);
        yield return ("KPI SLA response", w => Ratio(Kpis(w).Sla(filter).Response), p => $"""
            SELECT {p("w.response_due_at")} AS period, count(*) FILTER (WHERE w.acknowledged_at IS NOT NULL AND w.acknowledged_at <= w.response_due_at), count(*)
            FROM (SELECT {Columns}, acknowledged_at, response_due_at FROM {Archived} a WHERE status <> 'cancelled'
                  UNION ALL
                  SELECT {Columns}, acknowledged_at, response_due_at FROM {Open} o WHERE acknowledged_at IS NOT NULL OR response_due_at < snapshot_at) w
            WHERE w.response_due_at >= @from AND w.response_due_at < @to AND {F("w")} GROUP BY 1 ORDER BY 1
            """);
        yield return ("KPI SLA resolution (paused time excluded)", w => Ratio(Kpis(w).Sla(filter).Resolution), p => $"""
            WITH paused AS (SELECT work_order_id, sum(seconds) AS seconds FROM {Intervals} i WHERE paused GROUP BY work_order_id)
            SELECT {p("w.resolution_due_at")} AS period, count(*) FILTER (WHERE w.met), count(*)
            FROM (SELECT f.department_id, f.asset_id, f.work_type, f.priority, f.source, f.custom_fields, f.resolution_due_at, f.resolved_at <= f.resolution_due_at + make_interval(secs => coalesce(p.seconds, 0)) AS met
                  FROM {Archived} f LEFT JOIN paused p USING (work_order_id) WHERE f.status = 'closed'
                  UNION ALL
                  SELECT {Columns}, resolution_due_at, false FROM {Open} o WHERE resolution_due_at < snapshot_at) w
            WHERE w.resolution_due_at >= @from AND w.resolution_due_at < @to AND {F("w")} GROUP BY 1 ORDER BY 1
            """);
        // Preventive work is due when its plan's occurrence is (moved or not; a missed one counts as late), with 10% of
        // the plan's shortest calendar interval as the grace; preventive work of no plan is due at its own due date.
        foreach (var grace in new[] { false, true })
        {
            var allowance = grace ? "make_interval(secs => 0.1 * coalesce(w.interval_seconds, extract(epoch FROM w.due_at - w.created_at)))" : "interval '0'";
            yield return (grace ? "KPI PM compliance (+10%)" : "KPI PM compliance", w => Ratio(Kpis(w).PmCompliance(filter, grace)), p => $"""
                SELECT {p("w.due_at")} AS period, count(*) FILTER (WHERE w.resolved_at IS NOT NULL AND w.resolved_at <= w.due_at + {allowance}), count(*)
                FROM (SELECT {Columns}, created_at, due_at, resolved_at, NULL::float8 AS interval_seconds FROM {Archived} a
                      WHERE status <> 'cancelled' AND work_type = 'preventive' AND NOT EXISTS (SELECT 1 FROM pm_occurrences x WHERE x.work_order_id = a.work_order_id)
                      UNION ALL
                      SELECT {Columns}, created_at, due_at, NULL, NULL FROM {Open} o
                      WHERE work_type = 'preventive' AND NOT EXISTS (SELECT 1 FROM pm_occurrences x WHERE x.work_order_id = o.work_order_id)
                      UNION ALL
                      SELECT coalesce(w.department_id, t.department_id), o.asset_id, 'preventive', w.priority, 'pm', w.custom_fields, w.created_at,
                             coalesce(o.moved_to, o.due_at), w.resolved_at,
                             (SELECT min(r.every_n * CASE r.unit WHEN 'day' THEN 1 WHEN 'week' THEN 7 WHEN 'month' THEN 30.4375 WHEN 'year' THEN 365.25 END)
                              FROM pm_triggers r WHERE r.plan_id = p.id) * 86400
                      FROM pm_occurrences o JOIN pm_plans p ON p.id = o.plan_id JOIN templates t ON t.id = p.template_id
                      LEFT JOIN work_orders w ON w.id = o.work_order_id
                      WHERE o.status IN ('generated', 'missed') AND coalesce(w.status, '') <> 'cancelled') w
                WHERE w.due_at >= @from AND w.due_at < @to AND {F("w")} GROUP BY 1 ORDER BY 1
                """);
        }

        yield return ("KPI backlog by age", w => Kpis(w).Backlog(filter) is var b ? [b.Open, .. b.Ages.Select(a => (double)a.Count)] : [], _ => $"""
            SELECT (SELECT count(*) FROM {Open} o WHERE {F("o")}),
                   count(*) FILTER (WHERE age <= 7), count(*) FILTER (WHERE age > 7 AND age <= 30),
                   count(*) FILTER (WHERE age > 30 AND age <= 90), count(*) FILTER (WHERE age > 90)
            FROM (SELECT snapshot_at::date - created_at::date AS age FROM {Open} o WHERE {F("o")}) w
            """);
        yield return ("KPI first-time fix", w => Ratio(Kpis(w).FirstTimeFix(filter)), p => $"""
            WITH {History}
            SELECT {p("w.resolved_at")} AS period, count(*) FILTER (WHERE coalesce(h.rejects, 0) = 0 AND coalesce(h.assigns, 0) <= 1), count(*)
            FROM {Archived} w LEFT JOIN history h USING (work_order_id)
            WHERE w.status = 'closed' AND w.resolved_at >= @from AND w.resolved_at < @to AND {F("w")} GROUP BY 1 ORDER BY 1
            """);
        yield return ("KPI planned maintenance share", w => Kpi(Kpis(w).PlannedMaintenanceShare(filter)), p => $"""
            SELECT {p("i.started_at")} AS period,
                   coalesce(sum(i.seconds) FILTER (WHERE w.work_type = 'preventive' OR w.source = 'forecast'), 0) / nullif(sum(i.seconds), 0),
                   floor(coalesce(sum(i.seconds), 0) / 3600)
            FROM {Intervals} i JOIN {Archived} w USING (work_order_id)
            WHERE i.status = 'in_progress' AND w.work_type IN ('corrective', 'preventive') AND i.started_at >= @from AND i.started_at < @to AND {F("w")}
            GROUP BY 1 ORDER BY 1
            """);
        yield return ("KPI repeat failures", w => [Kpis(w).RepeatFailures(filter).Count], p => $"""
            SELECT {p("w.created_at")} AS period, count(*) FROM (
                SELECT w.*, lag(w.created_at) OVER (PARTITION BY w.asset_id, w.failure_code ORDER BY w.created_at, w.work_order_id) AS previous
                FROM {All} w WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL) w
            WHERE w.created_at >= @from AND w.created_at < @to AND w.previous >= w.created_at - interval '{KpiQueries.DefaultRepeatDays} days'
              AND {F("w")}
            GROUP BY 1 ORDER BY 1
            """);
        yield return ("KPI satisfaction", w => Kpi(Kpis(w).Satisfaction(filter)), p => $"""
            SELECT {p("w.closed_at")} AS period, avg(w.rating), count(*) FROM {Archived} w
            WHERE w.status = 'closed' AND w.rating IS NOT NULL AND w.closed_at >= @from AND w.closed_at < @to AND {F("w")} GROUP BY 1 ORDER BY 1
            """);
    }

    private static double[] Kpi(KpiValue value) => [value.Value ?? double.NaN, value.Count];

    private static double[] Ratio(Compliance value) => [value.Met, value.Due];

    private static double[] Cells(IReadOnlyList<HeatmapCell> cells) => [cells.Count, cells.Sum(c => c.WorkOrders)];

    private static async Task<double[]> QueryAsync(NpgsqlDataSource data, string sql, KpiFilter filter, DateTime snapshot, CancellationToken cancellationToken)
    {
        await using var command = data.CreateCommand(sql);
        command.Parameters.AddWithValue("from", filter.Start);
        command.Parameters.AddWithValue("to", filter.End);
        command.Parameters.AddWithValue("snapshot", DateTime.SpecifyKind(snapshot, DateTimeKind.Utc));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new List<double>();
        while (await reader.ReadAsync(cancellationToken))
        {
            for (var i = reader.GetName(0) == "period" ? 1 : 0; i < reader.FieldCount; i++)
            {
                values.Add(reader.IsDBNull(i) ? double.NaN : Convert.ToDouble(reader.GetValue(i), CultureInfo.InvariantCulture));
            }
        }

        return [.. values];
    }

    private static (double Ms, double[] Answer) Time(int runs, Func<double[]> run)
    {
        var answer = run();
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            answer = run();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return (Median(times), answer);
    }

    private static async Task<(double Ms, double[] Answer)> TimeAsync(int runs, Func<Task<double[]>> run)
    {
        var answer = await run();
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            answer = await run();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return (Median(times), answer);
    }

    private static double Median(List<double> times)
    {
        times.Sort();
        return times.Count % 2 == 1 ? times[times.Count / 2] : (times[(times.Count / 2) - 1] + times[times.Count / 2]) / 2;
    }

    // Equal within a thousandth: DuckDB counts whole seconds between timestamps where PostgreSQL keeps the fraction.
    private static bool Same(double[] a, double[] b) =>
        a.Length == b.Length && a.Zip(b).All(p => (double.IsNaN(p.First) && double.IsNaN(p.Second)) || Math.Abs(p.First - p.Second) <= 1e-3 * Math.Max(1, Math.Abs(p.First)));

    private static string Show(double[] values) =>
        string.Join(", ", values.Take(6).Select(v => v.ToString("0.###", CultureInfo.InvariantCulture))) + (values.Length > 6 ? $" ... ({values.Length})" : "");

    private static Table Export(DuckDBConnection warehouse, KpiFilter filter)
    {
        var table = new Table().AddColumns("export of the newest 100,000 work orders", "time", "allocated", "peak working set", "file");
        var folder = Directory.CreateTempSubdirectory("workorders-export-").FullName;
        try
        {
            foreach (var kind in new[] { "xlsx", "csv" })
            {
                var file = Path.Combine(folder, $"work-orders.{kind}");
                GC.Collect();
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var clock = Stopwatch.StartNew();
                var lines = new DrillDown(warehouse).Lines(filter, "volume", ExportRows);
                using (var stream = File.Create(file))
                {
                    if (kind == "xlsx")
                    {
                        WorkOrderExport.WriteWorkbook(stream, "Work orders behind the KPI 'volume'", filter.Describe(), lines, DateTime.UtcNow);
                    }
                    else
                    {
                        using var writer = new StreamWriter(stream);
                        WorkOrderExport.WriteCsvAsync(writer, lines, CancellationToken.None).GetAwaiter().GetResult();
                    }
                }

                var took = clock.Elapsed;
                table.AddRow(
                    kind, $"{took.TotalSeconds:F1} s", $"{(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1048576.0:N0} MiB",
                    $"{Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:N0} MiB", $"{new FileInfo(file).Length / 1048576.0:N1} MiB");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        return table;
    }

    private static T Scalar<T>(DuckDBConnection warehouse, string sql)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }
}
