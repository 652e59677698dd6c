using System.Net;
using System.Net.Sockets;

namespace WorkOrders.Tests;

/// <summary>
/// A loopback TCP relay in front of the real PostgreSQL, so that a test can take the database off the network and
/// bring it back (as a restart or a broken link does) without stopping the cluster other tests share. While cut, every
/// open connection is reset and new ones are refused.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile bool _cut;

    public TcpRelay(string host, int port)
    {
        _target = new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork), port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Resets every connection through the relay and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open)
            {
                Reset(client);
            }

            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (_cut)
            {
                Reset(client);
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
            lock (_open)
            {
                _open.Add(client);
                _open.Add(server);
            }

            var one = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
            var other = server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
            await Task.WhenAny(one, other);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The relay was cut or one side hung up: the other side is closed below.
        }
        finally
        {
            lock (_open)
            {
                _open.Remove(client);
                _open.Remove(server);
            }

            client.Dispose();
            server.Dispose();
        }
    }

    /// <summary>Closes with a reset (RST), as a dead link or a killed server looks to the client.</summary>
    private static void Reset(TcpClient client)
    {
        if (client.Client is { } socket)
        {
            socket.LingerState = new LingerOption(true, 0);
        }

        client.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        Cut();
        await _accepting;
        _stop.Dispose();
    }
}
