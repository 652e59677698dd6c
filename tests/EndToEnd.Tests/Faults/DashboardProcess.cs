using System.Diagnostics;
using System.Text;

namespace WorkOrders.EndToEnd.Tests.Faults;

/// <summary>
/// The built Dashboard started as a child process (<c>dotnet WorkOrders.Dashboard.dll</c>) on a port of its own, with
/// its settings in its environment, so a test can kill it with SIGKILL as an operator's <c>kill -9</c> would. The
/// output of every start goes to one log file, whose tail a failing test shows.
/// </summary>
public sealed class DashboardProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly string _log;
    private readonly Lock _logGate = new();
    private Process? _process;

    public DashboardProcess(string name, IReadOnlyDictionary<string, string> settings, string folder)
    {
        Name = name;
        _settings = settings;
        Port = Ticketing.Tests.Delivery.TestReceiver.FreePort();
        _log = Path.Combine(folder, $"{name}.log");
    }

    public string Name { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public bool Running => _process is { HasExited: false };

    /// <summary>How many times the process was started and how long each start took until /healthz/ready answered.</summary>
    public List<TimeSpan> Starts { get; } = [];

    /// <summary>The built Dashboard beside this test assembly's build: same configuration, framework and runtime folders.</summary>
    public static string DashboardDll
    {
        get
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory);
            var root = here;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "WorkOrders.sln")))
            {
                root = root.Parent;
            }

            if (root is null)
            {
                throw new InvalidOperationException($"No WorkOrders.sln above {here.FullName}.");
            }

            var project = Path.Combine(root.FullName, "tests", "EndToEnd.Tests");
            var build = Path.GetRelativePath(project, here.FullName);
            var dll = Path.Combine(root.FullName, "src", "Dashboard", build, "WorkOrders.Dashboard.dll");
            return File.Exists(dll) ? dll : throw new InvalidOperationException($"The Dashboard is not built at {dll}: build the solution first.");
        }
    }

    /// <summary>Starts the process and waits until it is ready (its database reachable, its start-up jobs begun).</summary>
    public async Task StartAsync()
    {
        if (Running)
        {
            throw new InvalidOperationException($"{Name} is already running.");
        }

        var dll = DashboardDll;
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/');
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in _settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var watch = Stopwatch.StartNew();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        Append($"---- {Name}: start {Starts.Count + 1} at {DateTime.UtcNow:HH:mm:ss.fff}");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {process.ExitCode} while starting:\n{Tail()}");
            }

            if (watch.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"{Name} was not ready within {StartTimeout}:\n{Tail()}");
            }

            try
            {
                using var ready = await probe.GetAsync("/healthz/ready");
                if (ready.IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        Starts.Add(watch.Elapsed);
    }

    /// <summary>SIGKILL: no shutdown, no flush, no finally block runs in the app.</summary>
    public void Kill()
    {
        if (_process is not { } process)
        {
            return;
        }

        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
        Append($"---- {Name}: killed at {DateTime.UtcNow:HH:mm:ss.fff}");
        process.Dispose();
        _process = null;
    }

    /// <summary>The last lines the process wrote.</summary>
    public string Tail(int lines = 60)
    {
        lock (_logGate)
        {
            return File.Exists(_log) ? string.Join('\n', File.ReadLines(_log).TakeLast(lines)) : "";
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logGate)
        {
            File.AppendAllText(_log, line + "\n", Encoding.UTF8);
        }
    }
}
