using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace WorkOrders.Ticketing.Tests.Delivery;

/// <summary>A request a <see cref="TestReceiver"/> got: its headers and the exact body bytes.</summary>
public sealed record ReceivedRequest(IReadOnlyDictionary<string, string> Headers, byte[] Body, int AnsweredWith);

/// <summary>
/// A real HTTP receiver on a loopback port, served by Kestrel: it records every POST to /hook and answers with the
/// status <see cref="Answer"/> says. It can be started on a port chosen before, so a test can make the URL first
/// and bring the receiver up later.
/// </summary>
public sealed class TestReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/hook");

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public Func<int> Answer { get; set; } = () => StatusCodes.Status204NoContent;

    public TimeSpan Delay { get; set; } = TimeSpan.Zero;

    /// <summary>Called with each request's headers as soon as its body has arrived, before the delay and the answer.</summary>
    public Action<IHeaderDictionary>? Arrived { get; set; }

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static async Task<TestReceiver> StartAsync(int? port = null)
    {
        var chosen = port ?? FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{chosen}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new TestReceiver(app, chosen);
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver.Arrived?.Invoke(request.Headers);
            if (receiver.Delay > TimeSpan.Zero)
            {
                await Task.Delay(receiver.Delay);
            }

            var status = receiver.Answer();
            receiver.Received.Enqueue(new ReceivedRequest(
                request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray(), status));
            return Results.StatusCode(status);
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
