#:project ../src/Analytics/Analytics.csproj
#:package ScottPlot
#:property PublishAot=false

// Backlog: open work by age and department now, and weekly work created against work archived.
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Notebooks;

using var notebook = NotebookContext.Open("backlog", args);
var kpis = new KpiQueries(notebook.Warehouse);

var backlog = kpis.Backlog(notebook.Period);
notebook.Line($"Open work orders at the last ingest: **{backlog.Open}**.");
notebook.Line();
notebook.Table("Open work by age", ["age", "work orders"], backlog.Ages.Select(a => new object?[] { a.Bucket, a.Count }));

using (var command = notebook.Warehouse.CreateCommand())
{
    command.CommandText = """
        SELECT d.name, count(*), count(*) FILTER (WHERE o.priority = 1), round(avg(date_diff('hour', o.created_at, o.snapshot_at)) / 24.0, 1)
        FROM open_work_order o JOIN dim_department d USING (department_id) GROUP BY d.name ORDER BY count(*) DESC
        """;
    using var reader = command.ExecuteReader();
    var rows = new List<object?[]>();
    while (reader.Read())
    {
        rows.Add([reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(3)]);
    }

    notebook.Table("Open work by department", ["department", "open", "P1", "mean age (days)"], rows);
}

var weeks = new List<(DateTime Week, double Created, double Archived)>();
using (var command = notebook.Warehouse.CreateCommand())
{
    command.CommandText = """
        WITH weeks AS (SELECT range AS week FROM range(date_trunc('week', $from::TIMESTAMP), $to::TIMESTAMP, INTERVAL 7 DAY))
        SELECT w.week,
               (SELECT count(*) FROM (SELECT created_at FROM fact_work_order UNION ALL SELECT created_at FROM open_work_order) c
                WHERE c.created_at >= w.week AND c.created_at < w.week + INTERVAL 7 DAY),
               (SELECT count(*) FROM fact_work_order a WHERE a.closed_at >= w.week AND a.closed_at < w.week + INTERVAL 7 DAY)
        FROM weeks w ORDER BY w.week
        """;
    command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("from", notebook.Period.Start));
    command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("to", notebook.Period.End));
    using var reader = command.ExecuteReader();
    while (reader.Read())
    {
        weeks.Add((reader.GetDateTime(0), reader.GetInt64(1), reader.GetInt64(2)));
    }
}

notebook.Table("Last 12 weeks: created and archived", ["week", "created", "archived"],
    weeks.TakeLast(12).Select(w => new object?[] { w.Week.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), w.Created, w.Archived }));
if (weeks.Count > 1)
{
    using var plot = new ScottPlot.Plot();
    var xs = weeks.Select(w => w.Week.ToOADate()).ToArray();
    plot.Add.Scatter(xs, weeks.Select(w => w.Created).ToArray()).LegendText = "created";
    plot.Add.Scatter(xs, weeks.Select(w => w.Archived).ToArray()).LegendText = "archived";
    plot.Axes.DateTimeTicksBottom();
    plot.ShowLegend();
    plot.Title("Work created and archived per week");
    plot.SavePng(notebook.ImagePath("weekly.png"), 1000, 450);
    notebook.Chart("weekly.png", "Work created and archived per week");
}
