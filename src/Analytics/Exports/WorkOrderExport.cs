using System.Globalization;
using ClosedXML.Excel;
using WorkOrders.Analytics.Kpis;

namespace WorkOrders.Analytics.Exports;

/// <summary>
/// The work orders behind a figure as a spreadsheet (a summary sheet and the list) or CSV, for managers who take
/// the list further. A sheet holds at most <see cref="MaxRows"/> rows; the summary says when the list was cut.
/// </summary>
public static class WorkOrderExport
{
    /// <summary>Below Excel's 1,048,576 rows per sheet, leaving room for the title block.</summary>
    public const int MaxRows = 1_000_000;

    private static readonly (string Header, string? Format)[] Columns =
    [
        ("Number", null), ("Title", null), ("Status", null), ("Work type", null), ("Priority", "0"), ("Department", null), ("Asset", null),
        ("Failure code", null), ("Created (UTC)", "yyyy-mm-dd hh:mm"), ("Acknowledged (UTC)", "yyyy-mm-dd hh:mm"), ("Resolved (UTC)", "yyyy-mm-dd hh:mm"),
        ("Hours to resolve", "0.0"),
    ];

    /// <summary>Writes the workbook; returns how many work orders it holds.</summary>
    public static int WriteWorkbook(Stream output, string title, string filterText, IEnumerable<WorkOrderLine> lines, DateTime generatedAt)
    {
        using var workbook = new XLWorkbook();
        var summary = workbook.AddWorksheet("Summary");
        var sheet = workbook.AddWorksheet("Work orders");
        Sheets.Title(sheet, title, filterText, generatedAt);
        Sheets.Header(sheet, Columns);
        var r = Sheets.HeaderRow;
        foreach (var line in lines.Take(MaxRows))
        {
            r++;
            Sheets.Text(sheet.Cell(r, 1), line.Number);
            Sheets.Text(sheet.Cell(r, 2), line.Title);
            Sheets.Text(sheet.Cell(r, 3), line.Status);
            Sheets.Text(sheet.Cell(r, 4), line.WorkType);
            sheet.Cell(r, 5).SetValue(line.Priority);
            Sheets.Text(sheet.Cell(r, 6), line.Department);
            Sheets.Text(sheet.Cell(r, 7), line.Asset ?? "");
            Sheets.Text(sheet.Cell(r, 8), line.FailureCode ?? "");
            sheet.Cell(r, 9).SetValue(line.CreatedAt);
            Time(sheet.Cell(r, 10), line.AcknowledgedAt);
            Time(sheet.Cell(r, 11), line.ResolvedAt);
            Sheets.Value(sheet.Cell(r, 12), line.HoursToResolve);
        }

        Sheets.Finish(sheet, Sheets.HeaderRow, r, Columns);
        var count = r - Sheets.HeaderRow;

        Sheets.Title(summary, title, filterText, generatedAt);
        summary.Cell(Sheets.HeaderRow, 1).SetValue("Work orders listed");
        summary.Cell(Sheets.HeaderRow, 2).SetValue(count);
        summary.Cell(Sheets.HeaderRow + 1, 1).SetValue(count == MaxRows ? $"The list stops at {MaxRows:N0} rows, the newest first." : "The list is complete.");
        summary.Column(1).Width = 28;
        workbook.SaveAs(output);
        return count;
    }

    public static async Task WriteCsvAsync(TextWriter writer, IEnumerable<WorkOrderLine> lines, CancellationToken cancellationToken)
    {
        await writer.WriteLineAsync(string.Join(',', Columns.Select(c => Sheets.Csv(c.Header))).AsMemory(), cancellationToken);
        foreach (var line in lines.Take(MaxRows))
        {
            string[] values =
            [
                Sheets.Csv(line.Number), Sheets.Csv(line.Title), Sheets.Csv(line.Status), Sheets.Csv(line.WorkType),
                line.Priority.ToString(CultureInfo.InvariantCulture), Sheets.Csv(line.Department), Sheets.Csv(line.Asset ?? ""), Sheets.Csv(line.FailureCode ?? ""),
                Stamp(line.CreatedAt), Stamp(line.AcknowledgedAt), Stamp(line.ResolvedAt), Sheets.Number(line.HoursToResolve),
            ];
            await writer.WriteLineAsync(string.Join(',', values).AsMemory(), cancellationToken);
        }
    }

    private static void Time(IXLCell cell, DateTime? value)
    {
        if (value is { } time)
        {
            cell.SetValue(time);
        }
    }

    private static string Stamp(DateTime? value) => value?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "";
}
