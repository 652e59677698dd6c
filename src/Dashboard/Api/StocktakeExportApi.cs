using ClosedXML.Excel;
using WorkOrders.Analytics.Exports;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Stocktaking;

namespace WorkOrders.Dashboard.Api;

/// <summary>A stocktake's report as an .xlsx file: a plain download the report page links to.</summary>
public static class StocktakeExportApi
{
    public const int HeaderRow = 4;

    public static IEndpointRouteBuilder MapStocktakeExportApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/stocktakes/{id:long}/report.xlsx", async (long id, Stocktakes stocktakes, TimeProvider clock, CancellationToken ct) =>
            {
                var report = await stocktakes.ReportAsync(id, ct);
                if (report.Failure is { } failure)
                {
                    return failure.ToResult();
                }

                var file = new MemoryStream();
                Write(file, report.Value!, clock.GetUtcNow().UtcDateTime);
                file.Position = 0;
                return Results.File(file, StaffExport.ContentType, $"stocktake-{id}.xlsx");
            })
            .WithTags("Stocktaking")
            .RequireAuthorization();
        return app;
    }

    /// <summary>Two sheets: found / missing / moved / unexpected per location with a totals row, and every item counted.</summary>
    public static void Write(Stream output, StocktakeReport report, DateTime generatedAt)
    {
        using var book = new XLWorkbook();
        var s = report.Stocktake;
        var sheet = book.Worksheets.Add("Per location");
        Title(sheet, s, generatedAt);
        string[] headers = ["Location", "Location name", "Expected", "Found", "Missing", "Moved", "Unexpected", "Not counted"];
        Header(sheet, headers);
        var row = HeaderRow;
        foreach (var line in report.Lines)
        {
            row++;
            Text(sheet.Cell(row, 1), line.Code);
            Text(sheet.Cell(row, 2), line.Name);
            Counts(sheet, row, line);
        }

        row++;
        sheet.Cell(row, 1).SetValue("Total");
        Counts(sheet, row, report.Totals);
        sheet.Row(row).Style.Font.Bold = true;
        Finish(sheet, row, headers.Length);

        var items = book.Worksheets.Add("Assets");
        Title(items, s, generatedAt);
        string[] itemHeaders = ["Location", "Asset", "Name or description", "Expected here", "Outcome", "Found at", "Condition", "Criticality", "Work order", "Note"];
        Header(items, itemHeaders);
        var r = HeaderRow;
        foreach (var (stopCode, item) in report.Items)
        {
            r++;
            Text(items.Cell(r, 1), stopCode);
            Text(items.Cell(r, 2), item.Code ?? "");
            Text(items.Cell(r, 3), item.Name);
            items.Cell(r, 4).SetValue(item.Expected ? "yes" : "no");
            items.Cell(r, 5).SetValue(WireNames.Of(item.Outcome));
            Text(items.Cell(r, 6), item.FoundLocationCode ?? "");
            items.Cell(r, 7).SetValue(item.Condition is { } c ? WireNames.Of(c) : "");
            if (item.Criticality is { } criticality)
            {
                items.Cell(r, 8).SetValue(criticality);
            }

            Text(items.Cell(r, 9), item.WorkOrderNumber ?? "");
            Text(items.Cell(r, 10), item.Note ?? "");
        }

        Finish(items, r, itemHeaders.Length);
        book.SaveAs(output);
    }

    private static void Title(IXLWorksheet sheet, StocktakeSummary s, DateTime generatedAt)
    {
        Text(sheet.Cell(1, 1), $"Stocktake {s.Id}: {s.RootCode} {s.RootName}");
        sheet.Cell(1, 1).Style.Font.Bold = true;
        sheet.Cell(1, 1).Style.Font.FontSize = 14;
        Text(sheet.Cell(2, 1), $"Counter: {s.CounterName}; {WireNames.Of(s.Status)}{(s.ClosedAt is { } closed ? $" {closed:yyyy-MM-dd HH:mm} UTC" : "")}");
        sheet.Cell(3, 1).SetValue($"Generated {generatedAt:yyyy-MM-dd HH:mm} UTC");
    }

    private static void Header(IXLWorksheet sheet, string[] headers)
    {
        for (var c = 0; c < headers.Length; c++)
        {
            sheet.Cell(HeaderRow, c + 1).SetValue(headers[c]);
        }
    }

    private static void Counts(IXLWorksheet sheet, int row, StocktakeReportLine line)
    {
        sheet.Cell(row, 3).SetValue(line.Expected);
        sheet.Cell(row, 4).SetValue(line.Found);
        sheet.Cell(row, 5).SetValue(line.Missing);
        sheet.Cell(row, 6).SetValue(line.Moved);
        sheet.Cell(row, 7).SetValue(line.Unexpected);
        sheet.Cell(row, 8).SetValue(line.Pending);
    }

    private static void Finish(IXLWorksheet sheet, int last, int columns)
    {
        var head = sheet.Range(HeaderRow, 1, HeaderRow, columns);
        head.Style.Font.Bold = true;
        head.Style.Fill.BackgroundColor = XLColor.LightGray;
        sheet.Range(HeaderRow, 1, Math.Max(last, HeaderRow), columns).SetAutoFilter();
        sheet.SheetView.FreezeRows(HeaderRow);
        sheet.Columns(1, columns).AdjustToContents(HeaderRow, Math.Min(Math.Max(last, HeaderRow), HeaderRow + 200));
    }

    // Codes, names and descriptions typed by people never become formulas.
    private static void Text(IXLCell cell, string text)
    {
        cell.SetValue(text);
        cell.DataType = XLDataType.Text;
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@')
        {
            cell.Style.IncludeQuotePrefix = true;
        }
    }
}
