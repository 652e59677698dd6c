using System.Globalization;
using ClosedXML.Excel;
using WorkOrders.Analytics.Staff;

namespace WorkOrders.Analytics.Exports;

/// <summary>
/// The staff-performance spreadsheet: a summary sheet, then one sheet per view, each with the period and filter at
/// the top, a frozen header with filters, number formats and widths. Text that a spreadsheet could take for a
/// formula (starting with = + - @) is written as text.
/// </summary>
public static class StaffExport
{
    public const string ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    private const int HeaderRow = Sheets.HeaderRow;

    private static readonly (string Header, string? Format)[] Columns =
    [
        ("Name", null), ("Department", null), ("Work done", "#,##0"), ("Mean time to resolve (h)", "0.0"), ("SLA met", "0.0%"),
        ("First-time fix", "0.0%"), ("Satisfaction (1-5)", "0.00"), ("Reassigned away", "0.0%"),
    ];

    public static void WriteWorkbook(Stream output, string filterText, IReadOnlyList<StaffPerformance> technicians, IReadOnlyList<StaffPerformance> departments, DateTime generatedAt)
    {
        using var workbook = new XLWorkbook();
        var summary = workbook.AddWorksheet("Summary");
        Sheets.Title(summary, "Staff performance", filterText, generatedAt);
        summary.Cell(HeaderRow, 1).SetValue("View");
        summary.Cell(HeaderRow, 2).SetValue("Rows");
        summary.Cell(HeaderRow, 3).SetValue("Work done");
        summary.Cell(HeaderRow + 1, 1).SetValue("Technicians");
        summary.Cell(HeaderRow + 1, 2).SetValue(technicians.Count);
        summary.Cell(HeaderRow + 1, 3).SetValue(technicians.Sum(t => t.WorkDone));
        summary.Cell(HeaderRow + 2, 1).SetValue("Departments");
        summary.Cell(HeaderRow + 2, 2).SetValue(departments.Count);
        summary.Cell(HeaderRow + 2, 3).SetValue(departments.Sum(d => d.WorkDone));
        summary.Row(HeaderRow).Style.Font.Bold = true;
        summary.Columns(1, 3).AdjustToContents(HeaderRow, HeaderRow + 2);

        Sheet(workbook.AddWorksheet("Technicians"), "Staff performance by technician", filterText, generatedAt, technicians);
        Sheet(workbook.AddWorksheet("Departments"), "Staff performance by department", filterText, generatedAt, departments);
        workbook.SaveAs(output);
    }

    public static async Task WriteCsvAsync(TextWriter writer, IReadOnlyList<StaffPerformance> rows, CancellationToken cancellationToken)
    {
        await writer.WriteLineAsync(string.Join(',', Columns.Select(c => Sheets.Csv(c.Header))).AsMemory(), cancellationToken);
        foreach (var row in rows)
        {
            string[] values =
            [
                Sheets.Csv(row.Name), Sheets.Csv(row.Department ?? ""), row.WorkDone.ToString(CultureInfo.InvariantCulture), Sheets.Number(row.MttrHours), Sheets.Number(row.SlaMetShare),
                Sheets.Number(row.FirstTimeFixShare), Sheets.Number(row.Satisfaction), Sheets.Number(row.ReassignedAwayShare),
            ];
            await writer.WriteLineAsync(string.Join(',', values).AsMemory(), cancellationToken);
        }
    }

    private static void Sheet(IXLWorksheet sheet, string title, string filterText, DateTime generatedAt, IReadOnlyList<StaffPerformance> rows)
    {
        Sheets.Title(sheet, title, filterText, generatedAt);
        Sheets.Header(sheet, Columns);
        var r = HeaderRow + 1;
        foreach (var row in rows)
        {
            Sheets.Text(sheet.Cell(r, 1), row.Name);
            Sheets.Text(sheet.Cell(r, 2), row.Department ?? "");
            sheet.Cell(r, 3).SetValue(row.WorkDone);
            Sheets.Value(sheet.Cell(r, 4), row.MttrHours);
            Sheets.Value(sheet.Cell(r, 5), row.SlaMetShare);
            Sheets.Value(sheet.Cell(r, 6), row.FirstTimeFixShare);
            Sheets.Value(sheet.Cell(r, 7), row.Satisfaction);
            Sheets.Value(sheet.Cell(r, 8), row.ReassignedAwayShare);
            r++;
        }

        Sheets.Finish(sheet, HeaderRow, r - 1, Columns);
    }
}
