using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>A second copy of the app in this process, on the database of another host.</summary>
public sealed class SecondInstanceHost(string connectionString) : ApiHost
{
    protected override IEnumerable<(string Key, string Value)> Settings(string folder) => [("ConnectionStrings:WorkOrders", connectionString)];
}

/// <summary>Two copies of the app on one database, each with its own memory of security stamps and its own listener.</summary>
public sealed class TwoInstancesHost : IAsyncLifetime
{
    public ApiHost A { get; } = new();

    public ApiHost B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await A.InitializeAsync();
        B = new SecondInstanceHost(A.Data.ConnectionString);
        await B.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
    }
}

/// <summary>
/// The security stamp an instance remembers (so the check on each request costs no database read) never outlives a
/// revocation made on another instance: the other instance's next request after the notification is refused, also
/// when the listening connection was killed, and a notification that never came stops counting after the bound.
/// </summary>
public sealed class SessionStampMemoryTests(TwoInstancesHost hosts) : IClassFixture<TwoInstancesHost>
{
    private static readonly TimeSpan NotificationPatience = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReconnectPatience = TimeSpan.FromSeconds(10);

    private ApiHost A => hosts.A;

    private ApiHost B => hosts.B;

    private SessionStamps StampsOfA => A.Services.GetRequiredService<SessionStamps>();

    private ChannelListener ListenerOfA => A.Services.GetRequiredService<ChannelListener>();

    [Theory]
    [InlineData("deactivate")]
    [InlineData("role")]
    [InlineData("reset_password")]
    [InlineData("sign_out")]
    [InlineData("change_password")]
    public async Task a_revocation_on_instance_b_refuses_the_next_request_on_instance_a_once_the_notification_arrived(string change)
    {
        var org = await TestOrg.CreateAsync(A.Data);
        var target = org[Role.Technician];
        await ListeningAsync();
        var token = await LoginAsync(A, target.UserName);
        await RememberedOnAAsync(target, token);

        using var admin = await B.SignedInAsync(org[Role.Admin]);
        var done = change switch
        {
            "deactivate" => await admin.PostAsync($"/api/v1/users/{target.UserId}/deactivate", null),
            "role" => await admin.PutAsJsonAsync($"/api/v1/users/{target.UserId}", new EditUserRequest(target.UserName, null, "requester", null, [])),
            "reset_password" => await admin.PostAsync($"/api/v1/users/{target.UserId}/reset-password", null),
            "sign_out" => await SendAsync(B, HttpMethod.Post, "/api/v1/auth/sign-out", token),
            "change_password" => await B.Anonymous().PostAsJsonAsync(
                "/api/v1/auth/change-password", new { userName = target.UserName, currentPassword = TestOrg.Password, newPassword = "a-new-password" }),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        Assert.True(done.IsSuccessStatusCode, $"{change}: {(int)done.StatusCode} {await done.Content.ReadAsStringAsync()}");

        await Eventually.Until(() => StampsOfA.Remembers(target.UserId), r => !r, "instance A to hear the notification and forget the stamp", NotificationPatience);
        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(A, token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(B, token)).StatusCode);
    }

    [Fact]
    public async Task a_session_that_began_on_instance_b_after_a_password_change_is_taken_at_once_on_instance_a()
    {
        var org = await TestOrg.CreateAsync(A.Data);
        var target = org[Role.Planner];
        await ListeningAsync();
        await RememberedOnAAsync(target, await LoginAsync(A, target.UserName));

        // A still remembers the old stamp if it has not yet heard the change: the new one is read, never refused from memory.
        var changed = await B.Anonymous().PostAsJsonAsync(
            "/api/v1/auth/change-password", new { userName = target.UserName, currentPassword = TestOrg.Password, newPassword = "a-new-password" });
        var token = (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(A, token)).StatusCode);
    }

    [Fact]
    public async Task revocation_holds_while_the_listening_connection_is_killed_and_after_it_reconnects()
    {
        var org = await TestOrg.CreateAsync(A.Data);
        var (first, second) = (org[Role.Technician], org.OtherTechnician);
        using var admin = await B.SignedInAsync(org[Role.Admin]);
        await ListeningAsync();
        var firstToken = await LoginAsync(A, first.UserName);
        await RememberedOnAAsync(first, firstToken);
        var before = ListenerOfA.Connected;

        await using (var connection = await A.Data.OpenConnectionAsync())
        {
            Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT pg_terminate_backend(@pid, 5000)", new { pid = ListenerOfA.ProcessId }));
        }

        await Eventually.Until(() => ListenerOfA.Connected, c => c == 0, "instance A to see its listening connection gone", NotificationPatience);

        // While A listens to nothing, B's notification cannot reach it: A reads the stamp from the database instead.
        Assert.True((await admin.PostAsync($"/api/v1/users/{first.UserId}/deactivate", null)).IsSuccessStatusCode);
        var reconnectedBeforeTheRevocation = ListenerOfA.Connected != 0;
        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(A, firstToken)).StatusCode);
        Assert.False(reconnectedBeforeTheRevocation, "A's listener was back before the revocation committed, so no notification was lost");

        // Back again: the stamps remembered before the drop are gone, and notifications are heard again.
        await Eventually.Until(() => ListenerOfA.Connected, c => c > before, "instance A to listen again", ReconnectPatience);
        await Eventually.Until(() => StampsOfA.Remembers(first.UserId), r => !r, "instance A to empty its memory on reconnecting", NotificationPatience);
        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(A, firstToken)).StatusCode);

        var secondToken = await LoginAsync(A, second.UserName);
        await RememberedOnAAsync(second, secondToken);
        Assert.True((await admin.PostAsync($"/api/v1/users/{second.UserId}/reset-password", null)).IsSuccessStatusCode);
        await Eventually.Until(() => StampsOfA.Remembers(second.UserId), r => !r, "instance A to hear the notification after reconnecting", NotificationPatience);
        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(A, secondToken)).StatusCode);
    }

    [Fact]
    public async Task a_change_whose_notification_never_came_ends_the_session_once_the_remembered_stamp_is_too_old()
    {
        var org = await TestOrg.CreateAsync(A.Data);
        var target = org[Role.Requester];
        await ListeningAsync();
        var token = await LoginAsync(A, target.UserName);
        await RememberedOnAAsync(target, token);

        // The stamp replaced with the trigger switched off, as if its notification were lost on the way.
        await using (var connection = await A.Data.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("SET LOCAL session_replication_role = replica", transaction: transaction);
            await connection.ExecuteAsync("UPDATE users SET security_stamp = gen_random_uuid() WHERE id = @UserId", target, transaction);
            await transaction.CommitAsync();
        }

        Assert.Equal(HttpStatusCode.OK, (await MeAsync(A, token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(B, token)).StatusCode);

        A.Clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(HttpStatusCode.Unauthorized, (await MeAsync(A, token)).StatusCode);
    }

    private Task ListeningAsync() =>
        Eventually.Until(() => ListenerOfA.Listening && B.Services.GetRequiredService<ChannelListener>().Listening, l => l, "both instances to listen", ReconnectPatience);

    private async Task RememberedOnAAsync(Actor user, string token)
    {
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(A, token)).StatusCode);
        Assert.True(StampsOfA.Remembers(user.UserId), "instance A did not remember the stamp it read");
    }

    private static async Task<string> LoginAsync(ApiHost host, string userName)
    {
        var response = await host.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { userName, password = TestOrg.Password });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
    }

    private static Task<HttpResponseMessage> MeAsync(ApiHost host, string token) => SendAsync(host, HttpMethod.Get, "/api/v1/me", token);

    private static async Task<HttpResponseMessage> SendAsync(ApiHost host, HttpMethod method, string url, string token)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await host.WithoutCookies().SendAsync(request);
    }
}
