using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>A sync that fails on the phone itself (a change in its outbox it cannot read) says so and loses nothing.</summary>
public sealed class FieldAppSyncErrorTests : FieldAppTest
{
    [Fact]
    public async Task a_change_the_app_cannot_read_stops_the_sync_with_a_message_and_stays_in_the_outbox()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        await AssignedWorkOrderAsync(org);
        var (_, phone, device) = await SignedInDeviceAsync(org[Role.Technician]);

        // A change whose time is not text, as another version of the app or a damaged store might leave it.
        await phone.EvaluateAsync("""
            async () => (await import('./js/store.js')).put('outbox',
                { commandId: '0190e6a0-0000-7000-8000-000000000001', command: '{}', summary: 'damaged', photo: null, createdAt: { at: 1 } })
            """);
        await phone.GetByTestId("sync").ClickAsync();

        await Expect(phone.GetByTestId("sync-error")).ToContainTextAsync("Sync stopped on an error; the changes stay on the device");
        await Expect(phone.GetByTestId("sync")).ToBeEnabledAsync();
        Assert.Equal(1, await phone.EvaluateAsync<int>("async () => (await import('./js/store.js')).count('outbox')"));
        Assert.Equal(0L, await Scalar<long>("SELECT count(*) FROM sync_commands WHERE device_id = @id", new { id = device.DeviceId }));
    }
}
