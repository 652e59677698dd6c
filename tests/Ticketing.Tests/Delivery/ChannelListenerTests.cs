using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Notifications;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Delivery;

public sealed class ChannelListenerTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private NpgsqlDataSource Data => database.DataSource;

    private async Task NotifyAsync(long userId)
    {
        await using var connection = await Data.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Notifications.Notifications.AddAsync(connection, transaction, [userId], null, "assigned", "Look", DateTime.UtcNow, CancellationToken.None);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task a_user_subscription_hears_only_that_users_notifications_and_keeps_hearing_them_after_the_connection_drops()
    {
        var org = await TestOrg.CreateAsync(Data);
        var (me, someoneElse) = (org[Role.Technician].UserId, org[Role.Manager].UserId);
        var listener = new ChannelListener(Data, [new ListenChannel(Notifications.Notifications.Channel)], NullLogger<ChannelListener>.Instance);
        var heard = 0;
        using var subscription = new NotificationListener(listener).Subscribe(me, () => Interlocked.Increment(ref heard));
        await listener.StartAsync(CancellationToken.None);
        try
        {
            await Eventually.Until(() => listener.Listening, "the listener to be listening", Patience);
            await Eventually.Until(() => Volatile.Read(ref heard), n => n == 1, "the call that follows connecting", Patience);
            await NotifyAsync(someoneElse);
            await NotifyAsync(me);
            await Eventually.Until(() => Volatile.Read(ref heard), n => n == 2, "the call for my notification only", Patience);

            // The server ends the listening session; the listener reconnects and tells subscribers to read again.
            await using (var connection = await Data.OpenConnectionAsync())
            {
                Assert.Equal(1, await connection.ExecuteScalarAsync<int>(
                    "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE datname = current_database() AND (query LIKE 'LISTEN %' OR query = 'SELECT 1')"));
            }

            await Eventually.Until(() => Volatile.Read(ref heard), n => n == 3, "the call that follows reconnecting", Patience);
            await Eventually.Until(() => listener.Listening, "the listener to be listening again", Patience);
            await NotifyAsync(me);
            await Eventually.Until(() => Volatile.Read(ref heard), n => n == 4, "the call for my notification after the reconnect", Patience);
        }
        finally
        {
            await listener.StopAsync(CancellationToken.None);
        }

        Assert.Equal(4, heard);
    }

    [Fact]
    public void subscribing_to_a_channel_that_is_not_registered_is_a_bug_said_at_once()
    {
        var listener = new ChannelListener(Data, [new ListenChannel("one")], NullLogger<ChannelListener>.Instance);
        Assert.Throws<InvalidOperationException>(() => listener.Subscribe("other", _ => { }));
    }
}
