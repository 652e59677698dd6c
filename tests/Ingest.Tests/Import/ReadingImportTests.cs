using ClosedXML.Excel;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ingest.Import;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Meters;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>Meter readings from CSV and .xlsx: row-by-row checks, the core's reading rules, a reject file, and re-runs that add nothing.</summary>
[Collection(ImportCollection.Name)]
public sealed class ReadingImportTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-readings-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Rejects => Path.Combine(_folder, "rejects.csv");

    private async Task<(TestOrg Org, long Meter)> MeterAsync()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        var meter = await new MeterRegister(database.DataSource, _clock).AddAsync(org.MachineId, new MeterRequest("Run hours", "h"), org[Role.Planner], CancellationToken.None);
        return (org, meter.Value!.Id);
    }

    private async Task<List<(decimal Value, decimal Lifetime, bool IsReset, string Source)>> ReadingsAsync(long meter)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return [.. await connection.QueryAsync<(decimal, decimal, bool, string)>(
            "SELECT value, lifetime, is_reset, source FROM meter_readings WHERE meter_id = @meter ORDER BY read_at", new { meter })];
    }

    private Task<ReadingImportResult> ImportAsync(string file, string zone = "Asia/Taipei") =>
        new ReadingImport(database.DataSource, _clock).RunAsync(file, Rejects, TimeZoneInfo.FindSystemTimeZoneById(zone), CancellationToken.None);

    [Fact]
    public async Task good_rows_are_recorded_in_time_order_bad_ones_are_rejected_with_the_field_and_a_second_run_adds_nothing()
    {
        var (org, meter) = await MeterAsync();
        var m = $"M-{org.Suffix}";
        var file = Path.Combine(_folder, "readings.csv");
        await File.WriteAllTextAsync(file, $"""
            asset_code,meter,read_at,value,reset,reset_reason
            {m},Run hours,2026-05-02 08:00,1100,,
            {m},run hours,2026-05-01 08:00,1000,0,
            {m},Run hours,2026-05-03 08:00,1050,,
            {m},Run hours,2026-05-04 08:00,20,yes,meter replaced 更換儀表
            {m},Run hours,2026-05-05T00:00:00Z,45.5,,
            {m},Cycles,2026-05-05 08:00,10,,
            NO-SUCH,Run hours,2026-05-05 08:00,10,,
            {m},Run hours,2026-13-01 08:00,10,,
            {m},Run hours,2026-05-06 08:00,ten,,
            ,Run hours,2026-05-06 08:00,10,maybe,
            """);

        var first = await ImportAsync(file);

        Assert.Equal((10L, 4L, 0L, 6L), (first.Read, first.Added, first.AlreadyThere, first.Rejected));
        Assert.Equal(
            [(1000m, 0m, false, "import"), (1100m, 100m, false, "import"), (20m, 120m, true, "import"), (45.5m, 145.5m, false, "import")],
            await ReadingsAsync(meter));
        var rejects = await File.ReadAllLinesAsync(Rejects);
        Assert.Equal(RejectFile.Header, rejects[0]);
        Assert.Contains(rejects, l => l.StartsWith("3,", StringComparison.Ordinal) && l.Contains(",value,\"1050 is below the previous reading 1100", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("6,", StringComparison.Ordinal) && l.Contains(",meter,", StringComparison.Ordinal) && l.Contains("'Cycles'", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("7,", StringComparison.Ordinal) && l.Contains("NO-SUCH", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("8,", StringComparison.Ordinal) && l.Contains(",read_at,", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("9,", StringComparison.Ordinal) && l.Contains(",value,\"'ten' is not a number", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("10,", StringComparison.Ordinal) && l.Contains(",asset_code,", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith("10,", StringComparison.Ordinal) && l.Contains(",reset,\"'maybe'", StringComparison.Ordinal));

        var second = await ImportAsync(file);

        Assert.Equal((0L, 4L), (second.Added, second.AlreadyThere));
        Assert.Equal(4, (await ReadingsAsync(meter)).Count);
    }

    [Fact]
    public async Task an_xlsx_sheet_with_real_dates_and_numbers_imports_like_a_csv()
    {
        var (org, meter) = await MeterAsync();
        var file = Path.Combine(_folder, "readings.xlsx");
        using (var workbook = new XLWorkbook())
        {
            var sheet = workbook.AddWorksheet("Readings");
            object[][] rows =
            [
                ["Asset_Code", "Meter", "Read_At", "Value", "Reset"],
                [$"M-{org.Suffix}", "Run hours", new DateTime(2026, 5, 1, 8, 0, 0), 500, false],
                [$"M-{org.Suffix}", "Run hours", new DateTime(2026, 5, 2, 8, 0, 0), 512.25, false],
            ];
            for (var r = 0; r < rows.Length; r++)
            {
                for (var c = 0; c < rows[r].Length; c++)
                {
                    sheet.Cell(r + 1, c + 1).Value = rows[r][c];
                }
            }

            workbook.SaveAs(file);
        }

        var result = await ImportAsync(file, "UTC");

        Assert.Equal((2L, 0L, null), (result.Added, result.Rejected, result.RejectsPath));
        Assert.Equal([(500m, 0m, false, "import"), (512.25m, 12.25m, false, "import")], await ReadingsAsync(meter));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        Assert.Equal(new DateTime(2026, 5, 1, 8, 0, 0), await connection.ExecuteScalarAsync<DateTime>(
            "SELECT min(read_at) AT TIME ZONE 'UTC' FROM meter_readings WHERE meter_id = @meter", new { meter }));
    }
}
