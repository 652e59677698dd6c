using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using WorkOrders.Ingest.Import;
using WorkOrders.Ingest.Warehouse;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>
/// A large import in one transaction that drops the secondary indexes and builds them at its end: the indexes come back
/// as they were, also after a failure, which leaves nothing written; a replay imports nothing twice and locks nothing.
/// </summary>
[Collection(ImportCollection.Name)]
public sealed class ImportIndexesTests(TestDatabase database) : IClassFixture<TestDatabase>, IDisposable
{
    private const string Indexes = """
        SELECT i.indexrelid::regclass::text || ' ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid AND i.indisready THEN '' ELSE ' NOT VALID' END
        FROM pg_index i
        WHERE i.indrelid IN ('work_orders'::regclass, 'work_order_events'::regclass)
        ORDER BY 1
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("workorders-import-indexes-").FullName;
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Prefix => $"X{_tag}-";

    private string Rejects => Path.Combine(_folder, "rejects.csv");

    /// <summary>An export of <paramref name="rows"/> tickets, every 1,000th with a created date that is no date.</summary>
    private string WriteExport(int rows)
    {
        var path = Path.Combine(_folder, $"export-{rows}.csv");
        var text = new StringBuilder("ticket_id,opened,closed,state,owner,subject,details\n");
        var start = new DateTime(2023, 1, 1, 8, 0, 0);
        for (var i = 1; i <= rows; i++)
        {
            var opened = start.AddMinutes(i * 7);
            var closed = i % 4 == 0 ? "" : opened.AddHours(5).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"{i},{(i % 1000 == 500 ? "someday" : opened.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))},")
                .Append(CultureInfo.InvariantCulture, $"{closed},{(closed.Length == 0 ? "Open" : "Done")},Tech {i % 7} {_tag},Pump {i % 13} trips,Breaker tripped on pump {i % 13}\n");
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }

    private ImportMapping Mapping() => JsonSerializer.Deserialize<ImportMapping>($$"""
        {
          "externalId": { "column": "ticket_id", "prefix": "{{Prefix}}" },
          "timeZone": "Europe/Berlin",
          "dateFormats": ["%Y-%m-%d %H:%M"],
          "times": { "created": "opened", "closed": "closed" },
          "template": { "name": "Pumps {{_tag}}", "workType": "corrective", "department": "Utilities {{_tag}}", "defaultPriority": 3 },
          "title": { "column": "subject" },
          "description": { "column": "details" },
          "status": { "column": "state", "values": { "Done": "closed", "Open": "new" } },
          "assignee": { "column": "owner" }
        }
        """, ImportMapping.Json)!.Checked();

    private Task<ImportResult> ImportAsync(string file, IndexUpkeep indexes, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        new HistoryImport(database.DataSource, NullLogger<HistoryImport>.Instance).RunAsync(
            file, Mapping(), Rejects, progress, cancellationToken, indexes: indexes);

    private async Task<List<string>> IndexesAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<string>(Indexes)).ToList();
    }

    private async Task<(long WorkOrders, long Events)> ImportedAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return await connection.QuerySingleAsync<(long, long)>(
            """
            SELECT count(DISTINCT w.id), count(e.id)
            FROM work_orders w LEFT JOIN work_order_events e ON e.work_order_id = w.id
            WHERE w.source = 'import' AND w.reference LIKE @p
            """,
            new { p = Prefix + "%" });
    }

    [Fact]
    public async Task a_rebuilding_import_of_several_batches_loads_every_good_row_and_leaves_every_index_as_it_was_and_valid()
    {
        var before = await IndexesAsync();

        var result = await ImportAsync(WriteExport(12_000), IndexUpkeep.Rebuild);

        Assert.True(result.IndexesRebuilt);
        Assert.Equal((12_000L, 11_988L, 12L), (result.Read, result.Loaded, result.Rejected));
        Assert.Equal(7, result.UsersCreated);
        Assert.Equal(before, await IndexesAsync());
        Assert.DoesNotContain(before, i => i.EndsWith(" NOT VALID", StringComparison.Ordinal));
        Assert.Contains(before, i => i.StartsWith("work_orders_text ", StringComparison.Ordinal));
        Assert.Equal((11_988L, result.Events), await ImportedAsync());
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, Prefix));

        // The trigram index answers for the rows it was built over, and the open ones are noted for the field app as the
        // row trigger would have.
        await using var connection = await database.DataSource.OpenConnectionAsync();
        Assert.Equal(11_988L, await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM work_orders WHERE reference LIKE @p AND (number || ' ' || title || ' ' || description) ILIKE '%pump%'", new { p = Prefix + "%" }));
        Assert.Equal(
            await connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM work_orders WHERE reference LIKE @p AND status NOT IN ('closed', 'cancelled')", new { p = Prefix + "%" }),
            await connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM field_changes f JOIN work_orders w ON w.id = f.entity_id AND f.entity = 'work_order' WHERE w.reference LIKE @p", new { p = Prefix + "%" }));
    }

    [Fact]
    public async Task a_rebuilding_import_that_fails_after_writing_leaves_nothing_written_and_every_index_as_it_was()
    {
        var before = await IndexesAsync();
        using var stop = new CancellationTokenSource();
        // Stops the import once its first batch is written in the one transaction, before the indexes are built again.
        var progress = new InlineProgress<ImportProgress>(p =>
        {
            if (p.Loaded > 0)
            {
                stop.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ImportAsync(WriteExport(7_000), IndexUpkeep.Rebuild, progress, stop.Token));

        Assert.Equal((0L, 0L), await ImportedAsync());
        Assert.Equal(before, await IndexesAsync());
        await using var connection = await database.DataSource.OpenConnectionAsync();
        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM users WHERE user_name LIKE @p", new { p = $"tech.%.{_tag}" }));
    }

    [Fact]
    public async Task replaying_a_rebuilding_import_imports_nothing_twice_and_never_drops_an_index()
    {
        var file = WriteExport(6_000);
        var first = await ImportAsync(file, IndexUpkeep.Rebuild);
        var imported = await ImportedAsync();

        var again = await ImportAsync(file, IndexUpkeep.Rebuild);

        Assert.Equal((5_994L, 0L), (first.Loaded, first.Skipped));
        Assert.Equal((0L, 5_994L, 6L), (again.Loaded, again.Skipped, again.Rejected));
        Assert.False(again.IndexesRebuilt);
        Assert.Equal(imported, await ImportedAsync());
    }

    [Fact]
    public async Task a_rebuilding_import_after_an_earlier_import_skips_the_tickets_that_one_loaded()
    {
        var earlier = await ImportAsync(WriteExport(6_000), IndexUpkeep.PerRow);

        var result = await ImportAsync(WriteExport(12_000), IndexUpkeep.Rebuild);

        Assert.Equal((5_994L, false), (earlier.Loaded, earlier.IndexesRebuilt));
        Assert.Equal((5_994L, 5_994L, 12L, true), (result.Loaded, result.Skipped, result.Rejected, result.IndexesRebuilt));
        Assert.Equal(11_988L, (await ImportedAsync()).WorkOrders);
        Assert.Empty(await ImportFiles.HistoryProblemsAsync(database.DataSource, Prefix));
    }

    [Fact]
    public async Task a_small_file_keeps_its_indexes_row_by_row_in_batches_of_their_own()
    {
        var result = await ImportAsync(WriteExport(20), IndexUpkeep.Auto);

        Assert.False(result.IndexesRebuilt);
        Assert.Equal(20L, result.Loaded);
    }

    [Theory]
    [InlineData(IndexUpkeep.Auto, 100_000, 0, true, true)]
    [InlineData(IndexUpkeep.Auto, 1_000_000, 1_000_000, true, true)]
    [InlineData(IndexUpkeep.Auto, 1_000_000, 1_000_001, true, false)]
    [InlineData(IndexUpkeep.Auto, 99_999, 0, true, false)]
    [InlineData(IndexUpkeep.Auto, 1_000_000, 0, false, false)]
    [InlineData(IndexUpkeep.Rebuild, 10, 5_000_000, true, true)]
    [InlineData(IndexUpkeep.PerRow, 5_000_000, 0, true, false)]
    public void an_import_rebuilds_the_indexes_when_asked_or_when_the_file_is_large_beside_the_table(
        IndexUpkeep upkeep, long fileRows, long tableRows, bool owner, bool rebuilds) =>
        Assert.Equal(rebuilds, ImportIndexes.ShouldRebuild(upkeep, fileRows, tableRows, owner));

    [Fact]
    public void the_ranges_of_a_whole_import_meet_into_one_per_table_and_a_gap_keeps_two()
    {
        var joined = ImportWriter.Joined(
        [
            new("work_orders", "id", 1, 5), new("work_order_events", "id", 10, 20), new("work_orders", "id", 6, 5),
            new("work_order_events", "id", 30, 5), new("work_orders", "id", 20, 1), new("work_orders", "id", 21, 0),
        ]);

        LoadedRows[] expected = [new("work_order_events", "id", 10, 25), new("work_orders", "id", 1, 10), new("work_orders", "id", 20, 1)];
        Assert.Equal(expected, joined);
    }
}
