using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>A lost phone: the administrator finds it on /admin/devices and revokes it; the phone's next sync is refused on its screen and keeps what waits.</summary>
public sealed class DeviceAdminTests : FieldAppTest
{
    [Fact]
    public async Task an_administrator_revokes_a_device_on_the_devices_page_and_its_next_sync_is_refused_on_its_screen()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        const string Title = "Valve stuck";
        await AssignedWorkOrderAsync(org, Title);
        var technician = org[Role.Technician];
        var (_, phone, device) = await SignedInDeviceAsync(technician);

        var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);
        await Browser.OpenAsync(admin, "/admin/devices");
        var row = admin.GetByTestId("device-admin-list").Locator("tbody tr").Filter(new() { HasText = technician.UserName });
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.GetByTestId("device-admin-name")).Not.ToBeEmptyAsync();
        await row.GetByTestId("device-admin-revoke").ClickAsync();
        await Expect(admin.GetByTestId("device-admin-notice")).ToBeVisibleAsync();
        await Expect(row.GetByTestId("device-admin-revoked")).ToBeVisibleAsync();
        await Expect(row.GetByTestId("device-admin-revoke")).ToHaveCountAsync(0);
        Assert.True(await Scalar<bool>("SELECT revoked_at IS NOT NULL AND revoked_by = @admin FROM field_devices WHERE id = @id", new { id = device.DeviceId, admin = org[Role.Admin].UserId }));

        // On the phone: a note made after the revoke, then Sync. The server refuses the device; the note stays queued.
        await OpenOrderAsync(phone, Title);
        await phone.FillAsync("#note", "Freed the valve stem");
        await phone.GetByTestId("add-note").ClickAsync();
        await phone.Locator("header a.title").ClickAsync();
        await phone.GetByTestId("sync").ClickAsync();
        await Expect(phone.GetByRole(AriaRole.Status)).ToContainTextAsync("no longer accepts this device");
        await Expect(phone.GetByTestId("waiting")).ToContainTextAsync("1");
        Assert.Equal(0L, await Scalar<long>("SELECT count(*) FROM sync_commands WHERE device_id = @id", new { id = device.DeviceId }));
    }
}
