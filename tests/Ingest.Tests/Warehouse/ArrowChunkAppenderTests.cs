using Apache.Arrow;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ingest.Warehouse;

namespace WorkOrders.Ingest.Tests.Warehouse;

public sealed class ArrowChunkAppenderTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"appender-{Guid.NewGuid():N}.duckdb");

    public void Dispose()
    {
        File.Delete(_path);
        File.Delete(_path + ".wal");
    }

    [Fact]
    public void a_batch_whose_columns_are_swapped_is_refused_though_duckdb_would_take_them_by_position()
    {
        using var warehouse = WarehouseFile.Open(_path);
        var fields = WarehouseSchema.Users.ArrowSchema.FieldsList.ToList();

        // user_name and display_name are both text: by position alone, each would land in the other's column.
        (fields[1], fields[2]) = (fields[2], fields[1]);
        using var batch = new RecordBatch(
            new Schema(fields, null),
            [
                new Int64Array.Builder().Append(7).Build(), new StringArray.Builder().Append("Tech A").Build(), new StringArray.Builder().Append("tech-a").Build(),
                new StringArray.Builder().Append("technician").Build(), new Int64Array.Builder().Append(1).Build(), new BooleanArray.Builder().Append(true).Build(),
            ],
            1);
        using (var appender = new ArrowChunkAppender(warehouse, WarehouseSchema.Users))
        {
            var refused = Assert.Throws<InvalidOperationException>(() => appender.Append(batch));

            Assert.Contains("display_name", refused.Message, StringComparison.Ordinal);
            appender.Flush();
        }

        using var count = warehouse.CreateCommand();
        count.CommandText = "SELECT count(*) FROM dim_user";
        Assert.Equal(0L, count.ExecuteScalar());
    }
}
