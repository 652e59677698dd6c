using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;

namespace WorkOrders.Ticketing.Webhooks;

/// <summary>
/// Where a webhook may point. A receiver whose host resolves to a loopback, link-local, unspecified, broadcast or
/// multicast address is refused unless an administrator named the host in <see cref="WebhookOptions.AllowedHosts"/>,
/// and this server's own PostgreSQL (its host and port) always is: otherwise anyone who may register a webhook could
/// make the server post into its own machine or its database. Checked when a subscription is saved, again
/// before every delivery, and on the address each connection is made to, since DNS can change in between.
/// </summary>
public sealed class WebhookTargets
{
    private readonly HashSet<string> _allowed;
    private readonly (string Host, int Port)[] _database;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;

    public WebhookTargets(NpgsqlDataSource dataSource, IOptions<WebhookOptions> options)
        : this(dataSource, options, null)
    {
    }

    /// <summary>With <paramref name="resolve"/> standing in for DNS (a test's name that resolves one way, then another).</summary>
    internal WebhookTargets(NpgsqlDataSource dataSource, IOptions<WebhookOptions> options, Func<string, CancellationToken, Task<IPAddress[]>>? resolve)
    {
        _allowed = new HashSet<string>(options.Value.AllowedHosts.Select(h => h.Trim().Trim('[', ']')).Where(h => h.Length > 0), StringComparer.OrdinalIgnoreCase);
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        _database = [.. (builder.Host ?? "localhost").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(h => Endpoint(h, builder.Port))];
        _resolve = resolve ?? DnsAsync;
    }

    /// <summary>Why a delivery to <paramref name="url"/> may not be sent, or null when it may.</summary>
    public async Task<Refusal?> RefuseAsync(Uri url, CancellationToken cancellationToken) =>
        await RefuseAsync(url.IdnHost.Trim('[', ']'), url.Port, await ResolveAsync(url.IdnHost.Trim('[', ']'), cancellationToken), cancellationToken);

    /// <summary>
    /// The connection of the webhook client (its <see cref="SocketsHttpHandler.ConnectCallback"/>): the host is resolved
    /// once more, each address is held to the same rule as the URL, and the socket connects to an address that passed,
    /// never to a name resolved anew. A name that resolved outside when the URL was checked and to this machine a moment
    /// later (DNS rebinding), or a redirect to an internal address, is refused here.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var (host, port) = (context.DnsEndPoint.Host.Trim('[', ']'), context.DnsEndPoint.Port);
        var addresses = await ResolveAsync(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new HttpRequestException(HttpRequestError.NameResolutionError, $"'{host}' does not resolve.");
        }

        Refusal? refused = null;
        Exception? failed = null;
        foreach (var address in addresses)
        {
            if (await RefuseAsync(host, port, [address], cancellationToken) is { } refusal)
            {
                refused ??= refusal;
                continue;
            }

            // Disposed on every failure below; once connected, the stream returned owns it.
#pragma warning disable CA2000
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
#pragma warning restore CA2000
            try
            {
                socket.NoDelay = true;
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                failed = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        // Some address passed but none answered: an ordinary connection failure, retried as one.
        if (failed is not null)
        {
            throw new HttpRequestException(HttpRequestError.ConnectionError, failed.Message, failed);
        }

        throw new WebhookTargetRefusedException(refused!);
    }

    private async Task<Refusal?> RefuseAsync(string host, int port, IPAddress[] addresses, CancellationToken cancellationToken)
    {
        foreach (var (dbHost, dbPort) in _database)
        {
            // Never the database, whatever the allow-list says: nothing there speaks HTTP to a receiver.
            if (port == dbPort
                && (string.Equals(dbHost, host, StringComparison.OrdinalIgnoreCase) || Same(await ResolveAsync(dbHost, cancellationToken), addresses)))
            {
                return new Refusal("webhook.url_database", $"{host}:{port}");
            }
        }

        if (!_allowed.Contains(host) && addresses.FirstOrDefault(IsInternal) is { } inside)
        {
            return new Refusal("webhook.url_internal", host, inside.ToString());
        }

        return null;
    }

    /// <summary>One machine: a shared address, or loopback on both sides (a server on 127.0.0.1 is often on all of 127/8).</summary>
    private static bool Same(IPAddress[] database, IPAddress[] receiver) =>
        database.Intersect(receiver).Any() || (database.Any(IPAddress.IsLoopback) && receiver.Any(IPAddress.IsLoopback));

    /// <summary>Loopback, link-local, unspecified, broadcast and multicast addresses, in IPv4, IPv6 and IPv4 mapped into IPv6.</summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 0 || (b[0] == 169 && b[1] == 254) || b[0] >= 224;
        }

        return address.IsIPv6LinkLocal || address.IsIPv6Multicast || address.IsIPv6SiteLocal;
    }

    /// <summary>The addresses of a host; none when it does not resolve (the delivery then fails as any unreachable one).</summary>
    private async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        IPAddress.TryParse(host, out var literal) ? [literal] : await _resolve(host, cancellationToken);

    private static async Task<IPAddress[]> DnsAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            return await Dns.GetHostAddressesAsync(host, cancellationToken);
        }
        catch (SocketException)
        {
            return [];
        }
    }

    private static (string Host, int Port) Endpoint(string host, int port)
    {
        // A multi-host connection string may give "host:port" or "[v6]:port" per host.
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            return close > 0 && host.Length > close + 2 && host[close + 1] == ':' && int.TryParse(host[(close + 2)..], out var v6Port)
                ? (host[1..close], v6Port)
                : (host.Trim('[', ']'), port);
        }

        var colon = host.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon == host.LastIndexOf(':') && int.TryParse(host[(colon + 1)..], out var own) ? (host[..colon], own) : (host, port);
    }
}

/// <summary>The webhook client refused to connect: every address of the receiver's host breaks the rule of <see cref="WebhookTargets"/>.</summary>
public sealed class WebhookTargetRefusedException(Refusal refusal) : HttpRequestException($"Not sent: {refusal}")
{
    public Refusal Refusal { get; } = refusal;
}
