using Dapper;
using WorkOrders.Ingest.Import;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>The NYC 311 slice with each building as an asset (samples/nyc311-elevator-buildings-mapping.json), as the forecasts read it.</summary>
[Collection(ImportCollection.Name)]
public sealed class NycBuildingsImportTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-nyc-buildings-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task every_request_lands_on_the_building_at_its_address_under_its_borough()
    {
        var result = await ImportFiles.ImportAsync(
            database.DataSource, ImportFiles.NycParquet, ImportMapping.Load(ImportFiles.NycBuildingsMapping), Path.Combine(_folder, "rejects.csv"));

        // Worked out from the file: 6,615 distinct (address, zip) pairs, 3,135 of them with two requests or more; the
        // busiest, 480 East 188 Street in the Bronx, has 122.
        Assert.Equal((22_504L, 0L, 6_615, 5), (result.Loaded, result.Rejected, result.AssetsCreated, result.SitesCreated));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var figures = await connection.QuerySingleAsync<(long Buildings, long Repeated, long Busiest, long Elevators, long UnderSites)>(
            """
            WITH per AS (SELECT a.id, a.code, a.asset_type, p.kind AS parent_kind, count(w.id) AS n
                         FROM assets a JOIN work_orders w ON w.asset_id = a.id LEFT JOIN assets p ON p.id = a.parent_id
                         WHERE a.code LIKE 'BLDG-%' AND w.reference LIKE 'NYC311-%' GROUP BY a.id, a.code, a.asset_type, p.kind)
            SELECT count(*), count(*) FILTER (WHERE n >= 2), max(n) FILTER (WHERE code = 'BLDG-480-EAST-188-STREET-10458'),
                   count(*) FILTER (WHERE asset_type = 'elevator'), count(*) FILTER (WHERE parent_kind = 'site')
            FROM per
            """);
        Assert.Equal((6_615L, 3_135L, 122L, 6_615L, 6_615L), figures);
    }
}
