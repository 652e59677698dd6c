using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace WorkOrders.Ticketing.Database;

/// <summary>A PostgreSQL notification channel the process listens on; features register theirs as a singleton.</summary>
public sealed record ListenChannel(string Name);

/// <summary>
/// One dedicated connection per process that LISTENs on every registered <see cref="ListenChannel"/> and hands each
/// notification to the in-process subscribers of its channel. When the connection drops it reconnects with a growing
/// pause; after every (re)connect each subscriber is called with a null payload, because anything announced while
/// nobody listened is lost and subscribers must read the current state again.
/// </summary>
public sealed partial class ChannelListener(NpgsqlDataSource dataSource, IEnumerable<ListenChannel> channels, ILogger<ChannelListener> logger)
    : BackgroundService
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstPause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(30);

    private readonly string[] _channels = channels.Select(c => c.Name).Distinct(StringComparer.Ordinal).ToArray();
    private readonly Lock _gate = new();
    private ImmutableList<Subscription> _subscriptions = [];
    private long _connected;
    private long _connections;
    private volatile int _processId;

    /// <summary>How many in-process subscriptions are open: pages that went away must not be left here.</summary>
    public int SubscriptionCount => _subscriptions.Count;

    /// <summary>Whether the connection is up and listening right now.</summary>
    public bool Listening => Connected != 0;

    /// <summary>
    /// Which connection is listening now, counted from 1 by every successful LISTEN; 0 while none is. A subscriber that
    /// trusts state built from notifications trusts it only while this stays the value it had when it built it.
    /// </summary>
    public long Connected => Interlocked.Read(ref _connected);

    /// <summary>The PostgreSQL backend process of the listening connection (0 while none), e.g. for pg_terminate_backend.</summary>
    public int ProcessId => _processId;

    /// <summary>
    /// Calls <paramref name="handler"/> with the payload of each notification on <paramref name="channel"/>, and with
    /// null after a (re)connect. The handler runs on the listener's loop: keep it short and hand longer work elsewhere.
    /// </summary>
    public IDisposable Subscribe(string channel, Action<string?> handler)
    {
        if (!_channels.Contains(channel, StringComparer.Ordinal))
        {
            throw new InvalidOperationException($"The channel '{channel}' is not registered as a {nameof(ListenChannel)}.");
        }

        var subscription = new Subscription(this, channel, handler);
        lock (_gate)
        {
            _subscriptions = _subscriptions.Add(subscription);
        }

        return subscription;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pause = FirstPause;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                LogConnectionLost(e, pause);
                try
                {
                    await Task.Delay(pause, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
                continue;
            }

            pause = FirstPause;
        }
    }

    private void Lost()
    {
        Interlocked.Exchange(ref _connected, 0);
        _processId = 0;
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
        connection.Notification += (_, e) => Raise(e.Channel, e.Payload);
        try
        {
            foreach (var channel in _channels)
            {
                // Channel names come from the app's own registrations, quoted as identifiers; never from a request.
#pragma warning disable CA2100
                await using var listen = new NpgsqlCommand($"LISTEN \"{channel.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
#pragma warning restore CA2100
                await listen.ExecuteNonQueryAsync(stoppingToken);
            }

            _processId = connection.ProcessID;
            Interlocked.Exchange(ref _connected, Interlocked.Increment(ref _connections));
            LogListening(string.Join(", ", _channels));
            foreach (var channel in _channels)
            {
                Raise(channel, null);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                if (!await connection.WaitAsync(KeepAlive, stoppingToken))
                {
                    // Nothing arrived for a while: a round trip finds a dead connection that waiting alone would not.
                    await using var ping = new NpgsqlCommand("SELECT 1", connection);
                    await ping.ExecuteNonQueryAsync(stoppingToken);
                }
            }
        }
        finally
        {
            // Whatever ends the loop, nobody may go on trusting that notifications arrive.
            Lost();
        }
    }

    private void Raise(string channel, string? payload)
    {
        foreach (var subscription in _subscriptions)
        {
            if (!string.Equals(subscription.Channel, channel, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                subscription.Handler(payload);
            }
#pragma warning disable CA1031 // One subscriber's bug must not stop the others, nor the listener.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogSubscriberFailed(e, channel);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions = _subscriptions.Remove(subscription);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for PostgreSQL notifications on {Channels}.")]
    private partial void LogListening(string channels);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The PostgreSQL notification connection was lost; reconnecting in {Pause}.")]
    private partial void LogConnectionLost(Exception exception, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Error, Message = "A subscriber of the PostgreSQL channel {Channel} failed.")]
    private partial void LogSubscriberFailed(Exception exception, string channel);

    private sealed class Subscription(ChannelListener owner, string channel, Action<string?> handler) : IDisposable
    {
        public string Channel => channel;

        public Action<string?> Handler => handler;

        public void Dispose() => owner.Remove(this);
    }
}
