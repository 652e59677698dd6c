using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>Password guessing is slowed per name and per address, and the sign-in form only takes posts it served.</summary>
public sealed partial class SignInProtectionTests(ApiHost host) : IClassFixture<ApiHost>
{
    [Fact]
    public async Task after_ten_wrong_passwords_the_name_is_refused_429_even_with_the_right_one_and_after_thirty_the_address_is()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = host.Anonymous();
        var target = org[Role.Manager].UserName;

        for (var i = 0; i < SignInThrottle.FailuresPerName; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, target, $"guess-{i}")).StatusCode);
        }

        var locked = await LoginAsync(client, target, TestOrg.Password);
        var other = await LoginAsync(client, org[Role.Requester].UserName, TestOrg.Password);

        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.InRange(locked.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, SignInThrottle.NameRefill.TotalSeconds);
        Assert.Equal("auth.too_many_attempts", (await locked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        // The lockout is temporary: one refill later the right password works again, and a wrong one locks at once.
        host.Clock.Advance(SignInThrottle.NameRefill);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, target, TestOrg.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, target, "guess-again")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(client, target, TestOrg.Password)).StatusCode);

        // The address refilled while the clock moved on and has spent one since: the rest of its failures, on other names.
        for (var i = 1; i < SignInThrottle.FailuresPerAddress; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, $"nobody-{i}-{org.Suffix}", "x")).StatusCode);
        }

        var fromTheAddress = await LoginAsync(client, org[Role.Requester].UserName, TestOrg.Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, fromTheAddress.StatusCode);
        Assert.NotNull(fromTheAddress.Headers.RetryAfter);
    }

    [Fact]
    public async Task the_sign_in_form_refuses_a_post_without_its_antiforgery_token_and_takes_one_with_it()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var forged = host.Anonymous();
        using var browser = host.Anonymous();
        var fields = new Dictionary<string, string> { ["userName"] = org[Role.Requester].UserName, ["password"] = TestOrg.Password, ["returnUrl"] = "/" };

        var crossSite = await forged.PostAsync("/account/login", new FormUrlEncodedContent(fields));

        var form = await browser.GetStringAsync("/login");
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(TokenField().Match(form).Groups[1].Value);
        var signedIn = await browser.PostAsync("/account/login", new FormUrlEncodedContent(fields));

        Assert.Equal(HttpStatusCode.BadRequest, crossSite.StatusCode);
        Assert.Equal("auth.antiforgery", (await crossSite.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.False(crossSite.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("workorders.auth=", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/", signedIn.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task a_refresh_token_gives_a_new_access_token_until_it_expires_or_its_user_is_deactivated()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = host.Anonymous();
        var first = await (await LoginAsync(client, org[Role.Technician].UserName, TestOrg.Password)).Content.ReadFromJsonAsync<JsonElement>();
        var refreshToken = first.GetProperty("refreshToken").GetString();

        var refreshed = await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken });
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        using var me = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        me.Headers.Authorization = new("Bearer", (await refreshed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
        Assert.Equal(org[Role.Technician].UserName, (await (await client.SendAsync(me)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("userName").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = "forged" + refreshToken })).StatusCode);
        await using (var connection = await host.Data.OpenConnectionAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, "UPDATE users SET active = false WHERE id = @id", new { id = org[Role.Technician].UserId });
        }

        var deactivated = await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken });
        Assert.Equal(HttpStatusCode.Unauthorized, deactivated.StatusCode);
        Assert.Equal("auth.refresh_invalid", (await deactivated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        var other = await (await LoginAsync(client, org[Role.Requester].UserName, TestOrg.Password)).Content.ReadFromJsonAsync<JsonElement>();
        host.Clock.Advance(TimeSpan.FromDays(15));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = other.GetProperty("refreshToken").GetString() })).StatusCode);
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string userName, string password) =>
        client.PostAsJsonAsync("/api/v1/auth/login", new { userName, password });

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
