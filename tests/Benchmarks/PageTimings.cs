using System.CommandLine;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using WorkOrders.Ingest;

namespace WorkOrders.Benchmarks;

/// <summary>
/// The time until each analytics page of a running dashboard, and the admin's warehouse page, is interactive in
/// headless Chromium: from navigation to the circuit taking over the page, and to the figures being on screen. Prints
/// the first load (the figures are computed) and the median and p95 of the loads after it (the figures are kept until the next
/// ingest), then the same pages opened from one another inside the circuit, as the menu opens them. Measures against
/// whatever the dashboard holds, so run it on the data you want figures for. With
/// <c>--users N</c> (and <c>--also-url</c> for a second dashboard, such as a warehouse reader) it loads the pages
/// with N users per dashboard at once and prints the median and p95 per dashboard and page.
/// </summary>
public static class PageTimings
{
    public const string Name = "page-timings";

    public static Command Verb()
    {
        var url = Text("--url", "the running dashboard", "http://127.0.0.1:5080");
        var user = Text("--user", "who opens the analytics pages", "executive");
        var password = Text("--password", "their password", "demo");
        var admin = Text("--admin-user", "who opens the warehouse page", "admin");
        var adminPassword = Text("--admin-password", "their password", "demo");
        var from = Text("--from", "the first day of the period the pages show (yyyy-MM-dd; empty with --to empty: the pages' default period)", "2025-11-01");
        var to = Text("--to", "the day after its last (yyyy-MM-dd)", "2026-11-01");
        var rounds = Cli.Whole("--rounds", "loads timed after the first", 5, 1, 100);
        var users = Cli.Whole("--users", "simulated users per dashboard loading the analytics pages at once (1: one user, first load and median)", 1, 1, 200);
        var also = Text("--also-url", "a second dashboard (such as a warehouse reader) loaded at the same time by as many users; empty for none", "");
        var afterIngest = Cli.Whole("--after-ingest", "rounds in which the admin runs an ingest from the warehouse page and the user then opens each analytics page once (0: none)", 0, 0, 50);
        var command = new Command(Name, "time the analytics pages of a running dashboard until they are interactive and until their figures show")
        {
            url, user, password, admin, adminPassword, from, to, rounds, users, also, afterIngest,
        };
        command.SetRun((parsed, _) =>
        {
            var reader = (parsed.GetRequiredValue(user), parsed.GetRequiredValue(password));
            // Without a period the pages open as from the menu, on their default period.
            var period = parsed.GetRequiredValue(from) is { Length: > 0 } first && parsed.GetRequiredValue(to) is { Length: > 0 } last ? $"from={first}&to={last}" : "";
            string[] dashboards = [parsed.GetRequiredValue(url), .. parsed.GetRequiredValue(also) is { Length: > 0 } second ? [second] : Array.Empty<string>()];
            var administrator = (parsed.GetRequiredValue(admin), parsed.GetRequiredValue(adminPassword));
            return parsed.GetValue(afterIngest) is > 0 and var ingests ? AfterIngestAsync(dashboards[0], reader, administrator, period, ingests)
                : parsed.GetValue(users) > 1 || dashboards.Length > 1
                ? UnderLoadAsync(dashboards, reader, period, parsed.GetValue(users), parsed.GetValue(rounds))
                : RunAsync(dashboards[0], reader, administrator, period, parsed.GetValue(rounds));
        });
        return command;
    }

    /// <summary>
    /// <paramref name="users"/> simulated users on each dashboard at once, each in a browser context of its own, loading
    /// the three analytics pages in turn <paramref name="rounds"/> times. Prints per dashboard and page the median and
    /// 95th percentile from navigation until the figures show, over every load of every user.
    /// </summary>
    private static async Task<int> UnderLoadAsync(string[] dashboards, (string Name, string Password) user, string period, int users, int rounds)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var chromium = await LaunchAsync(playwright);
        (string Path, string Ready)[] pages =
        [
            ($"/analytics?{period}", "[data-testid=kpi-tiles]"),
            ($"/analytics/reliability?{period}", "[data-testid=heatmap]"),
            ($"/analytics/staff?{period}", "[data-testid=technician-grid]"),
        ];

        // Signed in one after the other, so the sign-in is not part of the load.
        var sessions = new List<(string Dashboard, IPage Page)>();
        foreach (var dashboard in dashboards)
        {
            for (var i = 0; i < users; i++)
            {
                sessions.Add((dashboard, await SignInAsync(chromium, dashboard, user)));
            }
        }

        var loads = new System.Collections.Concurrent.ConcurrentBag<(string Dashboard, string Page, double Ms)>();
        var timedOut = new System.Collections.Concurrent.ConcurrentBag<(string Dashboard, string Page)>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(sessions.Select((session, index) => Task.Run(async () =>
        {
            for (var round = 0; round < rounds; round++)
            {
                for (var p = 0; p < pages.Length; p++)
                {
                    // Each user starts on another page, as people do.
                    var (path, ready) = pages[(p + index) % pages.Length];
                    var load = Stopwatch.StartNew();
                    try
                    {
                        await session.Page.GotoAsync(path);
                        await session.Page.Locator(ready).WaitForAsync();
                        loads.Add((session.Dashboard, path.Split('?')[0], load.Elapsed.TotalMilliseconds));
                    }
                    catch (TimeoutException)
                    {
                        // Counted apart: a page whose figures did not show within the timeout has no time to rank.
                        timedOut.Add((session.Dashboard, path.Split('?')[0]));
                    }
                }
            }
        })));

        Console.WriteLine($"{users} users on each of {dashboards.Length} dashboards, {rounds} rounds of {pages.Length} pages each, {clock.Elapsed.TotalSeconds:N1} s in all");
        Console.WriteLine($"{"dashboard",-26} {"page",-24} {"loads",6} {"median ms",10} {"p95 ms",8} {"timed out",10}");
        foreach (var group in loads.GroupBy(l => (l.Dashboard, l.Page)).OrderBy(g => g.Key.Dashboard, StringComparer.Ordinal).ThenBy(g => g.Key.Page, StringComparer.Ordinal))
        {
            var times = group.Select(l => l.Ms).ToList();
            Console.WriteLine($"{group.Key.Dashboard,-26} {group.Key.Page,-24} {times.Count,6} {Median(times),10:N0} {Percentile(times, 0.95),8:N0} {timedOut.Count(t => t == group.Key),10}");
        }

        foreach (var dashboard in loads.GroupBy(l => l.Dashboard).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var times = dashboard.Select(l => l.Ms).ToList();
            Console.WriteLine($"{dashboard.Key,-26} {"every page",-24} {times.Count,6} {Median(times),10:N0} {Percentile(times, 0.95),8:N0} {timedOut.Count(t => t.Dashboard == dashboard.Key),10}");
        }

        return 0;
    }

    /// <summary>
    /// The first load of each analytics page after an ingest, as the first person to open it after each scheduled run
    /// meets it: the admin presses "Ingest now" on the warehouse page and waits for the run to end (its snapshot and the
    /// figures it asks for the default views included), then the user opens each page once, <paramref name="rounds"/> times.
    /// </summary>
    private static async Task<int> AfterIngestAsync(string url, (string Name, string Password) user, (string Name, string Password) admin, string period, int rounds)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var chromium = await LaunchAsync(playwright);
        var reader = await SignInAsync(chromium, url, user);
        var administrator = await SignInAsync(chromium, url, admin);
        (string Path, string Ready)[] pages =
        [
            ($"/analytics?{period}", "[data-testid=kpi-tiles]"),
            ($"/analytics/reliability?{period}", "[data-testid=heatmap]"),
            ($"/analytics/staff?{period}", "[data-testid=technician-grid]"),
        ];

        var shown = pages.ToDictionary(p => p.Path, _ => new List<double>());
        Console.WriteLine($"{"round",6} {"ingest (ms)",12} {string.Join(" ", pages.Select(p => $"{p.Path.Split('?')[0],24}"))}   figures shown after the ingest (ms)");
        for (var round = 1; round <= rounds; round++)
        {
            await administrator.GotoAsync("/admin/warehouse");
            await administrator.Locator("[data-testid=circuit-ready]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
            var button = administrator.GetByTestId("ingest-now");
            var ingest = Stopwatch.StartNew();
            await button.ClickAsync();
            // The page says how the run ended once it has (a fresh page each round shows no earlier result).
            await administrator.GetByTestId("ingest-result").WaitForAsync(new() { Timeout = 600_000 });
            var line = $"{round,6} {ingest.Elapsed.TotalMilliseconds,12:N0}";
            foreach (var (path, ready) in pages)
            {
                var clock = Stopwatch.StartNew();
                await reader.GotoAsync(path);
                await reader.Locator("[data-testid=circuit-ready]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
                await reader.Locator(ready).WaitForAsync();
                shown[path].Add(clock.Elapsed.TotalMilliseconds);
                line += $" {clock.Elapsed.TotalMilliseconds,24:N0}";
            }

            Console.WriteLine(line);
        }

        Console.WriteLine($"{"median",6} {"",12} {string.Join(" ", pages.Select(p => $"{Median(shown[p.Path]),24:N0}"))}");
        Console.WriteLine($"{"max",6} {"",12} {string.Join(" ", pages.Select(p => $"{shown[p.Path].Max(),24:N0}"))}");
        return 0;
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new()
    {
        ExecutablePath = Environment.GetEnvironmentVariable("WORKORDERS_CHROMIUM") ?? "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });

    internal static double Percentile(List<double> values, double share)
    {
        values.Sort();
        return values[Math.Min(values.Count - 1, (int)Math.Ceiling(share * values.Count) - 1)];
    }

    private static async Task<int> RunAsync(string url, (string Name, string Password) user, (string Name, string Password) admin, string period, int rounds)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var chromium = await LaunchAsync(playwright);
        var reader = await SignInAsync(chromium, url, user);
        var administrator = await SignInAsync(chromium, url, admin);
        (IPage Page, string Path, string Ready)[] pages =
        [
            (reader, $"/analytics?{period}", "[data-testid=kpi-tiles]"),
            (reader, $"/analytics/reliability?{period}", "[data-testid=heatmap]"),
            (reader, $"/analytics/staff?{period}", "[data-testid=technician-grid]"),
            (administrator, "/admin/warehouse", "[data-testid=ingest-status]"),
        ];

        Console.WriteLine($"{"page",-24} {"first load: figures shown (ms)",31} {"interactive (median ms)",24} {"figures shown (median ms)",26} {"(p95 ms)",9}   of {rounds} loads after the first");
        foreach (var (page, path, ready) in pages)
        {
            var interactive = new List<double>();
            var shown = new List<double>();
            var first = 0.0;
            for (var round = 0; round <= rounds; round++)
            {
                var clock = Stopwatch.StartNew();
                await page.GotoAsync(path);
                await page.Locator("[data-testid=circuit-ready]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
                var circuit = clock.Elapsed.TotalMilliseconds;
                await page.Locator(ready).WaitForAsync();
                if (round == 0)
                {
                    first = clock.Elapsed.TotalMilliseconds;
                }
                else
                {
                    interactive.Add(circuit);
                    shown.Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            Console.WriteLine($"{path.Split('?')[0],-24} {first,31:N0} {Median(interactive),24:N0} {Median(shown),26:N0} {Percentile(shown, 0.95),9:N0}");
        }

        // The analytics pages opened from one another as the menu opens them: inside the circuit, without a page load.
        Console.WriteLine();
        Console.WriteLine($"{"page, opened in the app",-24} {"figures shown (median ms)",26} {"(p95 ms)",9}   of {rounds} openings");
        var opened = pages[..3].ToDictionary(p => p.Path, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (page, path, ready) in pages[..3])
            {
                var clock = Stopwatch.StartNew();
                await page.EvaluateAsync("path => Blazor.navigateTo(path)", path);
                await page.Locator(ready).WaitForAsync();
                opened[path].Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        foreach (var (path, shown) in opened)
        {
            Console.WriteLine($"{path.Split('?')[0],-24} {Median(shown),26:N0} {Percentile(shown, 0.95),9:N0}");
        }

        return 0;
    }

    private static async Task<IPage> SignInAsync(IBrowser chromium, string url, (string Name, string Password) user)
    {
        var context = await chromium.NewContextAsync(new() { BaseURL = url, Locale = "en-US" });
        context.SetDefaultTimeout(120_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#userName", user.Name);
        await page.FillAsync("#password", user.Password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(new Regex("/$"));
        // The home page is interactive before the user goes on, so a first load does not share the cores with it.
        await page.Locator("[data-testid=circuit-ready]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        return page;
    }

    internal static Option<string> Text(string name, string description, string fallback) =>
        new(name) { Description = description, DefaultValueFactory = _ => fallback };

    internal static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }
}
