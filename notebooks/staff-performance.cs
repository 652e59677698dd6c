#:project ../src/Analytics/Analytics.csproj
#:package ScottPlot
#:property PublishAot=false

// Staff performance: work done, time to resolve, SLA, first-time fix and satisfaction per technician and department.
using WorkOrders.Analytics.Notebooks;
using WorkOrders.Analytics.Staff;

using var notebook = NotebookContext.Open("staff-performance", args);
var staff = new StaffQueries(notebook.Warehouse);
string[] headers = ["name", "department", "work done", "mean hours to resolve", "SLA met", "first-time fix", "satisfaction", "reassigned away"];
static object?[] Row(StaffPerformance s) =>
    [s.Name, s.Department, s.WorkDone, s.MttrHours, s.SlaMetShare, s.FirstTimeFixShare, s.Satisfaction, s.ReassignedAwayShare];

var departments = staff.ByDepartment(notebook.Period);
notebook.Table("By department", headers, departments.Select(Row));
var technicians = staff.ByTechnician(notebook.Period);
notebook.Table("By technician", headers, technicians.Select(Row));

var top = technicians.Where(t => t.WorkDone > 0).Take(20).ToList();
if (top.Count > 0)
{
    using var plot = new ScottPlot.Plot();
    plot.Add.Bars(top.Select(t => (double)t.WorkDone).ToArray());
    plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, top.Count).Select(i => (double)i)], [.. top.Select(t => t.Name)]);
    plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
    plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
    plot.Title("Work done per technician");
    plot.SavePng(notebook.ImagePath("work-done.png"), 1000, 550);
    notebook.Chart("work-done.png", "Work done per technician");

    using var scatter = new ScottPlot.Plot();
    var rated = top.Where(t => t.MttrHours is not null && t.Satisfaction is not null).ToList();
    scatter.Add.ScatterPoints(rated.Select(t => t.MttrHours!.Value).ToArray(), rated.Select(t => t.Satisfaction!.Value).ToArray());
    scatter.XLabel("mean hours to resolve");
    scatter.YLabel("satisfaction (1-5)");
    scatter.Title("Speed and satisfaction");
    scatter.SavePng(notebook.ImagePath("speed-satisfaction.png"), 800, 500);
    notebook.Chart("speed-satisfaction.png", "Speed and satisfaction");
}
