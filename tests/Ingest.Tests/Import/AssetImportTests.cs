using ClosedXML.Excel;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using WorkOrders.Ingest.Import;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>The bulk register: rows checked one by one, parents in any order, the same reject file as the work-order importer.</summary>
[Collection(ImportCollection.Name)]
public sealed class AssetImportTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-asset-import-").FullName;
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Rejects => Path.Combine(_folder, "rejects.csv");

    private AssetImport Import => new(database.DataSource, _clock);

    // Children come before their parents; one parent (the site) is registered already.
    private string[][] Table(string site) =>
    [
        ["code", "Name", "kind", "Parent Code", "type", "manufacturer", "model", "serial", "installed_on", "commissioned_on", "criticality", "cost", "warranty_ends_on", "location"],
        [$"P1-{_tag}", "泵浦 Pump 1", "machine", $"L1-{_tag}", "pump", "Grundfos", "CR 10", "SN-1", "2024-01-10", "2024-01-20", "4", "12000.50", "2026-01-10", "Bay 1"],
        [$"S1-{_tag}", "Seal", "component", $"P1-{_tag}", "seal", "", "", "", "", "", "", "", "", ""],
        [$"L1-{_tag}", "Line 1", "line", $"A1-{_tag}", "", "", "", "", "2023-06-01", "", "3", "", "", ""],
        [$"A1-{_tag}", "Hall A", "area", site, "", "", "", "", "", "", "", "", "", ""],
        [$"BAD-{_tag}", "Bad dates", "machine", $"L1-{_tag}", "", "", "", "", "2024-05-01", "2024-04-01", "", "-3", "", ""],
        [$"ORPHAN-{_tag}", "Orphan", "machine", $"NOPE-{_tag}", "", "", "", "", "", "", "", "", "", ""],
        [$"KID-{_tag}", "Child of a bad row", "component", $"BAD-{_tag}", "", "", "", "", "", "", "", "", "", ""],
        [$"P1-{_tag}", "Same code again", "machine", $"L1-{_tag}", "", "", "", "", "", "", "", "", "", ""],
        [$"WRONG-{_tag}", "Line under a component", "line", $"S1-{_tag}", "", "", "", "", "", "", "", "", "", ""],
        [$"X1-{_tag}", "Loop one", "component", $"X2-{_tag}", "", "", "", "", "", "", "", "", "", ""],
        [$"X2-{_tag}", "Loop two", "component", $"X1-{_tag}", "", "", "", "", "", "", "", "", "", ""],
    ];

    private string WriteCsv(string[][] table)
    {
        var path = Path.Combine(_folder, "assets.csv");
        File.WriteAllLines(path, table.Select(row => string.Join(',', row)));
        return path;
    }

    private string WriteWorkbook(string[][] table)
    {
        var path = Path.Combine(_folder, "assets.xlsx");
        using var workbook = new XLWorkbook();
        var sheet = workbook.Worksheets.Add("assets");
        for (var r = 0; r < table.Length; r++)
        {
            for (var c = 0; c < table[r].Length; c++)
            {
                if (r > 0 && c == 8 && DateTime.TryParse(table[r][c], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date))
                {
                    sheet.Cell(r + 1, c + 1).Value = date;
                }
                else
                {
                    sheet.Cell(r + 1, c + 1).SetValue(table[r][c]);
                }
            }
        }

        workbook.SaveAs(path);
        return path;
    }

    private async Task<long> SiteAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("INSERT INTO assets (code, name, kind) VALUES (@c, 'Site', 'site') RETURNING id", new { c = $"SITE-{_tag}" });
    }

    private async Task<Dictionary<string, (string Kind, string? Parent, string? Type, DateTime? InstalledOn, decimal? Cost, string Event)>> RegisteredAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var rows = await connection.QueryAsync<(string Code, string Kind, string? Parent, string? Type, DateTime? InstalledOn, decimal? Cost, string Event)>(
            """
            SELECT a.code, a.kind, p.code, a.asset_type, a.installed_on, a.cost, (SELECT string_agg(kind, ',') FROM asset_events e WHERE e.asset_id = a.id)
            FROM assets a LEFT JOIN assets p ON p.id = a.parent_id WHERE a.code LIKE '%-' || @tag
            """,
            new { tag = _tag });
        return rows.ToDictionary(r => r.Code, r => (r.Kind, r.Parent, r.Type, r.InstalledOn, r.Cost, r.Event));
    }

    [Theory]
    [InlineData("csv")]
    [InlineData("xlsx")]
    public async Task parents_may_come_after_their_children_and_each_bad_row_is_rejected_with_its_column_and_reason(string format)
    {
        await SiteAsync();
        var table = Table($"SITE-{_tag}");
        var file = format == "csv" ? WriteCsv(table) : WriteWorkbook(table);

        var result = await Import.RunAsync(file, Rejects, null, CancellationToken.None);

        Assert.Equal((11L, 4L, 7L, 0L), (result.Read, result.Loaded, result.Rejected, result.Skipped));
        var registered = await RegisteredAsync();
        Assert.Equal(("machine", $"L1-{_tag}", "pump", new DateTime(2024, 1, 10), 12000.50m, "imported"), registered[$"P1-{_tag}"]);
        Assert.Equal(("line", (string?)$"A1-{_tag}"), (registered[$"L1-{_tag}"].Kind, registered[$"L1-{_tag}"].Parent));
        Assert.Equal(("area", (string?)$"SITE-{_tag}"), (registered[$"A1-{_tag}"].Kind, registered[$"A1-{_tag}"].Parent));
        Assert.Equal(("component", (string?)$"P1-{_tag}"), (registered[$"S1-{_tag}"].Kind, registered[$"S1-{_tag}"].Parent));
        Assert.Equal(5, registered.Count);

        var rejects = File.ReadAllLines(Rejects);
        Assert.Equal(RejectFile.Header, rejects[0]);
        var byRow = rejects.Skip(1).Select(l => l.Split(',', 4)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Select(p => p[2]).ToArray());
        Assert.Equal(["5", "6", "7", "8", "9", "10", "11"], byRow.Keys);
        Assert.Equal(["cost", "commissioned_on"], byRow["5"]);
        Assert.Equal(["parent_code"], byRow["6"]);
        Assert.Equal(["parent_code"], byRow["7"]);
        Assert.Equal(["code"], byRow["8"]);
        Assert.Equal(["parent_code"], byRow["9"]);
        Assert.Equal(["parent_code"], byRow["10"]);
        Assert.Contains(rejects, l => l.StartsWith($"6,ORPHAN-{_tag},parent_code,no asset 'NOPE-{_tag}'", StringComparison.Ordinal));
        Assert.Contains(rejects, l => l.StartsWith($"9,WRONG-{_tag},parent_code,\"a line belongs under a site / area, not a component", StringComparison.Ordinal));
    }

    [Fact]
    public async Task importing_the_same_file_again_registers_nothing_twice()
    {
        await SiteAsync();
        var file = WriteCsv(Table($"SITE-{_tag}")[..5]);

        var first = await Import.RunAsync(file, Rejects, null, CancellationToken.None);
        var second = await Import.RunAsync(file, Path.Combine(_folder, "again.csv"), null, CancellationToken.None);

        Assert.Equal((4L, 0L), (first.Loaded, first.Rejected));
        Assert.Equal((0L, 4L, 0L), (second.Loaded, second.Skipped, second.Rejected));
        Assert.False(File.Exists(Path.Combine(_folder, "again.csv")));
        Assert.Equal(5, (await RegisteredAsync()).Count);
    }

    [Fact]
    public async Task a_file_without_the_required_columns_is_refused_before_anything_is_written()
    {
        var path = Path.Combine(_folder, "wrong.csv");
        File.WriteAllLines(path, ["code,title", $"Z-{_tag},Zed"]);

        var refused = await Assert.ThrowsAsync<MappingException>(() => Import.RunAsync(path, Rejects, null, CancellationToken.None));

        Assert.Contains("name, kind", refused.Message, StringComparison.Ordinal);
        Assert.Empty(await RegisteredAsync());
    }

    [Fact]
    public async Task the_command_line_verb_imports_a_file_and_names_the_reject_file()
    {
        await SiteAsync();
        var file = WriteCsv(Table($"SITE-{_tag}"));
        var output = new StringWriter();
        Environment.SetEnvironmentVariable("ConnectionStrings__WorkOrders", database.ConnectionString);

        int exit;
        try
        {
            exit = await Cli.RunAsync(["import-assets", "--file", file, "--rejects", Rejects], output, new StringWriter());
        }
        finally
        {
            Environment.SetEnvironmentVariable("ConnectionStrings__WorkOrders", null);
        }

        Assert.Equal(Cli.Failed, exit);
        Assert.Contains("4 registered, 7 rejected, 0 skipped as already registered, of 11 rows", output.ToString(), StringComparison.Ordinal);
        Assert.Contains(Rejects, output.ToString(), StringComparison.Ordinal);
    }
}
