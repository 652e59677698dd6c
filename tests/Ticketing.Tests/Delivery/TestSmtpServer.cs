using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace WorkOrders.Ticketing.Tests.Delivery;

/// <summary>A message a <see cref="TestSmtpServer"/> accepted, with the envelope it came in.</summary>
public sealed record ReceivedMail(string MailFrom, IReadOnlyList<string> RcptTo, MimeMessage Message);

/// <summary>
/// A small SMTP server over a TcpListener for tests: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, no TLS and no
/// authentication. Recipients in <see cref="Refused"/> get a permanent 550.
/// </summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private TestSmtpServer(int port)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public ConcurrentQueue<ReceivedMail> Received { get; } = new();

    public ConcurrentBag<string> Refused { get; } = [];

    /// <summary>How long a message is held after it has arrived (and is counted) before its "250" is answered.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.Zero;

    /// <summary>Called with each message as soon as it has arrived, before the delay and the answer.</summary>
    public Action<ReceivedMail>? Arrived { get; set; }

    public static TestSmtpServer Start(int port = 0) => new(port);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        await using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        await writer.WriteLineAsync("220 test.local ESMTP ready");
        string? from = null;
        var to = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            var verb = line.Split(' ', 2)[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    await writer.WriteLineAsync("250-test.local greets you");
                    await writer.WriteLineAsync("250 8BITMIME");
                    break;
                case "HELO":
                case "NOOP":
                    await writer.WriteLineAsync("250 OK");
                    break;
                case "RSET":
                    (from, to) = (null, []);
                    await writer.WriteLineAsync("250 OK");
                    break;
                case "MAIL":
                    from = Address(line);
                    await writer.WriteLineAsync("250 OK");
                    break;
                case "RCPT":
                    var recipient = Address(line);
                    if (Refused.Contains(recipient))
                    {
                        await writer.WriteLineAsync("550 5.1.1 No such mailbox");
                    }
                    else
                    {
                        to.Add(recipient);
                        await writer.WriteLineAsync("250 OK");
                    }

                    break;
                case "DATA":
                    if (from is null || to.Count == 0)
                    {
                        await writer.WriteLineAsync("503 5.5.1 MAIL and RCPT first");
                        break;
                    }

                    await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                    var data = new StringBuilder();
                    while (await reader.ReadLineAsync() is { } dataLine && dataLine != ".")
                    {
                        data.Append(dataLine.StartsWith("..", StringComparison.Ordinal) ? dataLine[1..] : dataLine).Append("\r\n");
                    }

                    using (var raw = new MemoryStream(Encoding.UTF8.GetBytes(data.ToString())))
                    {
                        var mail = new ReceivedMail(from, to.ToArray(), await MimeMessage.LoadAsync(raw));
                        Received.Enqueue(mail);
                        Arrived?.Invoke(mail);
                    }

                    if (Delay > TimeSpan.Zero)
                    {
                        await Task.Delay(Delay);
                    }

                    (from, to) = (null, []);
                    await writer.WriteLineAsync("250 OK queued");
                    break;
                case "QUIT":
                    await writer.WriteLineAsync("221 Bye");
                    return;
                default:
                    await writer.WriteLineAsync("502 5.5.2 Command not implemented");
                    break;
            }
        }
    }

    private static string Address(string line)
    {
        var start = line.IndexOf('<', StringComparison.Ordinal);
        var end = line.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? line[(start + 1)..end] : "";
    }
}
