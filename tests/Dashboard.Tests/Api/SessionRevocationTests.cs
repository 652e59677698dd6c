using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// A user's sessions end at once when an administrator deactivates them, changes their role or department or resets
/// their password, and when they sign out or change their password: the access token, the refresh token and a copy
/// of the cookie all fail on the very next request.
/// </summary>
public sealed partial class SessionRevocationTests(ApiHost host) : IClassFixture<ApiHost>
{
    [Theory]
    [InlineData("deactivate")]
    [InlineData("role")]
    [InlineData("department")]
    [InlineData("reset_password")]
    [InlineData("sign_out")]
    [InlineData("cookie_sign_out")]
    [InlineData("change_password")]
    public async Task the_token_the_refresh_token_and_a_copied_cookie_stop_working_on_the_next_request_after(string change)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var target = org[Role.Technician];
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var tokens = await LoginAsync(target.UserName, TestOrg.Password);
        var (browser, cookie) = await FormSignInAsync(target.UserName, TestOrg.Password);
        using (browser)
        {
            Assert.Equal(HttpStatusCode.OK, (await MeWithTokenAsync(tokens.Access)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await MeWithCookieAsync(cookie)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(tokens.Refresh)).StatusCode);

            var done = change switch
            {
                "deactivate" => await admin.PostAsync($"/api/v1/users/{target.UserId}/deactivate", null),
                "role" => await admin.PutAsJsonAsync($"/api/v1/users/{target.UserId}", Edit(target, "requester", null)),
                "department" => await admin.PutAsJsonAsync($"/api/v1/users/{target.UserId}", Edit(target, "technician", org.OutsideManager.DepartmentId)),
                "reset_password" => await admin.PostAsync($"/api/v1/users/{target.UserId}/reset-password", null),
                "sign_out" => await SendAsync(HttpMethod.Post, "/api/v1/auth/sign-out", tokens.Access),
                "cookie_sign_out" => await browser.PostAsync("/account/logout", Form(await AntiforgeryAsync(browser, "/"), [])),
                "change_password" => await host.Anonymous().PostAsJsonAsync(
                    "/api/v1/auth/change-password", new { userName = target.UserName, currentPassword = TestOrg.Password, newPassword = "a-new-password" }),
                _ => throw new ArgumentOutOfRangeException(nameof(change)),
            };
            Assert.True(done.IsSuccessStatusCode || done.StatusCode == HttpStatusCode.Redirect, $"{change}: {(int)done.StatusCode} {await done.Content.ReadAsStringAsync()}");

            var me = await MeWithTokenAsync(tokens.Access);
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await MeWithCookieAsync(cookie)).StatusCode);
            var refresh = await RefreshAsync(tokens.Refresh);
            Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
            Assert.Equal("auth.refresh_invalid", await CodeAsync(refresh));
            // A page with the ended cookie goes to the sign-in page.
            using var page = new HttpRequestMessage(HttpMethod.Get, "/work-orders");
            page.Headers.Add("Cookie", cookie);
            var redirect = await host.WithoutCookies().SendAsync(page);
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Contains("/login", redirect.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task an_edit_that_keeps_role_and_department_keeps_the_sessions_and_other_users_keep_theirs()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var target = org[Role.Technician];
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var tokens = await LoginAsync(target.UserName, TestOrg.Password);
        var other = await LoginAsync(org.OtherTechnician.UserName, TestOrg.Password);

        var edited = await admin.PutAsJsonAsync($"/api/v1/users/{target.UserId}", Edit(target, "technician", target.DepartmentId, "Renamed Tech", [new UserSkill("mechanical", 4)]));
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var user = await edited.Content.ReadFromJsonAsync<UserInfo>(ApiHost.Json);
        Assert.Equal("Renamed Tech", user!.DisplayName);
        Assert.Equal(new[] { new UserSkill("mechanical", 4) }, user.Skills);
        Assert.Equal(HttpStatusCode.OK, (await MeWithTokenAsync(tokens.Access)).StatusCode);

        var schedule = await admin.PutAsJsonAsync($"/api/v1/users/{target.UserId}/schedule", new { timeZone = "Asia/Taipei", hours = new[] { new { weekday = 1, start = "08:00:00", end = "17:00:00" } }, away = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.OK, schedule.StatusCode);
        var history = (await admin.GetFromJsonAsync<List<UserEvent>>($"/api/v1/users/{target.UserId}/history", ApiHost.Json))!;
        Assert.Equal(new[] { "schedule_changed", "edited" }, history.Select(e => e.Kind));
        Assert.All(history, e => Assert.Equal(org[Role.Admin].UserId, e.ActorId));
        Assert.Contains("\"sessionsEnded\": false", history[1].Payload, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{target.UserId}/deactivate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await MeWithTokenAsync(other.Access)).StatusCode);
    }

    [Fact]
    public async Task a_deactivated_user_is_told_so_only_with_the_right_password_and_signs_in_again_once_reactivated()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var target = org[Role.Requester];
        using var admin = await host.SignedInAsync(org[Role.Admin]);

        var deactivated = await admin.PostAsync($"/api/v1/users/{target.UserId}/deactivate", null);
        Assert.False((await deactivated.Content.ReadFromJsonAsync<UserInfo>(ApiHost.Json))!.Active);

        using var client = host.Anonymous();
        var right = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = TestOrg.Password });
        var wrong = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = "not-it" });
        Assert.Equal(HttpStatusCode.Forbidden, right.StatusCode);
        Assert.Equal("auth.deactivated", await CodeAsync(right));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("auth.wrong_password", await CodeAsync(wrong));

        var form = await FormPostAsync("/account/login", "/login", new() { ["userName"] = target.UserName, ["password"] = TestOrg.Password, ["returnUrl"] = "/" });
        Assert.StartsWith("/login?deactivated=1", form.Headers.Location!.OriginalString, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{target.UserId}/reactivate", null)).StatusCode);
        var again = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = TestOrg.Password });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        var history = (await admin.GetFromJsonAsync<List<UserEvent>>($"/api/v1/users/{target.UserId}/history", ApiHost.Json))!;
        Assert.Equal(new[] { "reactivated", "deactivated" }, history.Select(e => e.Kind));
        Assert.All(history, e => Assert.Equal(org[Role.Admin].UserId, e.ActorId));
    }

    [Fact]
    public async Task a_temporary_password_only_lets_the_user_choose_a_new_one_and_then_the_new_one_signs_in()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var target = org[Role.Manager];
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var reset = await (await admin.PostAsync($"/api/v1/users/{target.UserId}/reset-password", null)).Content.ReadFromJsonAsync<PasswordResetResponse>(ApiHost.Json);
        var temporary = reset!.TemporaryPassword;
        Assert.Equal(Accounts.TemporaryPasswordLength, temporary.Length);

        using var client = host.Anonymous();
        var withTemporary = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = temporary });
        var withOld = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = TestOrg.Password });
        Assert.Equal(HttpStatusCode.Forbidden, withTemporary.StatusCode);
        Assert.Equal("auth.password_change_required", await CodeAsync(withTemporary));
        Assert.Equal(HttpStatusCode.Unauthorized, withOld.StatusCode);

        // The form sends the user to the change-password step instead of signing them in.
        var form = await FormPostAsync("/account/login", "/login", new() { ["userName"] = target.UserName, ["password"] = temporary, ["returnUrl"] = "/work-orders" });
        Assert.StartsWith("/account/password?temporary=1", form.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain(form.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => c.StartsWith("workorders.auth=", StringComparison.Ordinal));

        var same = await client.PostAsJsonAsync("/api/v1/auth/change-password", new { userName = target.UserName, currentPassword = temporary, newPassword = temporary });
        Assert.Equal("user.password_same", (await FieldCodesAsync(same))["newPassword"][0]);

        var changed = await client.PostAsJsonAsync("/api/v1/auth/change-password", new { userName = target.UserName, currentPassword = temporary, newPassword = "mine-now" });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var access = (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await MeWithTokenAsync(access)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = "mine-now" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = temporary })).StatusCode);

        var history = (await admin.GetFromJsonAsync<List<UserEvent>>($"/api/v1/users/{target.UserId}/history", ApiHost.Json))!;
        Assert.Equal(new[] { "password_changed", "password_reset" }, history.Select(e => e.Kind));
        Assert.Equal(new[] { target.UserId, org[Role.Admin].UserId }, history.Select(e => e.ActorId!.Value));
        Assert.DoesNotContain(history, e => e.Payload.Contains(temporary, StringComparison.Ordinal));
    }

    [Fact]
    public async Task a_signed_in_user_changes_their_own_password_with_the_current_one()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var planner = await host.SignedInAsync(org[Role.Planner]);

        var wrong = await planner.PostAsJsonAsync("/api/v1/auth/change-password", new { currentPassword = "not-mine", newPassword = "another-one" });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("auth.wrong_password", (await FieldCodesAsync(wrong))["currentPassword"][0]);

        var changed = await planner.PostAsJsonAsync("/api/v1/auth/change-password", new { currentPassword = TestOrg.Password, newPassword = "another-one" });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await planner.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task bad_input_names_the_field_and_changes_nothing()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var target = org[Role.Technician];
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var url = $"/api/v1/users/{target.UserId}";

        var cases = new (object Body, string Field, string Code)[]
        {
            (Edit(target, "boss", target.DepartmentId), "role", "field.one_of"),
            (Edit(target, "technician", null), "departmentId", "user.department_required"),
            (Edit(target, "technician", 999_999_999), "departmentId", "department.missing"),
            (Edit(target, "technician", target.DepartmentId, skills: [new UserSkill("mechanical", 9)]), "skills[0].level", "field.from_to"),
            (Edit(target, "technician", target.DepartmentId, skills: [new UserSkill("no-such-skill", 2)]), "skills", "skill.missing"),
            (Edit(target, "technician", target.DepartmentId, displayName: " "), "displayName", "field.required"),
            (new { displayName = "x", email = "no-at-sign", role = "technician", departmentId = target.DepartmentId }, "email", "user.email_form"),
        };
        foreach (var (body, field, code) in cases)
        {
            var response = await admin.PutAsJsonAsync(url, body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(code, (await FieldCodesAsync(response))[field][0]);
        }

        var self = await admin.PutAsJsonAsync($"/api/v1/users/{org[Role.Admin].UserId}", Edit(org[Role.Admin], "requester", null));
        Assert.Equal("user.own_admin_role", (await FieldCodesAsync(self))["role"][0]);
        var deactivateSelf = await admin.PostAsync($"/api/v1/users/{org[Role.Admin].UserId}/deactivate", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, deactivateSelf.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/v1/users/999999999/deactivate", null)).StatusCode);
        var stale = await admin.PutAsJsonAsync(url, Edit(target, "technician", target.DepartmentId) with { RowVersion = 99 });
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);

        var short_ = await host.Anonymous().PostAsJsonAsync("/api/v1/auth/change-password", new { userName = target.UserName, currentPassword = TestOrg.Password, newPassword = "x" });
        Assert.Equal("user.password_short", (await FieldCodesAsync(short_))["newPassword"][0]);

        var user = await admin.GetFromJsonAsync<UserInfo>(url, ApiHost.Json);
        Assert.Equal((Role.Technician, target.DepartmentId, 1, true), (user!.Role, user.DepartmentId, user.RowVersion, user.Active));
        await using var connection = await host.Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM user_events WHERE user_id = @id", new { id = target.UserId }));
        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { userName = target.UserName, password = TestOrg.Password })).StatusCode);
    }

    [Theory]
    [InlineData(Role.Manager)]
    [InlineData(Role.Technician)]
    [InlineData(Role.Executive)]
    [InlineData(Role.Planner)]
    [InlineData(Role.Requester)]
    [InlineData(Role.ReliabilityEngineer)]
    public async Task only_administrators_change_accounts(Role role)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var target = org.OtherTechnician;
        using var client = await host.SignedInAsync(org[role]);
        var url = $"/api/v1/users/{target.UserId}";

        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync(url)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PutAsJsonAsync(url, Edit(target, "admin", null))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"{url}/deactivate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"{url}/reactivate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"{url}/reset-password", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"{url}/history")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginResponseAsync(target.UserName, TestOrg.Password)).StatusCode);
    }

    [Fact]
    public async Task a_deactivated_technician_is_no_longer_among_those_work_can_be_assigned_to()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{org[Role.Technician].UserId}/deactivate", null)).StatusCode);

        var assignable = await host.Services.GetRequiredService<Users>().AssignableAsync(org.DepartmentId, CancellationToken.None);
        Assert.DoesNotContain(assignable, u => u.Id == org[Role.Technician].UserId);
        Assert.Contains(assignable, u => u.Id == org.OtherTechnician.UserId);
    }

    private static EditUserRequest Edit(Actor user, string role, long? departmentId, string? displayName = null, IReadOnlyList<UserSkill>? skills = null) =>
        new(displayName ?? user.UserName, null, role, departmentId, skills ?? []);

    private async Task<(string Access, string Refresh)> LoginAsync(string userName, string password)
    {
        var response = await LoginResponseAsync(userName, password);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("accessToken").GetString()!, body.GetProperty("refreshToken").GetString()!);
    }

    private Task<HttpResponseMessage> LoginResponseAsync(string userName, string password) =>
        host.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { userName, password });

    /// <summary>Signs in through the form as a browser does; returns the browser and its auth cookie as a Cookie header value.</summary>
    private async Task<(HttpClient Browser, string Cookie)> FormSignInAsync(string userName, string password)
    {
        var browser = host.Anonymous();
        var token = await AntiforgeryAsync(browser, "/login");
        var response = await browser.PostAsync("/account/login", Form(token, new() { ["userName"] = userName, ["password"] = password, ["returnUrl"] = "/" }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("workorders.auth=", StringComparison.Ordinal));
        return (browser, cookie[..cookie.IndexOf(';', StringComparison.Ordinal)]);
    }

    private async Task<HttpResponseMessage> FormPostAsync(string action, string formPage, Dictionary<string, string> fields)
    {
        using var browser = host.Anonymous();
        return await browser.PostAsync(action, Form(await AntiforgeryAsync(browser, formPage), fields));
    }

    private static async Task<string> AntiforgeryAsync(HttpClient browser, string page) =>
        WebUtility.HtmlDecode(TokenField().Match(await browser.GetStringAsync(page)).Groups[1].Value);

    private static FormUrlEncodedContent Form(string token, Dictionary<string, string> fields)
    {
        fields["__RequestVerificationToken"] = token;
        return new FormUrlEncodedContent(fields);
    }

    private Task<HttpResponseMessage> MeWithTokenAsync(string access) => SendAsync(HttpMethod.Get, "/api/v1/me", access);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string access)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access);
        return await host.WithoutCookies().SendAsync(request);
    }

    private async Task<HttpResponseMessage> MeWithCookieAsync(string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.Add("Cookie", cookie);
        return await host.WithoutCookies().SendAsync(request);
    }

    private Task<HttpResponseMessage> RefreshAsync(string refreshToken) =>
        host.Anonymous().PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken });

    private static async Task<string?> CodeAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();

    private static async Task<Dictionary<string, string[]>> FieldCodesAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").Deserialize<Dictionary<string, string[]>>()!;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
