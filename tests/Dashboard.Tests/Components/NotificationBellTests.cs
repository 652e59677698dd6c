using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Radzen;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Notifications;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>The bell over a real database and the real PostgreSQL listener: a committed notification reaches it live.</summary>
public sealed class NotificationBellTests : BunitContext, IClassFixture<TestDatabase>
{
    private readonly TestDatabase _database;
    private readonly ChannelListener _listener;
    private readonly CultureScope _culture = new("en-US");

    public NotificationBellTests(TestDatabase database)
    {
        _database = database;
        this.UseDashboardComponents();
        Services.AddSingleton(new Ticketing.Notifications.Notifications(database.DataSource, TimeProvider.System));
        _listener = new ChannelListener(database.DataSource, [new ListenChannel(Ticketing.Notifications.Notifications.Channel)], NullLogger<ChannelListener>.Instance);
        Services.AddSingleton(new NotificationListener(_listener));
    }

    private async Task<Actor> SignedInAsync(Role role)
    {
        var org = await TestOrg.CreateAsync(_database.DataSource);
        var user = org[role];
        this.SignIn(user);
        await _listener.StartAsync(CancellationToken.None);
        await Eventually.Until(() => _listener.Listening, "the notification listener to be listening", TimeSpan.FromSeconds(15));
        return user;
    }

    private async Task NotifyAsync(long userId, string text)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Ticketing.Notifications.Notifications.AddAsync(connection, transaction, [userId], null, "assigned", text, DateTime.UtcNow, CancellationToken.None);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task the_count_rises_live_when_a_notification_for_the_user_is_committed_and_not_for_anyone_else()
    {
        var me = await SignedInAsync(Role.Technician);
        await NotifyAsync(me.UserId, "Before the page opened");
        var bell = Render<NotificationBell>();
        // Its first read is done once it says it is live and shows 1; anything more can only come from an announcement.
        bell.WaitForAssertion(() => Assert.Equal("true", bell.Find("[data-testid=bell]").GetAttribute("data-live")));
        Assert.Equal("1", bell.Find("[data-testid=bell-count]").TextContent);

        var someoneElse = (await TestOrg.CreateAsync(_database.DataSource))[Role.Manager].UserId;
        await NotifyAsync(someoneElse, "For someone else");
        await NotifyAsync(me.UserId, "Pump P1 is yours");
        await NotifyAsync(me.UserId, "Valve P2 is yours");

        bell.WaitForAssertion(() => Assert.Equal("3", bell.Find("[data-testid=bell-count]").TextContent), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task a_notification_that_leads_elsewhere_than_a_work_order_such_as_a_round_links_there_from_the_bell()
    {
        var me = await SignedInAsync(Role.Technician);
        await using (var connection = await _database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "INSERT INTO notifications (user_id, kind, text, link, created_at) VALUES (@id, 'round_assigned', 'A round is yours', '/inspections/rounds/7', now())",
                new { id = me.UserId });
        }

        var bell = Render<NotificationBell>();
        bell.WaitForAssertion(() => Assert.Equal("1", bell.Find("[data-testid=bell-count]").TextContent));
        bell.Find("[data-testid=bell-button]").Click();
        bell.WaitForAssertion(() => Assert.Equal("/inspections/rounds/7", bell.Find("[data-testid=bell-item-link]").GetAttribute("href")));
    }

    [Fact]
    public async Task opening_the_bell_lists_the_newest_and_marking_all_read_clears_the_count()
    {
        var me = await SignedInAsync(Role.Manager);
        await NotifyAsync(me.UserId, "First");
        await NotifyAsync(me.UserId, "Second");
        var bell = Render<NotificationBell>();
        bell.WaitForAssertion(() => Assert.Equal("2", bell.Find("[data-testid=bell-count]").TextContent));

        bell.Find("[data-testid=bell-button]").Click();
        bell.WaitForAssertion(() => Assert.Equal(["Second", "First"], bell.FindAll("[data-testid=bell-item] span:first-child").Select(e => e.TextContent)));
        bell.Find("[data-testid=bell-mark-all]").Click();

        bell.WaitForAssertion(() => Assert.Equal("0", bell.Find("[data-testid=bell-count]").TextContent));
        Assert.Equal(0, await Services.GetRequiredService<Ticketing.Notifications.Notifications>().UnreadCountAsync(me.UserId, CancellationToken.None));
    }

    [Fact]
    public async Task the_bell_stops_listening_when_it_goes_away()
    {
        await SignedInAsync(Role.Requester);
        var before = _listener.SubscriptionCount;
        var bell = Render<NotificationBell>();
        bell.WaitForAssertion(() => Assert.Equal(before + 1, _listener.SubscriptionCount));

        await DisposeComponentsAsync();

        Assert.Equal(before, _listener.SubscriptionCount);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _listener.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            _listener.Dispose();
            _culture.Dispose();
        }

        base.Dispose(disposing);
    }
}
