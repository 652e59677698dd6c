#:project ../src/Analytics/Analytics.csproj
#:package ScottPlot
#:property PublishAot=false

// Recurring faults: which failure codes cost the most, where they recur, and which repeat within 30 days.
using WorkOrders.Analytics.Notebooks;
using WorkOrders.Analytics.Reliability;

using var notebook = NotebookContext.Open("recurring-faults", args);
var reliability = new ReliabilityQueries(notebook.Warehouse);

var pareto = reliability.Pareto(notebook.Period);
notebook.Table("Failure codes (Pareto)", ["failure code", "failures", "cumulative share"],
    pareto.Select(b => new object?[] { b.FailureCode, b.Failures, b.CumulativeShare }));
if (pareto.Count > 0)
{
    using var plot = new ScottPlot.Plot();
    plot.Add.Bars(pareto.Select(b => (double)b.Failures).ToArray());
    plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, pareto.Count).Select(i => (double)i)], [.. pareto.Select(b => b.FailureCode)]);
    plot.Title("Failures by failure code");
    plot.YLabel("failures");
    plot.SavePng(notebook.ImagePath("pareto.png"), 900, 500);
    notebook.Chart("pareto.png", "Failures by failure code");
}

// Asset type x failure code over the whole period.
var cells = reliability.Heatmap(notebook.Period, HeatmapRows.AssetType, HeatmapMeasure.Count, TimeBucket.Month)
    .GroupBy(c => (c.RowLabel, c.FailureCode))
    .Select(g => (Type: g.Key.RowLabel, Code: g.Key.FailureCode, Count: g.Sum(c => c.Value)))
    .ToList();
var types = cells.Select(c => c.Type).Distinct().Order().ToArray();
var codes = cells.Select(c => c.Code).Distinct().Order().ToArray();
notebook.Table("Failures by asset type and failure code", ["asset type", .. codes],
    types.Select(t => (IReadOnlyList<object?>)[t, .. codes.Select(c => (object?)cells.Where(x => x.Type == t && x.Code == c).Sum(x => x.Count))]));
if (types.Length > 0)
{
    var grid = new double[types.Length, codes.Length];
    foreach (var cell in cells)
    {
        grid[Array.IndexOf(types, cell.Type), Array.IndexOf(codes, cell.Code)] = cell.Count;
    }

    using var plot = new ScottPlot.Plot();
    var heatmap = plot.Add.Heatmap(grid);
    plot.Add.ColorBar(heatmap);
    plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, codes.Length).Select(i => (double)i)], codes);
    plot.Axes.Left.SetTicks([.. Enumerable.Range(0, types.Length).Select(i => (double)(types.Length - 1 - i))], types);
    plot.Title("Failures: asset type x failure code");
    plot.SavePng(notebook.ImagePath("heatmap.png"), 900, 150 + (40 * types.Length));
    notebook.Chart("heatmap.png", "Asset type x failure code");
}

var repeats = reliability.RepeatFailures(notebook.Period, take: 25);
notebook.Table("Latest repeat failures (same asset and code within 30 days)", ["work order", "asset", "failure code", "days since previous"],
    repeats.Select(r => new object?[] { r.Number, r.AssetCode, r.FailureCode, Math.Round(r.DaysSincePrevious, 1) }));
