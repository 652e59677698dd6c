using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>Headless Chromium from the system (never a downloaded one), and the steps every scenario repeats.</summary>
public static class Browser
{
    /// <summary>How long an action or an assertion waits: on a machine busy with other test runs, a page's first figures take seconds.</summary>
    public const float Patience = 30_000;

    /// <summary>How long the field app's first start waits: a Debug build downloads some 24 MB and boots the .NET runtime in the page.</summary>
    public const float FieldAppStart = 90_000;

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assertions.SetDefaultExpectTimeout(Patience);
        return playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Environment.GetEnvironmentVariable("WORKORDERS_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>A browser session of its own (cookies and all) for one user, signed in and looking at "My work".</summary>
    public static async Task<IPage> SignInAsync(IBrowser browser, Uri baseAddress, string userName, string password)
    {
        var context = await browser.NewContextAsync(new() { BaseURL = baseAddress.ToString(), Locale = "en-US" });
        context.SetDefaultTimeout(Patience);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#userName", userName);
        await page.FillAsync("#password", password);
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/$"));
        await WaitForCircuitAsync(page);
        return page;
    }

    /// <summary>Opens a page and waits until the interactive circuit has taken it over from the prerendered HTML.</summary>
    public static async Task OpenAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        await WaitForCircuitAsync(page);
    }

    public static Task WaitForCircuitAsync(IPage page) =>
        page.Locator("[data-testid=circuit-ready]").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    /// <summary>
    /// Opens a Radzen drop-down, picks the visible option with exactly this text, and waits until the drop-down shows
    /// it: the choice reaches the server over the circuit, and a click that follows too soon would act without it.
    /// </summary>
    public static async Task PickAsync(IPage page, ILocator dropDown, string option)
    {
        await dropDown.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).ClickAsync();
        await Assertions.Expect(dropDown).ToContainTextAsync(option);
    }
}
