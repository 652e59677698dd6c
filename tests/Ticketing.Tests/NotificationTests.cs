using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

public class NotificationTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    [Fact]
    public async Task a_notification_is_kept_per_recipient_counted_unread_and_announced_on_its_channel()
    {
        var org = await TestOrg.CreateAsync(Data);
        var service = new Notifications.Notifications(Data, _clock);
        var technician = org[Role.Technician];
        var manager = org[Role.Manager];

        await using var listener = await Data.OpenConnectionAsync();
        var announced = new List<string>();
        listener.Notification += (_, e) => announced.Add(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN {Notifications.Notifications.Channel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        await using (var connection = await Data.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Notifications.Notifications.AddAsync(
                connection, transaction, [technician.UserId, technician.UserId, manager.UserId], null, "assigned", "You were assigned WO-1", _clock.GetUtcNow().UtcDateTime, CancellationToken.None);
            await transaction.CommitAsync();
        }

        // Notifications are read from the connection while it waits.
        await Eventually.Until(
            async () =>
            {
                await listener.WaitAsync(TimeSpan.FromMilliseconds(200));
                return announced.Count;
            },
            count => count >= 2,
            "both users' notifications to be announced",
            TimeSpan.FromSeconds(15));

        Assert.Equal(new[] { manager.UserId.ToString(), technician.UserId.ToString() }.Order(), announced.Order());
        Assert.Equal(1, await service.UnreadCountAsync(technician.UserId, CancellationToken.None));
        var page = await service.ListAsync(technician, unreadOnly: true, take: 10, CancellationToken.None);
        Assert.Equal("You were assigned WO-1", Assert.Single(page.Items).Text);

        Assert.Equal(1, await service.MarkReadAsync(technician, null, CancellationToken.None));
        Assert.Equal(0, await service.UnreadCountAsync(technician.UserId, CancellationToken.None));
        Assert.Equal(1, await service.UnreadCountAsync(manager.UserId, CancellationToken.None));
    }

    [Fact]
    public async Task a_notification_added_in_a_transaction_that_rolls_back_is_neither_stored_nor_announced()
    {
        var org = await TestOrg.CreateAsync(Data);
        var technician = org[Role.Technician];

        await using (var connection = await Data.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Notifications.Notifications.AddAsync(
                connection, transaction, [technician.UserId], null, "assigned", "never", _clock.GetUtcNow().UtcDateTime, CancellationToken.None);
            await transaction.RollbackAsync();
        }

        Assert.Equal(0, await new Notifications.Notifications(Data, _clock).UnreadCountAsync(technician.UserId, CancellationToken.None));
    }
}
