using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// The pages in the pseudo-locale, where every text from the resources is accented and bracketed ("[Ŝîĝñ îñ]"): any
/// other letters on a page are either data this test seeded (recognisable by its suffix) or text that bypassed the
/// localizer. Also the reader's language for a refusal, and the reader's time zone for times.
/// </summary>
public sealed partial class LocalisationTests(ITestOutputHelper output) : BrowserTest
{
    private const string Pseudo = "qps-Ploc";

    private readonly List<string> _policyViolations = [];

    // Text in these is not UI text of the page's language: another language (the language switch), icon ligatures,
    // and stored content written when it happened (notifications, history notes, forecast reasons).
    private const string NotUiText = "[translate=no], [lang]:not(html), .rzi, script, style, noscript";

    private const string CollectTexts = """
        (skip) => {
            const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
            const found = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const el = node.parentElement;
                const text = node.nodeValue.trim();
                if (text && el && !el.closest(skip) && visible(el)) {
                    found.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? '#' + el.dataset.testid : ''}: ${text}`);
                }
            }
            for (const el of document.body.querySelectorAll('[placeholder], [title], [aria-label]')) {
                if (el.closest(skip) || !(visible(el) || el.tagName === 'INPUT')) continue;
                for (const name of ['placeholder', 'title', 'aria-label']) {
                    const value = (el.getAttribute(name) || '').trim();
                    if (value) found.push(`${el.tagName.toLowerCase()}[${name}]: ${value}`);
                }
            }
            found.push(`title: ${document.title}`);
            return found;
        }
        """;

    [Fact]
    public async Task every_page_in_the_pseudo_locale_shows_only_text_from_the_resources_besides_data()
    {
        var seeded = await SeedAsync();
        var s = seeded.Org.Suffix;
        var period = AnalyticsData.Period;
        var inspection = await InspectionPagesAsync(seeded.Org);
        var stocktake = await StocktakeAsync(seeded.Org);
        (Role? Role, string Path)[] visits =
        [
            (null, "/login"),
            (Role.Requester, "/"),
            (Role.Requester, "/work-orders"),
            (Role.Requester, "/work-orders/new?templateId=" + seeded.Org.TemplateId),
            (Role.Requester, $"/work-orders/{seeded.Open}"),
            (Role.Requester, $"/assets?id={seeded.Org.MachineId}"),
            (Role.Admin, $"/assets?id={seeded.Org.MachineId}"),
            (Role.Planner, $"/assets/{seeded.Org.MachineId}"),
            (Role.Requester, "/notifications"),
            (Role.Requester, "/denied"),
            (Role.Technician, "/"),
            (Role.Technician, $"/work-orders/{seeded.Open}"),
            (Role.Manager, "/"),
            (Role.Manager, "/work-orders/at-risk"),
            (Role.Manager, $"/work-orders/{seeded.Closed}"),
            (Role.Executive, $"/analytics?{period}&departmentId={seeded.Org.DepartmentId}"),
            (Role.ReliabilityEngineer, $"/analytics/reliability?{period}&departmentId={seeded.Org.DepartmentId}"),
            (Role.Admin, $"/analytics/staff?{period}&departmentId={seeded.Org.DepartmentId}"),
            (Role.Planner, "/planning"),
            (Role.Planner, "/planning/model"),
            (Role.Admin, "/admin/templates"),
            (Role.Admin, "/admin/assignment-rules"),
            (Role.Admin, "/admin/warehouse"),
            (Role.Admin, "/admin/webhooks"),
            (Role.Admin, "/admin/sla-policies"),
            (Role.Admin, "/admin/calendars"),
            (Role.Planner, $"/assets/{seeded.Org.MachineId}/meters"),
            (Role.Planner, $"/pm/plans/new?assetId={seeded.Org.MachineId}"),
            (Role.Planner, "/pm/plans"),
            (Role.Planner, "/pm/calendar"),
            (Role.Admin, $"/analytics/pm?{period}&departmentId={seeded.Org.DepartmentId}"),
            (Role.Planner, $"/assets/{seeded.Org.MachineId}/labels"),
            (Role.Technician, $"/a/X-{s}"),
            (Role.Planner, "/inspections/routes"),
            (Role.Planner, "/inspections/routes/new"),
            (Role.Planner, $"/inspections/routes/{inspection.RouteId}"),
            (Role.Technician, "/inspections/rounds"),
            (Role.Technician, $"/inspections/rounds/{inspection.RoundId}"),
            (Role.Manager, "/inspections/compliance"),
            (Role.Planner, "/stocktakes"),
            (Role.Technician, $"/stocktakes/{stocktake}"),
            (Role.Manager, $"/stocktakes/{stocktake}/report"),
            (Role.Manager, "/alarms"),
            (Role.ReliabilityEngineer, "/alarms/episodes/0"),
            (Role.Admin, "/admin/alarm-rules"),
            (Role.Admin, "/admin/alarm-sources"),
            (Role.Manager, "/exports"),
            (Role.Admin, "/admin/exports"),
            (Role.Admin, "/admin/users"),
            (Role.Admin, "/admin/devices"),
            (Role.Manager, "/sync-conflicts"),
            (null, "/account/password?temporary=1"),
        ];
        var unvisited = Routes().Where(route => !visits.Any(v => Matches(route, v.Path))).ToList();
        Assert.True(unvisited is [], $"pages this test does not open: {string.Join(", ", unvisited)}");

        var pages = new Dictionary<Role, IPage>();
        var bypassed = new List<string>();
        foreach (var (role, path) in visits)
        {
            var page = role is { } r
                ? pages.TryGetValue(r, out var open) ? open : pages[r] = await SignedInPseudoAsync(seeded.Org, r)
                : await AnonymousPseudoAsync();
            // Named as it is opened, so that a page that does not settle is the last one named in a failed run's output.
            output.WriteLine($"{role} {path}");
            await page.GotoAsync(path);
            if (role is not null)
            {
                await Browser.WaitForCircuitAsync(page);
            }

            await Expect(page.Locator("h1").First).ToBeVisibleAsync();

            // Nothing fetched for half a second: beside the other test projects' browsers this once took over the
            // patience of one action.
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle, new() { Timeout = 3 * Browser.Patience });
            await Expect(page.Locator(".rz-progressbar-circular")).ToHaveCountAsync(0);
            var texts = await page.EvaluateAsync<string[]>(CollectTexts, NotUiText);
            Assert.True(texts.Length > 5, $"{path} shows almost nothing: {string.Join(" | ", texts)}");
            bypassed.AddRange(texts.Where(t => Bypasses(t, seeded.Data, s)).Select(t => $"{role} {path} {t}"));
        }

        output.WriteLine($"{visits.Length} pages read in {Pseudo}");
        Assert.True(bypassed.Count == 0, "Text that bypassed the localizer:\n" + string.Join("\n", bypassed.Distinct()));
        Assert.True(_policyViolations.Count == 0, "The Content-Security-Policy blocked:\n" + string.Join("\n", _policyViolations.Distinct()));
    }

    [Fact]
    public async Task the_language_switch_offers_the_pseudo_locale_by_its_name_and_switches_to_it()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Requester].UserName, TestOrg.Password);
        var switcher = page.GetByTestId("culture-switch");
        await Expect(switcher.Locator("a")).ToHaveTextAsync(["English", "qps (Ploc)", "中文（台灣）"]);

        await switcher.Locator($"a[data-culture={Pseudo}]").ClickAsync();

        await Browser.WaitForCircuitAsync(page);
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", Pseudo);
        await Expect(page.Locator(".rz-sidebar").GetByText("[Ṁý ŵöŕķ]")).ToBeVisibleAsync();
        await Expect(switcher.Locator("a.active")).ToHaveAttributeAsync("data-culture", Pseudo);
    }

    [Fact]
    public async Task in_traditional_chinese_the_page_says_a_refusal_of_the_core_in_chinese()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        var id = await data.CreateAsync($"漏油 {org.Suffix}", "leak");
        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Requester].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/culture?culture=zh-TW&returnUrl=/work-orders/{id}");

        await page.GetByTestId("add-comment").ClickAsync();

        await Expect(page.GetByTestId("error-comment-body")).ToHaveTextAsync("必填，最多 10000 個字元。");
        await Expect(page.Locator("h2").First).ToHaveTextAsync("描述");
        var screenshot = Path.Combine(Path.GetTempPath(), $"workorders-zh-TW-{org.Suffix}.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        output.WriteLine($"zh-TW screenshot: {screenshot}");
    }

    [Fact]
    public async Task a_reader_in_taipei_sees_times_eight_hours_ahead_of_utc_with_the_zone_named()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var data = new AnalyticsData(Host.BaseAddress, org);
        var id = await data.CreateAsync($"Leak {org.Suffix}", "leak");
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE users SET time_zone = 'Asia/Taipei' WHERE id = @id", new { id = org[Role.Requester].UserId });
        }

        using var api = await data.ClientAsync(Role.Requester);
        var detail = await api.GetFromJsonAsync<JsonElement>($"/api/v1/work-orders/{id}");
        var createdUtc = detail.GetProperty("createdAt").GetDateTime().ToUniversalTime();
        Assert.EndsWith("Z", detail.GetProperty("createdAt").GetString(), StringComparison.Ordinal);

        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[Role.Requester].UserName, TestOrg.Password);
        await Browser.OpenAsync(page, $"/work-orders/{id}");

        var expected = createdUtc.AddHours(8).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " Asia/Taipei";
        await Expect(page.GetByTestId("facts")).ToContainTextAsync(expected);
        await Browser.OpenAsync(page, "/work-orders");
        await Expect(page.GetByText("Created (Asia/Taipei)")).ToBeVisibleAsync();
    }

    private async Task<IPage> SignedInPseudoAsync(TestOrg org, Role role)
    {
        var page = await Browser.SignInAsync(Chromium, Host.BaseAddress, org[role].UserName, TestOrg.Password);
        WatchPolicy(page);
        await Browser.OpenAsync(page, $"/culture?culture={Pseudo}&returnUrl=/");
        return page;
    }

    /// <summary>Every page is read under the security headers' policy: anything it blocks shows in the console.</summary>
    private void WatchPolicy(IPage page)
    {
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                _policyViolations.Add($"{page.Url}: {message.Text}");
            }
        };
    }

    private async Task<IPage> AnonymousPseudoAsync()
    {
        var context = await Chromium.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), Locale = "en-US" });
        var page = await context.NewPageAsync();
        WatchPolicy(page);
        await page.GotoAsync($"/culture?culture={Pseudo}&returnUrl=/login");
        return page;
    }

    /// <summary>Work, rules, calendars, hooks and a proposal to fill every page, each named so that it reads as data.</summary>
    private async Task<Seeded> SeedAsync()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        var s = org.Suffix;
        TemplateField[] fields =
        [
            new("fault_code", $"Fault {s}", FieldKind.Choice, Required: true, Options: [$"seal-{s}", $"gear-{s}"], Labels: TemplateSchema.Label("zh-TW", $"故障 {s}")),
            new("observed_on", $"Observed {s}", FieldKind.Date),
        ];
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE assets SET name = name || ' ' || @s, asset_type = asset_type || '-' || @s WHERE code LIKE '%-' || @s", new { s });
            await connection.ExecuteAsync(
                "UPDATE templates SET fields = @fields::jsonb WHERE id = @id", new { id = org.TemplateId, fields = JsonSerializer.Serialize(fields, TemplateSchema.Json) });
        }

        var data = new AnalyticsData(Host.BaseAddress, org);
        var (closedTitle, openTitle, comment) = ($"Seal leaks {s}", $"Gear grinds {s}", $"Noisy since Monday {s}");
        var closed = await data.CreateAsync(closedTitle, $"seal-{s}");
        await data.CloseAsync(closed, rating: 4);
        var open = await data.CreateAsync(openTitle, $"gear-{s}");
        await data.IngestAsync();

        using var admin = await data.ClientAsync(Role.Admin);
        using var manager = await data.ClientAsync(Role.Manager);
        using var requester = await data.ClientAsync(Role.Requester);
        await Created(manager.PostAsJsonAsync($"/api/v1/work-orders/{open}/transitions", new { action = "assign", assigneeId = org[Role.Technician].UserId, rowVersion = 1 }), HttpStatusCode.OK);
        await Created(requester.PostAsJsonAsync($"/api/v1/work-orders/{open}/comments", new { body = comment }), HttpStatusCode.Created);
        await Created(admin.PostAsJsonAsync("/api/v1/webhooks", new { url = $"https://hooks.example.test/{s}", eventKind = "*", description = $"hook-{s}" }), HttpStatusCode.Created);
        await Created(admin.PostAsJsonAsync("/api/v1/assignment-rules", new { name = $"rule-{s}", departmentId = org.DepartmentId, strategy = "least_loaded", templateId = org.TemplateId }), HttpStatusCode.Created);
        await Created(admin.PostAsJsonAsync("/api/v1/calendars", new
        {
            name = $"hours-{s}", timeZone = "Asia/Taipei", hours = new { monday = new[] { "08:00-17:00" } },
            holidays = new[] { new { date = "2026-10-09", name = $"holiday-{s}" } }, siteIds = new[] { org.SiteId },
        }), HttpStatusCode.Created);
        await Created(admin.PostAsJsonAsync("/api/v1/sla-policies", new { name = $"policy-{s}", priority = 3, templateId = org.TemplateId, responseMinutes = 60, resolutionMinutes = 480 }), HttpStatusCode.Created);
        await using (var connection = await Database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO forecast_proposals (asset_id, fault_code, probability, window_start, window_end, reasons, template_id, estimated_hours,
                                                evidence_key, model_version, created_at, updated_at, expires_at)
                VALUES (@asset, @code, 0.8, now(), now() + interval '30 days', @reasons::jsonb, @template, 2, @s, @s, now(), now(), now() + interval '7 days')
                """,
                new { asset = org.MachineId, code = $"seal-{s}", reasons = JsonSerializer.Serialize(new[] { $"reason-{s}" }), template = org.TemplateId, s });
        }

        var meters = new Ticketing.Meters.MeterRegister(Database.DataSource, TimeProvider.System);
        var meter = (await meters.AddAsync(org.MachineId, new($"hours-{s}", "h"), org[Role.Planner], CancellationToken.None)).Value!;
        await meters.RecordAsync(
            [new(meter.Id, DateTime.UtcNow.AddDays(-2), 100m), new(meter.Id, DateTime.UtcNow.AddDays(-1), 5m, true, $"replaced-{s}")],
            org[Role.Technician], Ticketing.Meters.ReadingSource.Api, CancellationToken.None);

        // What the pages show as data: the org's names and what the database holds from its migrations.
        string[] names =
        [
            .. Roles.All.Select(r => $"{Roles.ToName(r).Replace('_', '-')} {s}"), $"tech2 {s}", $"outside {s}", org.DepartmentName, $"Other {s}",
            org.TemplateName, $"Site {s}", $"Line {s}", $"Pump {s}", closedTitle, openTitle, comment, AnalyticsData.Description,
            .. fields.Select(f => f.Label), "Around the clock (UTC)", "WorkOrders",
        ];
        return new Seeded(org, closed, open, [.. names.OrderByDescending(n => n.Length)]);
    }

    private static async Task Created(Task<HttpResponseMessage> sending, HttpStatusCode expected)
    {
        var response = await sending;
        Assert.True(response.StatusCode == expected, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Whether a text has letters that are neither pseudo-marked nor data: after taking out the marked parts (inner
    /// ones first, as a marked text may hold another as an argument), the seeded names, whatever carries the suffix,
    /// numbers, dates, times, time zones and work-order numbers, no word of two letters or more may be left.
    /// </summary>
    private static bool Bypasses(string found, IReadOnlyList<string> data, string suffix)
    {
        var text = found[(found.IndexOf(": ", StringComparison.Ordinal) + 2)..];
        for (var before = ""; before != text;)
        {
            before = text;
            text = Marked().Replace(text, " ");
        }

        text = data.Aggregate(text, (t, name) => t.Replace(name, " ", StringComparison.Ordinal));
        text = Regex.Replace(text, $@"\S*{suffix}\S*", " ");
        text = Facts().Replace(text, " ");
        return Word().IsMatch(text);
    }

    private static IEnumerable<string> Routes()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "WorkOrders.sln")))
        {
            root = Path.GetDirectoryName(root)!;
        }

        return Directory.EnumerateFiles(Path.Combine(root, "src", "Dashboard"), "*.razor", SearchOption.AllDirectories)
            .SelectMany(f => PageDirective().Matches(File.ReadAllText(f)).Select(m => m.Groups["route"].Value));
    }

    // "/work-orders/{Id:long}" is visited as "/work-orders/123".
    private static bool Matches(string route, string path) =>
        Regex.IsMatch(path.Split('?')[0], "^" + Regex.Replace(route, @"\{[^}]+\}", "[^/]+") + "$");

    private sealed record Seeded(TestOrg Org, long Closed, long Open, IReadOnlyList<string> Data);

    /// <summary>A route with a schedule and a round of it with one stop confirmed and a failed reading, for the inspection pages.</summary>
    private async Task<(long RouteId, long RoundId)> InspectionPagesAsync(TestOrg org)
    {
        var s = org.Suffix;
        var data = Database.DataSource;
        long inspectionTemplate, findingTemplate;
        await using (var connection = await data.OpenConnectionAsync())
        {
            inspectionTemplate = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'inspection', 3, @department) RETURNING id",
                new { name = $"rounds-{s}", department = org.DepartmentId });
            findingTemplate = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@name, 'corrective', 3, @department) RETURNING id",
                new { name = $"finding-{s}", department = org.DepartmentId });
        }

        var routes = new Ticketing.Inspections.InspectionRoutes(data, TimeProvider.System);
        var route = (await routes.CreateAsync(
            new Ticketing.Inspections.RouteRequest(
                $"route-{s}", inspectionTemplate, $"walk-{s}",
                [new(org.MachineId, $"look-{s}",
                [
                    new(null, $"temp-{s}", Ticketing.Inspections.CheckKind.Number, WarningHigh: 70, AlarmHigh: 80, FindingTemplateId: findingTemplate),
                    new(null, $"guard-{s}", Ticketing.Inspections.CheckKind.PassFail, FindingTemplateId: findingTemplate),
                ])],
                [new(1, Ticketing.Scheduling.RecurrenceUnit.Day, new DateOnly(2026, 1, 1), [new TimeOnly(8, 0)], 120, 60, 30)]),
            org[Role.Planner],
            CancellationToken.None)).Value!;
        long roundId;
        await using (var connection = await data.OpenConnectionAsync())
        {
            roundId = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO inspection_rounds (route_id, route_version, slot_key, slot_at, window_ends_at, grace_ends_at, status, department_id, assignee_id, created_at)
                VALUES (@routeId, 1, @key, now(), now() + interval '2 hours', now() + interval '3 hours', 'open', @department, @assignee, now()) RETURNING id
                """,
                new { routeId = route.Id, key = $"page-{s}", department = org.DepartmentId, assignee = org[Role.Technician].UserId });
        }

        var rounds = new Ticketing.Inspections.Rounds(
            data, TimeProvider.System, new Ticketing.WorkOrders.CreateWorkOrder(data, TimeProvider.System), new Ticketing.Meters.MeterRegister(data, TimeProvider.System),
            Microsoft.Extensions.Options.Options.Create(new Ticketing.TicketingOptions()));
        var code = route.Stops[0].AssetCode;
        await rounds.ConfirmStopAsync(roundId, new(Guid.NewGuid(), route.Stops[0].Id, code), org[Role.Technician], CancellationToken.None);
        var recorded = await rounds.RecordAsync(roundId, new(Guid.NewGuid(), route.Stops[0].Items[0].Id, Number: 85), org[Role.Technician], CancellationToken.None);
        Assert.True(recorded.Succeeded, recorded.Failure?.Message);
        return (route.Id, roundId);
    }

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex Marked();

    [GeneratedRegex(@"(?:/[\w.-]+){2,}|WO-\d{4}-\d{6}|\d{4}-\d{2}(-\d{2})?|\d{1,2}:\d{2}|\b[A-Z][a-z]+/[A-Za-z_]+\b|\bUTC\b|\bP[1-4]\b|\b\d+([.,]\d+)*\b|\b[KM]iB\b")]
    private static partial Regex Facts();

    [GeneratedRegex("[A-Za-z]{2,}")]
    private static partial Regex Word();

    [GeneratedRegex("""@page\s+"(?<route>[^"]+)"\s""")]
    private static partial Regex PageDirective();
}
