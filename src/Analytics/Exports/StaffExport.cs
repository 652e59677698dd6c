using System.Globalization;
using ClosedXML.Excel;
using WorkOrders.Analytics.Kpis;
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
    private const int HeaderRow = 4;
    private const int MeasuredRows = 200;

    private static readonly (string Header, string? Format)[] Columns =
    [
        ("Name", null), ("Department", null), ("Work done", "#,##0"), ("Mean time to resolve (h)", "0.0"), ("SLA met", "0.0%"),
        ("First-time fix", "0.0%"), ("Satisfaction (1-5)", "0.00"), ("Reassigned away", "0.0%"),
    ];

    public static void WriteWorkbook(Stream output, string filterText, IReadOnlyList<StaffPerformance> technicians, IReadOnlyList<StaffPerformance> departments, DateTime generatedAt)
    {
        using var workbook = new XLWorkbook();
        var summary = workbook.AddWorksheet("Summary");
        Title(summary, "Staff performance", filterText, generatedAt);
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
        await writer.WriteLineAsync(string.Join(',', Columns.Select(c => Csv(c.Header))).AsMemory(), cancellationToken);
        foreach (var row in rows)
        {
            string[] values =
            [
                Csv(row.Name), Csv(row.Department ?? ""), row.WorkDone.ToString(CultureInfo.InvariantCulture), Number(row.MttrHours), Number(row.SlaMetShare),
                Number(row.FirstTimeFixShare), Number(row.Satisfaction), Number(row.ReassignedAwayShare),
            ];
            await writer.WriteLineAsync(string.Join(',', values).AsMemory(), cancellationToken);
        }
    }

    /// <summary>Describes a filter for the top of a sheet.</summary>
    public static string Describe(KpiFilter filter, string? departmentName = null)
    {
        var parts = new List<string> { $"Period {filter.From:yyyy-MM-dd} to {filter.To.AddDays(-1):yyyy-MM-dd} (UTC)" };
        if (filter.DepartmentId is not null)
        {
            parts.Add($"department {departmentName ?? filter.DepartmentId.Value.ToString(CultureInfo.InvariantCulture)}");
        }

        if (filter.SiteId is { } site)
        {
            parts.Add($"site {site.ToString(CultureInfo.InvariantCulture)}");
        }

        if (filter.AssetId is { } asset)
        {
            parts.Add($"asset {asset.ToString(CultureInfo.InvariantCulture)} and below");
        }

        if (filter.WorkType is not null)
        {
            parts.Add($"work type {filter.WorkType}");
        }

        if (filter.Priority is { } priority)
        {
            parts.Add($"priority P{priority.ToString(CultureInfo.InvariantCulture)}");
        }

        return string.Join("; ", parts);
    }

    private static void Sheet(IXLWorksheet sheet, string title, string filterText, DateTime generatedAt, IReadOnlyList<StaffPerformance> rows)
    {
        Title(sheet, title, filterText, generatedAt);
        for (var c = 0; c < Columns.Length; c++)
        {
            sheet.Cell(HeaderRow, c + 1).SetValue(Columns[c].Header);
        }

        var r = HeaderRow + 1;
        foreach (var row in rows)
        {
            Text(sheet.Cell(r, 1), row.Name);
            Text(sheet.Cell(r, 2), row.Department ?? "");
            sheet.Cell(r, 3).SetValue(row.WorkDone);
            Value(sheet.Cell(r, 4), row.MttrHours);
            Value(sheet.Cell(r, 5), row.SlaMetShare);
            Value(sheet.Cell(r, 6), row.FirstTimeFixShare);
            Value(sheet.Cell(r, 7), row.Satisfaction);
            Value(sheet.Cell(r, 8), row.ReassignedAwayShare);
            r++;
        }

        var last = Math.Max(r - 1, HeaderRow);
        for (var c = 0; c < Columns.Length; c++)
        {
            if (Columns[c].Format is { } format)
            {
                sheet.Range(HeaderRow + 1, c + 1, Math.Max(last, HeaderRow + 1), c + 1).Style.NumberFormat.Format = format;
            }
        }

        var header = sheet.Range(HeaderRow, 1, HeaderRow, Columns.Length);
        header.Style.Font.Bold = true;
        header.Style.Fill.BackgroundColor = XLColor.LightGray;
        sheet.Range(HeaderRow, 1, last, Columns.Length).SetAutoFilter();
        sheet.SheetView.FreezeRows(HeaderRow);
        // Widths from the header and the first rows only: measuring every row is slow on large sheets.
        sheet.Columns(1, Columns.Length).AdjustToContents(HeaderRow, Math.Min(last, HeaderRow + MeasuredRows));
    }

    private static void Title(IXLWorksheet sheet, string title, string filterText, DateTime generatedAt)
    {
        sheet.Cell(1, 1).SetValue(title);
        sheet.Cell(1, 1).Style.Font.Bold = true;
        sheet.Cell(1, 1).Style.Font.FontSize = 14;
        Text(sheet.Cell(2, 1), filterText);
        sheet.Cell(3, 1).SetValue($"Generated {generatedAt:yyyy-MM-dd HH:mm} UTC from the warehouse");
    }

    private static void Text(IXLCell cell, string text)
    {
        cell.SetValue(text);
        cell.DataType = XLDataType.Text;
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@')
        {
            cell.Style.IncludeQuotePrefix = true;
        }
    }

    private static void Value(IXLCell cell, double? value)
    {
        if (value is { } number)
        {
            cell.SetValue(number);
        }
    }

    private static string Number(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture) ?? "";

    // Quoted always; a leading = + - @ gets an apostrophe so that a spreadsheet opening the CSV shows text, not a formula.
    private static string Csv(string text)
    {
        var safe = text.Length > 0 && text[0] is '=' or '+' or '-' or '@' ? "'" + text : text;
        return "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
