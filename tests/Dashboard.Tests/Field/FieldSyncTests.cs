using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Dashboard.Tests.Api;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using static WorkOrders.Dashboard.Tests.Field.FieldHost;

namespace WorkOrders.Dashboard.Tests.Field;

/// <summary>The field sync API over HTTP on real PostgreSQL, with two app instances on one database.</summary>
public sealed class FieldSyncTests(FieldHost host) : IClassFixture<FieldHost>
{
    [Fact]
    public async Task a_batch_sent_four_times_and_then_to_two_instances_at_once_makes_each_change_once_with_identical_answers()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var workOrder = await host.AssignedWorkOrderAsync(org);
        var meter = await host.MeterAsync(org);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var first = host.Device(device.Credential);
        using var second = host.Device(device.Credential, second: true);
        var readAt = host.Clock.GetUtcNow().AddHours(-1);
        SyncCommand[] batch =
        [
            Command(CommandKinds.WorkOrderStart, new TransitionPayload(workOrder)),
            Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, $"on site {org.Suffix}")),
            Command(CommandKinds.MeterReading, new MeterReadingPayload(meter, readAt, 120.5m)),
            Command(CommandKinds.WorkOrderRaise, new RaisePayload(org.TemplateId, $"Raised {org.Suffix}", "Found a crack.", AssetId: org.MachineId,
                CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") })),
            Command(CommandKinds.WorkOrderHold, new TransitionPayload(workOrder, "")),
        ];

        var answers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add((await SyncAsync(first, batch)).Text);
        }

        Assert.All(answers, a => Assert.Equal(answers[0], a));
        var result = JsonSerializer.Deserialize<SyncBatchResult>(answers[0], ApiHost.Json)!;
        Assert.Equal([CommandStatus.Applied, CommandStatus.Applied, CommandStatus.Applied, CommandStatus.Applied, CommandStatus.Refused], result.Results.Select(r => r.Status));
        Assert.Equal("payload.note", result.Results[4].Field);
        Assert.Equal("transition.reason_required_hold", result.Results[4].Code);

        // A second batch with new ids, sent twice to each instance at once.
        SyncCommand[] again =
        [
            Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, $"second {org.Suffix}")),
            Command(CommandKinds.WorkOrderHold, new TransitionPayload(workOrder, "waiting for parts")),
            Command(CommandKinds.MeterReading, new MeterReadingPayload(meter, readAt.AddMinutes(30), 121m)),
        ];
        var concurrent = await Task.WhenAll(SyncAsync(first, again), SyncAsync(second, again), SyncAsync(first, again), SyncAsync(second, again));
        Assert.All(concurrent, c => Assert.Equal(concurrent[0].Text, c.Text));
        Assert.All(concurrent[0].Result.Results, r => Assert.Equal(CommandStatus.Applied, r.Status));

        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM comments WHERE work_order_id = @workOrder AND body = @body", new { workOrder, body = $"on site {org.Suffix}" }));
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM comments WHERE work_order_id = @workOrder AND body = @body", new { workOrder, body = $"second {org.Suffix}" }));
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM work_order_events WHERE work_order_id = @workOrder AND kind = 'start'", new { workOrder }));
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM work_order_events WHERE work_order_id = @workOrder AND kind = 'hold'", new { workOrder }));
        Assert.Equal(2, await host.ScalarAsync<int>("SELECT count(*)::int FROM meter_readings WHERE meter_id = @meter", new { meter }));
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM work_orders WHERE title = @title", new { title = $"Raised {org.Suffix}" }));
        Assert.Equal("on_hold", await host.ScalarAsync<string>("SELECT status FROM work_orders WHERE id = @workOrder", new { workOrder }));

        // The history shows the device's clock and the sync time.
        var via = JsonDocument.Parse(await host.ScalarAsync<string>(
            "SELECT payload::text FROM work_order_events WHERE work_order_id = @workOrder AND kind = 'start'", new { workOrder })).RootElement.GetProperty("via");
        Assert.Equal(batch[0].DeviceTime!.Value.UtcDateTime, via.GetProperty("deviceTime").GetDateTime().ToUniversalTime(), TimeSpan.FromMilliseconds(1));
        Assert.True(via.TryGetProperty("syncedAt", out _));
        Assert.Equal(batch[0].CommandId, via.GetProperty("commandId").GetGuid());
    }

    [Fact]
    public async Task two_devices_change_one_work_order_offline_comments_are_kept_the_second_status_change_is_refused_and_crossed_edits_make_one_conflict()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var workOrder = await host.AssignedWorkOrderAsync(org);
        var technician = await host.RegisterAsync(org[Role.Technician], "Tech phone");
        var manager = await host.RegisterAsync(org[Role.Manager], "Manager tablet");
        using var a = host.Device(technician.Credential);
        using var b = host.Device(manager.Credential, second: true);
        await SyncAsync(a, Command(CommandKinds.WorkOrderStart, new TransitionPayload(workOrder)));
        var @base = await host.ScalarAsync<int>("SELECT row_version FROM work_orders WHERE id = @workOrder", new { workOrder });

        // Both went offline at version `base`; A syncs first, then B.
        var fromA = await SyncAsync(a,
            Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, "A: bearing is hot")),
            Command(CommandKinds.WorkOrderHold, new TransitionPayload(workOrder, "A: waiting for a bearing"), baseVersion: @base),
            Command(CommandKinds.WorkOrderEdit, new FieldEditPayload(workOrder, EditableFields.Title, "Pump bearing (A)"), baseVersion: @base));
        Assert.All(fromA.Result.Results, r => Assert.Equal(CommandStatus.Applied, r.Status));
        SyncCommand[] fromB =
        [
            Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, "B: seen the leak")),
            Command(CommandKinds.WorkOrderResolve, new TransitionPayload(workOrder, "B: fixed"), baseVersion: @base),
            Command(CommandKinds.WorkOrderEdit, new FieldEditPayload(workOrder, EditableFields.Title, "Pump seal (B)"), baseVersion: @base),
            Command(CommandKinds.WorkOrderEdit, new FieldEditPayload(workOrder, EditableFields.Description, "Seal and bearing."), baseVersion: @base),
        ];
        var first = await SyncAsync(b, fromB);
        var replay = await SyncAsync(b, fromB);
        Assert.Equal(first.Text, replay.Text);

        var results = first.Result.Results;
        Assert.Equal(CommandStatus.Applied, results[0].Status);
        Assert.Equal(CommandStatus.Refused, results[1].Status);
        Assert.Equal("transition.not_from_status", results[1].Code);
        Assert.False(string.IsNullOrEmpty(results[1].Message));
        Assert.Equal(CommandStatus.Conflict, results[2].Status);
        Assert.NotNull(results[2].ConflictId);
        Assert.Equal(CommandStatus.Applied, results[3].Status);

        Assert.Equal(2, await host.ScalarAsync<int>("SELECT count(*)::int FROM comments WHERE work_order_id = @workOrder", new { workOrder }));
        Assert.Equal("on_hold", await host.ScalarAsync<string>("SELECT status FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal("Pump bearing (A)", await host.ScalarAsync<string>("SELECT title FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal("Seal and bearing.", await host.ScalarAsync<string>("SELECT description FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM sync_conflicts WHERE work_order_id = @workOrder", new { workOrder }));

        // The department's manager sees the one conflict in the office and takes B's title.
        using var office = await host.SignedInAsync(org[Role.Manager]);
        using var outsider = await host.SignedInAsync(org.OutsideManager);
        var list = await (await office.GetAsync("/api/v1/sync-conflicts")).Content.ReadFromJsonAsync<JsonElement>();
        var conflict = Assert.Single(list.GetProperty("items").EnumerateArray(), c => c.GetProperty("workOrderId").GetInt64() == workOrder);
        Assert.Equal("Pump bearing (A)", conflict.GetProperty("currentValue").GetString());
        Assert.Equal("Pump seal (B)", conflict.GetProperty("proposedValue").GetString());
        var conflictId = conflict.GetProperty("id").GetInt64();
        Assert.DoesNotContain((await (await outsider.GetAsync("/api/v1/sync-conflicts")).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray(),
            c => c.GetProperty("id").GetInt64() == conflictId);
        Assert.Equal(HttpStatusCode.Forbidden, (await outsider.PostAsJsonAsync($"/api/v1/sync-conflicts/{conflictId}/resolve", new { resolution = "take_proposed" })).StatusCode);
        var resolved = await office.PostAsJsonAsync($"/api/v1/sync-conflicts/{conflictId}/resolve", new { resolution = "take_proposed" });
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await office.PostAsJsonAsync($"/api/v1/sync-conflicts/{conflictId}/resolve", new { resolution = "keep_current" })).StatusCode);
        Assert.Equal("Pump seal (B)", await host.ScalarAsync<string>("SELECT title FROM work_orders WHERE id = @workOrder", new { workOrder }));
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM sync_conflicts WHERE work_order_id = @workOrder", new { workOrder }));
    }

    [Fact]
    public async Task a_10_mb_photo_over_a_link_cut_every_megabyte_completes_re_sending_at_most_one_chunk_per_cut()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var client = host.Device(device.Credential);
        var photo = new byte[10_000_000];
        new Random(7).NextBytes(photo);
        photo[0] = 0xFF;
        photo[1] = 0xD8;
        photo[2] = 0xFF;
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(photo));
        const int Chunk = 256 * 1024;
        const int Megabyte = 1_000_000;

        long sent = 0;
        var cuts = 0;
        var nextCut = Megabyte;
        long offset = 0;
        while (true)
        {
            var end = (int)Math.Min(offset + Chunk, photo.Length);
            var cut = end >= nextCut;
            // The in-process server hears of a dropped link as the request being aborted, so the cut cancels it.
            using var link = new CancellationTokenSource();
            using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/field/photos/{sha}")
            {
                Content = new CutContent(photo.AsMemory((int)offset, end - (int)offset), cut ? (nextCut - (int)offset) / 2 + 1 : null, link),
            };
            request.Content.Headers.ContentType = new("image/jpeg");
            request.Content.Headers.ContentRange = new(offset, end - 1, photo.Length);
            sent += cut ? (nextCut - (int)offset) / 2 + 1 : end - offset;
            if (cut)
            {
                cuts++;
                nextCut += Megabyte;
                await Assert.ThrowsAnyAsync<Exception>(async () => (await client.SendAsync(request, link.Token)).EnsureSuccessStatusCode());

                // After the drop the client asks how much the server holds, and goes on from there.
                var status = await (await client.GetAsync($"/api/v1/field/photos/{sha}")).Content.ReadFromJsonAsync<PhotoUploadStatus>(ApiHost.Json);
                offset = status!.ReceivedBytes;
                continue;
            }

            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var done = await response.Content.ReadFromJsonAsync<PhotoUploadStatus>(ApiHost.Json);
            offset = done!.ReceivedBytes;
            if (done.Complete)
            {
                break;
            }
        }

        Console.WriteLine($"10 MB photo: {cuts} cuts, {sent:N0} bytes sent for {photo.Length:N0} ({(sent - photo.Length) / (double)Chunk:0.00} chunks re-sent)");
        Assert.True(cuts >= 9, $"only {cuts} cuts");
        Assert.True(sent - photo.Length <= (long)cuts * Chunk, $"{sent - photo.Length} bytes re-sent over {cuts} cuts");
        var head = new HttpRequestMessage(HttpMethod.Head, $"/api/v1/field/photos/{sha}");
        var headed = await client.SendAsync(head);
        Assert.Equal(photo.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), headed.Headers.GetValues("Upload-Offset").Single());
        var stored = await host.ScalarAsync<byte[]>("SELECT content FROM inspection_photos WHERE sha256 = @sha", new { sha = Convert.FromHexString(sha) });
        Assert.Equal(photo, stored);
        Assert.Equal(0, await host.ScalarAsync<int>("SELECT count(*)::int FROM field_photo_chunks WHERE sha256 = @sha", new { sha = Convert.FromHexString(sha) }));
    }

    [Fact]
    public async Task a_command_naming_a_photo_not_yet_complete_waits_and_applies_once_it_is_in_and_a_failed_round_item_raises_one_finding()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var workOrder = await host.AssignedWorkOrderAsync(org);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var client = host.Device(device.Credential);
        byte[] photo = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. Enumerable.Range(0, 3000).Select(i => (byte)i)];
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(photo));
        async Task<HttpResponseMessage> PutAsync(int from, int to)
        {
            var content = new ByteArrayContent(photo[from..(to + 1)]);
            content.Headers.ContentType = new("image/png");
            content.Headers.ContentRange = new(from, to, photo.Length);
            return await client.PutAsync($"/api/v1/field/photos/{sha}", content);
        }

        var (routeId, roundId, stopId, itemId, code) = await host.RoundAsync(org);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(0, 999)).StatusCode);
        SyncCommand[] batch =
        [
            Command(CommandKinds.WorkOrderPhoto, new PhotoPayload(workOrder, sha, "leak.png")),
            Command(CommandKinds.RoundConfirmStop, new RoundStopPayload(roundId, stopId, code)),
            Command(CommandKinds.RoundRecord, new RoundResultPayload(roundId, itemId, Text: "fail", PhotoSha256: sha, Note: "cracked")),
        ];
        var waiting = (await SyncAsync(client, batch)).Result.Results;
        Assert.Equal([CommandStatus.WaitingForPhoto, CommandStatus.Applied, CommandStatus.WaitingForPhoto], waiting.Select(r => r.Status));
        Assert.Equal(0, await host.ScalarAsync<int>("SELECT count(*)::int FROM attachments WHERE work_order_id = @workOrder", new { workOrder }));
        Assert.Equal(0, await host.ScalarAsync<int>("SELECT count(*)::int FROM sync_commands WHERE command_id = @id", new { id = batch[0].CommandId }));

        Assert.Equal(HttpStatusCode.Conflict, (await PutAsync(2000, photo.Length - 1)).StatusCode);
        var done = await (await PutAsync(1000, photo.Length - 1)).Content.ReadFromJsonAsync<PhotoUploadStatus>(ApiHost.Json);
        Assert.True(done!.Complete);

        var applied = await SyncAsync(client, batch);
        Assert.All(applied.Result.Results, r => Assert.Equal(CommandStatus.Applied, r.Status));
        Assert.Equal(applied.Text, (await SyncAsync(host.Device(device.Credential, second: true), batch)).Text);
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM attachments WHERE work_order_id = @workOrder AND sha256 = @sha", new { workOrder, sha = Convert.FromHexString(sha) }));
        var findings = await host.ScalarAsync<int>("SELECT count(*)::int FROM inspection_findings WHERE round_id = @roundId", new { roundId });
        Assert.Equal(1, findings);
        var finding = await host.ScalarAsync<long>("SELECT work_order_id FROM inspection_findings WHERE round_id = @roundId", new { roundId });
        Assert.Equal(1, await host.ScalarAsync<int>("SELECT count(*)::int FROM attachments WHERE work_order_id = @finding AND sha256 = @sha", new { finding, sha = Convert.FromHexString(sha) }));
        Assert.NotNull(await host.ScalarAsync<DateTime?>("SELECT device_time FROM inspection_results WHERE round_id = @roundId", new { roundId }));
        Assert.True(routeId > 0);
    }

    [Fact]
    public async Task a_revoked_device_a_deactivated_user_and_a_device_credential_outside_the_field_api_get_401()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var mine = await host.RegisterAsync(org[Role.Technician]);
        var theirs = await host.RegisterAsync(org.OtherTechnician);
        using var phone = host.Device(mine.Credential);
        using var other = host.Device(theirs.Credential, second: true);
        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync("/api/v1/field/trip-pack")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/v1/field/trip-pack")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetAsync("/api/v1/work-orders")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Device(mine.Credential[..^2] + "AA").GetAsync("/api/v1/field/trip-pack")).StatusCode);

        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var devices = await (await admin.GetAsync($"/api/v1/devices?userId={org[Role.Technician].UserId}")).Content.ReadFromJsonAsync<DevicePage>(ApiHost.Json);
        Assert.Contains(devices!.Items, d => d.Id == mine.DeviceId && d.LastUsedAt is not null && d.RevokedAt is null);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/devices/{mine.DeviceId}/revoke", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetAsync("/api/v1/field/trip-pack")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Device(mine.Credential, second: true).PostAsJsonAsync("/api/v1/sync/commands", new SyncBatch([]), ApiHost.Json)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{org.OtherTechnician.UserId}/deactivate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetAsync("/api/v1/field/trip-pack")).StatusCode);

        // The credential slides: a month of use keeps it; a month unused ends it.
        var kept = await host.RegisterAsync(org[Role.Manager]);
        using var tablet = host.Device(kept.Credential);
        host.Clock.Advance(TimeSpan.FromDays(20));
        Assert.Equal(HttpStatusCode.OK, (await tablet.GetAsync("/api/v1/field/trip-pack")).StatusCode);
        host.Clock.Advance(TimeSpan.FromDays(20));
        Assert.Equal(HttpStatusCode.OK, (await tablet.GetAsync("/api/v1/field/trip-pack")).StatusCode);
        host.Clock.Advance(TimeSpan.FromDays(31));
        Assert.Equal(HttpStatusCode.Unauthorized, (await tablet.GetAsync("/api/v1/field/trip-pack")).StatusCode);
    }

    [Fact]
    public async Task bad_input_is_a_problem_naming_the_field_and_applies_nothing()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var workOrder = await host.AssignedWorkOrderAsync(org);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var client = host.Device(device.Credential);
        var good = Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, "never stored"));
        var response = await client.PostAsync("/api/v1/sync/commands", JsonContent.Create(new
        {
            commands = new object[]
            {
                good,
                new { kind = CommandKinds.WorkOrderComment, deviceTime = DateTimeOffset.UtcNow, payload = new { workOrderId = workOrder, body = "x" } },
                new { commandId = Guid.CreateVersion7(), kind = "work_order.paint", deviceTime = DateTimeOffset.UtcNow, payload = new { } },
                new { commandId = Guid.CreateVersion7(), kind = CommandKinds.WorkOrderComment, deviceTime = DateTimeOffset.UtcNow, payload = new { workOrderId = "twelve" } },
                new { commandId = Guid.CreateVersion7(), kind = CommandKinds.WorkOrderComment, payload = new { workOrderId = workOrder, body = "x" } },
            },
        }, options: ApiHost.Json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var codes = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes");
        Assert.Equal("field.required", codes.GetProperty("commands[1].commandId")[0].GetString());
        Assert.Equal("field.one_of", codes.GetProperty("commands[2].kind")[0].GetString());
        Assert.Equal("body.wrong_type", codes.GetProperty("commands[3].payload.workOrderId")[0].GetString());
        Assert.Equal("field.required", codes.GetProperty("commands[4].deviceTime")[0].GetString());
        Assert.Equal(0, await host.ScalarAsync<int>("SELECT count(*)::int FROM comments WHERE work_order_id = @workOrder", new { workOrder }));

        var empty = await (await client.PostAsJsonAsync("/api/v1/sync/commands", new SyncBatch([]), ApiHost.Json)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(empty.GetProperty("codes").TryGetProperty("commands", out _));
        var refused = (await SyncAsync(client, Command(CommandKinds.WorkOrderComment, new CommentPayload(workOrder, " ")))).Result.Results[0];
        Assert.Equal((CommandStatus.Refused, "payload.body"), (refused.Status, refused.Field));

        async Task<JsonElement> ProblemAsync(HttpResponseMessage r)
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        }

        Assert.True((await ProblemAsync(await client.GetAsync("/api/v1/field/trip-pack?days=99"))).TryGetProperty("days", out _));
        Assert.True((await ProblemAsync(await client.GetAsync("/api/v1/sync/changes?cursor=yesterday"))).TryGetProperty("cursor", out _));
        var chunk = new ByteArrayContent([1, 2, 3]);
        chunk.Headers.ContentType = new("image/png");
        Assert.True((await ProblemAsync(await client.PutAsync($"/api/v1/field/photos/{new string('a', 64)}", chunk))).TryGetProperty("Content-Range", out _));
        Assert.True((await ProblemAsync(await client.GetAsync("/api/v1/field/photos/not-a-hash"))).TryGetProperty("sha256", out _));
        using var signedIn = await host.SignedInAsync(org[Role.Technician]);
        Assert.True((await ProblemAsync(await signedIn.PostAsJsonAsync("/api/v1/devices", new RegisterDeviceRequest(" ")))).TryGetProperty("name", out _));
        using var requester = await host.SignedInAsync(org[Role.Requester]);
        Assert.Equal(HttpStatusCode.Forbidden, (await requester.PostAsJsonAsync("/api/v1/devices", new RegisterDeviceRequest("Mine"))).StatusCode);
    }

    [Fact]
    public async Task the_trip_pack_carries_versions_and_a_cursor_from_which_the_changes_come()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var workOrder = await host.AssignedWorkOrderAsync(org);
        var meter = await host.MeterAsync(org);
        var (_, roundId, _, itemId, _) = await host.RoundAsync(org);
        var device = await host.RegisterAsync(org[Role.Technician]);
        using var client = host.Device(device.Credential);
        var pack = await (await client.GetAsync("/api/v1/field/trip-pack?days=2")).Content.ReadFromJsonAsync<TripPack>(ApiHost.Json);
        var carried = Assert.Single(pack!.WorkOrders, w => w.Id == workOrder);
        Assert.Equal("assigned", carried.Status);
        Assert.True(carried.Version > 0);
        var round = Assert.Single(pack.Rounds, r => r.Id == roundId);
        Assert.Contains(round.Stops.SelectMany(s => s.Items), i => i.Id == itemId);
        Assert.Contains(pack.Assets, a => a.Id == org.SiteId);
        Assert.Contains(pack.Assets, a => a.Id == org.MachineId);
        Assert.Contains(pack.Meters, m => m.Id == meter);
        Assert.Contains(pack.Templates, t => t.Id == org.TemplateId);

        var nothing = await (await client.GetAsync($"/api/v1/sync/changes?cursor={pack.Cursor}")).Content.ReadFromJsonAsync<ChangeSet>(ApiHost.Json);
        Assert.DoesNotContain(nothing!.WorkOrders, w => w.Id == workOrder);

        await SyncAsync(client, Command(CommandKinds.WorkOrderStart, new TransitionPayload(workOrder)));
        var changes = await (await client.GetAsync($"/api/v1/sync/changes?cursor={nothing.Cursor}")).Content.ReadFromJsonAsync<ChangeSet>(ApiHost.Json);
        var changed = Assert.Single(changes!.WorkOrders, w => w.Id == workOrder);
        Assert.Equal("in_progress", changed.Status);
        Assert.True(changed.Version > carried.Version);
        var after = await (await client.GetAsync($"/api/v1/sync/changes?cursor={changes.Cursor}")).Content.ReadFromJsonAsync<ChangeSet>(ApiHost.Json);
        Assert.DoesNotContain(after!.WorkOrders, w => w.Id == workOrder);
    }

    /// <summary>A request body that sends its first bytes and then breaks, as a dropped mobile link does.</summary>
    private sealed class CutContent(ReadOnlyMemory<byte> bytes, int? cutAfter, CancellationTokenSource link) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            if (cutAfter is { } cut)
            {
                await stream.WriteAsync(bytes[..cut]);
                await stream.FlushAsync();
                await link.CancelAsync();
                throw new IOException("link cut");
            }

            await stream.WriteAsync(bytes);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
