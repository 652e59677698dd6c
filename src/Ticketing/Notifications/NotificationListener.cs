using System.Globalization;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ticketing.Notifications;

/// <summary>
/// Tells in-process subscribers that a user got a notification, from the one PostgreSQL listener of the process,
/// so an open page can refresh its unread count without polling and without a connection of its own.
/// </summary>
public sealed class NotificationListener(ChannelListener listener)
{
    /// <summary>
    /// Calls <paramref name="changed"/> when a notification for <paramref name="userId"/> is committed, and after the
    /// listener reconnected (one may have been missed). Dispose the result to stop.
    /// </summary>
    public IDisposable Subscribe(long userId, Action changed)
    {
        var user = userId.ToString(CultureInfo.InvariantCulture);
        return listener.Subscribe(Notifications.Channel, payload =>
        {
            if (payload is null || string.Equals(payload, user, StringComparison.Ordinal))
            {
                changed();
            }
        });
    }
}
