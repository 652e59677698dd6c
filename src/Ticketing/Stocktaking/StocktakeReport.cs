namespace WorkOrders.Ticketing.Stocktaking;

/// <summary>
/// One location of the report. Expected is what the register held there when the stocktake was made; moved counts the
/// expected assets found at another location (they count where they were expected, and show where they were found);
/// unexpected counts what was added there. Pending is what is not marked yet (none once closed).
/// </summary>
public sealed record StocktakeReportLine(
    long? StopId, string Code, string Name, int Depth, int Expected, int Found, int Missing, int Moved, int Unexpected, int Pending);

/// <summary>An item of the report with the location it was counted for.</summary>
public sealed record StocktakeReportItem(string StopCode, StocktakeItem Item);

public sealed record StocktakeReport(
    StocktakeSummary Stocktake, IReadOnlyList<StocktakeReportLine> Lines, StocktakeReportLine Totals, IReadOnlyList<StocktakeReportItem> Items)
{
    public static StocktakeReport Of(StocktakeDetail detail)
    {
        var byStop = detail.Items.ToLookup(i => i.StopId);
        var lines = detail.Stops.Select(stop =>
        {
            var items = byStop[stop.Id].ToList();
            return new StocktakeReportLine(
                stop.Id,
                stop.Code,
                stop.Name,
                stop.Depth,
                items.Count(i => i.Expected),
                items.Count(i => i.Outcome == ItemOutcome.Found),
                items.Count(i => i.Outcome == ItemOutcome.Missing),
                items.Count(i => i.Outcome == ItemOutcome.Elsewhere),
                items.Count(i => i.Outcome == ItemOutcome.Unexpected),
                items.Count(i => i.Outcome == ItemOutcome.Pending));
        }).ToList();
        var totals = new StocktakeReportLine(
            null,
            "",
            "",
            0,
            lines.Sum(l => l.Expected),
            lines.Sum(l => l.Found),
            lines.Sum(l => l.Missing),
            lines.Sum(l => l.Moved),
            lines.Sum(l => l.Unexpected),
            lines.Sum(l => l.Pending));
        var codes = detail.Stops.ToDictionary(s => s.Id, s => s.Code);
        return new StocktakeReport(detail.Summary, lines, totals, [.. detail.Items.Select(i => new StocktakeReportItem(codes[i.StopId], i))]);
    }
}

public sealed partial class Stocktakes
{
    /// <summary>Found / missing / moved / unexpected per location, with totals, and every item.</summary>
    public async Task<Outcome<StocktakeReport>> ReportAsync(long id, CancellationToken cancellationToken)
    {
        var detail = await GetAsync(id, cancellationToken);
        return detail.Failure is { } failure ? failure : StocktakeReport.Of(detail.Value!);
    }
}
