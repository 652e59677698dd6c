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

    [Fact]
    public async Task a_load_of_open_assigned_work_adds_it_to_its_assignees_kept_loads_as_the_trigger_would()
    {
        var org = await TestOrg.CreateAsync(database.DataSource);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await HistoryBulkLoad.BeginAsync(connection, transaction, CancellationToken.None);
            var ids = (await connection.QueryAsync<long>(
                """
                INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, department_id, assignee_id, created_at, source, row_version, updated_at)
                SELECT 'WO-LOAD-' || @Suffix || '-' || n, @TemplateId, 'corrective', 'Bulk', 'bulk', 1 + n % 4,
                       (ARRAY['assigned', 'in_progress', 'on_hold', 'closed', 'new'])[1 + n % 5], @requester, @DepartmentId,
                       CASE WHEN n % 5 = 4 THEN NULL ELSE (ARRAY[@technician, @other])[1 + n % 2] END, now(), 'import', 1, now()
                FROM generate_series(0, 39) n
                RETURNING id
                """,
                new
                {
                    org.Suffix,
                    org.TemplateId,
                    org.DepartmentId,
                    requester = org[Ticketing.Access.Role.Requester].UserId,
                    technician = org[Ticketing.Access.Role.Technician].UserId,
                    other = org.OtherTechnician.UserId,
                },
                transaction)).Order().ToList();

            // Without the triggers the loads know nothing of the load yet.
            Assert.Equal(2, (await KeptLoads.DifferencesAsync(connection, transaction)).Count);
            await HistoryBulkLoad.EndAsync(connection, transaction, [new LoadedRows("work_orders", "id", ids[0], ids[^1] - ids[0] + 1)], CancellationToken.None);
            Assert.Empty(await KeptLoads.DifferencesAsync(connection, transaction));
            await transaction.CommitAsync();
        }

        Assert.Empty(await KeptLoads.DifferencesAsync(connection));
    }
}
