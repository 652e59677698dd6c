using Dapper;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Inspections;
using WorkOrders.Ticketing.Meters;

namespace WorkOrders.Ticketing.Tests.Inspections;

/// <summary>Routes, rounds, results and findings against a real PostgreSQL, each test in a database of its own.</summary>
public sealed class InspectionRoundTests
{
    private static readonly DateTime Start = new(2027, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5];

    private static T Ok<T>(Outcome<T> outcome)
    {
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    private static async Task<RoundView> ConfirmAsync(InspectionWorld world, long roundId, RoundView? view = null, Actor? actor = null)
    {
        view ??= Ok(await world.Rounds.GetAsync(roundId, CancellationToken.None));
        return Ok(await world.Rounds.ConfirmStopAsync(roundId, new ConfirmStopCommand(InspectionWorld.Command(), view.Stops[0].StopId, world.MachineCode), actor ?? world.Technician, CancellationToken.None));
    }

    private static long ItemId(RoundView view, string label) => view.Stops.SelectMany(s => s.Items).Single(i => i.Item.Label == label).ItemId;

    [Fact]
    public async Task an_edit_makes_a_new_version_and_a_past_result_keeps_the_verdict_of_its_version()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var route = await world.RouteAsync("Pump walk");
        var oldRound = await world.RoundAsync(route.Id, "2027-03-01T08:00");
        var view = await ConfirmAsync(world, oldRound);
        Ok(await world.Rounds.RecordAsync(oldRound, new RecordResultCommand(InspectionWorld.Command(), ItemId(view, "Bearing temperature"), Number: 75), world.Technician, CancellationToken.None));

        // The limits are tightened: 75 °C is now beyond the alarm limit.
        var temperature = route.Stops[0].Items.Single(i => i.Item.Kind == CheckKind.Number);
        var guard = route.Stops[0].Items.Single(i => i.Item.Kind == CheckKind.PassFail);
        var edited = Ok(await world.Routes.UpdateAsync(
            route.Id,
            new RouteRequest(route.Name, world.InspectionTemplateId, "tighter", [new StopRequest(world.Org.MachineId, "", [world.Temperature(60, 70, PhotoRule.Never, temperature.CheckId), world.Guard(guard.CheckId)])], RowVersion: route.RowVersion),
            world.Planner,
            CancellationToken.None));
        Assert.Equal(2, edited.CurrentVersion);
        Assert.Equal([2, 1], edited.Versions.Select(v => v.Version));
        Assert.Equal(temperature.CheckId, edited.Stops[0].Items.Single(i => i.Item.Kind == CheckKind.Number).CheckId);
        var stale = await world.Routes.UpdateAsync(route.Id, new RouteRequest(route.Name, world.InspectionTemplateId, "", [new StopRequest(world.Org.MachineId, "", [world.Guard()])], RowVersion: route.RowVersion), world.Planner, CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);

        var past = Ok(await world.Rounds.GetAsync(oldRound, CancellationToken.None));
        var pastResult = past.Stops[0].Items.Single(i => i.Item.Kind == CheckKind.Number);
        Assert.Equal((1, 80m, Verdict.Warning), (past.RouteVersion, pastResult.Item.AlarmHigh!.Value, pastResult.Result!.Verdict));

        // A round of the new version judges the same reading by the new limits; the old round can still take its own
        // results by the old ones.
        var newRound = await world.RoundAsync(route.Id, "2027-03-01T20:00");
        var newView = await ConfirmAsync(world, newRound);
        var judged = Ok(await world.Rounds.RecordAsync(newRound, new RecordResultCommand(InspectionWorld.Command(), ItemId(newView, "Bearing temperature"), Number: 75), world.Technician, CancellationToken.None));
        var result = judged.Stops[0].Items.Single(i => i.Item.Kind == CheckKind.Number).Result!;
        Assert.Equal((Verdict.Fail, "alarm_high", 70m), (result.Verdict, result.LimitName, result.LimitValue!.Value));
        var wrongVersion = await world.Rounds.RecordAsync(oldRound, new RecordResultCommand(InspectionWorld.Command(), ItemId(newView, "Guard in place"), Text: "pass"), world.Technician, CancellationToken.None);
        Assert.Equal("inspection.item_unknown", wrongVersion.Failure?.Main.Code);
    }

    [Fact]
    public async Task a_route_with_bad_stops_items_and_schedule_is_refused_naming_each_field_and_nothing_is_stored()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var outcome = await world.Routes.CreateAsync(
            new RouteRequest(
                "",
                world.Org.TemplateId,
                null,
                [new StopRequest(long.MaxValue, null, [world.Temperature(90, 80), new ItemRequest(null, "Oil", CheckKind.Choice, Options: ["ok"])])],
                [new ScheduleRequest(0, null, null, [], 0)]),
            world.Planner,
            CancellationToken.None);

        var errors = outcome.Failure!.Errors!;
        Assert.Equal("field.required", errors["name"][0].Code);
        Assert.Equal("inspection.limits_order", errors["stops[0].items[0].alarmHigh"][0].Code);
        Assert.Equal("inspection.options", errors["stops[0].items[1].options"][0].Code);
        Assert.Equal("inspection.every", errors["schedules[0].every"][0].Code);
        Assert.Equal("inspection.times", errors["schedules[0].times"][0].Code);
        Assert.Equal("inspection.minutes", errors["schedules[0].windowMinutes"][0].Code);

        var badAsset = await world.Routes.CreateAsync(
            new RouteRequest("Valid name", world.Org.TemplateId, null, [new StopRequest(long.MaxValue, null, [world.Guard()])]), world.Planner, CancellationToken.None);
        Assert.Equal("asset.missing", badAsset.Failure!.Errors!["stops[0].assetId"][0].Code);
        Assert.Equal("inspection.template_not_inspection", badAsset.Failure.Errors["templateId"][0].Code);
        Assert.Equal(FailureKind.Forbidden, (await world.Routes.CreateAsync(new RouteRequest("x", world.InspectionTemplateId, null, []), world.Technician, CancellationToken.None)).Failure?.Kind);
        await using var connection = await world.Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM inspection_routes"));
    }

    [Fact]
    public async Task two_generators_racing_make_each_round_once_at_the_site_times_and_the_rules_assign_it()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        await world.AddRoundRuleAsync();

        var route = await world.RouteAsync("Twice daily", schedules: [InspectionWorld.TwiceDaily(new DateOnly(2027, 3, 1))]);

        // Two days in steps of ten minutes, each step with two generators at once on their own connections.
        var first = world.Generator();
        var second = world.Generator();
        var made = 0;
        for (var step = 0; step < 2 * 24 * 6; step++)
        {
            world.Clock.Advance(TimeSpan.FromMinutes(10));
            var passes = await Task.WhenAll(first.GenerateAsync(CancellationToken.None), second.GenerateAsync(CancellationToken.None));
            made += passes.Sum(p => p.Created);
        }

        await using var check = await world.Data.OpenConnectionAsync();
        var rounds = (await check.QueryAsync<(string SlotKey, DateTime SlotAt, long? AssigneeId, string Status)>(
            "SELECT slot_key, slot_at, assignee_id, status FROM inspection_rounds WHERE route_id = @id ORDER BY slot_at", new { id = route.Id })).ToList();
        // Taipei is UTC+8: 08:00 and 20:00 local are 00:00 and 12:00 UTC. The first 08:00 (00:00 UTC on 1 March) was the
        // start itself, so it counts; the 08:00 of 3 March is made 30 minutes ahead, at 23:30 UTC on 2 March.
        Assert.Equal(["2027-03-01T08:00", "2027-03-01T20:00", "2027-03-02T08:00", "2027-03-02T20:00", "2027-03-03T08:00"], rounds.Select(r => r.SlotKey));
        Assert.Equal(new DateTime(2027, 3, 1, 12, 0, 0, DateTimeKind.Utc), rounds[1].SlotAt);
        Assert.Equal(rounds.Count, made);
        Assert.All(rounds, r => Assert.Equal(world.Technician.UserId, r.AssigneeId));
    }

    [Fact]
    public async Task after_an_outage_the_slots_whose_grace_passed_are_recorded_missed_once_and_the_current_one_is_open()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var route = await world.RouteAsync("Outage", items: [world.Guard()], schedules: [InspectionWorld.TwiceDaily(new DateOnly(2027, 3, 1))]);

        // Nothing ran for a day and a half: 08:00 and 20:00 of 1 March and 08:00 of 2 March are past their grace; 20:00
        // of 2 March (12:00 UTC) is in its window.
        world.Clock.Advance(TimeSpan.FromHours(36.5));
        var passes = await Task.WhenAll(world.Generator().GenerateAsync(CancellationToken.None), world.Generator().GenerateAsync(CancellationToken.None));

        Assert.Equal(4, passes.Sum(p => p.Created));
        Assert.Equal(3, passes.Sum(p => p.CreatedMissed));
        await using var connection = await world.Data.OpenConnectionAsync();
        var rounds = (await connection.QueryAsync<(string SlotKey, string Status, int MissedStops)>(
            """
            SELECT r.slot_key, r.status, (SELECT count(*)::int FROM inspection_round_stops x WHERE x.round_id = r.id AND x.status = 'missed')
            FROM inspection_rounds r WHERE r.route_id = @id ORDER BY r.slot_at
            """,
            new { id = route.Id })).ToList();
        Assert.Equal(
            [("2027-03-01T08:00", "missed", 1), ("2027-03-01T20:00", "missed", 1), ("2027-03-02T08:00", "missed", 1), ("2027-03-02T20:00", "open", 0)],
            rounds);
        Assert.Equal(0, (await world.Generator().RunPassAsync(CancellationToken.None)).Missed);
    }

    [Fact]
    public async Task a_round_not_done_by_the_end_of_its_grace_is_missed_once_under_two_closers_and_lists_its_missed_stops()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var route = await world.RouteAsync("Grace", items: [world.Guard()]);
        var done = await world.RoundAsync(route.Id, "a");
        var halfDone = await world.RoundAsync(route.Id, "b");
        var untouched = await world.RoundAsync(route.Id, "c");
        var view = await ConfirmAsync(world, done);
        Ok(await world.Rounds.RecordAsync(done, new RecordResultCommand(InspectionWorld.Command(), ItemId(view, "Guard in place"), Text: "pass"), world.Technician, CancellationToken.None));
        Ok(await world.Rounds.CompleteAsync(done, new CompleteRoundCommand(InspectionWorld.Command()), world.Technician, CancellationToken.None));
        Ok(await world.Rounds.StartAsync(halfDone, new StartRoundCommand(InspectionWorld.Command()), world.Technician, CancellationToken.None));

        world.Clock.Advance(TimeSpan.FromHours(2.5));
        var early = await Task.WhenAll(world.Generator().CloseMissedAsync(CancellationToken.None), world.Generator().CloseMissedAsync(CancellationToken.None));
        Assert.Equal(0, early.Sum());
        world.Clock.Advance(TimeSpan.FromHours(1));
        var closed = await Task.WhenAll(world.Generator().CloseMissedAsync(CancellationToken.None), world.Generator().CloseMissedAsync(CancellationToken.None));
        Assert.Equal(2, closed.Sum());
        Assert.Equal(0, await world.Generator().CloseMissedAsync(CancellationToken.None));

        var missed = Ok(await world.Rounds.GetAsync(halfDone, CancellationToken.None));
        Assert.Equal(RoundStatus.Missed, missed.Status);
        Assert.Equal(StopStatus.Missed, missed.Stops.Single().Status);
        Assert.Equal(RoundStatus.Missed, Ok(await world.Rounds.GetAsync(untouched, CancellationToken.None)).Status);
        Assert.Equal(RoundStatus.Completed, Ok(await world.Rounds.GetAsync(done, CancellationToken.None)).Status);
        var late = await world.Rounds.ConfirmStopAsync(halfDone, new ConfirmStopCommand(InspectionWorld.Command(), missed.Stops[0].StopId, world.MachineCode), world.Technician, CancellationToken.None);
        Assert.Equal("inspection.round_closed", late.Failure?.Main.Code);

        var compliance = (await world.Rounds.ComplianceAsync(Start.AddDays(-1), Start.AddDays(1), CancellationToken.None)).Single(c => c.RouteId == route.Id);
        Assert.Equal((3, 1, 0, 2, 0), (compliance.Due, compliance.OnTime, compliance.Late, compliance.Missed, compliance.Open));
    }

    [Fact]
    public async Task a_stop_is_confirmed_by_its_label_or_skipped_with_a_reason_and_a_wrong_code_is_refused()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var route = await world.RouteAsync("Scan");
        var round = await world.RoundAsync(route.Id, "a");
        var view = Ok(await world.Rounds.GetAsync(round, CancellationToken.None));
        var stopId = view.Stops[0].StopId;

        var wrong = await world.Rounds.ConfirmStopAsync(round, new ConfirmStopCommand(InspectionWorld.Command(), stopId, "NOT-IT"), world.Technician, CancellationToken.None);
        Assert.Equal("inspection.code_mismatch", wrong.Failure!.Errors!["code"][0].Code);
        var early = await world.Rounds.RecordAsync(round, new RecordResultCommand(InspectionWorld.Command(), ItemId(view, "Guard in place"), Text: "pass"), world.Technician, CancellationToken.None);
        Assert.Equal("inspection.stop_not_confirmed", early.Failure?.Main.Code);
        var noReason = await world.Rounds.SkipStopAsync(round, new SkipStopCommand(InspectionWorld.Command(), stopId, " "), world.Technician, CancellationToken.None);
        Assert.Equal("inspection.skip_reason_required", noReason.Failure!.Errors!["reason"][0].Code);
        var skipped = Ok(await world.Rounds.SkipStopAsync(round, new SkipStopCommand(InspectionWorld.Command(), stopId, "label torn off"), world.Technician, CancellationToken.None));
        Assert.Equal((StopStatus.Skipped, "label torn off", RoundStatus.InProgress), (skipped.Stops[0].Status, skipped.Stops[0].SkipReason, skipped.Status));

        // Scanning the label afterwards (its QR code is the asset page's address) replaces the skip.
        var scanned = Ok(await world.Rounds.ConfirmStopAsync(round, new ConfirmStopCommand(InspectionWorld.Command(), stopId, $"https://plant.example/a/{world.MachineCode.ToLowerInvariant()}"), world.Technician, CancellationToken.None));
        Assert.Equal(StopStatus.Confirmed, scanned.Stops[0].Status);
        Assert.Equal(FailureKind.Forbidden, (await world.Rounds.StartAsync(round, new StartRoundCommand(InspectionWorld.Command()), world.Org.OtherTechnician, CancellationToken.None)).Failure?.Kind);
        var incomplete = await world.Rounds.CompleteAsync(round, new CompleteRoundCommand(InspectionWorld.Command()), world.Technician, CancellationToken.None);
        Assert.Equal(("inspection.items_open", 2), (incomplete.Failure?.Main.Code, (int)incomplete.Failure!.Main.Args[0]!));
    }

    [Fact]
    public async Task a_finding_synced_three_times_at_once_makes_one_work_order_with_the_reading_limit_photo_and_round()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var route = await world.RouteAsync("Findings");
        var round = await world.RoundAsync(route.Id, "a");
        var view = await ConfirmAsync(world, round);
        var photo = Ok(await world.Rounds.UploadPhotoAsync("hot.png", "image/png", new MemoryStream(Png), world.Technician, CancellationToken.None));
        var command = new RecordResultCommand(InspectionWorld.Command(), ItemId(view, "Bearing temperature"), Number: 91.5m, PhotoSha256: photo.Sha256, Note: "smells burnt");

        var synced = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => world.Rounds.RecordAsync(round, command, world.Technician, CancellationToken.None)));

        var results = synced.Select(s => Ok(s).Stops[0].Items.Single(i => i.Item.Kind == CheckKind.Number).Result!).ToList();
        Assert.Single(results.Select(r => r.Id).Distinct());
        Assert.All(results, r => Assert.Equal((Verdict.Fail, "alarm_high"), (r.Verdict, r.LimitName)));
        await using var connection = await world.Data.OpenConnectionAsync();
        var workOrder = await connection.QuerySingleAsync<(long Id, string Source, short Priority, string Description, string? Reference)>(
            "SELECT id, source, priority, description, reference FROM work_orders WHERE asset_id = @asset", new { asset = world.Org.MachineId });
        Assert.Equal(results[0].FindingWorkOrderId, workOrder.Id);
        Assert.Equal(("inspection", (short)2, $"inspection-round-{round}"), (workOrder.Source, workOrder.Priority, workOrder.Reference));
        Assert.Contains("91.5 °C", workOrder.Description, StringComparison.Ordinal);
        Assert.Contains("alarm_high 80 °C", workOrder.Description, StringComparison.Ordinal);
        Assert.Contains($"/inspections/rounds/{round}", workOrder.Description, StringComparison.Ordinal);
        var attachment = await connection.QuerySingleAsync<string>("SELECT encode(sha256, 'hex') FROM attachments WHERE work_order_id = @id", new { id = workOrder.Id });
        Assert.Equal(photo.Sha256, attachment);
        var finding = await connection.QuerySingleAsync<(string Reading, string Limit, string Photo, string Round)>(
            "SELECT payload->>'reading', payload->>'limitValue', payload->>'photoSha256', payload->>'roundId' FROM work_order_events WHERE work_order_id = @id AND kind = 'finding'",
            new { id = workOrder.Id });
        Assert.Equal(("91.5", "80", photo.Sha256, round.ToString(System.Globalization.CultureInfo.InvariantCulture)), finding);
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM inspection_findings"));

        // The same command id with another value is not a replay.
        var reused = await world.Rounds.RecordAsync(round, command with { Number = 20 }, world.Technician, CancellationToken.None);
        Assert.Equal("inspection.command_reused", reused.Failure!.Errors!["commandId"][0].Code);
        var again = await world.Rounds.RecordAsync(round, command with { CommandId = InspectionWorld.Command(), Number = 20 }, world.Technician, CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, again.Failure?.Kind);
    }

    [Fact]
    public async Task two_findings_at_once_on_the_same_asset_and_check_make_one_work_order_with_two_occurrences_and_a_closed_one_a_new_order()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var route = await world.RouteAsync("Concurrent", items: [world.Guard()]);
        var first = await world.RoundAsync(route.Id, "a");
        var second = await world.RoundAsync(route.Id, "b");
        var firstView = await ConfirmAsync(world, first);
        await ConfirmAsync(world, second);
        var itemId = ItemId(firstView, "Guard in place");

        var both = await Task.WhenAll(
            world.Rounds.RecordAsync(first, new RecordResultCommand(InspectionWorld.Command(), itemId, Text: "fail"), world.Technician, CancellationToken.None),
            world.Rounds.RecordAsync(second, new RecordResultCommand(InspectionWorld.Command(), itemId, Text: "fail"), world.Technician, CancellationToken.None));

        var findings = both.Select(b => Ok(b).Stops[0].Items[0].Result!).ToList();
        Assert.Single(findings.Select(f => f.FindingWorkOrderId).Distinct());
        Assert.Equal([1, 2], findings.Select(f => f.FindingOccurrence!.Value).Order());
        Assert.Equal([false, true], findings.Select(f => f.FindingCreatedWorkOrder!.Value).Order());
        var workOrderId = findings[0].FindingWorkOrderId!.Value;
        await using var connection = await world.Data.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM work_orders WHERE source = 'inspection'"));
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM work_order_events WHERE work_order_id = @workOrderId AND kind = 'finding'", new { workOrderId }));
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("SELECT occurrences FROM inspection_finding_targets WHERE work_order_id = @workOrderId", new { workOrderId }));

        // Once that work order is done, the next finding opens a new one.
        await connection.ExecuteAsync("UPDATE work_orders SET status = 'closed', closed_at = now() WHERE id = @workOrderId", new { workOrderId });
        var third = await world.RoundAsync(route.Id, "c");
        await ConfirmAsync(world, third);
        var later = Ok(await world.Rounds.RecordAsync(third, new RecordResultCommand(InspectionWorld.Command(), itemId, Text: "fail"), world.Technician, CancellationToken.None)).Stops[0].Items[0].Result!;
        Assert.NotEqual(workOrderId, later.FindingWorkOrderId);
        Assert.Equal((true, 1), (later.FindingCreatedWorkOrder!.Value, later.FindingOccurrence!.Value));
    }

    [Fact]
    public async Task a_reading_of_a_meter_item_is_recorded_on_the_assets_meter_once()
    {
        await using var world = await InspectionWorld.CreateAsync(Start);
        var meter = Ok(await new MeterRegister(world.Data, world.Clock).AddAsync(world.Org.MachineId, new MeterRequest("Run hours", "h"), world.Planner, CancellationToken.None));
        var hours = new ItemRequest(null, "Hour meter", CheckKind.Number, "h", MeterName: "Run hours");
        var route = await world.RouteAsync("Meter", items: [hours]);
        var round = await world.RoundAsync(route.Id, "a");
        var view = await ConfirmAsync(world, round);
        var command = new RecordResultCommand(InspectionWorld.Command(), ItemId(view, "Hour meter"), Number: 1234.5m);

        var recorded = Ok(await world.Rounds.RecordAsync(round, command, world.Technician, CancellationToken.None));
        Ok(await world.Rounds.RecordAsync(round, command, world.Technician, CancellationToken.None));

        var result = recorded.Stops[0].Items[0].Result!;
        Assert.NotNull(result.MeterReadingId);
        var readings = Ok(await new MeterRegister(world.Data, world.Clock).ReadingsAsync(meter.Id, 0, 10, CancellationToken.None));
        var reading = Assert.Single(readings.Items);
        Assert.Equal((1234.5m, "field", result.MeterReadingId!.Value), (reading.Value, reading.Source, reading.Id));
    }
}
