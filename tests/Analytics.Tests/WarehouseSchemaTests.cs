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

    // Each span is one work order in progress from the first moment (UTC) to the second: Berlin put its clocks forward on
    // Sunday 29 March 2026 at 01:00 UTC, so Friday 16:00-17:00 and Monday 08:00-09:00 are working time (an end read on
    // the winter clock would give Monday 08:00, one hour less); Tehran did at 20:30 UTC on Sunday 21 March 2021, inside
    // a UTC hour, from Sunday 23:59:59 to Monday 01:00 local, so a working day of all 24 hours counts Monday's first 70
    // minutes (the hour's offset at 20:00 would read 20:40 as Monday 00:10, ten minutes), and 20:29:59 is still Sunday.
    [Theory]
    [InlineData("Europe/Berlin", 8, 17, "2026-03-27 15:00:00", "2026-03-30 07:00:00", 7200)]
    [InlineData("Europe/Berlin", 8, 17, "2026-03-30 06:00:00", "2026-03-30 07:30:00", 5400)]
    [InlineData("Asia/Tehran", 0, 24, "2021-03-21 20:20:00", "2021-03-21 20:40:00", 4200)]
    [InlineData("Asia/Tehran", 0, 24, "2021-03-21 20:20:00", "2021-03-21 20:29:59", 0)]
    [InlineData("Asia/Tehran", 0, 24, "2021-03-21 20:30:00", "2021-03-22 20:30:00", 86400)]
    [InlineData("UTC", 8, 17, "2026-03-27 16:00:00", "2026-03-30 09:00:00", 7200)]
    public void business_time_of_a_span_is_read_on_the_local_clock_of_its_moments_across_a_change_of_offset(
        string zone, int startHour, int endHour, string from, string to, long businessSeconds)
    {
        using var warehouse = WarehouseFile.Open(_path);
        Execute(warehouse, $"""
            INSERT INTO fact_event VALUES
                (1, 7, TIMESTAMP '{from}', NULL, 'start', 'assigned', 'in_progress', NULL, 1),
                (2, 7, TIMESTAMP '{to}', NULL, 'resolve', 'in_progress', 'resolved', NULL, 1);
            """);

        Execute(warehouse, WarehouseSchema.DeriveIntervals(1, new BusinessHours(TimeSpan.FromHours(startHour), TimeSpan.FromHours(endHour), zone)));

        Assert.Equal(
            [("in_progress", businessSeconds)],
            Rows(warehouse, "SELECT status, business_seconds FROM fact_status_interval", r => (r.GetString(0), r.GetInt64(1))));
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
