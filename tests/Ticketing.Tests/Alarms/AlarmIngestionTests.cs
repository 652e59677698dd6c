using Dapper;
using Npgsql;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Tests.Alarms;

/// <summary>The ingestion path on a real PostgreSQL: de-duplication, episodes, work orders, storms and restarts.</summary>
public sealed class AlarmIngestionTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task ten_thousand_events_from_eight_producers_on_two_instances_make_one_work_order_with_ten_thousand_occurrences_and_a_replay_changes_nothing()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync();
        await using var second = NpgsqlDataSource.Create(database.ConnectionString);
        AlarmIngestion[] instances = [world.Ingestion(), world.Ingestion(second)];
        var start = world.Now.AddHours(-1);
        var events = Enumerable.Range(0, 10_000).Select(i => world.Reading($"e{i}", start.AddMilliseconds(i * 10), 90 + (i % 7))).ToArray();

        async Task<List<AlarmBatchResult>> ProduceAllAsync() => [.. (await Task.WhenAll(Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            var results = new List<AlarmBatchResult>();
            foreach (var batch in events.Where((_, i) => i % 8 == p).Chunk(250))
            {
                results.Add(await world.SendAsync(instances[p % 2], batch));
            }

            return results;
        })))).SelectMany(r => r)];

        var first = await ProduceAllAsync();
        Assert.Equal(10_000, first.Sum(r => r.Accepted));
        var workOrder = Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
        Assert.Equal(10_000, workOrder.Occurrences);
        Assert.Equal(1, workOrder.Episodes);
        Assert.Equal(1, await world.CountAsync("SELECT count(*) FROM work_orders WHERE asset_id = @id AND source = 'alarm'", new { id = world.Org.MachineId }));
        Assert.Equal(1, await world.CountAsync("SELECT count(*) FROM alarm_events WHERE asset_id = @id AND outcome = 'raised'", new { id = world.Org.MachineId }));
        Assert.Equal(9_999, await world.CountAsync("SELECT count(*) FROM alarm_events WHERE asset_id = @id AND outcome = 'attached'", new { id = world.Org.MachineId }));

        var replay = await ProduceAllAsync();
        Assert.Equal(0, replay.Sum(r => r.Accepted));
        Assert.Equal(10_000, replay.Sum(r => r.Duplicates));
        Assert.Equal(workOrder, Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId)));
        Assert.Equal(10_000, await world.CountAsync("SELECT count(*) FROM alarm_events WHERE asset_id = @id", new { id = world.Org.MachineId }));
    }

    [Fact]
    public async Task a_value_oscillating_a_tenth_around_the_threshold_with_a_deadband_of_one_makes_at_most_one_episode()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync(deadband: 1);
        var start = world.Now.AddHours(-1);
        var ingestion = world.Ingestion();
        foreach (var batch in Enumerable.Range(0, 400).Select(i => world.Reading($"o{i}", start.AddSeconds(i * 5), i % 2 == 0 ? 80.1m : 79.9m)).Chunk(37))
        {
            await world.SendAsync(ingestion, batch);
        }

        Assert.Equal(1, await world.CountAsync("SELECT count(*) FROM alarm_episodes WHERE asset_id = @id", new { id = world.Org.MachineId }));
        var workOrder = Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
        Assert.Equal(400, workOrder.Occurrences);
        Assert.Equal("active", await world.CountStateAsync(world.Org.MachineId));

        // Only a value back below 80 - 1 clears it.
        var cleared = await world.SendAsync(ingestion, world.Reading("o-clear", start.AddHours(1).AddMinutes(-1), 78.9m));
        Assert.Equal(AlarmOutcomes.Cleared, Assert.Single(cleared.Events).Outcome);
        Assert.Equal(1, await world.CountAsync("SELECT count(*) FROM alarm_episodes WHERE asset_id = @id", new { id = world.Org.MachineId }));
    }

    [Fact]
    public async Task for_five_minutes_with_a_restart_in_the_middle_of_the_pending_time_behaves_as_without_the_restart()
    {
        var world = await AlarmWorld.CreateAsync(database);
        var restarted = world.Org.MachineId;
        // A type of this test's own: rules for a type judge every asset of it in the database.
        var type = $"pump-{world.Org.Suffix}";
        var steady = await world.AssetAsync("P2", "machine", world.LineId, type);
        await world.CountAsync("UPDATE assets SET asset_type = @type WHERE id = @restarted RETURNING 0", new { type, restarted });
        await world.TemperatureRuleAsync(assetType: type, forSeconds: 300);
        var t0 = world.Now.AddHours(-1);
        AlarmEventInput[] Events(string code, int fromMinute, int toMinute) =>
            [.. Enumerable.Range(fromMinute, toMinute - fromMinute + 1).Select(m => world.Reading($"{code}-{m}", t0.AddMinutes(m), 85, code))];

        // One instance sees the whole story of one pump.
        var steadyResults = await world.SendAsync(world.Ingestion(), Events(world.Code("P2"), 0, 8));

        // The other pump's story is split across a restart: a new data source and new services after minute 2.
        await using (var before = NpgsqlDataSource.Create(world.Database.ConnectionString))
        {
            var pending = await world.SendAsync(world.Ingestion(before), Events(world.MachineCode, 0, 2));
            Assert.All(pending.Events, e => Assert.Equal(AlarmOutcomes.Pending, e.Outcome));
        }

        await using var after = NpgsqlDataSource.Create(world.Database.ConnectionString);
        var restartedResults = await world.SendAsync(world.Ingestion(after), Events(world.MachineCode, 3, 8));

        Assert.Equal(
            steadyResults.Events.Skip(3).Select(e => e.Outcome),
            restartedResults.Events.Select(e => e.Outcome));
        Assert.Equal(AlarmOutcomes.Raised, restartedResults.Events[2].Outcome);
        var raisedAt = await world.CountAsync(
            "SELECT extract(epoch FROM raised_at)::bigint FROM alarm_episodes WHERE asset_id = @id", new { id = restarted });
        var steadyRaisedAt = await world.CountAsync(
            "SELECT extract(epoch FROM raised_at)::bigint FROM alarm_episodes WHERE asset_id = @id", new { id = steady });
        Assert.Equal(steadyRaisedAt, raisedAt);
        Assert.Equal(new DateTimeOffset(t0.AddMinutes(5)).ToUnixTimeSeconds(), raisedAt);
        Assert.Single(await world.AlarmWorkOrdersAsync(restarted));
        Assert.Single(await world.AlarmWorkOrdersAsync(steady));
    }

    [Fact]
    public async Task a_pending_alarm_raises_on_the_timer_when_its_time_has_held_once_however_many_timers_run()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync(forSeconds: 300);
        var t0 = world.Now.AddMinutes(-1);
        await world.SendAsync(world.Ingestion(), world.Reading("t0", t0, 95));

        await world.Timers().RunPassAsync(CancellationToken.None);
        Assert.Empty(await world.AlarmWorkOrdersAsync(world.Org.MachineId));

        world.Clock.Advance(TimeSpan.FromMinutes(10));
        await using var second = NpgsqlDataSource.Create(database.ConnectionString);
        await Task.WhenAll(world.Timers().RunPassAsync(CancellationToken.None), world.Timers(second).RunPassAsync(CancellationToken.None));
        Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
        var raisedAt = await world.CountAsync("SELECT extract(epoch FROM raised_at)::bigint FROM alarm_episodes WHERE asset_id = @id", new { id = world.Org.MachineId });
        Assert.Equal(new DateTimeOffset(t0.AddMinutes(5)).ToUnixTimeSeconds(), raisedAt);
    }

    [Fact]
    public async Task an_inhibited_site_makes_no_work_orders_for_its_devices_and_its_gateway_alarm_makes_one()
    {
        var world = await AlarmWorld.CreateAsync(database);
        var gateway = await world.AssetAsync("GW", "machine", world.LineId, "gateway");
        await world.RuleAsync(new AlarmRuleRequest(gateway, null, "comm_lost", "state", null, 0, 0, 0, "critical", "other", world.Org.TemplateId, InhibitsSite: true));
        await world.TemperatureRuleAsync();
        var t0 = world.Now.AddMinutes(-30);
        var ingestion = world.Ingestion();

        // The gateway's alarm and the devices' alarms arrive in one batch, the devices' first.
        var results = await world.SendAsync(
            ingestion,
            world.Reading("d1", t0.AddSeconds(1), 99),
            world.State("gw1", t0, "raised", world.Code("GW"), "comm_lost"),
            world.Reading("d2", t0.AddSeconds(2), 99));
        Assert.Equal([AlarmOutcomes.Suppressed, AlarmOutcomes.Raised, AlarmOutcomes.Suppressed], results.Events.Select(e => e.Outcome));
        Assert.Single(await world.AlarmWorkOrdersAsync(gateway));
        Assert.Empty(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
        Assert.Equal("suppressed", await world.ScalarAsync<string>("SELECT outcome FROM alarm_episodes WHERE asset_id = @id", new { id = world.Org.MachineId }));

        // Later batches are suppressed too until the gateway is back; then a new device episode raises work.
        var later = await world.SendAsync(ingestion, world.Reading("d3", t0.AddMinutes(1), 70), world.Reading("d4", t0.AddMinutes(2), 99));
        Assert.Equal(AlarmOutcomes.Suppressed, later.Events[1].Outcome);
        Assert.Empty(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
        await world.SendAsync(ingestion, world.State("gw2", t0.AddMinutes(3), "cleared", world.Code("GW"), "comm_lost"));
        await world.SendAsync(ingestion, world.Reading("d5", t0.AddMinutes(4), 70), world.Reading("d6", t0.AddMinutes(5), 99));
        Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
    }

    [Fact]
    public async Task a_new_episode_on_a_resolved_work_order_sends_it_back_and_a_clear_never_closes_it()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync();
        var t0 = world.Now.AddMinutes(-30);
        var ingestion = world.Ingestion();
        await world.SendAsync(ingestion, world.Reading("r1", t0, 99));
        var (id, _, _, _, _) = Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId));

        var cleared = await world.SendAsync(ingestion, world.Reading("r2", t0.AddMinutes(1), 60));
        Assert.Equal(AlarmOutcomes.Cleared, Assert.Single(cleared.Events).Outcome);
        Assert.NotEqual("closed", Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId)).Status);
        Assert.Equal(1, await world.CountAsync("SELECT count(*) FROM work_order_events WHERE work_order_id = @id AND kind = 'alarm_cleared'", new { id }));

        if (await world.ScalarAsync<string>("SELECT status FROM work_orders WHERE id = @id", new { id }) == "new")
        {
            await world.MoveAsync(id, WorkOrderAction.Assign, world.Org[Role.Technician].UserId);
        }

        await world.MoveAsync(id, WorkOrderAction.Start);
        await world.MoveAsync(id, WorkOrderAction.Resolve, note: "bearing greased");

        var again = await world.SendAsync(ingestion, world.Reading("r3", t0.AddMinutes(2), 99));
        Assert.Equal(AlarmOutcomes.Attached, Assert.Single(again.Events).Outcome);
        var workOrder = Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
        Assert.Equal(("in_progress", 2, 2L), (workOrder.Status, workOrder.Episodes, workOrder.Occurrences));
        var note = await world.ScalarAsync<string>("SELECT note FROM work_order_events WHERE work_order_id = @id AND kind = 'reject'", new { id });
        Assert.Contains("bearing raised again", note, StringComparison.Ordinal);
        Assert.Equal("rejected_back", await world.ScalarAsync<string>("SELECT outcome FROM alarm_episodes WHERE asset_id = @id ORDER BY id DESC LIMIT 1", new { id = world.Org.MachineId }));
    }

    [Fact]
    public async Task an_alarm_raised_within_the_cooldown_after_its_work_order_closed_makes_a_new_one_linked_as_a_repeat()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync();
        var t0 = world.Now.AddMinutes(-30);
        var ingestion = world.Ingestion();
        await world.SendAsync(ingestion, world.Reading("c1", t0, 99), world.Reading("c2", t0.AddMinutes(1), 10));
        var (first, status, _, _, _) = Assert.Single(await world.AlarmWorkOrdersAsync(world.Org.MachineId));
        if (status == "new")
        {
            await world.MoveAsync(first, WorkOrderAction.Assign, world.Org[Role.Technician].UserId);
        }

        await world.MoveAsync(first, WorkOrderAction.Start);
        await world.MoveAsync(first, WorkOrderAction.Resolve, note: "done");
        await world.MoveAsync(first, WorkOrderAction.Approve);

        await world.SendAsync(ingestion, world.Reading("c3", t0.AddMinutes(2), 99));
        var all = await world.AlarmWorkOrdersAsync(world.Org.MachineId);
        Assert.Equal(2, all.Count);
        Assert.Equal(first, all[1].RepeatOf);
    }

    [Fact]
    public async Task events_are_refused_one_by_one_for_an_unknown_asset_and_a_device_id_finds_the_asset_by_its_serial_number()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.TemperatureRuleAsync();
        await using (var connection = await world.Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE assets SET serial_number = @sn WHERE id = @id", new { sn = $"SN-{world.Org.Suffix}", id = world.Org.MachineId });
        }

        var results = await world.SendAsync(
            world.Ingestion(),
            new AlarmEventInput($"{world.Org.Suffix}-x1", "NO-SUCH-ASSET", null, "temperature", 99, null, world.Now.AddMinutes(-1)),
            new AlarmEventInput($"{world.Org.Suffix}-x2", null, $"SN-{world.Org.Suffix}", "temperature", 99, null, world.Now.AddMinutes(-1)),
            new AlarmEventInput($"{world.Org.Suffix}-x2", null, $"SN-{world.Org.Suffix}", "temperature", 99, null, world.Now.AddMinutes(-1)));
        Assert.Equal(["refused", "accepted", "duplicate"], results.Events.Select(e => e.Result));
        Assert.Equal(("events[0].assetCode", "alarm.asset_unknown"), (results.Events[0].Field, results.Events[0].Code));
        Assert.Equal(AlarmOutcomes.Raised, results.Events[1].Outcome);
        Assert.NotNull(results.Events[1].WorkOrderId);
    }

    [Fact]
    public async Task a_reading_signal_named_like_a_meter_of_the_asset_also_records_a_sensor_reading()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await using (var connection = await world.Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO meters (asset_id, name, unit, created_at) VALUES (@id, 'run_hours', 'h', @now)", new { id = world.Org.MachineId, now = world.Now });
        }

        var results = await world.SendAsync(world.Ingestion(), world.Reading("h1", world.Now.AddMinutes(-2), 1200, signal: "run_hours"), world.Reading("h2", world.Now.AddMinutes(-1), 1201.5m, signal: "run_hours"));
        Assert.All(results.Events, e => Assert.Equal(AlarmOutcomes.NoRule, e.Outcome));
        Assert.Equal(2, await world.CountAsync(
            "SELECT count(*) FROM meter_readings r JOIN meters m ON m.id = r.meter_id WHERE m.asset_id = @id AND r.source = 'sensor'", new { id = world.Org.MachineId }));
    }

    [Fact]
    public async Task alarm_events_are_append_only()
    {
        var world = await AlarmWorld.CreateAsync(database);
        await world.SendAsync(world.Ingestion(), world.Reading("a1", world.Now.AddMinutes(-1), 1));
        await using var connection = await world.Data.OpenConnectionAsync();
        await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("UPDATE alarm_events SET outcome = 'x' WHERE source_id = @id", new { id = world.Source.Id }));
        await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("DELETE FROM alarm_events WHERE source_id = @id", new { id = world.Source.Id }));
    }
}
