using System.Text.Json;
using Dapper;
using WorkOrders.Ingest.Import;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>The work-order importer's mapping creating the assets its rows are on: type, parent and installation date.</summary>
[Collection(ImportCollection.Name)]
public sealed class ImportAssetMappingTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-import-assets-").FullName;
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write()
    {
        var path = Path.Combine(_folder, "elevators.csv");
        File.WriteAllText(path, $"""
            id,opened,closed,building,device,device_type,installed,subject
            1,2024-03-01 09:00,2024-03-02 09:00,Tower {_tag},Lift {_tag} A,elevator,2019-05-01,Stuck doors
            2,2024-03-03 09:00,2024-03-04 09:00,Tower {_tag},Lift {_tag} A,elevator,2019-05-01,Noisy cable
            3,2024-03-05 09:00,2024-03-06 09:00,Tower {_tag},Lift {_tag} B,escalator,2020-13-01,Bad install date
            4,2024-03-07 09:00,2024-03-08 09:00,Tower {_tag},,,,No device on this row
            """);
        return path;
    }

    private ImportMapping Mapping() => JsonSerializer.Deserialize<ImportMapping>($$"""
        {
          "externalId": { "column": "id", "prefix": "E{{_tag}}-" },
          "times": { "created": "opened", "closed": "closed" },
          "dateFormats": ["%Y-%m-%d %H:%M"],
          "template": { "name": "Lifts {{_tag}}", "workType": "corrective", "department": "Lifts {{_tag}}" },
          "title": { "column": "subject" },
          "description": { "column": "subject" },
          "site": { "column": "building", "codePrefix": "B-" },
          "asset": { "column": "device", "codePrefix": "D-", "kind": "machine", "type": { "column": "device_type" }, "installedOn": "installed" }
        }
        """, ImportMapping.Json)!.Checked();

    [Fact]
    public async Task rows_create_their_assets_once_with_type_parent_and_install_date_and_work_orders_point_at_them()
    {
        var result = await ImportFiles.ImportAsync(database.DataSource, Write(), Mapping(), Path.Combine(_folder, "rejects.csv"));

        Assert.Equal((4L, 3L, 1L, 1, 1), (result.Read, result.Loaded, result.Rejected, result.SitesCreated, result.AssetsCreated));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var device = await connection.QuerySingleAsync<(string Kind, string Parent, string Type, DateTime Installed, string Events)>(
            """
            SELECT a.kind, p.code, a.asset_type, a.installed_on, (SELECT string_agg(kind, ',') FROM asset_events e WHERE e.asset_id = a.id)
            FROM assets a JOIN assets p ON p.id = a.parent_id WHERE a.code = @code
            """,
            new { code = $"D-LIFT-{_tag.ToUpperInvariant()}-A" });
        Assert.Equal(("machine", $"B-TOWER-{_tag.ToUpperInvariant()}", "elevator", new DateTime(2019, 5, 1), "imported"), device);
        var onAssets = (await connection.QueryAsync<(string Reference, string Code)>(
            "SELECT w.reference, a.code FROM work_orders w JOIN assets a ON a.id = w.asset_id WHERE w.reference LIKE @p ORDER BY w.reference",
            new { p = $"E{_tag}-%" })).ToList();
        Assert.Equal(
            [($"E{_tag}-1", $"D-LIFT-{_tag.ToUpperInvariant()}-A"), ($"E{_tag}-2", $"D-LIFT-{_tag.ToUpperInvariant()}-A"), ($"E{_tag}-4", $"B-TOWER-{_tag.ToUpperInvariant()}")],
            onAssets);
        Assert.Contains(File.ReadAllLines(Path.Combine(_folder, "rejects.csv")), l => l.StartsWith("3,3,asset,'2020-13-01' from installed is not a date", StringComparison.Ordinal));
    }

    [Fact]
    public void a_component_without_a_parent_code_is_refused_when_the_mapping_is_read()
    {
        var mapping = Mapping() with { Asset = Mapping().Asset! with { Kind = Ticketing.Assets.AssetKind.Component } };

        var refused = Assert.Throws<MappingException>(() => mapping.Checked());

        Assert.Contains("asset.kind component needs asset.parentCode", refused.Message, StringComparison.Ordinal);
    }
}
