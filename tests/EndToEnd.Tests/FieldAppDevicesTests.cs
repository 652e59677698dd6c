using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
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

        // The department's manager resolves the one conflict in the office: B's title wins.
        using var office = await ApiAsync(org[Role.Manager]);
        var resolved = await office.PostAsJsonAsync($"/api/v1/sync-conflicts/{conflict.ConflictId}/resolve", new { resolution = "take_proposed" });
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        Assert.Equal("Pump seal (B)", await Scalar<string>("SELECT title FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal(1, await Scalar<long>("SELECT count(*) FROM sync_conflicts WHERE work_order_id = @workOrder AND resolution = 'take_proposed'", new { workOrder }));
        await a.CloseAsync();
        await b.CloseAsync();
    }

    [Fact]
    public async Task a_device_offline_for_14_days_syncs_on_day_14_every_queued_command_applied_or_refused_with_its_reason_on_screen_none_lost_and_its_credential_still_works()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        const string Worked = "Gearbox noisy";
        const string Cancelled = "Gearbox noise (raised twice)";
        var worked = await AssignedWorkOrderAsync(org, Worked);
        var cancelled = await AssignedWorkOrderAsync(org, Cancelled);
        var t0 = _clock.GetUtcNow();
        DateTimeOffset Day(double day) => t0.AddDays(day);

        // The pack is taken online; then the phone's clock is the test's (installed once the app has started, so
        // Blazor's start-up runs on real timers) and the network goes for a fortnight.
        var (context, page, device) = await SignedInDeviceAsync(org[Role.Technician]);
        await Expect(page.GetByTestId("nav-orders")).ToContainTextAsync("(2)");
        await page.Clock.InstallAsync(new() { TimeDate = Day(0).UtcDateTime });
        await context.SetOfflineAsync(true);

        async Task On(double day)
        {
            await page.Clock.SetSystemTimeAsync(Day(day).UtcDateTime);
            _clock.SetUtcNow(Day(day));
        }

        // Day 0.1: the noisy gearbox started; day 1: a note.
        await On(0.1);
        await OpenOrderAsync(page, Worked);
        await page.GetByTestId("start").ClickAsync();
        await Expect(page.GetByTestId("order-status")).ToHaveTextAsync("In progress");
        await On(1);
        await page.FillAsync("#note", "Day 1: the bearing is noisy.");
        await page.GetByTestId("add-note").ClickAsync();

        // Day 2, the office: the order raised twice is cancelled (the phone cannot know).
        await On(2);
        using (var office = await ApiAsync(org[Role.Manager]))
        {
            await TransitionAsync(office, cancelled, "cancel", new { note = "Raised twice; the other order covers it." });
        }

        // Day 2.5: the phone starts the cancelled one; day 13: a note; day 14: the gearbox resolved.
        await On(2.5);
        await OpenOrderAsync(page, Cancelled);
        await page.GetByTestId("start").ClickAsync();
        await On(13);
        await OpenOrderAsync(page, Worked);
        await page.FillAsync("#note", "Day 13: bearing replaced.");
        await page.GetByTestId("add-note").ClickAsync();
        await On(14);
        await page.FillAsync("#note", "Replaced the bearing.");
        await page.GetByTestId("resolve").ClickAsync();
        await Expect(page.GetByTestId("order-status")).ToHaveTextAsync("Resolved");
        string[] deviceDays = ["0.1", "1", "2.5", "13", "14"];
        await Expect(page.GetByTestId("waiting")).ToContainTextAsync(deviceDays.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM sync_commands WHERE device_id = @id", new { id = device.DeviceId }));

        // Online again on day 14 (an hour later on the server): the outbox empties, one refusal with its reason on screen.
        _clock.SetUtcNow(Day(14).AddHours(1));
        await context.SetOfflineAsync(false);
        await page.Locator("header a.title").ClickAsync();
        await Expect(page.GetByTestId("waiting-count")).ToHaveTextAsync("0");
        var refused = page.GetByTestId("refused");
        await Expect(refused).ToHaveCountAsync(1);
        await Expect(refused).ToContainTextAsync("In progress");
        await Expect(refused).ToContainTextAsync("cannot take the action");

        // None lost: one stored result per queued command, each with its device day, in the order made.
        var stored = (await Query<(string Kind, string Status, string? Code, DateTime DeviceTime)>(
            "SELECT kind, status, code, device_time FROM sync_commands WHERE device_id = @id ORDER BY device_time", new { id = device.DeviceId })).ToList();
        foreach (var row in stored)
        {
            output.WriteLine($"{row.DeviceTime:O} {row.Kind} {row.Status} {row.Code}");
        }

        Assert.Equal(deviceDays.Length, stored.Count);
        Assert.Equal(
            [CommandKinds.WorkOrderStart, CommandKinds.WorkOrderComment, CommandKinds.WorkOrderStart, CommandKinds.WorkOrderComment, CommandKinds.WorkOrderResolve],
            stored.Select(r => r.Kind));
        Assert.Equal(["applied", "applied", "refused", "applied", "applied"], stored.Select(r => r.Status));
        Assert.Equal("transition.not_from_status", stored[2].Code);
        for (var i = 0; i < stored.Count; i++)
        {
            var day = Day(double.Parse(deviceDays[i], System.Globalization.CultureInfo.InvariantCulture));
            Assert.InRange(new DateTimeOffset(stored[i].DeviceTime, TimeSpan.Zero), day.AddMinutes(-1), day.AddMinutes(5));
        }

        Assert.Equal("resolved", await Scalar<string>("SELECT status FROM work_orders WHERE id = @worked", new { worked }));
        Assert.Equal("cancelled", await Scalar<string>("SELECT status FROM work_orders WHERE id = @cancelled", new { cancelled }));
        Assert.Equal(2, await Scalar<long>(
            "SELECT count(*) FROM comments WHERE work_order_id = @worked AND body IN ('Day 1: the bearing is noisy.', 'Day 13: bearing replaced.')", new { worked }));

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
