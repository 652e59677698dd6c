using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

public sealed class MeterJourneyTests : BrowserTest
{
    public static TheoryData<string, string, string, string> Languages() => new()
    {
        { "en-US", "is below the previous reading 100", "Reading recorded.", "reset: counter replaced 更換計數器" },
        { "zh-TW", "低於前一筆讀數 100", "已記錄讀數。", "歸零：counter replaced 更換計數器" },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task a_planner_adds_a_meter_and_readings_sees_a_backwards_one_refused_records_a_reset_and_prints_labels(
        string culture, string backwards, string recorded, string resetMark)
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Planner].UserName, TestOrg.Password);
        if (culture != "en-US")
        {
            await Browser.OpenAsync(page, $"/culture?culture={culture}&returnUrl=/");
            await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", culture);
        }

        await Browser.OpenAsync(page, $"/assets/{org.MachineId}/meters");
        await Expect(page.GetByTestId("meters-none")).ToBeVisibleAsync();
        await page.Locator("input[name=meter-name]").FillAsync("Run hours 運轉時數");
        await page.Locator("input[name=meter-unit]").FillAsync("h");
        await page.GetByTestId("meter-add-confirm").ClickAsync();
        var row = page.GetByTestId("meter-Run hours 運轉時數");
        await Expect(row).ToBeVisibleAsync();

        async Task RecordAsync(string value, string? resetReason = null)
        {
            await page.Locator("input[name=reading-value]").FillAsync(value);
            if (resetReason is not null)
            {
                await page.Locator("[data-testid=reading-reset] .rz-chkbox-box").ClickAsync();
                await page.Locator("input[name=reading-reason]").FillAsync(resetReason);
            }

            await page.GetByTestId("reading-record").ClickAsync();
        }

        await RecordAsync("100");
        await Expect(page.GetByTestId("reading-done")).ToHaveTextAsync(recorded);
        await Expect(row.GetByTestId("meter-latest")).ToHaveTextAsync("100 h");

        await RecordAsync("50");
        await Expect(page.GetByTestId("error-value")).ToContainTextAsync(backwards);
        await Expect(row.GetByTestId("meter-latest")).ToHaveTextAsync("100 h");

        await RecordAsync("50", resetReason: "counter replaced 更換計數器");
        await Expect(page.GetByTestId("error-value")).ToHaveCountAsync(0);
        await Expect(row.GetByTestId("meter-latest")).ToHaveTextAsync("50 h");
        await Expect(row.GetByTestId("meter-lifetime")).ToHaveTextAsync("50 h");
        await Expect(page.GetByTestId("reading-reset-mark")).ToHaveTextAsync(resetMark);

        // Opened afresh, the page shows the first meter's two readings at once (the backwards one was not stored).
        await Browser.OpenAsync(page, $"/assets/{org.MachineId}/meters");
        await Expect(page.GetByTestId("reading-history").Locator("tbody tr")).ToHaveCountAsync(2);

        // The label sheet of the machine: its code and QR, nothing of the app around it when printed.
        await page.GetByTestId("meters-labels").ClickAsync();
        var label = page.GetByTestId("asset-label");
        await Expect(label).ToHaveCountAsync(1);
        await Expect(label).ToHaveAttributeAsync("data-url", new Uri(Host.BaseAddress, $"a/M-{org.Suffix}").ToString());
        await Expect(label.Locator(".qr svg")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("labels-print")).ToBeVisibleAsync();
        await page.EmulateMediaAsync(new() { Media = Media.Print });
        await Expect(page.Locator(".rz-sidebar")).ToBeHiddenAsync();
        await Expect(page.GetByTestId("labels-print")).ToBeHiddenAsync();
        await Expect(label).ToBeVisibleAsync();
        var pdf = await page.PdfAsync(new() { Format = "A4", PrintBackground = true });
        Assert.Equal("%PDF", System.Text.Encoding.ASCII.GetString(pdf, 0, 4));
    }
}
