using System.Text.RegularExpressions;
using Dapper;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

public sealed class AssetRegisterJourneyTests : BrowserTest
{
    public static TheoryData<string, string[], string[]> Languages() => new()
    {
        { "en", ["In service", "Standby", "Under repair", "In service", "Decommissioned", "Disposed"], ["Edited", "Moved", "Name: "] },
        { "zh-TW", ["使用中", "備用", "維修中", "使用中", "已除役", "已報廢"], ["已編輯", "已移動", "名稱："] },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task an_administrator_registers_a_machine_under_a_line_edits_it_moves_it_and_takes_it_through_its_lifecycle(
        string culture, string[] states, string[] historyWords)
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var s = org.Suffix;
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            var line = await connection.ExecuteScalarAsync<long>("SELECT parent_id FROM assets WHERE id = @id", new { id = org.MachineId });
            var admin = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Admin].UserName, TestOrg.Password);
            await Browser.OpenAsync(admin, $"/culture?culture={culture}&returnUrl=/assets?id={line}");
            await Expect(admin.GetByTestId("asset-name")).ToContainTextAsync($"L-{s}");

            // A filter turns the tree into a grid of matches, read at once; cleared and set anew, it reads again.
            var filter = admin.GetByTestId("asset-filter-text");
            await filter.FillAsync($"M-{s}");
            await filter.PressAsync("Tab");
            await Expect(admin.GetByTestId("asset-grid-link")).ToHaveTextAsync([$"M-{s}"]);
            await filter.FillAsync("");
            await filter.PressAsync("Tab");
            await Expect(admin.GetByTestId("asset-grid")).ToHaveCountAsync(0);
            await filter.FillAsync($"L-{s}");
            await filter.PressAsync("Tab");
            await Expect(admin.GetByTestId("asset-grid-link")).ToHaveTextAsync([$"L-{s}"]);
            await filter.FillAsync("");
            await filter.PressAsync("Tab");

            // Registered under the line: the form offers only the kinds a line may hold, so a machine is already chosen.
            await admin.GetByTestId("asset-new-child").ClickAsync();
            var form = admin.GetByTestId("asset-form");
            await form.GetByTestId("field-code").Locator("input").FillAsync($"CMP-{s}");
            await form.GetByTestId("field-name").Locator("input").FillAsync($"空壓機 Compressor {s}");
            await form.GetByTestId("field-assetType").Locator("input").FillAsync("compressor");
            await form.GetByTestId("field-cost").Locator("input").FillAsync("25000");
            await form.GetByTestId("asset-save").ClickAsync();
            await Expect(admin).ToHaveURLAsync(new Regex(@"/assets\?id=\d+$"));
            await Expect(admin.GetByTestId("asset-name")).ToHaveTextAsync($"CMP-{s} · 空壓機 Compressor {s}");
            await Expect(admin.GetByTestId("asset-parent")).ToHaveTextAsync($"L-{s}");
            await Expect(admin.GetByTestId("asset-lifecycle")).ToHaveTextAsync(states[0]);
            var id = long.Parse(new Uri(admin.Url).Query.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal("machine", await connection.ExecuteScalarAsync<string>("SELECT kind FROM assets WHERE id = @id", new { id }));

            // Edited: the history names the field before and after.
            await admin.GetByTestId("asset-edit").ClickAsync();
            await form.GetByTestId("field-name").Locator("input").FillAsync($"空壓機 Compressor 2 {s}");
            await form.GetByTestId("asset-save").ClickAsync();
            await Expect(admin.GetByTestId("asset-name")).ToHaveTextAsync($"CMP-{s} · 空壓機 Compressor 2 {s}");

            // Moved from the line to the site itself.
            await admin.GetByTestId("asset-move").ClickAsync();
            await Browser.PickAsync(admin, admin.GetByTestId("field-parentId").Locator(".rz-dropdown"), $"S-{s} · Site");
            await admin.GetByTestId("asset-move-confirm").ClickAsync();
            await Expect(admin.GetByTestId("asset-parent")).ToHaveTextAsync($"S-{s}");

            // Through the lifecycle, each step with its reason.
            string[] actions = ["stand_by", "start_repair", "finish_repair", "decommission", "dispose"];
            for (var i = 0; i < actions.Length; i++)
            {
                await admin.GetByTestId($"lifecycle-{actions[i]}").ClickAsync();
                await admin.GetByTestId("lifecycle-reason").FillAsync($"reason {i} 原因");
                await admin.GetByTestId("lifecycle-confirm").ClickAsync();
                await Expect(admin.GetByTestId("asset-lifecycle")).ToHaveTextAsync(states[i + 1]);
            }

            // Disposed is the end: no lifecycle action is left.
            await Expect(admin.Locator("[data-testid^=lifecycle-]")).ToHaveCountAsync(0);
            var history = admin.GetByTestId("asset-event");
            await Expect(history).ToHaveCountAsync(8);
            await Expect(admin.GetByTestId("asset-history")).ToContainTextAsync(historyWords[0]);
            await Expect(admin.GetByTestId("asset-history")).ToContainTextAsync(historyWords[1]);
            await Expect(admin.GetByTestId("asset-history")).ToContainTextAsync($"{historyWords[2]}空壓機 Compressor {s} → 空壓機 Compressor 2 {s}");
            await Expect(history.First.GetByTestId("asset-event-note")).ToHaveTextAsync("reason 4 原因");
            Assert.Equal(
                ["created", "edited", "moved", "lifecycle", "lifecycle", "lifecycle", "lifecycle", "lifecycle"],
                await connection.QueryAsync<string>("SELECT kind FROM asset_events WHERE asset_id = @id ORDER BY id", new { id }));

            // The asset page: its attributes, and the warehouse not yet filled.
            await admin.GetByTestId("asset-page-link").ClickAsync();
            await Expect(admin).ToHaveURLAsync(new Regex($"/assets/{id}$"));
            await Expect(admin.GetByTestId("asset-name")).ToHaveTextAsync($"CMP-{s} · 空壓機 Compressor 2 {s}");
            await Expect(admin.GetByTestId("asset-lifecycle")).ToHaveTextAsync(states[^1]);
            await Expect(admin.GetByTestId("warehouse-empty")).ToBeVisibleAsync();
            await admin.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), $"workorders-asset-{culture}-{s}.png"), FullPage = true });
        }
    }
}
