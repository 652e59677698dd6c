using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace WorkOrders.Tests;

/// <summary>
/// A real mosquitto broker for the alarm bridge: the one ./test.sh starts (WORKORDERS_TEST_MQTT=host:port), or, when
/// that is not set, one this fixture starts itself on a free loopback port from Debian's mosquitto. Without either
/// the tests fail: they never skip the broker.
/// </summary>
public sealed class TestBroker : IAsyncLifetime
{
    private Process? _process;
    private string? _folder;

    public string Host { get; private set; } = "127.0.0.1";

    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("WORKORDERS_TEST_MQTT") is { Length: > 0 } configured)
        {
            var parts = configured.Split(':');
            (Host, Port) = (parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        var binary = new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("mosquitto is missing: run the tests with ./test.sh, which installs and starts it, or set WORKORDERS_TEST_MQTT.");
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _folder = Directory.CreateTempSubdirectory("workorders-mqtt-").FullName;
        var config = Path.Combine(_folder, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"listener {Port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 0\n"
            + (Environment.UserName == "root" ? "user root\n" : ""));
        _process = Process.Start(new ProcessStartInfo(binary, ["-c", config]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"mosquitto did not start on port {Port}");
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process?.Dispose();
        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }

        return Task.CompletedTask;
    }
}
