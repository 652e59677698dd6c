using WorkOrders.Analytics.Staff;
using WorkOrders.Dashboard.Components.Pages.Analytics;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class DepartmentChartTests
{
    [Fact]
    public void the_chart_compares_the_departments_with_the_most_work_done_and_no_more_than_it_can_show()
    {
        // Listed as the grid sorts them (by name), work done rising and falling.
        var departments = Enumerable.Range(1, 30)
            .Select(i => new StaffPerformance(i, $"Department {i:00}", null, i % 2 == 0 ? i : 100 - i, null, null, null, null, null)).ToList();

        var charted = AnalyticsDashboard.Charted(departments);

        Assert.Equal(AnalyticsDashboard.ChartedDepartments, charted.Count);
        Assert.Equal(departments.Select(d => d.WorkDone).OrderDescending().Take(12), charted.Select(d => d.WorkDone));
        Assert.Equal(departments.Take(3), AnalyticsDashboard.Charted(departments.Take(3)).OrderBy(d => d.Id));
    }
}
