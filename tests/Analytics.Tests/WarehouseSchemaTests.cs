using DuckDB.NET.Data;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Tests;

public sealed class WarehouseSchemaTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"schema-{Guid.NewGuid():N}.duckdb");

    public void Dispose()
    {
        File.Delete(_path);
        File.Delete(_path + ".wal");
    }

    public static TheoryData<string> Tables() => new(WarehouseSchema.Tables.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Tables))]
    public void a_freshly_created_warehouse_has_each_table_as_its_definition_says(string name)
    {
        var table = WarehouseSchema.Tables.Single(t => t.Name == name);
        using var warehouse = WarehouseFile.Open(_path);

        var described = Rows(warehouse, $"DESCRIBE {name}", r => (Name: r.GetString(0), Type: r.GetString(1), Nullable: r.GetString(2) == "YES", Key: !r.IsDBNull(3) && r.GetString(3) == "PRI"));

        Assert.Equal(table.Columns.Select(c => (c.Name, c.DuckDbType, c.Nullable, c.Name == table.Key)), described);
    }

    [Theory]
    [InlineData(1, 10, 3)]
    [InlineData(5, 5, 1_000_000)]
    [InlineData(1_000, 10_001_000, 1_000_000)]
    [InlineData(-4, 4, 2)]
    public void id_slices_cover_the_range_once_each_no_wider_than_asked(long first, long last, long size)
    {
        var slices = IdRange.Slices(first, last, size);

        Assert.Equal(first, slices[0].First);
        Assert.Equal(last, slices[^1].Last);
        Assert.All(slices, s => Assert.InRange(s.Last - s.First + 1, 1, size));
        Assert.All(slices.Zip(slices.Skip(1)), p => Assert.Equal(p.First.Last + 1, p.Second.First));
        Assert.Equal((last - first + size) / size, slices.Count);
    }

    [Fact]
    public void a_freshly_created_warehouse_holds_the_defined_tables_and_no_others()
    {
        using var warehouse = WarehouseFile.Open(_path);

        Assert.Equal(
            WarehouseSchema.Tables.Select(t => t.Name).Order(StringComparer.Ordinal),
            Rows(warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name", r => r.GetString(0)));
    }

    [Fact]
    public void a_warehouse_of_another_schema_version_is_emptied_and_made_anew_for_the_next_ingest_to_refill()
    {
        using (var old = WarehouseFile.Open(_path))
        {
            Execute(old, """
                INSERT INTO dim_department VALUES (1, 'Maintenance');
                UPDATE warehouse_info SET value = '1' WHERE key = 'schema_version';
                """);
        }

        using var warehouse = WarehouseFile.Open(_path);

        Assert.Equal([0L], Rows(warehouse, "SELECT count(*) FROM dim_department", r => r.GetInt64(0)));
        Assert.Equal([WarehouseSchema.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)], Rows(
            warehouse, "SELECT value FROM warehouse_info WHERE key = 'schema_version'", r => r.GetString(0)));
    }

    [Fact]
    public void a_warehouse_of_the_same_version_keeps_its_rows_when_opened_again()
    {
        using (var first = WarehouseFile.Open(_path))
        {
            Execute(first, "INSERT INTO dim_department VALUES (1, 'Maintenance')");
        }

        using var warehouse = WarehouseFile.Open(_path);

        Assert.Equal(["Maintenance"], Rows(warehouse, "SELECT name FROM dim_department", r => r.GetString(0)));
    }

    [Fact]
    public void a_source_query_selects_the_table_s_columns_in_order_with_the_run_s_values()
    {
        var query = WarehouseSchema.Events.SourceQuery(new SourceScope(42, "w.archived_xid IS NOT NULL", new DateTime(2026, 4, 1, 8, 0, 0, DateTimeKind.Utc)));

        Assert.StartsWith(
            "SELECT e.id, e.work_order_id, e.occurred_at, e.actor_id, e.kind, e.from_status, e.to_status, (e.payload->>'assigneeId')::bigint, 42::bigint FROM",
            query,
            StringComparison.Ordinal);
        Assert.EndsWith("WHERE w.archived_xid IS NOT NULL", query, StringComparison.Ordinal);
        Assert.Contains("'2026-04-01 08:00:00.000000+00'::timestamptz", WarehouseSchema.OpenWorkOrders.SourceQuery(new SourceScope(1, "", new DateTime(2026, 4, 1, 8, 0, 0, DateTimeKind.Utc))), StringComparison.Ordinal);
    }

    private static List<T> Rows<T>(DuckDBConnection warehouse, string sql, Func<System.Data.Common.DbDataReader, T> read)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static void Execute(DuckDBConnection warehouse, string sql)
    {
        using var command = warehouse.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
