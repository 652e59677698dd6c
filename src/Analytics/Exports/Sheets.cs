using System.Globalization;
using ClosedXML.Excel;

namespace WorkOrders.Analytics.Exports;

/// <summary>
/// The parts every exported sheet shares: a title block with the filter and period, a bold frozen header with
/// filters, number formats per column, widths from the first rows, and text that can never become a formula.
/// </summary>
internal static class Sheets
{
    public const int HeaderRow = 4;

    // Widths come from the header and the first rows only: measuring every row is slow on large sheets.
    private const int MeasuredRows = 200;

    public static void Title(IXLWorksheet sheet, string title, string filterText, DateTime generatedAt)
    {
        sheet.Cell(1, 1).SetValue(title);
        sheet.Cell(1, 1).Style.Font.Bold = true;
        sheet.Cell(1, 1).Style.Font.FontSize = 14;
        Text(sheet.Cell(2, 1), filterText);
        sheet.Cell(3, 1).SetValue($"Generated {generatedAt:yyyy-MM-dd HH:mm} UTC from the warehouse");
    }

    public static void Header(IXLWorksheet sheet, IReadOnlyList<(string Header, string? Format)> columns)
    {
        for (var c = 0; c < columns.Count; c++)
        {
            sheet.Cell(HeaderRow, c + 1).SetValue(columns[c].Header);
        }
    }

    /// <summary>Formats the columns of rows HeaderRow+1..<paramref name="lastRow"/>, styles and freezes the header, and adds filters.</summary>
    public static void Finish(IXLWorksheet sheet, int headerRow, int lastRow, IReadOnlyList<(string Header, string? Format)> columns)
    {
        var last = Math.Max(lastRow, headerRow);
        for (var c = 0; c < columns.Count; c++)
        {
            if (columns[c].Format is { } format)
            {
                sheet.Range(headerRow + 1, c + 1, Math.Max(last, headerRow + 1), c + 1).Style.NumberFormat.Format = format;
            }
        }

        var header = sheet.Range(headerRow, 1, headerRow, columns.Count);
        header.Style.Font.Bold = true;
        header.Style.Fill.BackgroundColor = XLColor.LightGray;
        sheet.Range(headerRow, 1, last, columns.Count).SetAutoFilter();
        sheet.SheetView.FreezeRows(headerRow);
        sheet.Columns(1, columns.Count).AdjustToContents(headerRow, Math.Min(last, headerRow + MeasuredRows));
    }

    public static void Text(IXLCell cell, string text)
    {
        cell.SetValue(text);
        cell.DataType = XLDataType.Text;
        if (LooksLikeFormula(text))
        {
            cell.Style.IncludeQuotePrefix = true;
        }
    }

    public static void Value(IXLCell cell, double? value)
    {
        if (value is { } number)
        {
            cell.SetValue(number);
        }
    }

    public static string Number(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture) ?? "";

    /// <summary>Quoted always; a leading = + - @ gets an apostrophe so that a spreadsheet opening the CSV shows text, not a formula.</summary>
    public static string Csv(string text)
    {
        var safe = LooksLikeFormula(text) ? "'" + text : text;
        return "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>Text starting with = + - @, which a spreadsheet would take for a formula if it were not kept as text.</summary>
    public static bool LooksLikeFormula(string text) => text.Length > 0 && text[0] is '=' or '+' or '-' or '@';

    /// <summary>The text without the characters XML cannot hold (control characters), at most a cell's 32,767 characters.</summary>
    public static string XmlSafe(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange('\0', '\u001F') >= 0 || text.Contains('\uFFFE', StringComparison.Ordinal) || text.Contains('\uFFFF', StringComparison.Ordinal))
        {
            text = new string([.. text.Where(c => c is '\t' or '\n' or '\r' || (c >= ' ' && c is not ('\uFFFE' or '\uFFFF')))]);
        }

        return text.Length > 32_767 ? text[..32_767] : text;
    }
}
