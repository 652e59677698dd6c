using Dapper;
using Npgsql;
using WorkOrders.Tests;

namespace WorkOrders.Ingest.Tests;

/// <summary>The checks a bulk load does at its end in place of the row triggers it left off.</summary>
public sealed class HistoryBulkLoadTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task a_load_whose_rows_name_a_missing_parent_fails_naming_the_constraint_and_leaves_nothing()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await HistoryBulkLoad.BeginAsync(connection, transaction, CancellationToken.None);
            var workOrder = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, department_id, created_at, source, row_version, updated_at)
                VALUES (@number, @TemplateId, 'corrective', 'Bulk', 'bulk', 2, 'new', @requester, @DepartmentId, now(), 'import', 1, now())
                RETURNING id
                """,
                new { number = "WO-BULK-" + org.Suffix, org.TemplateId, org.DepartmentId, requester = org[Ticketing.Access.Role.Requester].UserId },
                transaction);
            var firstEvent = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO work_order_events (work_order_id, occurred_at, kind, to_status, payload)
                VALUES (@workOrder, now(), 'created', 'new', '{}'), (@workOrder + 1000000, now(), 'created', 'new', '{}'), (@workOrder + 1000000, now(), 'note', NULL, '{}')
                RETURNING id
                """,
                new { workOrder },
                transaction);

            var refused = await Assert.ThrowsAsync<PostgresException>(() => HistoryBulkLoad.EndAsync(
                connection,
                transaction,
                [new LoadedRows("work_orders", "id", workOrder, 1), new LoadedRows("work_order_events", "id", firstEvent, 3)],
                CancellationToken.None));

            Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
            Assert.Contains("work_order_events_work_order_id_fkey", refused.MessageText, StringComparison.Ordinal);
            Assert.Contains("(1 key(s) not present in table \"work_orders\")", refused.MessageText, StringComparison.Ordinal);
        }

        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE number = @number", new { number = "WO-BULK-" + org.Suffix }));
    }
}
