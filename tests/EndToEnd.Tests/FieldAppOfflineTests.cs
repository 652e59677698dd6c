using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// The field app (/field) in a real browser: signed in once online with its trip pack, then offline from the start of
/// a round, reloaded while offline, the work done there, and synced once the connection is back.
/// </summary>
public sealed class FieldAppOfflineTests(ITestOutputHelper output) : FieldAppTest
{
    [Fact]
    public async Task offline_from_the_start_of_a_round_the_app_reopens_and_after_sync_the_finding_the_round_and_the_resolve_are_there_once()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        // A route of one stop (the machine) with a pass/fail item that needs a photo on failure, and its round for the technician, open now.
        var (_, round, _, _, machineCode, _) = await org.RoundAsync(
            Database.DataSource,
            TimeProvider.System,
            "Seal walk",
            [new ItemRequest(null, "Seal tight", CheckKind.PassFail, Photo: PhotoRule.OnFailure, Severity: Severity.High, FaultCode: "leak")],
            "Look at the seal");
        var workOrder = await AssignedWorkOrderAsync(org);

        var context = await Chromium.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), Locale = "en-US" });
        context.SetDefaultTimeout(Browser.Patience);
        var page = await context.NewPageAsync();
        long firstLoadBytes = 0;
        var firstLoadFiles = 0;
        var counting = true;
        page.RequestFinished += async (_, request) =>
        {
            if (counting && request.Url.Contains("/field/", StringComparison.Ordinal))
            {
                var sizes = await request.SizesAsync();
                Interlocked.Add(ref firstLoadBytes, sizes.ResponseBodySize + sizes.ResponseHeadersSize);
                Interlocked.Increment(ref firstLoadFiles);
            }
        };

        // Online, once: the app loads, the technician signs in and the trip pack comes down.
        var clock = Stopwatch.StartNew();
        await page.GotoAsync("/field/");
        await Expect(page.Locator("#userName")).ToBeVisibleAsync(new() { Timeout = Browser.FieldAppStart });
        var firstLoad = clock.Elapsed;
        await page.FillAsync("#userName", org[Role.Technician].UserName);
        await page.FillAsync("#password", TestOrg.Password);
        await page.GetByTestId("sign-in").ClickAsync();
        await Expect(page.GetByTestId("nav-orders")).ToContainTextAsync("(1)");
        await Expect(page.GetByTestId("nav-rounds")).ToContainTextAsync("(1)");
        await Expect(page.Locator("html[data-offline-ready]")).ToHaveCountAsync(1);
        counting = false;
        Assert.Equal(1, await Scalar<long>("SELECT count(*) FROM field_devices WHERE user_id = @id AND revoked_at IS NULL", new { id = org[Role.Technician].UserId }));

        // Offline from here on; the app is reloaded and still opens, with its pack.
        await context.SetOfflineAsync(true);
        clock.Restart();
        await page.ReloadAsync();
        await Expect(page.GetByTestId("nav-rounds")).ToContainTextAsync("(1)", new() { Timeout = Browser.FieldAppStart });
        var offlineOpen = clock.Elapsed;
        await Expect(page.GetByTestId("offline")).ToBeVisibleAsync();

        // The round: the stop confirmed by its code, the item failed with a photo, the round completed.
        await page.GetByTestId("nav-rounds").ClickAsync();
        await page.GetByTestId("round").ClickAsync();
        await page.GetByTestId("stop-code").FillAsync(machineCode);
        await page.GetByTestId("stop-code").PressAsync("Tab");
        await page.GetByTestId("confirm-stop").ClickAsync();
        await page.GetByTestId("fail").ClickAsync();
        await page.GetByTestId("item-photo").SetInputFilesAsync(new FilePayload { Name = "seal-leak.png", MimeType = "image/png", Buffer = Png });
        await Expect(page.Locator("label.file-button")).ToContainTextAsync("seal-leak.png");
        var deviceTimeBefore = DateTimeOffset.UtcNow.AddSeconds(-1);
        await page.GetByTestId("record").ClickAsync();
        await Expect(page.GetByTestId("item-recorded")).ToContainTextAsync("Fail");
        await page.GetByTestId("complete-round").ClickAsync();
        await Expect(page.GetByTestId("round-completed")).ToBeVisibleAsync();

        // The work order: started and resolved.
        await page.Locator("header a.title").ClickAsync();
        await page.GetByTestId("nav-orders").ClickAsync();
        await page.GetByTestId("order").ClickAsync();
        await page.GetByTestId("start").ClickAsync();
        await page.FillAsync("#note", "Seal replaced");
        await page.GetByTestId("resolve").ClickAsync();
        await Expect(page.GetByTestId("order-status")).ToHaveTextAsync("Resolved");
        await Expect(page.GetByTestId("waiting")).ToContainTextAsync("5");
        var deviceTimeAfter = DateTimeOffset.UtcNow;

        // Nothing reached the server while offline.
        Assert.Equal("open", await Scalar<string>("SELECT status FROM inspection_rounds WHERE id = @round", new { round }));
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM inspection_findings WHERE round_id = @round", new { round }));

        // Online again: the app syncs by itself (the browser's online event), and the outbox empties.
        await context.SetOfflineAsync(false);
        await page.Locator("header a.title").ClickAsync();
        await Expect(page.GetByTestId("waiting-count")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("offline")).ToHaveCountAsync(0);
        Assert.Equal(0, await page.GetByTestId("refused").CountAsync());

        Assert.Equal("completed", await Scalar<string>("SELECT status FROM inspection_rounds WHERE id = @round", new { round }));
        var findings = (await Query<long>(
            "SELECT work_order_id FROM inspection_findings WHERE round_id = @round AND created_work_order", new { round })).ToList();
        var finding = Assert.Single(findings);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Png));
        Assert.Equal(1, await Scalar<long>(
            "SELECT count(*) FROM attachments WHERE work_order_id = @finding AND sha256 = decode(@sha, 'hex')", new { finding, sha }));
        Assert.Equal("resolved", await Scalar<string>("SELECT status FROM work_orders WHERE id = @workOrder", new { workOrder }));

        // The history: each synced change carries the device's time (while offline) and the later sync time.
        var events = (await Query<string>(
            "SELECT payload::text FROM work_order_events WHERE work_order_id = @workOrder AND kind IN ('start', 'resolve') ORDER BY id", new { workOrder }))
            .Select(p => JsonDocument.Parse(p).RootElement.GetProperty("via")).ToList();
        Assert.Equal(2, events.Count);
        foreach (var via in events)
        {
            var deviceTime = via.GetProperty("deviceTime").GetDateTimeOffset();
            var syncedAt = via.GetProperty("syncedAt").GetDateTimeOffset();
            Assert.InRange(deviceTime, deviceTimeBefore, deviceTimeAfter);
            Assert.True(syncedAt > deviceTimeAfter, $"synced {syncedAt:O} after the device time {deviceTime:O}");
        }

        Assert.NotNull(await Scalar<DateTime?>("SELECT device_time FROM inspection_results WHERE round_id = @round", new { round }));

        // The same in Traditional Chinese, at a touch.
        await page.GetByTestId("language").ClickAsync();
        await Expect(page.GetByTestId("sync")).ToContainTextAsync("同步");

        output.WriteLine($"first load: {firstLoadFiles} files, {firstLoadBytes / 1024.0:0} KB transferred (with sign-in and trip pack), {firstLoad.TotalMilliseconds:0} ms to the sign-in form");
        output.WriteLine($"offline open (reload with no network): {offlineOpen.TotalMilliseconds:0} ms");
        await context.CloseAsync();
    }

    [Fact]
    public async Task a_sync_whose_answer_is_lost_after_the_server_committed_and_is_sent_three_more_times_makes_each_change_once()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var workOrder = await AssignedWorkOrderAsync(org);
        var (context, page, _) = await SignedInDeviceAsync(org[Role.Technician]);
        await Expect(page.GetByTestId("nav-orders")).ToContainTextAsync("(1)");

        // The first three sends reach the server, which commits them; their answers never come back (the link drops).
        var sends = 0;
        await page.RouteAsync("**/api/v1/sync/commands", async route =>
        {
            var answer = await route.FetchAsync();
            Assert.Equal(200, answer.Status);
            if (Interlocked.Increment(ref sends) <= 3)
            {
                await route.AbortAsync("connectionreset");
            }
            else
            {
                await route.FulfillAsync(new() { Response = answer });
            }
        });

        await page.GetByTestId("nav-orders").ClickAsync();
        await page.GetByTestId("order").ClickAsync();
        await page.GetByTestId("start").ClickAsync();
        await page.FillAsync("#note", "Gasket ordered");
        await page.GetByTestId("add-note").ClickAsync();
        await page.GetByTestId("order-photo").SetInputFilesAsync(new FilePayload { Name = "gasket.png", MimeType = "image/png", Buffer = Png });
        await Expect(page.GetByTestId("waiting")).ToContainTextAsync("3");
        await page.Locator("header a.title").ClickAsync();
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            await page.GetByTestId("sync").ClickAsync();
            var sent = attempt;
            await Eventually.Until(() => Volatile.Read(ref sends) >= sent, $"send {sent}", TimeSpan.FromSeconds(30));
            await Expect(page.GetByTestId("sync")).ToBeEnabledAsync();
            await Expect(page.GetByTestId("waiting-count")).ToHaveTextAsync(attempt < 4 ? "3" : "0");
        }

        Assert.Equal(4, sends);
        Assert.Equal(1, await Scalar<long>("SELECT count(*) FROM comments WHERE work_order_id = @workOrder AND body = 'Gasket ordered'", new { workOrder }));
        Assert.Equal(1, await Scalar<long>("SELECT count(*) FROM work_order_events WHERE work_order_id = @workOrder AND kind = 'start'", new { workOrder }));
        Assert.Equal(1, await Scalar<long>("SELECT count(*) FROM attachments WHERE work_order_id = @workOrder AND file_name = 'gasket.png'", new { workOrder }));
        Assert.Equal("in_progress", await Scalar<string>("SELECT status FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal(0, await page.GetByTestId("refused").CountAsync());
        await context.CloseAsync();
    }
}
