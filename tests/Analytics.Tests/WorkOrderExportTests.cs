using ClosedXML.Excel;
using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Validation;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Exports;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

/// <summary>The list behind a figure as a streamed workbook and as Parquet, read back the way a manager's or analyst's tool would.</summary>
public sealed class WorkOrderExportTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("export-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly DateTime Created = new(2026, 3, 2, 8, 15, 0);

    private static IEnumerable<WorkOrderLine> Lines(int count)
    {
        yield return new WorkOrderLine("WO-1", "=HYPERLINK(\"x\")", "closed", "corrective", 2, "+Maintenance", "M3 Pump", "bearing", Created, Created.AddHours(1), Created.AddHours(4), 4);
        yield return new WorkOrderLine("WO-2", " spaced \u0001title ", "new", "preventive", 3, "Facilities", null, null, Created.AddDays(1), null, null, null);
        for (var i = 3; i <= count; i++)
        {
            yield return new WorkOrderLine($"WO-{i}", $"Work {i}", "closed", "corrective", 1, "Maintenance", "M3 Pump", "leak", Created.AddMinutes(-i), Created, Created.AddHours(2), 2.5);
        }
    }

    private string Write(int count, Action<long>? progress = null)
    {
        var path = Path.Combine(_folder, $"list-{count}.xlsx");
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        var written = WorkOrderExport.WriteWorkbook(file, "Work orders behind the KPI 'volume'", "-Period 2026-03-01 to 2026-03-31 (UTC)", Lines(count), new DateTime(2026, 4, 1, 6, 0, 0), progress);
        Assert.Equal(count, written);
        return path;
    }

    [Fact]
    public void a_streamed_workbook_reads_back_cell_by_cell_with_dates_as_dates_numbers_as_numbers_and_formula_text_as_text()
    {
        var path = Write(250);

        using var workbook = new XLWorkbook(path);
        Assert.Equal(["Summary", "Work orders"], workbook.Worksheets.Select(w => w.Name));
        var list = workbook.Worksheet("Work orders");
        Assert.Equal("Work orders behind the KPI 'volume'", list.Cell(1, 1).GetString());
        Assert.True(list.Cell(1, 1).Style.Font.Bold);
        Assert.Equal("-Period 2026-03-01 to 2026-03-31 (UTC)", list.Cell(2, 1).GetString());
        Assert.True(list.Cell(2, 1).Style.IncludeQuotePrefix);
        Assert.Equal(WorkOrderExport.Headers, Enumerable.Range(1, 12).Select(c => list.Cell(4, c).GetString()));
        Assert.True(list.Cell(4, 12).Style.Font.Bold);
        Assert.Equal(4, list.SheetView.SplitRow);
        Assert.True(list.AutoFilter.IsEnabled);
        Assert.Equal("A4:L254", list.AutoFilter.Range.RangeAddress.ToString());

        Assert.Equal(XLDataType.Text, list.Cell(5, 1).DataType);
        Assert.Equal("WO-1", list.Cell(5, 1).GetString());
        Assert.Equal("=HYPERLINK(\"x\")", list.Cell(5, 2).GetString());
        Assert.False(list.Cell(5, 2).HasFormula);
        Assert.True(list.Cell(5, 2).Style.IncludeQuotePrefix);
        Assert.Equal("+Maintenance", list.Cell(5, 6).GetString());
        Assert.True(list.Cell(5, 6).Style.IncludeQuotePrefix);
        Assert.False(list.Cell(5, 1).Style.IncludeQuotePrefix);

        Assert.Equal(XLDataType.Number, list.Cell(5, 5).DataType);
        Assert.Equal(2, list.Cell(5, 5).GetValue<int>());
        Assert.Equal("0", list.Cell(5, 5).Style.NumberFormat.Format is "" ? "0" : list.Cell(5, 5).Style.NumberFormat.Format);
        Assert.Equal(1, list.Cell(5, 5).Style.NumberFormat.NumberFormatId);
        Assert.Equal(XLDataType.DateTime, list.Cell(5, 9).DataType);
        Assert.Equal(Created, list.Cell(5, 9).GetDateTime());
        Assert.Equal("yyyy-mm-dd hh:mm", list.Cell(5, 9).Style.NumberFormat.Format);
        Assert.Equal(Created.AddHours(4), list.Cell(5, 11).GetDateTime());
        Assert.Equal(XLDataType.Number, list.Cell(5, 12).DataType);
        Assert.Equal(4.0, list.Cell(5, 12).GetDouble());
        Assert.Equal("0.0", list.Cell(5, 12).Style.NumberFormat.Format);

        // Empty values are empty cells; text keeps its spaces and loses only what XML cannot hold.
        Assert.Equal(" spaced title ", list.Cell(6, 2).GetString());
        Assert.True(list.Cell(6, 7).IsEmpty());
        Assert.True(list.Cell(6, 10).IsEmpty());
        Assert.True(list.Cell(6, 12).IsEmpty());
        Assert.Equal("WO-250", list.Cell(254, 1).GetString());
        Assert.True(list.Cell(255, 1).IsEmpty());
        Assert.True(list.Column(2).Width >= "Work 250".Length);

        var summary = workbook.Worksheet("Summary");
        Assert.Equal(250, summary.Cell(4, 2).GetValue<int>());
        Assert.Equal("#,##0", summary.Cell(4, 2).Style.NumberFormat.Format is "" ? "#,##0" : summary.Cell(4, 2).Style.NumberFormat.Format);
        Assert.Equal("The list is complete.", summary.Cell(5, 1).GetString());
    }

    [Fact]
    public void a_streamed_workbook_is_a_valid_package_with_inline_strings_and_no_shared_string_table()
    {
        var path = Write(20);

        using var document = SpreadsheetDocument.Open(path, false);
        Assert.Null(document.WorkbookPart!.SharedStringTablePart);
        Assert.NotNull(document.WorkbookPart.WorkbookStylesPart);
        var errors = new OpenXmlValidator().Validate(document).Select(e => $"{e.Path?.XPath}: {e.Description}").ToList();
        Assert.Empty(errors);
    }

    [Fact]
    public void a_long_list_reports_its_progress_as_it_goes()
    {
        var heard = new List<long>();
        Write(12_345, heard.Add);
        Assert.Equal([5_000, 10_000, 12_345], heard);
    }

    [Fact]
    public void parquet_read_back_by_duckdb_has_the_columns_and_rows_of_the_other_formats()
    {
        var path = Path.Combine(_folder, "warehouse.duckdb");
        using var warehouse = WarehouseFile.Open(path);
        HandBuiltWarehouse.Fill(warehouse);
        var drill = new DrillDown(warehouse);
        var parquet = Path.Combine(_folder, "o'list.parquet");

        var written = drill.CopyLinesToParquet(HandBuiltWarehouse.March, "volume", 100, WorkOrderExport.Headers, parquet);

        var lines = drill.Lines(HandBuiltWarehouse.March, "volume", 100).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Equal(lines.Count, written);
        Assert.Equal(lines.Count, drill.CountLines(HandBuiltWarehouse.March, "volume", 100));
        Assert.Equal(4, drill.CountLines(HandBuiltWarehouse.March, "volume", 4));
        using var reader = new DuckDBConnection("Data Source=:memory:");
        reader.Open();
        using var command = reader.CreateCommand();
        command.CommandText = $"SELECT * FROM read_parquet('{parquet.Replace("'", "''", StringComparison.Ordinal)}')";
        using var rows = command.ExecuteReader();
        Assert.Equal(WorkOrderExport.Headers, Enumerable.Range(0, rows.FieldCount).Select(rows.GetName));
        Assert.Equal(typeof(DateTime), rows.GetFieldType(8));
        Assert.Equal(typeof(double), rows.GetFieldType(11));
        var numbers = new List<string>();
        while (rows.Read())
        {
            numbers.Add(rows.GetString(0));
        }

        Assert.Equal(lines.Select(l => l.Number), numbers);
    }

    /// <summary>
    /// The hand-built March copied <paramref name="copies"/> times with new ids and numbers and the same creation times,
    /// so that every instant is shared by several work orders: the ties a slice boundary must not split.
    /// </summary>
    private DrillDown TiedWarehouse(DuckDBConnection warehouse, int copies)
    {
        HandBuiltWarehouse.Fill(warehouse);
        using var copy = warehouse.CreateCommand();
        copy.CommandText = $"""
            INSERT INTO fact_work_order
            SELECT f.* REPLACE (f.work_order_id + c.k * 1000 AS work_order_id, f.number || '-' || c.k AS number)
            FROM fact_work_order f, range(1, {copies + 1}) c(k);
            {WarehouseSchema.RebuildRollups}
            """;
        copy.ExecuteNonQuery();
        return new DrillDown(warehouse);
    }

    /// <summary>The numbers of the list as one sorted read gives them, by a query of the test's own.</summary>
    private static List<string> Newest(DuckDBConnection warehouse, string where)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = $"""
            SELECT number FROM (
                SELECT number, created_at, work_order_id FROM fact_work_order UNION ALL SELECT number, created_at, work_order_id FROM open_work_order)
            WHERE {where}
            ORDER BY created_at DESC, work_order_id DESC
            """;
        using var reader = command.ExecuteReader();
        var numbers = new List<string>();
        while (reader.Read())
        {
            numbers.Add(reader.GetString(0));
        }

        return numbers;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(1_000)]
    public void a_list_read_in_slices_has_every_row_once_newest_first_even_where_many_share_an_instant(int sliceRows)
    {
        using var warehouse = WarehouseFile.Open(Path.Combine(_folder, "warehouse.duckdb"));
        var drill = TiedWarehouse(warehouse, copies: 9);
        var expected = Newest(warehouse, "created_at >= '2026-03-01' AND created_at < '2026-04-01'");
        Assert.True(expected.Count >= 40, $"{expected.Count} rows");
        var slices = drill.Slices(HandBuiltWarehouse.March, "volume", KpiQueries.DefaultRepeatDays, sliceRows).Count;
        Assert.True(sliceRows >= expected.Count ? slices == 1 : slices > 1, $"{slices} slices of {sliceRows}");

        var sliced = drill.Lines(HandBuiltWarehouse.March, "volume", 10_000, KpiQueries.DefaultRepeatDays, sliceRows).Select(l => l.Number).ToList();
        var cut = drill.Lines(HandBuiltWarehouse.March, "volume", 23, KpiQueries.DefaultRepeatDays, sliceRows).Select(l => l.Number).ToList();

        Assert.Equal(expected, sliced);
        Assert.Equal(expected.Take(23), cut);
    }

    [Fact]
    public void the_slices_of_a_long_list_cut_between_instants_never_through_one()
    {
        using var warehouse = WarehouseFile.Open(Path.Combine(_folder, "warehouse.duckdb"));
        var drill = TiedWarehouse(warehouse, copies: 9);

        var slices = drill.Slices(HandBuiltWarehouse.March, "volume", KpiQueries.DefaultRepeatDays, 5);

        // Newest first, each range ending where the next begins, open at both ends.
        Assert.True(slices.Count > 2, $"{slices.Count} slices");
        Assert.Null(slices[0].UpTo);
        Assert.Null(slices[^1].After);
        for (var i = 1; i < slices.Count; i++)
        {
            Assert.Equal(slices[i - 1].After, slices[i].UpTo);
            Assert.True(slices[i].UpTo > slices[i].After || slices[i].After is null);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1_000)]
    public void parquet_written_in_slices_holds_the_list_in_order_and_says_its_progress_per_slice(int sliceRows)
    {
        using var warehouse = WarehouseFile.Open(Path.Combine(_folder, "warehouse.duckdb"));
        var drill = TiedWarehouse(warehouse, copies: 9);
        var expected = Newest(warehouse, "created_at >= '2026-03-01' AND created_at < '2026-04-01'").Take(40).ToList();
        var parquet = Path.Combine(_folder, "sliced.parquet");
        var heard = new List<long>();

        var written = drill.CopyLinesToParquet(HandBuiltWarehouse.March, "volume", 40, WorkOrderExport.Headers, parquet, KpiQueries.DefaultRepeatDays, heard.Add, sliceRows);

        Assert.Equal(40, written);
        Assert.Equal(40, heard[^1]);
        Assert.Equal(heard.Order(), heard);
        Assert.True(sliceRows < 40 ? heard.Count > 3 : heard.Count == 1, string.Join(", ", heard));
        Assert.False(Directory.Exists(parquet + ".slices"));
        using var reader = new DuckDBConnection("Data Source=:memory:");
        reader.Open();
        using var command = reader.CreateCommand();
        command.CommandText = $"SELECT * FROM read_parquet('{parquet}')";
        using var rows = command.ExecuteReader();
        Assert.Equal(WorkOrderExport.Headers, Enumerable.Range(0, rows.FieldCount).Select(rows.GetName));
        Assert.Equal(typeof(DateTime), rows.GetFieldType(8));
        var numbers = new List<string>();
        while (rows.Read())
        {
            numbers.Add(rows.GetString(0));
        }

        Assert.Equal(expected, numbers);
    }
}
