using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Ticketing.Access;
using WorkOrders.Tests;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>The SLA endpoints over HTTP: who may use them, what they refuse, and the at-risk list. The default calendar runs around the clock in UTC.</summary>
public class SlaApiTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<Dictionary<string, string[]>> ErrorsOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await JsonOf(response)).GetProperty("errors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    private static object Calendar(TestOrg org, string name, object hours, string zone = "Asia/Taipei") => new
    {
        name = $"{name} {org.Suffix}",
        timeZone = zone,
        hours,
        holidays = new[] { new { date = "2026-10-09", name = "National Day" } },
        siteIds = new[] { org.SiteId },
    };

    private static object Policy(TestOrg org, int priority, int response, int resolution) =>
        new { name = $"P{priority} {org.Suffix}", priority, templateId = org.TemplateId, responseMinutes = response, resolutionMinutes = resolution };

    [Theory]
    [InlineData(Role.Admin, true)]
    [InlineData(Role.Manager, false)]
    [InlineData(Role.Technician, false)]
    [InlineData(Role.Executive, false)]
    [InlineData(Role.Requester, false)]
    public async Task only_administrators_manage_calendars_and_policies(Role role, bool allowed)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var client = await host.SignedInAsync(org[role]);

        var responses = new[]
        {
            await client.GetAsync("/api/v1/calendars"),
            await client.PostAsJsonAsync("/api/v1/calendars", Calendar(org, "Plant", new { monday = new[] { "08:00-17:00" } })),
            await client.GetAsync("/api/v1/sla-policies"),
            await client.PostAsJsonAsync("/api/v1/sla-policies", Policy(org, 2, 60, 480)),
        };

        Assert.All(responses, r => Assert.Equal(allowed ? r.RequestMessage!.Method == HttpMethod.Post ? HttpStatusCode.Created : HttpStatusCode.OK : HttpStatusCode.Forbidden, r.StatusCode));
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous().GetAsync("/api/v1/sla-policies")).StatusCode);
    }

    [Fact]
    public async Task a_calendar_and_a_policy_are_created_read_changed_and_deleted()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        var created = await admin.PostAsJsonAsync("/api/v1/calendars", Calendar(org, "Taipei", new { monday = new[] { "08:00-12:00", "13:00-17:00" }, friday = new[] { "08:00-12:00" } }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var calendar = await JsonOf(await admin.GetAsync(created.Headers.Location));
        Assert.Equal("Asia/Taipei", calendar.GetProperty("timeZone").GetString());
        Assert.Equal(["08:00-12:00", "13:00-17:00"], calendar.GetProperty("hours").GetProperty("monday").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("2026-10-09", calendar.GetProperty("holidays")[0].GetProperty("date").GetString());

        var changed = await admin.PutAsJsonAsync(created.Headers.Location, new
        {
            name = $"Taipei {org.Suffix}",
            timeZone = "Asia/Taipei",
            hours = new { tuesday = new[] { "09:00-18:00" } },
            rowVersion = calendar.GetProperty("rowVersion").GetInt32(),
        });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(["tuesday"], (await JsonOf(changed)).GetProperty("hours").EnumerateObject().Select(p => p.Name));

        var policy = await admin.PostAsJsonAsync("/api/v1/sla-policies", Policy(org, 1, 30, 240));
        Assert.Equal(HttpStatusCode.Created, policy.StatusCode);
        Assert.Equal(80, (await JsonOf(policy)).GetProperty("warningPercent").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(policy.Headers.Location)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(policy.Headers.Location)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(created.Headers.Location)).StatusCode);
    }

    [Fact]
    public async Task bad_calendars_and_policies_are_refused_naming_the_field_and_the_reason()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);

        var overlapping = await ErrorsOf(await admin.PostAsJsonAsync("/api/v1/calendars", Calendar(org, "Overlap", new { monday = new[] { "08:00-12:00", "11:30-13:00" } })));
        Assert.Equal(["the spans 08:00-12:00 and 11:30-13:00 overlap."], overlapping["hours.monday"]);

        var empty = await ErrorsOf(await admin.PostAsJsonAsync("/api/v1/calendars", Calendar(org, "Empty", new { })));
        Assert.StartsWith("the calendar has no working time at all", empty["hours"][0], StringComparison.Ordinal);

        var zone = await ErrorsOf(await admin.PostAsJsonAsync("/api/v1/calendars", Calendar(org, "Zone", new { monday = new[] { "08:00-17:00" } }, "Asia/Atlantis")));
        Assert.Equal(["'Asia/Atlantis' is not a known IANA time zone (such as Asia/Taipei or Europe/Berlin)."], zone["timeZone"]);

        var zero = await ErrorsOf(await admin.PostAsJsonAsync("/api/v1/sla-policies", Policy(org, 2, 0, 480)));
        Assert.Equal(["must be more than zero business minutes."], zero["responseMinutes"]);

        var negative = await ErrorsOf(await admin.PostAsJsonAsync("/api/v1/sla-policies", Policy(org, 2, 60, -1)));
        Assert.Equal(["must be more than zero business minutes."], negative["resolutionMinutes"]);

        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/sla-policies", Policy(org, 2, 60, 480))).StatusCode);
        var duplicate = await ErrorsOf(await admin.PostAsJsonAsync("/api/v1/sla-policies", Policy(org, 2, 30, 240)));
        Assert.StartsWith($"a policy for P2 and template '{org.TemplateName}' already exists", duplicate["templateId"][0], StringComparison.Ordinal);

        var wrongType = await ErrorsOf(await admin.PostAsJsonAsync("/api/v1/sla-policies", new { name = "x", priority = 2, responseMinutes = "soon", resolutionMinutes = 60 }));
        Assert.True(wrongType.ContainsKey("responseMinutes"));
    }

    [Fact]
    public async Task managers_see_their_at_risk_work_most_urgent_first_and_the_work_order_shows_its_due_times()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/sla-policies", Policy(org, 3, 100, 1000))).StatusCode);
        var requester = await host.SignedInAsync(org[Role.Requester]);
        var created = await requester.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId,
            title = "Pump leaks",
            description = "Oil under the pump.",
            priority = 3,
            assetId = org.MachineId,
            customFields = new { fault_code = "leak" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await JsonOf(created)).GetProperty("id").GetInt64();
        var detail = await JsonOf(await requester.GetAsync(created.Headers.Location));
        var createdAt = detail.GetProperty("createdAt").GetDateTime();
        Assert.Equal(createdAt.AddMinutes(100), detail.GetProperty("responseDueAt").GetDateTime());
        Assert.Equal(createdAt.AddMinutes(1000), detail.GetProperty("resolutionDueAt").GetDateTime());

        var manager = await host.SignedInAsync(org[Role.Manager]);
        Assert.DoesNotContain((await JsonOf(await manager.GetAsync("/api/v1/work-orders/at-risk"))).EnumerateArray(), w => w.GetProperty("id").GetInt64() == id);

        host.Clock.Advance(TimeSpan.FromMinutes(85));
        manager = await host.SignedInAsync(org[Role.Manager]);
        var atRisk = (await JsonOf(await manager.GetAsync("/api/v1/work-orders/at-risk"))).EnumerateArray().Single(w => w.GetProperty("id").GetInt64() == id);
        Assert.Equal("at_risk", atRisk.GetProperty("sla").GetProperty("risk").GetString());
        Assert.Equal("response", atRisk.GetProperty("sla").GetProperty("target").GetString());

        var technician = await host.SignedInAsync(org[Role.Technician]);
        Assert.Equal(HttpStatusCode.Forbidden, (await technician.GetAsync("/api/v1/work-orders/at-risk")).StatusCode);
        var outsider = await host.SignedInAsync(org.OutsideManager);
        Assert.DoesNotContain((await JsonOf(await outsider.GetAsync("/api/v1/work-orders/at-risk"))).EnumerateArray(), w => w.GetProperty("id").GetInt64() == id);
        Assert.Equal(HttpStatusCode.BadRequest, (await manager.GetAsync("/api/v1/work-orders/at-risk?take=0")).StatusCode);
    }
}
