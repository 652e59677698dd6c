using System.Globalization;
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

    /// <summary>How often a long export reports its progress, in rows.</summary>
    public const int ProgressEvery = 5_000;

    // Widths come from the header and the first rows only: measuring every row would mean holding them.
    private const int MeasuredRows = 200;

    private static readonly (string Header, string? Format)[] Columns =
    [
        ("Number", null), ("Title", null), ("Status", null), ("Work type", null), ("Priority", "0"), ("Department", null), ("Asset", null),
        ("Failure code", null), ("Created (UTC)", "yyyy-mm-dd hh:mm"), ("Acknowledged (UTC)", "yyyy-mm-dd hh:mm"), ("Resolved (UTC)", "yyyy-mm-dd hh:mm"),
        ("Hours to resolve", "0.0"),
    ];

    /// <summary>The headers of the list, the same in every format (CSV, .xlsx and Parquet).</summary>
    public static IReadOnlyList<string> Headers { get; } = [.. Columns.Select(c => c.Header)];

    /// <summary>
    /// Writes the workbook as the lines are read, holding only the first rows (to size the columns): a summary sheet
    /// and the list, with dates as dates, numbers as numbers, a frozen header with filters, and text that never becomes
    /// a formula. <paramref name="output"/> is written forward only (a file, not a buffer in memory).
    /// <paramref name="progress"/> hears the count of rows written every <see cref="ProgressEvery"/> rows and at the end.
    /// Returns how many work orders it holds.
    /// </summary>
    public static int WriteWorkbook(
        Stream output, string title, string filterText, IEnumerable<WorkOrderLine> lines, DateTime generatedAt, Action<long>? progress = null)
    {
        using var workbook = new StreamedWorkbook(output);
        var styles = Columns.Select(c => c.Format is { } f ? workbook.NumberStyle(f) : 0).ToArray();
        using var rows = lines.Take(MaxRows).GetEnumerator();

        // Widths come from the header and the first rows only: they are written before the rows.
        var first = new List<WorkOrderLine>(MeasuredRows);
        while (first.Count < MeasuredRows && rows.MoveNext())
        {
            first.Add(rows.Current);
        }

        var count = 0;
        workbook.Sheet("Work orders", 2, new SheetLayout(Widths(first), Sheets.HeaderRow), sheet =>
        {
            TitleBlock(sheet, title, filterText, generatedAt);
            sheet.StartRow();
            foreach (var (header, _) in Columns)
            {
                sheet.Text(header, StreamedWorkbook.HeaderStyle);
            }

            sheet.AutoFilterFrom(Sheets.HeaderRow, Columns.Length);
            foreach (var line in first)
            {
                Row(sheet, line, styles);
            }

            count = first.Count;
            while (rows.MoveNext())
            {
                Row(sheet, rows.Current, styles);
                if (++count % ProgressEvery == 0)
                {
                    progress?.Invoke(count);
                }
            }
        });

        workbook.Sheet("Summary", 1, new SheetLayout([28, 14]), sheet =>
        {
            TitleBlock(sheet, title, filterText, generatedAt);
            sheet.StartRow();
            sheet.Text("Work orders listed");
            sheet.Number(count, workbook.NumberStyle("#,##0"));
            sheet.StartRow();
            sheet.Text(count == MaxRows ? $"The list stops at {MaxRows:N0} rows, the newest first." : "The list is complete.");
        });
        progress?.Invoke(count);
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

    private static void TitleBlock(SheetWriter sheet, string title, string filterText, DateTime generatedAt)
    {
        sheet.StartRow();
        sheet.Text(title, StreamedWorkbook.TitleStyle);
        sheet.StartRow();
        sheet.Text(filterText);
        sheet.StartRow();
        sheet.Text(string.Create(CultureInfo.InvariantCulture, $"Generated {generatedAt:yyyy-MM-dd HH:mm} UTC from the warehouse"));
    }

    private static void Row(SheetWriter sheet, WorkOrderLine line, int[] styles)
    {
        sheet.StartRow();
        sheet.Text(line.Number);
        sheet.Text(line.Title);
        sheet.Text(line.Status);
        sheet.Text(line.WorkType);
        sheet.Number(line.Priority, styles[4]);
        sheet.Text(line.Department);
        sheet.Text(line.Asset);
        sheet.Text(line.FailureCode);
        sheet.Date(line.CreatedAt, styles[8]);
        sheet.Date(line.AcknowledgedAt, styles[9]);
        sheet.Date(line.ResolvedAt, styles[10]);
        sheet.Number(line.HoursToResolve, styles[11]);
    }

    /// <summary>Widths in characters from the header and the first rows, as a spreadsheet's "fit to contents" would give.</summary>
    private static double[] Widths(IReadOnlyList<WorkOrderLine> first)
    {
        var widths = Columns.Select(c => (double)c.Header.Length + 2).ToArray();
        foreach (var line in first)
        {
            string?[] texts = [line.Number, line.Title, line.Status, line.WorkType, null, line.Department, line.Asset, line.FailureCode];
            for (var c = 0; c < texts.Length; c++)
            {
                widths[c] = Math.Max(widths[c], (texts[c]?.Length ?? 0) + 2);
            }
        }

        for (var c = 8; c <= 10; c++)
        {
            widths[c] = Math.Max(widths[c], 17);
        }

        return [.. widths.Select(w => Math.Min(w, 60))];
    }

    private static string Stamp(DateTime? value) => value?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "";
}
