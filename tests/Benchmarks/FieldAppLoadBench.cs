using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Playwright;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ingest;

namespace WorkOrders.Benchmarks;

/// <summary>
/// What the field app costs a phone, in headless Chromium: the first load (requests, bytes on the wire, time to the
/// sign-in form), the time to open offline (reloads with the network off, the median), and a sync of queued commands
/// with photos from the app's own outbox (time from pressing Sync to the outbox empty, bytes sent and received). Each
/// <c>--dashboard</c> (a built WorkOrders.Dashboard.dll) is started in turn as a child process on a throwaway database
/// with the demo data, serving the field app of its build output and, with <c>--field-app DIR</c>, again serving that
/// publish of the field app (as <c>./run.sh</c> does); each <c>--url</c> is a dashboard already running.
/// The commands are put in the outbox through the app's own storage module (<c>js/store.js</c>, the functions
/// <c>LocalStore</c> calls), the photos as blobs in its photo store, then the app's Sync button sends them.
/// </summary>
public static class FieldAppLoadBench
{
    public const string Name = "field-app-load";

    private const string User = "technician";
    private const string Password = "demo";

    public static Command Verb()
    {
        var dashboards = new Option<string[]>("--dashboard")
        {
            Description = "a WorkOrders.Dashboard.dll to start (build output or publish); repeat to compare; needs " + BenchmarkDatabase.Variable,
            AllowMultipleArgumentsPerToken = false,
        };
        var published = new Option<string?>("--field-app")
        {
            Description = "a publish of the field app (dotnet publish src/FieldApp -c Release -o DIR): each --dashboard is measured again serving it",
        };
        var publishedOnly = new Option<bool>("--published-only") { Description = "with --field-app: measure only the publish, not the build output" };
        var urls = new Option<string[]>("--url") { Description = "a dashboard already running with the demo data (./run.sh); repeatable" };
        var reloads = Cli.Whole("--reloads", "reloads with the network off to time (the median is printed)", 5, 1, 50);
        var commands = Cli.Whole("--commands", "commands to queue in the app's outbox (the photos' among them)", 500, 0, 100_000);
        var photos = Cli.Whole("--photos", "photos of 200-600 KB to queue with them", 50, 0, 10_000);
        var command = new Command(Name, "the field app in headless Chromium: first load, open offline, a sync of queued commands with photos from its outbox")
        {
            dashboards, published, publishedOnly, urls, reloads, commands, photos,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            parsed.GetValue(dashboards) ?? [], parsed.GetValue(published), parsed.GetValue(publishedOnly), parsed.GetValue(urls) ?? [], parsed.GetValue(reloads), parsed.GetValue(commands), parsed.GetValue(photos), cancellationToken));
        return command;
    }

    private sealed record Figures(
        string Served, int Requests, long Bytes, TimeSpan ToSignIn, string Load1,
        IReadOnlyList<TimeSpan> Offline, string Load2,
        int Queued, int Photos, TimeSpan ToEmpty, TimeSpan ToDone, long Sent, long Received, int SyncRequests, int Notes, string Load3);

    private static async Task<int> RunAsync(string[] dashboards, string? published, bool publishedOnly, string[] urls, int reloads, int commandCount, int photoCount, CancellationToken cancellationToken)
    {
        if (dashboards.Length == 0 && urls.Length == 0)
        {
            throw new CliException("name a --dashboard to start (e.g. src/Dashboard/bin/Debug/net10.0/linux-x64/WorkOrders.Dashboard.dll) or a running --url", Cli.UsageError);
        }

        if (photoCount > commandCount)
        {
            throw new CliException($"--photos ({photoCount}) may not exceed --commands ({commandCount}): each photo is attached by one command");
        }

        foreach (var dll in dashboards.Where(d => !File.Exists(d)))
        {
            throw new CliException($"--dashboard {dll}: no such file (build or publish src/Dashboard first)");
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Environment.GetEnvironmentVariable("WORKORDERS_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });

        var figures = new List<Figures>();
        foreach (var url in urls)
        {
            figures.Add(await MeasureAsync(browser, new Uri(url), url, reloads, commandCount, photoCount, cancellationToken));
        }

        if (dashboards.Length > 0)
        {
            await using var database = await BenchmarkDatabase.CreateAsync("fieldapp");
            foreach (var dll in dashboards)
            {
                foreach (var fieldApp in published is null ? new string?[] { null } : publishedOnly ? new string?[] { Path.GetFullPath(published) } : new string?[] { null, Path.GetFullPath(published) })
                {
                    Console.WriteLine($"starting {dll}{(fieldApp is null ? "" : $" with {fieldApp}")}");
                    await using var child = await Child.StartAsync(dll, fieldApp, database.Data.ConnectionString, cancellationToken);
                    var served = fieldApp is null
                        ? $"{Path.GetRelativePath(Environment.CurrentDirectory, dll)} with the field app of its build output"
                        : $"{Path.GetRelativePath(Environment.CurrentDirectory, dll)} with the field app's publish {Path.GetRelativePath(Environment.CurrentDirectory, fieldApp)}";
                    figures.Add(await MeasureAsync(browser, child.BaseAddress, served, reloads, commandCount, photoCount, cancellationToken));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"field app in headless Chromium ({Environment.ProcessorCount} cores), as {User}; load average from /proc/loadavg after each figure");
        foreach (var f in figures)
        {
            var offline = f.Offline.Order().ToList();
            Console.WriteLine($"served: {f.Served}");
            Console.WriteLine($"  first load            {f.Requests} requests, {f.Bytes / 1e6:0.00} MB transferred, {f.ToSignIn.TotalSeconds:0.0} s to the sign-in form   (load {f.Load1})");
            Console.WriteLine($"  open offline          median {offline[offline.Count / 2].TotalSeconds:0.00} s of {offline.Count} reloads ({string.Join(", ", f.Offline.Select(t => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)))})   (load {f.Load2})");
            Console.WriteLine($"  outbox sync           {f.Queued} commands with {f.Photos} photos: {f.ToEmpty.TotalSeconds:0.0} s from Sync to the outbox empty ({f.ToDone.TotalSeconds:0.0} s to the sync done), " +
                $"{f.Sent / 1e6:0.00} MB sent, {f.Received / 1e6:0.00} MB received in {f.SyncRequests} requests, {f.Notes} refused   (load {f.Load3})");
        }

        return 0;
    }

    private static async Task<Figures> MeasureAsync(IBrowser browser, Uri baseAddress, string served, int reloads, int commandCount, int photoCount, CancellationToken cancellationToken)
    {
        await using var context = await browser.NewContextAsync(new() { BaseURL = baseAddress.ToString(), Locale = "en-US" });
        context.SetDefaultTimeout(180_000);
        var wire = new WireCount(context);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add(message.Text);
                }
            }
        };
        cancellationToken.ThrowIfCancellationRequested();

        // First load: nothing cached, no service worker yet.
        var clock = Stopwatch.StartNew();
        await page.GotoAsync("/field/");
        await page.Locator("#userName").WaitForAsync();
        var toSignIn = clock.Elapsed;
        var (requests, sent, received) = await wire.TotalsAsync();
        var load1 = LoadAverage();
        Console.WriteLine($"{served}: first load {requests} requests, {(sent + received) / 1e6:0.00} MB, {toSignIn.TotalSeconds:0.0} s (load {load1})");

        await page.FillAsync("#userName", User);
        await page.FillAsync("#password", Password);
        await page.FillAsync("#deviceName", "bench " + DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        await page.GetByTestId("sign-in").ClickAsync();
        await page.Locator("html[data-offline-ready]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("[data-testid=nav-orders]:not(:has-text('(0)'))").WaitForAsync();
        await WaitIdleAsync(page);

        // Open offline: the service worker's copy and the pack in IndexedDB, until the home page lists the pack.
        await context.SetOfflineAsync(true);
        var offline = new List<TimeSpan>();
        for (var i = 0; i < reloads; i++)
        {
            clock.Restart();
            await page.ReloadAsync(new() { WaitUntil = WaitUntilState.Commit });
            await page.Locator("[data-testid=nav-orders]:not(:has-text('(0)'))").WaitForAsync();
            offline.Add(clock.Elapsed);
        }

        var load2 = LoadAverage();
        Console.WriteLine($"{served}: open offline {string.Join(", ", offline.Select(t => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)))} s (load {load2})");
        await context.SetOfflineAsync(false);
        await page.ReloadAsync();
        await page.Locator("[data-testid=nav-orders]:not(:has-text('(0)'))").WaitForAsync();
        await WaitIdleAsync(page);

        // The outbox: photos made in the page and kept as the app keeps them, the commands put where the app puts them.
        var shas = await page.EvaluateAsync<string[]>(MakePhotos, photoCount);
        var pack = JsonSerializer.Deserialize<TripPack>(await page.EvaluateAsync<string>("async () => (await import('./js/store.js')).get('kv', 'pack')"), FieldSyncBench.Json)!;
        var device = await page.EvaluateAsync<long>("async () => JSON.parse(await (await import('./js/store.js')).get('kv', 'device')).deviceId");
        var outbox = FieldSyncBench.Outbox(pack, shas, commandCount, device);
        var items = outbox.Select(c => new
        {
            commandId = c.CommandId!.Value.ToString(),
            command = JsonSerializer.Serialize(c, FieldSyncBench.Json),
            summary = $"bench {c.Kind}",
            photo = c.Kind == CommandKinds.WorkOrderPhoto ? c.Payload?.GetProperty("sha256").GetString() : null,
            createdAt = c.DeviceTime?.ToString("O", CultureInfo.InvariantCulture), // as the app stores it (JSON text, not a Date)
        }).ToArray();
        await page.EvaluateAsync("async items => { const s = await import('./js/store.js'); for (const i of items) await s.put('outbox', i); }", items);
        var queued = await page.EvaluateAsync<int>("async () => (await import('./js/store.js')).count('outbox')");

        cancellationToken.ThrowIfCancellationRequested();
        var (requests0, sent0, received0) = await wire.TotalsAsync();
        clock.Restart();
        await page.GetByTestId("sync").ClickAsync();
        // Polled from here: a predicate that returns a promise would count as true at once.
        var stopped = 0;
        while (await page.EvaluateAsync<int>("async () => (await import('./js/store.js')).count('outbox')") is var left and > 0)
        {
            // A run that ended with changes left (a refused photo, the connection lost) is not waited for in vain.
            stopped = await page.Locator("[data-testid=sync]:not([disabled])").CountAsync() > 0 ? stopped + 1 : 0;
            if (stopped >= 20)
            {
                var why = await page.GetByTestId("sync-error").AllTextContentsAsync();
                var error = errors.Count > 0 ? errors[^1] : "no error in the console";
                throw new CliException($"{served}: the sync stopped with {left} of {queued} changes in the outbox: {(why.Count > 0 ? why[0] : "no reason shown")}; {error}");
            }

            await Task.Delay(100, cancellationToken);
        }

        var toEmpty = clock.Elapsed;
        await WaitIdleAsync(page);
        var toDone = clock.Elapsed;
        var (requests1, sent1, received1) = await wire.TotalsAsync();
        var notes = await page.EvaluateAsync<int>("async () => (await import('./js/store.js')).count('results')");
        var load3 = LoadAverage();
        Console.WriteLine($"{served}: outbox of {queued} sent in {toEmpty.TotalSeconds:0.0} s, {(sent1 - sent0) / 1e6:0.00} MB sent (load {load3})");
        return new Figures(
            served, requests, sent + received, toSignIn, load1, offline, load2,
            queued, shas.Length, toEmpty, toDone, sent1 - sent0, received1 - received0, requests1 - requests0, notes, load3);
    }

    // Photos as a camera gives them: JPEG-like bytes (random body), 200-600 KB, stored by their SHA-256 as keepPhoto does.
    private const string MakePhotos = """
        async count => {
          const s = await import('./js/store.js');
          const hex = b => [...new Uint8Array(b)].map(x => x.toString(16).padStart(2, '0')).join('');
          const shas = [];
          for (let p = 0; p < count; p++) {
            const size = 200000 + Math.floor(Math.random() * 400000);
            const bytes = new Uint8Array(size);
            for (let o = 0; o < size; o += 65536) crypto.getRandomValues(bytes.subarray(o, Math.min(size, o + 65536)));
            bytes.set([0xFF, 0xD8, 0xFF, 0xE0]);
            bytes[size - 2] = 0xFF; bytes[size - 1] = 0xD9;
            const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
            await s.put('photos', { sha256, blob: new Blob([bytes], { type: 'image/jpeg' }), contentType: 'image/jpeg', size, fileName: `bench-${p}.jpg`, uploaded: false });
            shas.push(sha256);
          }
          return shas;
        }
        """;

    /// <summary>Until the app's sync has finished (the Sync button is enabled again).</summary>
    private static Task WaitIdleAsync(IPage page) =>
        page.Locator("[data-testid=sync]:not([disabled])").WaitForAsync(new() { Timeout = 600_000 });

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Requests and bytes on the wire (headers and encoded bodies) of every request the context finished or failed.</summary>
    private sealed class WireCount
    {
        private readonly List<Task<(long Sent, long Received)>> _pending = [];

        public WireCount(IBrowserContext context)
        {
            context.RequestFinished += (_, request) => Add(request);
            context.RequestFailed += (_, request) => Add(request);
        }

        private void Add(IRequest request)
        {
            lock (_pending)
            {
                _pending.Add(SizeAsync(request));
            }
        }

        private static async Task<(long, long)> SizeAsync(IRequest request)
        {
            try
            {
                var sizes = await request.SizesAsync();
                var body = (long)sizes.RequestBodySize;
                if (body == 0 && await request.HeaderValueAsync("content-length") is { } length)
                {
                    // A blob body (a photo chunk) is not seen by the protocol: its declared length is what went out.
                    body = long.Parse(length, CultureInfo.InvariantCulture);
                }

                return (sizes.RequestHeadersSize + body, sizes.ResponseHeadersSize + sizes.ResponseBodySize);
            }
            catch (PlaywrightException)
            {
                return (0, 0);
            }
        }

        public async Task<(int Requests, long Sent, long Received)> TotalsAsync()
        {
            Task<(long Sent, long Received)>[] tasks;
            lock (_pending)
            {
                tasks = [.. _pending];
            }

            var sizes = await Task.WhenAll(tasks);
            return (sizes.Length, sizes.Sum(s => s.Sent), sizes.Sum(s => s.Received));
        }
    }

    /// <summary>A dashboard started as a child process from its folder (its static assets' manifest is there), on a free port.</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;

        private Child(Process process, Uri baseAddress)
        {
            _process = process;
            BaseAddress = baseAddress;
        }

        public Uri BaseAddress { get; }

        public static async Task<Child> StartAsync(string dll, string? fieldApp, string connectionString, CancellationToken cancellationToken)
        {
            var port = FreePort();
            var folder = Path.GetDirectoryName(Path.GetFullPath(dll))!;
            var start = new ProcessStartInfo("dotnet", [Path.GetFullPath(dll), "--urls", $"http://127.0.0.1:{port}"])
            {
                WorkingDirectory = folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["ConnectionStrings__WorkOrders"] = connectionString;
            start.Environment["Ticketing__SeedDemo"] = "true";
            if (fieldApp is not null)
            {
                start.Environment["FieldApp__PublishedPath"] = fieldApp;
            }

            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["Warehouse__Path"] = Path.Combine(Path.GetTempPath(), $"fieldapp-bench-{Environment.ProcessId}-{port}.duckdb");
            var process = Process.Start(start) ?? throw new CliException($"could not start {dll}", Cli.Failed);
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var child = new Child(process, new Uri($"http://127.0.0.1:{port}/"));
            using var http = new HttpClient { BaseAddress = child.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromMinutes(10))
            {
                if (process.HasExited)
                {
                    string text;
                    lock (output)
                    {
                        text = output.ToString();
                    }

                    throw new CliException($"{dll} stopped while starting (exit {process.ExitCode}):\n{text}", Cli.Failed);
                }

                try
                {
                    if ((await http.GetAsync("/healthz/ready", cancellationToken)).IsSuccessStatusCode)
                    {
                        return child;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet: migrating and seeding the demo data
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // busy seeding
                }

                await Task.Delay(500, cancellationToken);
            }

            await child.DisposeAsync();
            throw new CliException($"{dll} did not answer /healthz/ready within 10 minutes", Cli.Failed);
        }

        private static int FreePort()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            return ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
