using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Xml;
using DocumentFormat.OpenXml;
using DocumentFormat.OpenXml.Spreadsheet;

namespace WorkOrders.Analytics.Exports;

/// <summary>
/// An .xlsx written part by part into a zip as the rows come, so memory stays flat whatever the row count. The
/// OpenXML SDK's package classes cannot do that (they open a new package for update, which keeps every part in memory
/// until it is saved), so the package is a plain zip in create mode and each sheet is written by an
/// <see cref="OpenXmlWriter"/> straight into its entry. Strings are inline (no shared-string table to hold); the styles
/// part is written last, holding each number format the sheets asked for.
/// </summary>
internal sealed class StreamedWorkbook : IDisposable
{
    public const int TitleStyle = 1;
    public const int HeaderStyle = 2;

    /// <summary>Text a spreadsheet could take for a formula: shown as text, also once the cell is edited.</summary>
    public const int QuotedTextStyle = 3;

    private const string Relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    private const string PackageRelationships = "http://schemas.openxmlformats.org/package/2006/relationships";
    private const int FixedStyles = 4;

    private static readonly Dictionary<string, int> BuiltInFormats = new(StringComparer.Ordinal)
    {
        ["0"] = 1, ["0.00"] = 2, ["#,##0"] = 3, ["#,##0.00"] = 4, ["0%"] = 9, ["0.00%"] = 10,
    };

    private readonly ZipArchive _zip;
    private readonly List<(string Name, int Position, string? FilterRange)> _sheets = [];
    private readonly List<string> _formats = [];

    public StreamedWorkbook(Stream output)
    {
        _zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true, Encoding.UTF8);
    }

    /// <summary>The cell style that shows numbers with <paramref name="format"/> (an Excel number format).</summary>
    public int NumberStyle(string format)
    {
        var index = _formats.IndexOf(format);
        if (index < 0)
        {
            _formats.Add(format);
            index = _formats.Count - 1;
        }

        return FixedStyles + index;
    }

    /// <summary>
    /// Writes one sheet now; <paramref name="position"/> orders the sheets in the workbook, so a summary that needs the
    /// list's count can be written after the list and still come first.
    /// </summary>
    public void Sheet(string name, int position, SheetLayout layout, Action<SheetWriter> write)
    {
        var entry = _zip.CreateEntry($"xl/worksheets/sheet{_sheets.Count + 1}.xml", CompressionLevel.Fastest);
        using (var stream = entry.Open())
        using (var writer = new SheetWriter(OpenXmlWriter.Create(stream), layout))
        {
            write(writer);
            writer.Finish();
            _sheets.Add((name, position, writer.FilterRange));
        }
    }

    public void Dispose()
    {
        try
        {
            WritePackageParts();
        }
        finally
        {
            _zip.Dispose();
        }
    }

    private void WritePackageParts()
    {
        Xml("[Content_Types].xml", x =>
        {
            x.WriteStartElement("Types", "http://schemas.openxmlformats.org/package/2006/content-types");
            Default(x, "rels", "application/vnd.openxmlformats-package.relationships+xml");
            Default(x, "xml", "application/xml");
            Override(x, "/xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml");
            Override(x, "/xl/styles.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml");
            for (var i = 1; i <= _sheets.Count; i++)
            {
                Override(x, $"/xl/worksheets/sheet{i}.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml");
            }

            x.WriteEndElement();
        });
        Xml("_rels/.rels", x =>
        {
            x.WriteStartElement("Relationships", PackageRelationships);
            Relationship(x, "rId1", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument", "xl/workbook.xml");
            x.WriteEndElement();
        });
        Xml("xl/_rels/workbook.xml.rels", x =>
        {
            x.WriteStartElement("Relationships", PackageRelationships);
            for (var i = 1; i <= _sheets.Count; i++)
            {
                Relationship(x, $"rId{i}", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet", $"worksheets/sheet{i}.xml");
            }

            Relationship(x, $"rId{_sheets.Count + 1}", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles", "styles.xml");
            x.WriteEndElement();
        });

        var order = _sheets.Select((s, i) => (Sheet: s, Part: i + 1)).OrderBy(s => s.Sheet.Position).ToList();
        var sheets = new DocumentFormat.OpenXml.Spreadsheet.Sheets();
        var names = new DefinedNames();
        for (var i = 0; i < order.Count; i++)
        {
            var (sheet, part) = order[i];
            sheets.Append(new Sheet { Name = sheet.Name, SheetId = (uint)(i + 1), Id = $"rId{part}" });
            if (sheet.FilterRange is { } range)
            {
                // Excel keeps a sheet's filter range under this hidden name; without it some versions drop the filter buttons.
                names.Append(new DefinedName($"'{sheet.Name.Replace("'", "''", StringComparison.Ordinal)}'!{range}")
                {
                    Name = "_xlnm._FilterDatabase", LocalSheetId = (uint)i, Hidden = true,
                });
            }
        }

        var workbook = new Workbook(sheets);
        if (names.HasChildren)
        {
            workbook.Append(names);
        }

        workbook.AddNamespaceDeclaration("r", Relationships);
        Part("xl/workbook.xml", workbook);
        Part("xl/styles.xml", Styles());
    }

    private Stylesheet Styles()
    {
        var formats = new NumberingFormats();
        var cellFormats = new CellFormats(
            new CellFormat { FontId = 0, FillId = 0, BorderId = 0, FormatId = 0 },
            new CellFormat { FontId = 2, FillId = 0, BorderId = 0, FormatId = 0, ApplyFont = true },
            new CellFormat { FontId = 1, FillId = 2, BorderId = 0, FormatId = 0, ApplyFont = true, ApplyFill = true },
            new CellFormat { FontId = 0, FillId = 0, BorderId = 0, FormatId = 0, QuotePrefix = true });
        uint custom = 164;
        foreach (var format in _formats)
        {
            if (!BuiltInFormats.TryGetValue(format, out var id))
            {
                id = (int)custom++;
                formats.Append(new NumberingFormat { NumberFormatId = (uint)id, FormatCode = format });
            }

            cellFormats.Append(new CellFormat { NumberFormatId = (uint)id, FontId = 0, FillId = 0, BorderId = 0, FormatId = 0, ApplyNumberFormat = true });
        }

        var stylesheet = new Stylesheet();
        if (formats.HasChildren)
        {
            formats.Count = (uint)formats.ChildElements.Count;
            stylesheet.Append(formats);
        }

        stylesheet.Append(
            new Fonts(Font(false, 11), Font(true, 11), Font(true, 14)) { Count = 3 },
            new Fills(
                new Fill(new PatternFill { PatternType = PatternValues.None }),
                new Fill(new PatternFill { PatternType = PatternValues.Gray125 }),
                new Fill(new PatternFill(new ForegroundColor { Rgb = "FFD3D3D3" }, new BackgroundColor { Indexed = 64 }) { PatternType = PatternValues.Solid })) { Count = 3 },
            new Borders(new Border(new LeftBorder(), new RightBorder(), new TopBorder(), new BottomBorder(), new DiagonalBorder())) { Count = 1 },
            new CellStyleFormats(new CellFormat { NumberFormatId = 0, FontId = 0, FillId = 0, BorderId = 0 }) { Count = 1 });
        cellFormats.Count = (uint)cellFormats.ChildElements.Count;
        stylesheet.Append(cellFormats, new CellStyles(new CellStyle { Name = "Normal", FormatId = 0, BuiltinId = 0 }) { Count = 1 });
        return stylesheet;
    }

    private static Font Font(bool bold, double size)
    {
        var font = new Font();
        if (bold)
        {
            font.Append(new Bold());
        }

        font.Append(new FontSize { Val = size }, new FontName { Val = "Calibri" }, new FontFamilyNumbering { Val = 2 });
        return font;
    }

    private void Part(string path, OpenXmlElement root)
    {
        using var stream = _zip.CreateEntry(path, CompressionLevel.Fastest).Open();
        using var writer = OpenXmlWriter.Create(stream);
        writer.WriteStartDocument(true);
        writer.WriteElement(root);
    }

    private void Xml(string path, Action<XmlWriter> write)
    {
        using var stream = _zip.CreateEntry(path, CompressionLevel.Fastest).Open();
        using var writer = XmlWriter.Create(stream, new XmlWriterSettings { Encoding = new UTF8Encoding(false) });
        writer.WriteStartDocument(true);
        write(writer);
        writer.WriteEndDocument();
    }

    private static void Default(XmlWriter x, string extension, string contentType)
    {
        x.WriteStartElement("Default", "http://schemas.openxmlformats.org/package/2006/content-types");
        x.WriteAttributeString("Extension", extension);
        x.WriteAttributeString("ContentType", contentType);
        x.WriteEndElement();
    }

    private static void Override(XmlWriter x, string part, string contentType)
    {
        x.WriteStartElement("Override", "http://schemas.openxmlformats.org/package/2006/content-types");
        x.WriteAttributeString("PartName", part);
        x.WriteAttributeString("ContentType", contentType);
        x.WriteEndElement();
    }

    private static void Relationship(XmlWriter x, string id, string type, string target)
    {
        x.WriteStartElement("Relationship", PackageRelationships);
        x.WriteAttributeString("Id", id);
        x.WriteAttributeString("Type", type);
        x.WriteAttributeString("Target", target);
        x.WriteEndElement();
    }

    internal static string ColumnName(int column)
    {
        var name = "";
        for (var c = column; c > 0; c = (c - 1) / 26)
        {
            name = (char)('A' + ((c - 1) % 26)) + name;
        }

        return name;
    }
}

/// <summary>
/// How a streamed sheet starts: the column widths (in characters) and the rows frozen at the top. Written before the
/// first row, because the file format wants them there.
/// </summary>
internal sealed record SheetLayout(IReadOnlyList<double> Widths, int FrozenRows = 0);

/// <summary>
/// Writes the rows of one sheet, top to bottom: <see cref="StartRow"/>, the cells left to right (an empty cell is
/// skipped), then the next row. Text is written inline; numbers and dates as numbers with the style given.
/// </summary>
internal sealed class SheetWriter : IDisposable
{
    private static readonly Row RowElement = new();
    private static readonly Cell CellElement = new();
    private static readonly CellValue ValueElement = new();
    private static readonly InlineString InlineElement = new();
    private static readonly Text TextElement = new();
    private static readonly string[] StyleNames = [.. Enumerable.Range(0, 64).Select(i => i.ToString(CultureInfo.InvariantCulture))];
    private static readonly string[] Names = [.. Enumerable.Range(1, 200).Select(StreamedWorkbook.ColumnName)];

    private readonly OpenXmlWriter _writer;
    private readonly OpenXmlAttribute[] _rowAttributes = [new("r", "", "1")];
    private readonly OpenXmlAttribute[] _numberAttributes = [new("r", "", "A1"), new("s", "", "0")];
    private readonly OpenXmlAttribute[] _textAttributes = [new("r", "", "A1"), new("s", "", "0"), new("t", "", "inlineStr")];
    private readonly OpenXmlAttribute[] _preserve = [new("xml", "space", "http://www.w3.org/XML/1998/namespace", "preserve")];
    private int _row;
    private string _rowText = "0";
    private int _column;
    private bool _inRow;
    private (int FirstRow, int Columns)? _filter;

    public SheetWriter(OpenXmlWriter writer, SheetLayout layout)
    {
        _writer = writer;
        _writer.WriteStartDocument(true);
        _writer.WriteStartElement(new Worksheet());
        if (layout.FrozenRows > 0)
        {
            var topLeft = $"A{(layout.FrozenRows + 1).ToString(CultureInfo.InvariantCulture)}";
            _writer.WriteElement(new SheetViews(new SheetView(
                new Pane { VerticalSplit = layout.FrozenRows, TopLeftCell = topLeft, ActivePane = PaneValues.BottomLeft, State = PaneStateValues.Frozen },
                new Selection { Pane = PaneValues.BottomLeft, ActiveCell = topLeft, SequenceOfReferences = new ListValue<StringValue> { InnerText = topLeft } })
            {
                WorkbookViewId = 0,
            }));
        }

        if (layout.Widths.Count > 0)
        {
            var columns = new Columns();
            for (var c = 0; c < layout.Widths.Count; c++)
            {
                columns.Append(new Column { Min = (uint)(c + 1), Max = (uint)(c + 1), Width = layout.Widths[c], CustomWidth = true });
            }

            _writer.WriteElement(columns);
        }

        _writer.WriteStartElement(new SheetData());
    }

    /// <summary>The last row written (1-based); 0 before the first.</summary>
    public int Row => _row;

    /// <summary>The autofilter's range, once <see cref="AutoFilterFrom"/> was called.</summary>
    public string? FilterRange { get; private set; }

    public void StartRow()
    {
        EndRow();
        _row++;
        _column = 0;
        _rowText = _row.ToString(CultureInfo.InvariantCulture);
        _rowAttributes[0] = new("r", "", _rowText);
        _writer.WriteStartElement(RowElement, _rowAttributes);
        _inRow = true;
    }

    public void Skip() => _column++;

    /// <summary>Text as text: one that a spreadsheet could take for a formula gets the quote-prefix style.</summary>
    public void Text(string? text, int style = 0)
    {
        _column++;
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        var safe = Sheets.XmlSafe(text);
        _textAttributes[0] = new("r", "", Reference());
        _textAttributes[1] = new("s", "", Style(style == 0 && Sheets.LooksLikeFormula(safe) ? StreamedWorkbook.QuotedTextStyle : style));
        _writer.WriteStartElement(CellElement, _textAttributes);
        _writer.WriteStartElement(InlineElement);
        if (safe.Length > 0 && (char.IsWhiteSpace(safe[0]) || char.IsWhiteSpace(safe[^1])))
        {
            _writer.WriteStartElement(TextElement, _preserve);
        }
        else
        {
            _writer.WriteStartElement(TextElement);
        }

        _writer.WriteString(safe);
        _writer.WriteEndElement();
        _writer.WriteEndElement();
        _writer.WriteEndElement();
    }

    public void Number(double? value, int style = 0)
    {
        _column++;
        if (value is not { } number || double.IsNaN(number) || double.IsInfinity(number))
        {
            return;
        }

        _numberAttributes[0] = new("r", "", Reference());
        _numberAttributes[1] = new("s", "", Style(style));
        _writer.WriteStartElement(CellElement, _numberAttributes);
        _writer.WriteStartElement(ValueElement);
        _writer.WriteString(number.ToString("R", CultureInfo.InvariantCulture));
        _writer.WriteEndElement();
        _writer.WriteEndElement();
    }

    /// <summary>A date and time as Excel's serial number, shown by the date format of <paramref name="style"/>.</summary>
    public void Date(DateTime? value, int style)
    {
        if (value is { } time)
        {
            Number(time.ToOADate(), style);
        }
        else
        {
            _column++;
        }
    }

    /// <summary>Filters on the columns of <paramref name="headerRow"/> (1-based), over the rows written below it.</summary>
    public void AutoFilterFrom(int headerRow, int columns) => _filter = (headerRow, columns);

    public void Finish()
    {
        EndRow();
        _writer.WriteEndElement();
        if (_filter is { } filter)
        {
            var last = StreamedWorkbook.ColumnName(filter.Columns);
            var lastRow = Math.Max(_row, filter.FirstRow);
            _writer.WriteElement(new AutoFilter { Reference = $"A{filter.FirstRow}:{last}{lastRow}" });
            FilterRange = $"$A${filter.FirstRow}:${last}${lastRow}";
        }

        _writer.WriteEndElement();
    }

    public void Dispose() => _writer.Dispose();

    private void EndRow()
    {
        if (_inRow)
        {
            _writer.WriteEndElement();
            _inRow = false;
        }
    }

    private static string Style(int style) => style < StyleNames.Length ? StyleNames[style] : style.ToString(CultureInfo.InvariantCulture);

    private string Reference() =>
        (_column <= Names.Length ? Names[_column - 1] : StreamedWorkbook.ColumnName(_column)) + _rowText;
}
