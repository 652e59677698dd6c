using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// The field app (/field) in a real browser, over time and on more than one device: two phones change one work order
/// offline, and a phone stays offline for a fortnight while the office works on. The app has no screen for editing a
/// work order's fields (<c>work_order.edit</c>), so the crossed edits are sent by the test with each device's credential.
/// </summary>
public sealed class FieldAppDevicesTests(ITestOutputHelper output) : FieldAppTest
{
    // The sync API's JSON: the command statuses as snake-case names.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter<CommandStatus>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    // The server's clock: the test moves it a fortnight on; it starts at the real time so the browser's agrees with it.
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    protected override TimeProvider Clock => _clock;

    [Fact]
    public async Task two_devices_change_one_work_order_offline_all_comments_and_photos_are_kept_the_second_status_change_is_refused_on_screen_and_crossed_edits_make_one_conflict()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        const string Title = "Pump bearing hot";
        var workOrder = await AssignedWorkOrderAsync(org, Title);
        using (var technician = await ApiAsync(org[Role.Technician]))
        {
            await TransitionAsync(technician, workOrder, "start");
        }

        // Two phones of the technician take the pack with the work order in progress, then both lose the network.
        var (a, pageA, deviceA) = await SignedInDeviceAsync(org[Role.Technician]);
        var (b, pageB, deviceB) = await SignedInDeviceAsync(org[Role.Technician]);
        Assert.NotEqual(deviceA.DeviceId, deviceB.DeviceId);
        var baseVersion = await Scalar<int>("SELECT row_version FROM work_orders WHERE id = @workOrder", new { workOrder });
        await a.SetOfflineAsync(true);
        await b.SetOfflineAsync(true);

        // A: a note, a photo, and on hold waiting for a part.
        await OpenOrderAsync(pageA, Title);
        await pageA.FillAsync("#note", "A: bearing is hot");
        await pageA.GetByTestId("add-note").ClickAsync();
        await pageA.GetByTestId("order-photo").SetInputFilesAsync(new FilePayload { Name = "a-bearing.png", MimeType = "image/png", Buffer = PngTagged("A") });
        await pageA.FillAsync("#note", "A: waiting for a bearing");
        await pageA.GetByTestId("hold").ClickAsync();
        await Expect(pageA.GetByTestId("order-status")).ToHaveTextAsync("On hold");
        await Expect(pageA.GetByTestId("waiting")).ToContainTextAsync("3");

        // B, not knowing: a note, a photo, and resolved.
        await OpenOrderAsync(pageB, Title);
        await pageB.FillAsync("#note", "B: seen the leak");
        await pageB.GetByTestId("add-note").ClickAsync();
        await pageB.GetByTestId("order-photo").SetInputFilesAsync(new FilePayload { Name = "b-seal.png", MimeType = "image/png", Buffer = PngTagged("B") });
        await pageB.FillAsync("#note", "B: fixed");
        await pageB.GetByTestId("resolve").ClickAsync();
        await Expect(pageB.GetByTestId("order-status")).ToHaveTextAsync("Resolved");
        await Expect(pageB.GetByTestId("waiting")).ToContainTextAsync("3");
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM comments WHERE work_order_id = @workOrder", new { workOrder }));

        // A comes back first and syncs; then its title edit from the pack's version (sent by the test: the app has no edit screen).
        await a.SetOfflineAsync(false);
        await pageA.Locator("header a.title").ClickAsync();
        await Expect(pageA.GetByTestId("waiting-count")).ToHaveTextAsync("0");
        Assert.Equal(0, await pageA.GetByTestId("refused").CountAsync());
        Assert.Equal("on_hold", await Scalar<string>("SELECT status FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal(CommandStatus.Applied, (await EditAsync(deviceA, workOrder, baseVersion, "Pump bearing (A)")).Status);

        // B comes back: its note and photo are kept, its resolve is refused and the phone says why.
        await b.SetOfflineAsync(false);
        await pageB.Locator("header a.title").ClickAsync();
        await Expect(pageB.GetByTestId("waiting-count")).ToHaveTextAsync("0");
        var refused = pageB.GetByTestId("refused");
        await Expect(refused).ToHaveCountAsync(1);
        await Expect(refused).ToContainTextAsync("Resolved");
        await Expect(refused).ToContainTextAsync("cannot take the action");
        var conflict = await EditAsync(deviceB, workOrder, baseVersion, "Pump seal (B)");
        Assert.Equal(CommandStatus.Conflict, conflict.Status);

        Assert.Equal("on_hold", await Scalar<string>("SELECT status FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM work_order_events WHERE work_order_id = @workOrder AND kind = 'resolve'", new { workOrder }));
        Assert.Equal(
            ["A: bearing is hot", "B: seen the leak"],
            (await Query<string>("SELECT body FROM comments WHERE work_order_id = @workOrder AND body IN ('A: bearing is hot', 'B: seen the leak') ORDER BY body", new { workOrder })).ToList());
        string[] photos = [Convert.ToHexStringLower(SHA256.HashData(PngTagged("A"))), Convert.ToHexStringLower(SHA256.HashData(PngTagged("B")))];
        Assert.Equal(
            photos.Order().ToList(),
            (await Query<string>("SELECT encode(sha256, 'hex') FROM attachments WHERE work_order_id = @workOrder ORDER BY 1", new { workOrder })).ToList());
        Assert.Equal(1, await Scalar<long>("SELECT count(*) FROM sync_conflicts WHERE work_order_id = @workOrder", new { workOrder }));
        Assert.Equal(6, await Scalar<long>(
            "SELECT count(*) FROM sync_commands WHERE device_id IN (@a, @b) AND kind <> 'work_order.edit'", new { a = deviceA.DeviceId, b = deviceB.DeviceId }));

        // The department's manager settles the one conflict in the office, in a browser: both values, who made the device's
        // edit and when, and the choice. B's title wins.
        var office = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Manager].UserName, TestOrg.Password);
        await Browser.OpenAsync(office, "/sync-conflicts");
        var rows = office.GetByTestId("sync-conflicts-list").Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(1);
        var row = rows.First;
        await Expect(row).ToContainTextAsync(await Scalar<string>("SELECT number FROM work_orders WHERE id = @workOrder", new { workOrder }));
        await Expect(row).ToContainTextAsync("Title");
        await Expect(row.GetByTestId("sync-conflict-current")).ToHaveTextAsync("Pump bearing (A)");
        await Expect(row.GetByTestId("sync-conflict-proposed")).ToHaveTextAsync("Pump seal (B)");
        var technicianName = await Scalar<string>("SELECT display_name FROM users WHERE id = @id", new { id = org[Role.Technician].UserId });
        await Expect(row.GetByTestId("sync-conflict-current-from")).ToContainTextAsync(
            $"set by {technicianName} · {await Scalar<string>("SELECT name FROM field_devices WHERE id = @id", new { id = deviceA.DeviceId })}, synced ");
        await Expect(row).ToContainTextAsync($"{technicianName} · {await Scalar<string>("SELECT name FROM field_devices WHERE id = @id", new { id = deviceB.DeviceId })}");
        await Expect(row).ToContainTextAsync("made ");
        await row.GetByTestId("sync-conflict-take").ClickAsync();
        await Expect(office.GetByTestId("sync-conflicts-notice")).ToContainTextAsync("is settled");
        await Expect(office.GetByTestId("sync-conflicts-list").Locator("tbody tr").Filter(new() { HasText = "Pump seal (B)" })).ToHaveCountAsync(0);
        Assert.Equal("Pump seal (B)", await Scalar<string>("SELECT title FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal(1, await Scalar<long>(
            "SELECT count(*) FROM sync_conflicts WHERE work_order_id = @workOrder AND resolution = 'take_proposed' AND resolved_by = @manager",
            new { workOrder, manager = org[Role.Manager].UserId }));
        Assert.Equal(1, await Scalar<long>(
            "SELECT count(*) FROM work_order_events WHERE work_order_id = @workOrder AND kind = 'field_edited' AND actor_id = @manager AND payload->>'to' = 'Pump seal (B)'",
            new { workOrder, manager = org[Role.Manager].UserId }));
        await office.Context.CloseAsync();
        await a.CloseAsync();
        await b.CloseAsync();
    }

    [Fact]
    public async Task a_device_offline_for_14_days_syncs_on_day_14_every_queued_work_order_action_meter_reading_and_round_result_applied_or_refused_with_its_reason_on_screen_none_lost()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        const string Worked = "Gearbox noisy";
        const string Cancelled = "Gearbox noise (raised twice)";
        var worked = await AssignedWorkOrderAsync(org, Worked);
        var cancelled = await AssignedWorkOrderAsync(org, Cancelled);
        long meter;
        using (var manager = await ApiAsync(org[Role.Manager]))
        {
            var created = await manager.PostAsJsonAsync($"/api/v1/assets/{org.MachineId}/meters", new { name = "Run hours", unit = "h" });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            meter = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        }

        // Two rounds of the machine for the technician: one whose window lasts the fortnight, one that closes in two hours.
        var kept = await org.RoundAsync(Database.DataSource, _clock, "Guard walk", [new ItemRequest(null, "Guard fitted", CheckKind.PassFail)], window: TimeSpan.FromDays(20));
        var missed = await org.RoundAsync(
            Database.DataSource, _clock, "Seal walk", [new ItemRequest(null, "Seal dry", CheckKind.PassFail)], window: TimeSpan.FromHours(1), grace: TimeSpan.FromHours(1));
        var t0 = _clock.GetUtcNow();
        DateTimeOffset Day(double day) => t0.AddDays(day);

        // The pack is taken online; then the phone's clock is the test's (installed once the app has started, so
        // Blazor's start-up runs on real timers) and the network goes for a fortnight.
        var (context, page, device) = await SignedInDeviceAsync(org[Role.Technician]);
        await Expect(page.GetByTestId("nav-orders")).ToContainTextAsync("(2)");
        await Expect(page.GetByTestId("nav-rounds")).ToContainTextAsync("(2)");
        await page.Clock.InstallAsync(new() { TimeDate = Day(0).UtcDateTime });
        await context.SetOfflineAsync(true);

        async Task On(double day)
        {
            await page.Clock.SetSystemTimeAsync(Day(day).UtcDateTime);
            _clock.SetUtcNow(Day(day));
        }

        var queued = 0;
        Task Queued(int more) => Expect(page.GetByTestId("waiting")).ToHaveTextAsync($"⇅ {queued += more}");

        async Task RoundAsync(string route)
        {
            await page.Locator("header a.title").ClickAsync();
            await page.GetByTestId("nav-rounds").ClickAsync();
            await page.GetByTestId("round").Filter(new() { HasText = route }).ClickAsync();
            await page.GetByTestId("stop-code").FillAsync(kept.MachineCode);
            await page.GetByTestId("stop-code").PressAsync("Tab");
            await page.GetByTestId("confirm-stop").ClickAsync();
            await page.GetByTestId("pass").ClickAsync();
            await page.GetByTestId("record").ClickAsync();
            await Expect(page.GetByTestId("item-recorded")).ToContainTextAsync("Pass");
            await page.GetByTestId("complete-round").ClickAsync();
            await Expect(page.GetByTestId("round-completed")).ToBeVisibleAsync();
            await Queued(3);
        }

        async Task ReadMeterAsync(string value)
        {
            await page.Locator("header a.title").ClickAsync();
            await page.GetByTestId("nav-asset").ClickAsync();
            await page.GetByTestId("asset-code").FillAsync(kept.MachineCode);
            await page.GetByTestId("asset-code").PressAsync("Tab");
            await page.Locator("form button[type=submit]").ClickAsync();
            await page.GetByTestId("meter-value").FillAsync(value);
            await page.GetByTestId("meter-value").PressAsync("Tab");
            await page.GetByTestId("meter-save").ClickAsync();
            await Queued(1);
        }

        // Day 0.1: the noisy gearbox started; day 0.5: the guard round walked and completed; day 1: a note.
        await On(0.1);
        await OpenOrderAsync(page, Worked);
        await page.GetByTestId("start").ClickAsync();
        await Expect(page.GetByTestId("order-status")).ToHaveTextAsync("In progress");
        await Queued(1);
        await On(0.5);
        await RoundAsync($"Guard walk {org.Suffix}");
        await On(1);
        await OpenOrderAsync(page, Worked);
        await page.FillAsync("#note", "Day 1: the bearing is noisy.");
        await page.GetByTestId("add-note").ClickAsync();
        await Queued(1);

        // Day 2, the office: the order raised twice is cancelled (the phone cannot know). Day 2.5: the phone starts it.
        await On(2);
        using (var office = await ApiAsync(org[Role.Manager]))
        {
            await TransitionAsync(office, cancelled, "cancel", new { note = "Raised twice; the other order covers it." });
        }

        await On(2.5);
        await OpenOrderAsync(page, Cancelled);
        await page.GetByTestId("start").ClickAsync();
        await Queued(1);

        // Day 3: the seal round, closed as missed on the server since its grace ran out, is walked on the phone; the run
        // hours are read. Day 5, the office enters a later reading; day 10, the phone reads again.
        await On(3);
        await Host.Services.GetRequiredService<RoundGenerator>().CloseMissedAsync(CancellationToken.None);
        Assert.Equal("missed", await Scalar<string>("SELECT status FROM inspection_rounds WHERE id = @RoundId", new { missed.RoundId }));
        await ReadMeterAsync("200");
        await RoundAsync($"Seal walk {org.Suffix}");
        await On(5);
        using (var office = await ApiAsync(org[Role.Manager]))
        {
            var reading = await office.PostAsJsonAsync($"/api/v1/meters/{meter}/readings", new { readings = new[] { new { readAt = Day(5).UtcDateTime, value = 500m } } });
            Assert.True(reading.IsSuccessStatusCode, await reading.Content.ReadAsStringAsync());
        }

        await On(10);
        await ReadMeterAsync("650");

        // Day 13: a note; day 14: the gearbox resolved.
        await On(13);
        await OpenOrderAsync(page, Worked);
        await page.FillAsync("#note", "Day 13: bearing replaced.");
        await page.GetByTestId("add-note").ClickAsync();
        await Queued(1);
        await On(14);
        await page.FillAsync("#note", "Replaced the bearing.");
        await page.GetByTestId("resolve").ClickAsync();
        await Expect(page.GetByTestId("order-status")).ToHaveTextAsync("Resolved");
        await Queued(1);
        (double Day, string Kind, string Status, string? Code)[] expected =
        [
            (0.1, CommandKinds.WorkOrderStart, "applied", null),
            (0.5, CommandKinds.RoundConfirmStop, "applied", null),
            (0.5, CommandKinds.RoundRecord, "applied", null),
            (0.5, CommandKinds.RoundComplete, "applied", null),
            (1, CommandKinds.WorkOrderComment, "applied", null),
            (2.5, CommandKinds.WorkOrderStart, "refused", "transition.not_from_status"),
            (3, CommandKinds.MeterReading, "refused", "meter.reading_out_of_order"),
            (3, CommandKinds.RoundConfirmStop, "refused", "inspection.round_closed"),
            (3, CommandKinds.RoundRecord, "refused", "inspection.round_closed"),
            (3, CommandKinds.RoundComplete, "refused", "inspection.round_closed"),
            (10, CommandKinds.MeterReading, "applied", null),
            (13, CommandKinds.WorkOrderComment, "applied", null),
            (14, CommandKinds.WorkOrderResolve, "applied", null),
        ];
        Assert.Equal(expected.Length, queued);
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM sync_commands WHERE device_id = @id", new { id = device.DeviceId }));

        // Online again on day 14 (an hour later on the server): the outbox empties, and each refusal is on screen with its reason.
        _clock.SetUtcNow(Day(14).AddHours(1));
        await context.SetOfflineAsync(false);
        await page.Locator("header a.title").ClickAsync();
        await Expect(page.GetByTestId("waiting-count")).ToHaveTextAsync("0");
        var refused = page.GetByTestId("refused");
        await Expect(refused).ToHaveCountAsync(expected.Count(e => e.Status == "refused"));
        await Expect(refused.Filter(new() { HasText = "cannot take the action" })).ToHaveCountAsync(1);
        await Expect(refused.Filter(new() { HasText = "cannot take the action" })).ToContainTextAsync("In progress");
        await Expect(refused.Filter(new() { HasText = "readings are recorded in time order" })).ToContainTextAsync("Run hours: 200 h");
        await Expect(refused.Filter(new() { HasText = "it takes no more changes" })).ToHaveCountAsync(3);
        await Expect(refused.Filter(new() { HasText = "it takes no more changes" }).First).ToContainTextAsync($"Seal walk {org.Suffix}");

        // None lost: one stored result per queued command, each with its device day, in the order made.
        var stored = (await Query<(string Kind, string Status, string? Code, DateTime DeviceTime)>(
            "SELECT kind, status, code, device_time FROM sync_commands WHERE device_id = @id ORDER BY device_time, command_id", new { id = device.DeviceId })).ToList();
        foreach (var row in stored)
        {
            output.WriteLine($"{row.DeviceTime:O} {row.Kind} {row.Status} {row.Code}");
        }

        Assert.Equal(expected.Select(e => (e.Kind, e.Status, e.Code)), stored.Select(r => (r.Kind, r.Status, r.Code)));
        for (var i = 0; i < stored.Count; i++)
        {
            var day = Day(expected[i].Day);
            Assert.InRange(new DateTimeOffset(stored[i].DeviceTime, TimeSpan.Zero), day.AddMinutes(-1), day.AddMinutes(5));
        }

        // Each effect once, and none of the refused ones.
        Assert.Equal("resolved", await Scalar<string>("SELECT status FROM work_orders WHERE id = @worked", new { worked }));
        Assert.Equal("cancelled", await Scalar<string>("SELECT status FROM work_orders WHERE id = @cancelled", new { cancelled }));
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM work_order_events WHERE work_order_id = @cancelled AND kind = 'start'", new { cancelled }));
        Assert.Equal(2, await Scalar<long>(
            "SELECT count(*) FROM comments WHERE work_order_id = @worked AND body IN ('Day 1: the bearing is noisy.', 'Day 13: bearing replaced.')", new { worked }));
        Assert.Equal([500m, 650m], await Query<decimal>("SELECT value FROM meter_readings WHERE meter_id = @meter ORDER BY read_at", new { meter }));
        Assert.Equal("completed", await Scalar<string>("SELECT status FROM inspection_rounds WHERE id = @RoundId", new { kept.RoundId }));
        Assert.Equal(1, await Scalar<long>("SELECT count(*) FROM inspection_results WHERE round_id = @RoundId AND device_time IS NOT NULL", new { kept.RoundId }));
        Assert.Equal("missed", await Scalar<string>("SELECT status FROM inspection_rounds WHERE id = @RoundId", new { missed.RoundId }));
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM inspection_results WHERE round_id = @RoundId", new { missed.RoundId }));

        // The device's credential, a fortnight old, still works.
        using var phone = DeviceClient(device);
        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync("/api/v1/field/trip-pack")).StatusCode);
        Assert.Null(await Scalar<DateTime?>("SELECT revoked_at FROM field_devices WHERE id = @id", new { id = device.DeviceId }));
        await context.CloseAsync();
    }

    private async Task<CommandResult> EditAsync(DeviceCredential device, long workOrder, int baseVersion, string title)
    {
        using var client = DeviceClient(device);
        var command = new SyncCommand(
            Guid.CreateVersion7(), device.DeviceId, baseVersion, _clock.GetUtcNow(), CommandKinds.WorkOrderEdit,
            JsonSerializer.SerializeToElement(new FieldEditPayload(workOrder, EditableFields.Title, title), Json));
        var response = await client.PostAsJsonAsync("/api/v1/sync/commands", new SyncBatch([command]), Json);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var result = Assert.Single((await response.Content.ReadFromJsonAsync<SyncBatchResult>(Json))!.Results);
        output.WriteLine($"edit by device {device.DeviceId}: {result.Status} {result.Code}");
        return result;
    }
}
