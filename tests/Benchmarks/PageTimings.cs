using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace WorkOrders.Benchmarks;

/// <summary>
/// The time until each analytics page of a running dashboard is interactive in headless Chromium: from navigation to
/// the circuit taking over the page, and to the figures being on screen. Prints the first load (the figures are
/// computed) and the median of the loads after it (the figures are kept until the next ingest).
/// <c>dotnet run --project tests/Benchmarks -c Release -- --url http://127.0.0.1:5080 --user executive --password demo --from 2025-11-01 --to 2026-11-01</c>
/// </summary>
public static class PageTimings
{
    public static async Task<int> Main(string[] args)
    {
        var options = Options(args);
        var url = options.GetValueOrDefault("url", "http://127.0.0.1:5080");
        var period = $"from={options.GetValueOrDefault("from", "2025-11-01")}&to={options.GetValueOrDefault("to", "2026-11-01")}";
        var rounds = int.Parse(options.GetValueOrDefault("rounds", "5"), CultureInfo.InvariantCulture);
        (string Path, string Ready)[] pages =
        [
            ($"/analytics?{period}", "[data-testid=kpi-tiles]"),
            ($"/analytics/reliability?{period}", "[data-testid=heatmap]"),
            ($"/analytics/staff?{period}", "[data-testid=technician-grid]"),
        ];

        using var playwright = await Playwright.CreateAsync();
        await using var chromium = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Environment.GetEnvironmentVariable("WORKORDERS_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var context = await chromium.NewContextAsync(new() { BaseURL = url, Locale = "en-US" });
        context.SetDefaultTimeout(120_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#userName", options.GetValueOrDefault("user", "executive"));
        await page.FillAsync("#password", options.GetValueOrDefault("password", "demo"));
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(new Regex("/$"));

        Console.WriteLine($"{"page",-24} {"first load: figures shown (ms)",31} {"interactive (median ms)",24} {"figures shown (median ms)",26}   of {rounds} loads after the first");
        foreach (var (path, ready) in pages)
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

            Console.WriteLine($"{path.Split('?')[0],-24} {first,31:N0} {Median(interactive),24:N0} {Median(shown),26:N0}");
        }

        return 0;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        return options;
    }
}
