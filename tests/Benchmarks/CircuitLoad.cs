using System.Buffers;
using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Ingest;

namespace WorkOrders.Benchmarks;

/// <summary>
/// Many users of the analytics pages at once on one or two running dashboards, each user a client that speaks to the
/// server as the browser's Blazor script does, without a browser: it signs in with the form, then loads each page in
/// turn: fetches its HTML, opens a circuit over SignalR's <c>blazorpack</c> protocol with the page's component markers,
/// acknowledges every render batch and answers every JavaScript call, until a batch carries the page's figures (the
/// same element <see cref="PageTimings"/> waits for), then closes the circuit as a browser leaving the page does.
/// On two cores, twenty browsers per dashboard measure the browsers (see the README); this measures the dashboards.
/// The time of a load excludes what a browser adds after the batch arrives: laying out and painting it.
/// </summary>
public static partial class CircuitLoad
{
    public const string Name = "circuit-load";

    public static Command Verb()
    {
        var url = PageTimings.Text("--url", "the running dashboard", "http://127.0.0.1:5080");
        var also = PageTimings.Text("--also-url", "a second dashboard (such as a warehouse reader) loaded at the same time by as many users; empty for none", "");
        var user = PageTimings.Text("--user", "who opens the analytics pages", "executive");
        var password = PageTimings.Text("--password", "their password", "demo");
        var from = PageTimings.Text("--from", "the first day of the period the pages show (yyyy-MM-dd; empty with --to empty: the pages' default period)", "");
        var to = PageTimings.Text("--to", "the day after its last (yyyy-MM-dd)", "");
        var users = Cli.Whole("--users", "simulated users per dashboard, each loading the pages in turn", 20, 1, 500);
        var rounds = Cli.Whole("--rounds", "rounds of the three pages per user", 5, 1, 1000);
        var think = Cli.Whole("--think-ms", "a user's pause between two loads, in milliseconds, on average (0: none, each user loads page after page)", 0, 0, 600_000);
        var command = new Command(Name, "load the analytics pages of running dashboards with many simulated users as Blazor circuits, without browsers")
        {
            url, also, user, password, from, to, users, rounds, think,
        };
        command.SetRun((parsed, cancellationToken) =>
        {
            var period = parsed.GetRequiredValue(from) is { Length: > 0 } first && parsed.GetRequiredValue(to) is { Length: > 0 } last ? $"?from={first}&to={last}" : "";
            string[] dashboards = [parsed.GetRequiredValue(url), .. parsed.GetRequiredValue(also) is { Length: > 0 } second ? [second] : Array.Empty<string>()];
            return RunAsync(
                dashboards, (parsed.GetRequiredValue(user), parsed.GetRequiredValue(password)), period,
                parsed.GetValue(users), parsed.GetValue(rounds), TimeSpan.FromMilliseconds(parsed.GetValue(think)), cancellationToken);
        });
        return command;
    }

    /// <summary>A page and the string of the element that shows its figures, as it travels in a render batch.</summary>
    private sealed record Page(string Path, string[] Ready);

    private static readonly Page[] Pages =
    [
        new("/analytics", ["kpi-tiles"]),
        new("/analytics/reliability", ["heatmap-cell", "heatmap-empty"]),
        new("/analytics/staff", ["technician-grid"]),
    ];

    private sealed record Load(string Dashboard, string Page, double Ms, string? Failure);

    private static async Task<int> RunAsync(
        string[] dashboards, (string Name, string Password) user, string period, int users, int rounds, TimeSpan think, CancellationToken cancellationToken)
    {
        // Signed in one after the other, so the sign-in is not part of the load.
        var sessions = new List<(string Dashboard, HttpClient Http, CookieContainer Cookies)>();
        foreach (var dashboard in dashboards)
        {
            for (var i = 0; i < users; i++)
            {
                var cookies = new CookieContainer();
                var http = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies, AllowAutoRedirect = false })
                {
                    BaseAddress = new Uri(dashboard.TrimEnd('/') + "/"),
                    Timeout = TimeSpan.FromMinutes(5),
                };
                await SignInAsync(http, user, cancellationToken);
                sessions.Add((dashboard, http, cookies));
            }
        }

        var loads = new System.Collections.Concurrent.ConcurrentBag<Load>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(sessions.Select((session, index) => Task.Run(async () =>
        {
            // With a pause, users arrive spread over one pause and pause for half to one and a half of it, as people
            // do: started together and pausing alike, they would load in bursts of every user at once.
            var random = new Random(index);
            TimeSpan Pause(double share) => TimeSpan.FromMilliseconds(think.TotalMilliseconds * share);
            await Task.Delay(Pause(random.NextDouble()), cancellationToken);
            for (var round = 0; round < rounds; round++)
            {
                for (var p = 0; p < Pages.Length; p++)
                {
                    // Each user starts on another page, as people do.
                    var page = Pages[(p + index) % Pages.Length];
                    var load = Stopwatch.StartNew();
                    string? failure = null;
                    try
                    {
                        await LoadAsync(session.Http, session.Cookies, page, period, cancellationToken);
                    }
                    catch (Exception e) when (e is TimeoutException or HttpRequestException or InvalidOperationException or HubException)
                    {
                        failure = e.Message;
                    }

                    loads.Add(new Load(session.Dashboard, page.Path, load.Elapsed.TotalMilliseconds, failure));
                    await Task.Delay(Pause(0.5 + random.NextDouble()), cancellationToken);
                }
            }
        }, cancellationToken)));
        var seconds = clock.Elapsed.TotalSeconds;

        Console.WriteLine($"{users} users on each of {dashboards.Length} dashboards, {rounds} rounds of {Pages.Length} pages each, " +
            $"{(think > TimeSpan.Zero ? $"{think.TotalMilliseconds:N0} ms between loads on average" : "no pause between loads")}: {seconds:N1} s in all, {loads.Count / seconds:N1} loads/s");
        Console.WriteLine($"{"dashboard",-26} {"page",-24} {"loads",6} {"median ms",10} {"p95 ms",8} {"max ms",8} {"failed",7}");
        var groups = loads.GroupBy(l => (l.Dashboard, l.Page)).OrderBy(g => g.Key.Dashboard, StringComparer.Ordinal).ThenBy(g => g.Key.Page, StringComparer.Ordinal)
            .Select(g => (g.Key.Dashboard, g.Key.Page, Loads: g.ToList()))
            .Concat(loads.GroupBy(l => l.Dashboard).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (Dashboard: g.Key, Page: "every page", Loads: g.ToList())));
        foreach (var (dashboard, page, group) in groups)
        {
            var times = group.Where(l => l.Failure is null).Select(l => l.Ms).ToList();
            Console.WriteLine(
                $"{dashboard,-26} {page,-24} {times.Count,6} {(times.Count > 0 ? PageTimings.Median(times) : double.NaN),10:N0} {(times.Count > 0 ? PageTimings.Percentile(times, 0.95) : double.NaN),8:N0} " +
                $"{(times.Count > 0 ? times.Max() : double.NaN),8:N0} {group.Count - times.Count,7}");
        }

        foreach (var failure in loads.Where(l => l.Failure is not null).GroupBy(l => l.Failure).Take(5))
        {
            Console.WriteLine($"failed {failure.Count()} times: {failure.Key}");
        }

        return loads.Any(l => l.Failure is not null) ? 1 : 0;
    }

    private static async Task SignInAsync(HttpClient http, (string Name, string Password) user, CancellationToken cancellationToken)
    {
        var form = await http.GetStringAsync("login", cancellationToken);
        var token = WebUtility.HtmlDecode(TokenField().Match(form).Groups[1].Value);
        using var response = await http.PostAsync("account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userName"] = user.Name, ["password"] = user.Password, ["returnUrl"] = "/", ["__RequestVerificationToken"] = token,
        }), cancellationToken);
        if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location?.OriginalString != "/")
        {
            throw new CliException($"{user.Name} could not sign in at {http.BaseAddress} ({(int)response.StatusCode} {response.Headers.Location})", Cli.Failed);
        }
    }

    /// <summary>
    /// One load of a page as the browser's script makes it: the page's HTML, a circuit started with its component
    /// markers and prerendered state, each render batch acknowledged and each JavaScript call answered (with nothing:
    /// the pages' figures do not wait on one), until a batch carries one of the page's ready strings.
    /// </summary>
    private static async Task LoadAsync(HttpClient http, CookieContainer cookies, Page page, string period, CancellationToken cancellationToken)
    {
        var address = new Uri(http.BaseAddress!, page.Path.TrimStart('/') + period);
        var html = await http.GetStringAsync(address, cancellationToken);
        var markers = Marker().Matches(html).Select(m => JsonNode.Parse(m.Groups[1].Value)!).Where(m => (string?)m["type"] == "server").ToList();
        var state = ComponentState().Match(html) is { Success: true } s ? s.Groups[1].Value : "";
        if (markers.Count == 0)
        {
            throw new InvalidOperationException($"{page.Path} has no server component to start (signed out?)");
        }

        var shown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = page.Ready.Select(r => Encoding.UTF8.GetBytes(r)).ToArray();
        var builder = new HubConnectionBuilder().WithUrl(new Uri(http.BaseAddress!, "_blazor"), options =>
        {
            options.Cookies = cookies;
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = false;
        });
        builder.Services.AddSingleton<IHubProtocol>(new BlazorPack());
        await using var connection = builder.Build();
        connection.On("JS.RenderBatch", [typeof(long), typeof(byte[])], async (arguments, _) =>
        {
            var id = (long)arguments[0]!;
            if (Holds((byte[])arguments[1]!, ready))
            {
                shown.TrySetResult();
            }

            await connection.SendAsync("OnRenderCompleted", id, null, cancellationToken);
        }, null!);
        connection.On("JS.BeginInvokeJS", [typeof(long), typeof(string), typeof(string), typeof(int), typeof(long), typeof(int)], async (arguments, _) =>
        {
            var handle = (long)arguments[0]!;
            if (handle != 0)
            {
                await connection.SendAsync("EndInvokeJSFromDotNet", handle, true, $"[{handle},true,null]", cancellationToken);
            }
        }, null!);
        connection.On<string>("JS.Error", error => shown.TrySetException(new InvalidOperationException($"the circuit failed: {error}")));

        await connection.StartAsync(cancellationToken);
        var baseUri = http.BaseAddress!.ToString();
        var circuit = await connection.InvokeAsync<string?>("StartCircuit", baseUri, address.ToString(), "[]", "", cancellationToken)
            ?? throw new InvalidOperationException($"{page.Path}: the server refused to start the circuit");
        var operations = new JsonObject
        {
            ["batchId"] = 1,
            ["operations"] = new JsonArray([.. markers.Select((m, i) => (JsonNode)new JsonObject { ["type"] = "add", ["ssrComponentId"] = i + 1, ["marker"] = m })]),
        };
        await connection.SendAsync("UpdateRootComponents", operations.ToJsonString(), state, cancellationToken);
        try
        {
            await shown.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
        }
        finally
        {
            await connection.StopAsync(CancellationToken.None);
            // As a browser leaving the page: the server drops the circuit at once rather than keeping it for a reconnection.
            using var _ = await http.PostAsync("_blazor/disconnect", new FormUrlEncodedContent(new Dictionary<string, string> { ["circuitId"] = circuit }), CancellationToken.None);
        }
    }

    /// <summary>Whether a render batch holds one of the strings, as its string table writes them: a length of one byte, then the UTF-8.</summary>
    private static bool Holds(byte[] batch, byte[][] strings) =>
        strings.Any(s => s.Length < 128 && batch.AsSpan().IndexOf([(byte)s.Length, .. s]) >= 0);

    /// <summary>SignalR's MessagePack protocol under the name the Blazor server knows it by.</summary>
    private sealed class BlazorPack : IHubProtocol
    {
        private readonly MessagePackHubProtocol _inner = new();

        public string Name => "blazorpack";

        public int Version => 2;

        public TransferFormat TransferFormat => TransferFormat.Binary;

        public bool IsVersionSupported(int version) => version == Version;

        public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message) =>
            _inner.TryParseMessage(ref input, binder, out message);

        public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => _inner.WriteMessage(message, output);

        public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => _inner.GetMessageBytes(message);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex(@"<!--Blazor:(\{.*?\})-->")]
    private static partial Regex Marker();

    [GeneratedRegex(@"<!--Blazor-Server-Component-State:(.*?)-->", RegexOptions.Singleline)]
    private static partial Regex ComponentState();
}
