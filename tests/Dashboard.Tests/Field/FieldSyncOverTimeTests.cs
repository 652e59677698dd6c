using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WorkOrders.Dashboard.Tests.Api;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Field;
using WorkOrders.Ticketing.Inspections;
using static WorkOrders.Dashboard.Tests.Field.FieldHost;

namespace WorkOrders.Dashboard.Tests.Field;

/// <summary>Field sync as time passes: days offline, the retention of the sync tables, and the trip pack's one snapshot; two app instances on one database.</summary>
public sealed class FieldSyncOverTimeTests(FieldHost host) : IClassFixture<FieldHost>
{
    private async Task ExecuteAsync(string sql, object parameters)
    {
        await using var connection = await host.Data.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, parameters);
    }

    private static async Task<TripPack> PackAsync(HttpClient device)
    {
        var response = await device.GetAsync("/api/v1/field/trip-pack?days=2");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TripPack>(ApiHost.Json))!;
    }

    private static async Task<ChangeSet> ChangesAsync(HttpClient device, string cursor)
    {
        var response = await device.GetAsync($"/api/v1/sync/changes?cursor={cursor}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ChangeSet>(ApiHost.Json))!;
    }

    private async Task TransitionAsync(HttpClient office, long workOrder, string action, string? note = null)
    {
        var version = await host.ScalarAsync<int>("SELECT row_version FROM work_orders WHERE id = @workOrder", new { workOrder });
        var response = await office.PostAsJsonAsync($"/api/v1/work-orders/{workOrder}/transitions", new { action, note, rowVersion = version });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task a_device_offline_for_14_days_syncs_every_command_applied_or_refused_with_its_reason_none_lost_and_its_credential_slides_on()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var worked = await host.AssignedWorkOrderAsync(org);
        var cancelled = await host.AssignedWorkOrderAsync(org);
        var meter = await host.MeterAsync(org);
        var (_, roundId, stopId, itemId, code) = await host.RoundAsync(org);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var phone = host.Device(device.Credential);
        var t0 = host.Clock.GetUtcNow();
        DateTimeOffset Day(double day) => t0.AddDays(day);

        var pack = await PackAsync(phone);
        Assert.Contains(pack.WorkOrders, w => w.Id == cancelled);
        Assert.Contains(pack.Rounds, r => r.Id == roundId);
        Assert.Contains(pack.Meters, m => m.Id == meter);
        var workedVersion = Assert.Single(pack.WorkOrders, w => w.Id == worked).Version;

        // Offline from here. The device queues its work with its own clock over the fortnight; what it should come to
        // is decided by what the office does meanwhile.
        (SyncCommand Command, CommandStatus Status, string? Code) At(double day, string kind, object payload, CommandStatus status, string? code = null) =>
            (Command(kind, payload, baseVersion: workedVersion, deviceTime: Day(day)), status, code);
        var outbox = new[]
        {
            At(0.1, CommandKinds.WorkOrderStart, new TransitionPayload(worked), CommandStatus.Applied),
            At(0.2, CommandKinds.RoundConfirmStop, new RoundStopPayload(roundId, stopId, code), CommandStatus.Refused, "inspection.round_closed"),
            At(0.25, CommandKinds.RoundRecord, new RoundResultPayload(roundId, itemId, Text: "ok"), CommandStatus.Refused, "inspection.round_closed"),
            At(0.3, CommandKinds.RoundComplete, new RoundPayload(roundId), CommandStatus.Refused, "inspection.round_closed"),
            At(1, CommandKinds.WorkOrderComment, new CommentPayload(worked, "Day 1: the bearing is noisy."), CommandStatus.Applied),
            At(2.5, CommandKinds.WorkOrderStart, new TransitionPayload(cancelled), CommandStatus.Refused, "transition.not_from_status"),
            At(3, CommandKinds.MeterReading, new MeterReadingPayload(meter, Day(3), 200m), CommandStatus.Refused, "meter.reading_out_of_order"),
            At(7, CommandKinds.WorkOrderRaise, new RaisePayload(org.TemplateId, $"Cracked guard {org.Suffix}", "Found on day 7.", AssetId: org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") }), CommandStatus.Applied),
            At(10, CommandKinds.MeterReading, new MeterReadingPayload(meter, Day(10), 650m), CommandStatus.Applied),
            At(13, CommandKinds.WorkOrderComment, new CommentPayload(worked, "Day 13: bearing replaced."), CommandStatus.Applied),
            At(14, CommandKinds.WorkOrderResolve, new TransitionPayload(worked, "Replaced the bearing."), CommandStatus.Applied),
        };

        // The office meanwhile: day 2 the second work order is cancelled, day 3 the round closes as missed, day 5 a
        // reading later than the device's first is entered.
        // (The office signs in each day: a bearer token lasts hours.)
        host.Clock.Advance(TimeSpan.FromDays(2));
        using (var office = await host.SignedInAsync(org[Role.Manager]))
        {
            await TransitionAsync(office, cancelled, "cancel", "Raised twice; the other order covers it.");
        }

        host.Clock.Advance(TimeSpan.FromDays(1));
        await host.Services.GetRequiredService<RoundGenerator>().CloseMissedAsync(CancellationToken.None);
        Assert.Equal("missed", await host.ScalarAsync<string>("SELECT status FROM inspection_rounds WHERE id = @roundId", new { roundId }));
        host.Clock.Advance(TimeSpan.FromDays(2));
        using var later = await host.SignedInAsync(org[Role.Manager]);
        var reading = await later.PostAsJsonAsync($"/api/v1/meters/{meter}/readings", new { readings = new[] { new { readAt = Day(5).UtcDateTime, value = 500m } } });
        Assert.True(reading.IsSuccessStatusCode, await reading.Content.ReadAsStringAsync());
        host.Clock.Advance(TimeSpan.FromDays(9) + TimeSpan.FromHours(1));

        // Back online on day 14: the whole outbox, then the same again (the answer was lost), to the other instance.
        var synced = await SyncAsync(phone, [.. outbox.Select(o => o.Command)]);
        var again = await SyncAsync(host.Device(device.Credential, second: true), [.. outbox.Select(o => o.Command)]);
        Assert.Equal(synced.Text, again.Text);
        Assert.Equal(outbox.Length, synced.Result.Results.Count);
        for (var i = 0; i < outbox.Length; i++)
        {
            var result = synced.Result.Results[i];
            Assert.Equal(outbox[i].Command.CommandId, result.CommandId);
            Assert.True(outbox[i].Status == result.Status, $"command {i} ({outbox[i].Command.Kind}): {result.Status} {result.Code} {result.Message}");
            Assert.Equal(outbox[i].Code, result.Code);
            if (result.Status == CommandStatus.Refused)
            {
                Assert.False(string.IsNullOrWhiteSpace(result.Message));
            }
        }

        // In PostgreSQL: one stored result per command, each effect once, nothing of the refused ones.
        await using var connection = await host.Data.OpenConnectionAsync();
        var stored = (await connection.QueryAsync<(Guid Id, string Status, string? Code, DateTime DeviceTime)>(
            "SELECT command_id, status, code, device_time FROM sync_commands WHERE device_id = @id", new { id = device.DeviceId })).ToDictionary(r => r.Id);
        Assert.Equal(outbox.Length, stored.Count);
        Assert.All(outbox, o => Assert.Equal((o.Status.ToString().ToLowerInvariant(), o.Code), (stored[o.Command.CommandId!.Value].Status, stored[o.Command.CommandId!.Value].Code)));
        Assert.All(outbox, o => Assert.Equal(o.Command.DeviceTime!.Value.UtcDateTime, stored[o.Command.CommandId!.Value].DeviceTime.ToUniversalTime(), TimeSpan.FromMilliseconds(1)));
        Assert.Equal("resolved", await connection.ExecuteScalarAsync<string>("SELECT status FROM work_orders WHERE id = @worked", new { worked }));
        Assert.Equal("cancelled", await connection.ExecuteScalarAsync<string>("SELECT status FROM work_orders WHERE id = @cancelled", new { cancelled }));
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM work_order_events WHERE work_order_id = @cancelled AND kind = 'start'", new { cancelled }));
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM comments WHERE work_order_id = @worked", new { worked }));
        Assert.Equal([500m, 650m], await connection.QueryAsync<decimal>("SELECT value FROM meter_readings WHERE meter_id = @meter ORDER BY read_at", new { meter }));
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM work_orders WHERE title = @title", new { title = $"Cracked guard {org.Suffix}" }));
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM inspection_results WHERE round_id = @roundId", new { roundId }));
        Assert.Equal("missed", await connection.ExecuteScalarAsync<string>("SELECT status FROM inspection_rounds WHERE id = @roundId", new { roundId }));

        // The history keeps the device's day beside the sync day.
        var via = JsonDocument.Parse(await connection.ExecuteScalarAsync<string>(
            "SELECT payload::text FROM work_order_events WHERE work_order_id = @worked AND kind = 'resolve'", new { worked }) ?? "{}").RootElement.GetProperty("via");
        Assert.Equal(Day(14).UtcDateTime, via.GetProperty("deviceTime").GetDateTime().ToUniversalTime(), TimeSpan.FromMilliseconds(1));
        Assert.Equal(host.Clock.GetUtcNow().UtcDateTime, via.GetProperty("syncedAt").GetDateTime().ToUniversalTime(), TimeSpan.FromSeconds(1));

        // What changed while it was away comes from the pack's cursor.
        var changes = await ChangesAsync(phone, pack.Cursor);
        Assert.Equal("cancelled", Assert.Single(changes.WorkOrders, w => w.Id == cancelled).Status);
        Assert.Equal("resolved", Assert.Single(changes.WorkOrders, w => w.Id == worked).Status);
        Assert.Equal("missed", Assert.Single(changes.Rounds, r => r.Id == roundId).Status);

        // The credential slid on with the sync: 34 days after it was issued (and last used before the fortnight) it still works.
        var expires = await connection.ExecuteScalarAsync<DateTime>("SELECT expires_at FROM field_devices WHERE id = @id", new { id = device.DeviceId });
        Assert.True(expires.ToUniversalTime() > Day(43).UtcDateTime, $"expires {expires:O}");
        host.Clock.Advance(TimeSpan.FromDays(20));
        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync("/api/v1/field/trip-pack")).StatusCode);
    }

    [Fact]
    public async Task the_retention_job_on_two_instances_runs_once_an_older_cursor_is_gone_and_an_old_command_is_refused_not_applied_twice()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var workOrder = await host.AssignedWorkOrderAsync(org);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var phone = host.Device(device.Credential);
        var pack = await PackAsync(phone);
        var retention = host.Services.GetRequiredService<IOptions<FieldOptions>>().Value;

        // A start the cursor has not seen, and a comment made on the device long ago: both older than they are kept.
        await SyncAsync(phone, Command(CommandKinds.WorkOrderStart, new TransitionPayload(workOrder)));
        var oldComment = Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, "Made long ago."), deviceTime: host.Clock.GetUtcNow() - retention.CommandRetention - TimeSpan.FromDays(1));
        Assert.Equal(CommandStatus.Applied, (await SyncAsync(phone, oldComment)).Result.Results[0].Status);
        await ExecuteAsync(
            """
            UPDATE field_changes SET changed_at = changed_at - @age WHERE entity = 'work_order' AND entity_id = @workOrder;
            UPDATE sync_commands SET synced_at = synced_at - @age WHERE command_id = @id;
            UPDATE field_sync_retention SET last_run_at = NULL;
            """,
            new { age = retention.CommandRetention + TimeSpan.FromDays(1), workOrder, id = oldComment.CommandId });
        var runs = await host.ScalarAsync<long>("SELECT runs FROM field_sync_retention", new { });

        // Both instances asked at once: one does the period's work, the other finds it done.
        var passes = await Task.WhenAll(
            host.Services.GetRequiredService<FieldRetention>().RunPassAsync(CancellationToken.None),
            host.SecondServices.GetRequiredService<FieldRetention>().RunPassAsync(CancellationToken.None));
        var ran = Assert.Single(passes, p => p.Ran);
        Assert.True(ran.ChangesDeleted >= 3, $"{ran.ChangesDeleted} changes deleted");
        Assert.True(ran.CommandsDeleted >= 1, $"{ran.CommandsDeleted} commands deleted");
        Assert.Equal(runs + 1, await host.ScalarAsync<long>("SELECT runs FROM field_sync_retention", new { }));
        Assert.Equal(0, await host.ScalarAsync<int>("SELECT count(*)::int FROM field_changes WHERE entity = 'work_order' AND entity_id = @workOrder", new { workOrder }));
        Assert.Equal(0, await host.ScalarAsync<int>("SELECT count(*)::int FROM sync_commands WHERE command_id = @id", new { id = oldComment.CommandId }));

        // The pack's cursor would miss the start: 410 with a code the app acts on (take a fresh pack), in either language.
        var gone = await phone.GetAsync($"/api/v1/sync/changes?cursor={pack.Cursor}");
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        Assert.Equal("application/problem+json", gone.Content.Headers.ContentType?.MediaType);
        var problem = await gone.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("sync.cursor_expired", problem.GetProperty("code").GetString());
        Assert.Contains("30", problem.GetProperty("detail").GetString());
        using var zh = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/sync/changes?cursor={pack.Cursor}");
        zh.Headers.AcceptLanguage.ParseAdd("zh-TW");
        var zhProblem = await (await phone.SendAsync(zh)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("出勤資料包", zhProblem.GetProperty("detail").GetString());

        // A fresh pack carries the work order as it is and a cursor that works. A transaction elsewhere in the test
        // cluster older than the purged changes (whose ages were set back, their transaction ids are recent) holds a new
        // snapshot's xmin below them, as no change 30 days old could in use: the pack is taken again once it has ended.
        var fresh = await PackAsync(phone);
        for (var attempt = 1; (await phone.GetAsync($"/api/v1/sync/changes?cursor={fresh.Cursor}")).StatusCode == HttpStatusCode.Gone; attempt++)
        {
            Assert.True(attempt < 120, "a fresh pack's cursor stayed expired for a minute");
            await Task.Delay(500);
            fresh = await PackAsync(phone);
        }

        Assert.Equal("in_progress", Assert.Single(fresh.WorkOrders, w => w.Id == workOrder).Status);
        await ChangesAsync(phone, fresh.Cursor);

        // The old comment sent again, its stored answer gone: refused with the reason, not stored twice; the answer stands.
        var resent = await SyncAsync(phone, oldComment);
        var refused = Assert.Single(resent.Result.Results);
        Assert.Equal((CommandStatus.Refused, "sync.command_expired"), (refused.Status, refused.Code));
        Assert.Equal(resent.Text, (await SyncAsync(host.Device(device.Credential, second: true), oldComment)).Text);
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM comments WHERE work_order_id = @workOrder AND body = 'Made long ago.'", new { workOrder }));
        var now = Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, "Made today."), deviceTime: host.Clock.GetUtcNow());
        Assert.Equal(CommandStatus.Applied, (await SyncAsync(phone, now)).Result.Results[0].Status);
    }

    [Fact]
    public async Task the_trip_pack_reads_its_rounds_in_the_snapshot_its_cursor_names()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var (_, roundId, _, _, _) = await host.RoundAsync(org);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var phone = host.Device(device.Credential);

        // The office starts the round while the pack is being read: the pack has taken its snapshot and waits on a table
        // the office holds; the office commits and lets it go on.
        await using var office = await host.Data.OpenConnectionAsync();
        await using var transaction = await office.BeginTransactionAsync();
        await office.ExecuteAsync("LOCK TABLE work_order_collaborators IN ACCESS EXCLUSIVE MODE", transaction: transaction);
        await office.ExecuteAsync(
            "UPDATE inspection_rounds SET status = 'in_progress', started_at = @now WHERE id = @roundId",
            new { roundId, now = host.Clock.GetUtcNow().UtcDateTime },
            transaction);
        var reading = PackAsync(phone);
        var waited = TimeSpan.Zero;
        while (await host.ScalarAsync<int>(
            """
            SELECT count(*)::int FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE c.relname = 'work_order_collaborators' AND NOT l.granted AND a.query LIKE '%asset_code%'
            """,
            new { }) == 0)
        {
            Assert.False(reading.IsCompleted, "the pack did not wait on the table");
            Assert.True(waited < TimeSpan.FromSeconds(30), "the pack never reached the table");
            await Task.Delay(50);
            waited += TimeSpan.FromMilliseconds(50);
        }

        await transaction.CommitAsync();
        var pack = await reading;

        // The round as the cursor's snapshot saw it, and the start comes with the next pull.
        var round = Assert.Single(pack.Rounds, r => r.Id == roundId);
        Assert.Equal("open", round.Status);
        Assert.Equal(0, round.Version);
        Assert.Equal("in_progress", Assert.Single((await ChangesAsync(phone, pack.Cursor)).Rounds, r => r.Id == roundId).Status);
    }
}
