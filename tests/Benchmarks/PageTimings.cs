using System.CommandLine;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using WorkOrders.Ingest;

namespace WorkOrders.Benchmarks;

/// <summary>
/// The time until each analytics page of a running dashboard, and the admin's warehouse page, is interactive in
/// headless Chromium: from navigation to the circuit taking over the page, and to the figures being on screen. Prints
/// the first load (the figures are computed) and the median of the loads after it (the figures are kept until the next
/// ingest). Measures against whatever the dashboard holds, so run it on the data you want figures for.
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
        var from = Text("--from", "the first day of the period the pages show (yyyy-MM-dd)", "2025-11-01");
        var to = Text("--to", "the day after its last (yyyy-MM-dd)", "2026-11-01");
        var rounds = Cli.Whole("--rounds", "loads timed after the first", 5, 1, 100);
        var command = new Command(Name, "time the analytics pages of a running dashboard until they are interactive and until their figures show")
        {
            url, user, password, admin, adminPassword, from, to, rounds,
        };
        command.SetRun((parsed, _) => RunAsync(
            parsed.GetRequiredValue(url),
            (parsed.GetRequiredValue(user), parsed.GetRequiredValue(password)),
            (parsed.GetRequiredValue(admin), parsed.GetRequiredValue(adminPassword)),
            $"from={parsed.GetRequiredValue(from)}&to={parsed.GetRequiredValue(to)}",
            parsed.GetValue(rounds)));
        return command;
    }

    private static async Task<int> RunAsync(string url, (string Name, string Password) user, (string Name, string Password) admin, string period, int rounds)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var chromium = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Environment.GetEnvironmentVariable("WORKORDERS_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var reader = await SignInAsync(chromium, url, user);
        var administrator = await SignInAsync(chromium, url, admin);
        (IPage Page, string Path, string Ready)[] pages =
        [
            (reader, $"/analytics?{period}", "[data-testid=kpi-tiles]"),
            (reader, $"/analytics/reliability?{period}", "[data-testid=heatmap]"),
            (reader, $"/analytics/staff?{period}", "[data-testid=technician-grid]"),
            (administrator, "/admin/warehouse", "[data-testid=ingest-status]"),
        ];

        Console.WriteLine($"{"page",-24} {"first load: figures shown (ms)",31} {"interactive (median ms)",24} {"figures shown (median ms)",26}   of {rounds} loads after the first");
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

            Console.WriteLine($"{path.Split('?')[0],-24} {first,31:N0} {Median(interactive),24:N0} {Median(shown),26:N0}");
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
        return page;
    }

    private static Option<string> Text(string name, string description, string fallback) =>
        new(name) { Description = description, DefaultValueFactory = _ => fallback };

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }
}
