using System.Globalization;
using ClosedXML.Excel;
using WorkOrders.Analytics.Exports;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.PmPlanning;

namespace WorkOrders.Dashboard.Api;

/// <summary>The PM calendar as an .xlsx file, with the filters of the page: a plain download the page links to.</summary>
public static class PmCalendarApi
{
    public static IEndpointRouteBuilder MapPmCalendarApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/pm/calendar/export.xlsx", async (
                PmPlannerCalendar calendar, TimeProvider clock, CancellationToken ct, string? from = null, int weeks = 12, long? departmentId = null,
                long? planId = null, string? assetType = null) =>
            {
                var first = DateOnly.TryParseExact(from, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                    ? day
                    : DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
                var outcome = await calendar.ShowAsync(first, weeks, new PmCalendarFilter(departmentId, planId, string.IsNullOrWhiteSpace(assetType) ? null : assetType), ct);
                if (outcome.Failure is { } failure)
                {
                    return failure.ToResult();
                }

                var file = new MemoryStream();
                Write(file, outcome.Value!, clock.GetUtcNow().UtcDateTime);
                file.Position = 0;
                return Results.File(file, StaffExport.ContentType, $"pm-calendar-{outcome.Value!.FirstWeek:yyyy-MM-dd}.xlsx");
            })
            .WithTags("Preventive maintenance")
            .RequireAuthorization();
        return app;
    }

    /// <summary>Two sheets: every occurrence of the weeks, and the hours due per department and week beside the crew's capacity.</summary>
    public static void Write(Stream output, PmCalendarView view, DateTime generatedAt)
    {
        using var book = new XLWorkbook();
        var sheet = book.Worksheets.Add("Occurrences");
        string[] headers = ["Due (UTC)", "Status", "Plan", "Asset", "Asset name", "Asset type", "Department", "Hours", "Work order", "Moved from", "Reason"];
        sheet.Cell(1, 1).SetValue($"PM calendar: {view.Weeks} weeks from {view.FirstWeek:yyyy-MM-dd}");
        sheet.Cell(1, 1).Style.Font.Bold = true;
        sheet.Cell(2, 1).SetValue($"Generated {generatedAt:yyyy-MM-dd HH:mm} UTC");
        const int header = 4;
        for (var c = 0; c < headers.Length; c++)
        {
            sheet.Cell(header, c + 1).SetValue(headers[c]);
        }

        var row = header;
        foreach (var line in view.Lines)
        {
            var o = line.Occurrence;
            row++;
            sheet.Cell(row, 1).SetValue(o.DueAt);
            sheet.Cell(row, 2).SetValue(o.Status.ToString());
            Text(sheet.Cell(row, 3), o.PlanName);
            Text(sheet.Cell(row, 4), o.AssetCode);
            Text(sheet.Cell(row, 5), o.AssetName);
            Text(sheet.Cell(row, 6), line.AssetType ?? "");
            Text(sheet.Cell(row, 7), o.DepartmentName);
            sheet.Cell(row, 8).SetValue(o.EstimatedHours);
            Text(sheet.Cell(row, 9), o.WorkOrderNumber ?? "");
            if (o.OriginalDueAt is { } original)
            {
                sheet.Cell(row, 10).SetValue(original);
            }

            Text(sheet.Cell(row, 11), o.MoveReason ?? "");
        }

        sheet.Range(header + 1, 1, Math.Max(row, header + 1), 1).Style.DateFormat.Format = "yyyy-mm-dd hh:mm";
        sheet.Range(header + 1, 10, Math.Max(row, header + 1), 10).Style.DateFormat.Format = "yyyy-mm-dd hh:mm";
        Finish(sheet, header, row, headers.Length);

        var load = book.Worksheets.Add("Hours per week");
        string[] loadHeaders = ["Department", "Week of", "Hours due", "Occurrences", "Crew capacity (h)"];
        for (var c = 0; c < loadHeaders.Length; c++)
        {
            load.Cell(1, c + 1).SetValue(loadHeaders[c]);
        }

        var r = 1;
        foreach (var week in view.Loads)
        {
            r++;
            Text(load.Cell(r, 1), week.DepartmentName);
            load.Cell(r, 2).SetValue(week.Week.ToDateTime(TimeOnly.MinValue));
            load.Cell(r, 2).Style.DateFormat.Format = "yyyy-mm-dd";
            load.Cell(r, 3).SetValue(week.HoursDue);
            load.Cell(r, 4).SetValue(week.Occurrences);
            load.Cell(r, 5).SetValue(week.CapacityHours);
        }

        Finish(load, 1, r, loadHeaders.Length);
        book.SaveAs(output);
    }

    private static void Finish(IXLWorksheet sheet, int header, int last, int columns)
    {
        var head = sheet.Range(header, 1, header, columns);
        head.Style.Font.Bold = true;
        head.Style.Fill.BackgroundColor = XLColor.LightGray;
        sheet.Range(header, 1, Math.Max(last, header), columns).SetAutoFilter();
        sheet.SheetView.FreezeRows(header);
        sheet.Columns(1, columns).AdjustToContents(header, Math.Min(Math.Max(last, header), header + 200));
    }

    // Names typed by people never become formulas.
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
