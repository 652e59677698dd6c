using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// An inspector does a round in a real browser: confirms the stop by the machine's code, records a reading beyond its
/// alarm limit with a photo; the manager finds the work order the finding raised, with the reading and the photo.
/// </summary>
public sealed class InspectionRoundJourneyTests : BrowserTest
{
    // The smallest valid PNG: one transparent pixel.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    public static TheoryData<string, string> Languages() => new()
    {
        { "en", "Fail" },
        { "zh-TW", "不合格" },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task an_inspector_records_a_failed_reading_with_a_photo_and_the_manager_finds_the_work_order_with_both(string culture, string fail)
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        // The round as the generator makes it: open now, assigned to the inspector, its grace hours away.
        var (_, round, _, items, machineCode, _) = await org.RoundAsync(
            Database.DataSource,
            TimeProvider.System,
            "Pump walk 泵浦巡檢",
            [new ItemRequest(null, "Bearing temperature 軸承溫度", CheckKind.Number, "°C", WarningHigh: 70, AlarmHigh: 80, Photo: PhotoRule.OnFailure, Severity: Severity.High, FaultCode: "bearing")],
            "Check the pump");
        var item = items[0];

        async Task<IPage> SignInAsync(Role role)
        {
            var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[role].UserName, TestOrg.Password);
            await Browser.OpenAsync(page, $"/culture?culture={culture}&returnUrl=/");
            await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", culture);
            return page;
        }

        var inspector = await SignInAsync(Role.Technician);
        await Browser.OpenAsync(inspector, $"/inspections/rounds/{round}");
        await inspector.GetByTestId("round-start").ClickAsync();
        await Expect(inspector.GetByTestId("round-start")).ToHaveCountAsync(0);
        var code = inspector.GetByTestId("round-stop-code");
        await code.FillAsync(machineCode);
        await code.PressAsync("Tab");
        await inspector.GetByTestId("round-stop-confirm").ClickAsync();
        var number = inspector.Locator($"input[name='number-{item}']");
        await Expect(number).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await number.FillAsync("95");
        await number.PressAsync("Tab");
        await inspector.GetByTestId("round-item-photo-input").SetInputFilesAsync(new FilePayload { Name = "pump-bearing.png", MimeType = "image/png", Buffer = Png });
        await Expect(inspector.GetByTestId("round-item-photo-ready")).ToBeVisibleAsync();
        await inspector.GetByTestId("round-item-record").ClickAsync();
        await Expect(inspector.GetByTestId("round-item-verdict")).ToHaveTextAsync(fail);
        var link = inspector.GetByTestId("round-item-work-order");
        await Expect(link).ToBeVisibleAsync();
        var workOrder = await link.GetAttributeAsync("href");

        // The manager finds it in the work-order list by the machine's code, and opens it.
        var manager = await SignInAsync(Role.Manager);
        await Browser.OpenAsync(manager, "/work-orders");
        var search = manager.Locator("input[name='filter-text']");
        await search.FillAsync(machineCode);
        await search.PressAsync("Tab");
        var found = manager.GetByTestId("work-order-title");
        await Expect(found).ToHaveTextAsync([$"Bearing temperature 軸承溫度 · {machineCode} Pump"]);
        await manager.GetByTestId("work-order-link").ClickAsync();
        // Polled rather than awaited as a navigation event: the router's in-page navigation was missed by the wait now and then.
        await Expect(manager).ToHaveURLAsync(new Uri(Host.BaseAddress, workOrder!).ToString());
        await Expect(manager.GetByTestId("wo-description")).ToContainTextAsync("Bearing temperature 軸承溫度' read 95");
        await Expect(manager.GetByTestId("wo-description")).ToContainTextAsync("Photo SHA-256:");
        await Expect(manager.GetByTestId("attachment-download")).ToHaveTextAsync("pump-bearing.png");
        await Expect(manager.GetByTestId("attachment-preview")).ToBeVisibleAsync();
    }
}
