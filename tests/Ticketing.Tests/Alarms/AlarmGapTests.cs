using Npgsql;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Alarms;

namespace WorkOrders.Ticketing.Tests.Alarms;

/// <summary>The site rate limit under concurrency, and events of assets the register does not know, on a real PostgreSQL.</summary>
public sealed class AlarmGapTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task two_instances_raising_alarms_at_one_site_concurrently_make_exactly_the_site_limit_of_work_orders_and_rate_limit_the_rest()
    {
        const int limit = 3;
        const int assets = 24;
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync(assetType: "cooler");
        var codes = new List<string>();
        for (var i = 0; i < assets; i++)
        {
            await world.AssetAsync($"C{i}", "machine", world.LineId, "cooler");
            codes.Add(world.Code($"C{i}"));
        }

        await using var second = NpgsqlDataSource.Create(database.ConnectionString);
        var options = new AlarmOptions { SiteRateLimit = limit };
        AlarmIngestion[] instances = [world.Ingestion(options: options), world.Ingestion(second, options)];
        var at = world.Now.AddMinutes(-5);

        // Every asset's first reading raises; eight producers on two instances send one asset per batch at the same time.
        using var go = new SemaphoreSlim(0);
        var producers = Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            await go.WaitAsync();
            var results = new List<AlarmBatchResult>();
            foreach (var code in codes.Where((_, i) => i % 8 == p))
            {
                results.Add(await world.SendAsync(instances[p % 2], world.Reading($"{code}-r", at, 95, code)));
            }

            return results;
        })).ToList();
        go.Release(8);
        var outcomes = (await Task.WhenAll(producers)).SelectMany(r => r).SelectMany(r => r.Events).Select(e => e.Outcome).ToList();

        Assert.Equal(limit, outcomes.Count(o => o == AlarmOutcomes.Raised));
        Assert.Equal(assets - limit, outcomes.Count(o => o == AlarmOutcomes.RateLimited));
        Assert.Equal(limit, await world.CountAsync(
            "SELECT count(*) FROM alarm_work_orders WHERE site_id = @site", new { site = world.Org.SiteId }));
        Assert.Equal(limit, await world.CountAsync(
            "SELECT count(*) FROM alarm_episodes WHERE site_id = @site AND outcome = 'work_order'", new { site = world.Org.SiteId }));
        Assert.Equal(assets - limit, await world.CountAsync(
            "SELECT count(*) FROM alarm_episodes WHERE site_id = @site AND outcome = 'rate_limited'", new { site = world.Org.SiteId }));

        // Once the window has passed, the site may raise again.
        world.Clock.Advance(options.SiteRateWindow + TimeSpan.FromMinutes(1));
        await world.AssetAsync("C-late", "machine", world.LineId, "cooler");
        var late = await world.SendAsync(instances[0], world.Reading("late", world.Now.AddMinutes(-1), 95, world.Code("C-late")));
        Assert.Equal(AlarmOutcomes.Raised, Assert.Single(late.Events).Outcome);
    }

    [Fact]
    public async Task events_of_an_unknown_asset_or_device_are_stored_with_their_raw_code_answered_refused_and_a_replay_changes_nothing()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync();
        var ingestion = world.Ingestion();
        var at = world.Now.AddMinutes(-2);
        var unknownCode = $"NO-SUCH-{world.Org.Suffix}";
        var unknownDevice = $"SN-NONE-{world.Org.Suffix}";
        AlarmEventInput[] batch =
        [
            new($"{world.Org.Suffix}-u1", unknownCode, null, "temperature", 99, null, at),
            new($"{world.Org.Suffix}-u2", unknownCode, null, "temperature", 98, null, at.AddSeconds(1)),
            new($"{world.Org.Suffix}-u3", null, unknownDevice, "pressure", null, "raised", at.AddSeconds(2)),
            world.Reading("k1", at, 95),
        ];

        var first = await world.SendAsync(ingestion, batch);
        Assert.Equal(["refused", "refused", "refused", "accepted"], first.Events.Select(e => e.Result));
        Assert.Equal(["alarm.asset_unknown", "alarm.asset_unknown", "alarm.device_unknown"], first.Events.Take(3).Select(e => e.Code));
        Assert.Equal((1, 0, 3), (first.Accepted, first.Duplicates, first.Refused));
        Assert.Equal(3, await world.CountAsync(
            "SELECT count(*) FROM alarm_events WHERE source_id = @id AND asset_id IS NULL AND outcome = 'unknown_asset'", new { id = world.Source.Id }));
        Assert.Equal(2, await world.CountAsync(
            "SELECT count(*) FROM alarm_events WHERE source_id = @id AND asset_code = @unknownCode AND value IS NOT NULL", new { id = world.Source.Id, unknownCode }));

        var admin = await new AlarmSources(world.Data, world.Clock).UnknownAssetsAsync(world.Admin, 0, 50, CancellationToken.None);
        var mine = admin.Value!.Items.Where(u => u.SourceName == world.Source.Name).ToList();
        Assert.Equal([(unknownDevice, "device", 1L, "pressure"), (unknownCode, "code", 2L, "temperature")],
            mine.Select(u => (u.Code, u.Kind, u.Events, u.LastSignal)));
        Assert.False((await new AlarmSources(world.Data, world.Clock).UnknownAssetsAsync(world.Org[Access.Role.Manager], 0, 50, CancellationToken.None)).Succeeded);

        // A replay, even after the asset was registered meanwhile, changes nothing: the event ids were received.
        await world.AssetAsync("NO-SUCH", "machine", world.LineId, "pump");
        var replay = await world.SendAsync(ingestion, batch);
        Assert.All(replay.Events, e => Assert.Equal("duplicate", e.Result));
        Assert.Equal(4, await world.CountAsync("SELECT count(*) FROM alarm_events WHERE source_id = @id", new { id = world.Source.Id }));
        Assert.Equal(1, await world.CountAsync("SELECT count(*) FROM alarm_work_orders a JOIN assets s ON s.id = a.asset_id WHERE s.code LIKE @c", new { c = $"%-{world.Org.Suffix}" }));

        // Events of an unknown asset are append-only too.
        await using var connection = await world.Data.OpenConnectionAsync();
        await using var delete = new NpgsqlCommand("DELETE FROM alarm_events WHERE asset_id IS NULL AND source_id = @id", connection);
        delete.Parameters.AddWithValue("id", world.Source.Id);
        await Assert.ThrowsAsync<PostgresException>(() => delete.ExecuteNonQueryAsync());
    }
}
