using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Stocktaking;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Stocktaking;

/// <summary>Stocktaking against a real PostgreSQL database: the count, the register it corrects, and the work it raises.</summary>
public class StocktakeTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private Stocktakes Service => new(Data, new AssetRegister(Data, _clock), new CreateWorkOrder(Data, _clock), _clock, Options.Create(new TicketingOptions()));

    private static CancellationToken None => CancellationToken.None;

    /// <summary>
    /// Site > area > lines L1 and L2; M1 and M2 on L1, M3 (criticality 5) and M4 on L2, M5 directly in the area; a component
    /// under M1. The site is owned by the org's department, which has a corrective template a machine can fill.
    /// </summary>
    private sealed record World(TestOrg Org, long Site, long Area, long L1, long L2, long M1, long M2, long M3, long M4, long M5, long Component, long Template);

    private async Task<World> WorldAsync()
    {
        var org = await TestOrg.CreateAsync(Data);
        await using var connection = await Data.OpenConnectionAsync();
        var s = org.Suffix;
        async Task<long> Asset(string code, string kind, long parent, int criticality = 3) => await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind, parent_id, criticality) VALUES (@code, @name, @kind, @parent, @criticality) RETURNING id",
            new { code = $"{code}-{s}", name = $"{code} name", kind, parent, criticality });
        await connection.ExecuteAsync("UPDATE assets SET owner_department_id = @d WHERE id = @site", new { d = org.DepartmentId, site = org.SiteId });
        var area = await Asset("AREA", "area", org.SiteId);
        var l1 = await Asset("L1", "line", area);
        var l2 = await Asset("L2", "line", area);
        var m1 = await Asset("M1", "machine", l1);
        var m2 = await Asset("M2", "machine", l1);
        var m3 = await Asset("M3", "machine", l2, criticality: 5);
        var m4 = await Asset("M4", "machine", l2);
        var m5 = await Asset("M5", "machine", area, criticality: 4);
        var component = await Asset("C1", "component", m1);
        var template = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@n, 'corrective', 3, @d) RETURNING id",
            new { n = $"Asset search {s}", d = org.DepartmentId });
        return new World(org, org.SiteId, area, l1, l2, m1, m2, m3, m4, m5, component, template);
    }

    private async Task<StocktakeDetail> StartAsync(World world, long? root = null)
    {
        var created = await Service.CreateAsync(new NewStocktakeRequest(Guid.NewGuid(), root ?? world.Area, world.Org[Role.Technician].UserId), world.Org[Role.Planner], None);
        Assert.True(created.Succeeded, created.Failure?.Message);
        return (await Service.GetAsync(created.Value!.Stocktake.Id, None)).Value!;
    }

    private static StocktakeItem Item(StocktakeDetail detail, long assetId) => detail.Items.Single(i => i.AssetId == assetId);

    private static StocktakeStop Stop(StocktakeDetail detail, long locationId) => detail.Stops.Single(s => s.LocationId == locationId);

    [Fact]
    public async Task found_missing_and_moved_assets_end_as_the_report_says_and_the_register_history_shows_the_move()
    {
        var world = await WorldAsync();
        var counter = world.Org[Role.Technician];
        var detail = await StartAsync(world);
        Assert.Equal([world.Area, world.L1, world.L2], detail.Stops.Select(s => s.LocationId));
        Assert.Equal(5, detail.Items.Count);
        var id = detail.Summary.Id;

        var confirmed = await Service.ConfirmStopAsync(
            id, new ConfirmStopRequest(Guid.NewGuid(), Stop(detail, world.L1).Id, ConfirmMethod.Scanned, $"https://plant.example/a/L1-{world.Org.Suffix}"), counter, None);
        var found = await Service.MarkAsync(
            id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M1).Id, ItemOutcome.Found, AssetCondition.Fair, Photo: new PhotoUpload("image/png", Convert.ToBase64String(Png))),
            counter, None);
        var moved = await Service.MarkAsync(
            id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M2).Id, ItemOutcome.Elsewhere, AssetCondition.Good, FoundLocationId: world.L2), counter, None);
        var missing = await Service.MarkAsync(id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M4).Id, ItemOutcome.Missing), counter, None);
        var unregistered = await Service.AddUnexpectedAsync(
            id, new AddUnexpectedRequest(Guid.NewGuid(), Stop(detail, world.L2).Id, Description: "=Pallet jack, yellow"), counter, None);
        var closed = await Service.CloseAsync(id, new CloseStocktakeRequest(Guid.NewGuid()), counter, None);

        Assert.True(confirmed.Succeeded && found.Succeeded && moved.Succeeded && missing.Succeeded && unregistered.Succeeded && closed.Succeeded);
        Assert.Equal(ConfirmMethod.Scanned, confirmed.Value!.Stop.ConfirmedHow);
        Assert.Equal((ItemOutcome.Found, AssetCondition.Fair), (found.Value!.Item.Outcome, found.Value.Item.Condition));
        Assert.NotNull(found.Value.Item.PhotoSha256);
        Assert.Equal(2, closed.Value!.MarkedMissing);

        var report = (await Service.ReportAsync(id, None)).Value!;
        var l1 = report.Lines.Single(l => l.StopId == Stop(detail, world.L1).Id);
        var l2 = report.Lines.Single(l => l.StopId == Stop(detail, world.L2).Id);
        var area = report.Lines.Single(l => l.StopId == Stop(detail, world.Area).Id);
        Assert.Equal((2, 1, 0, 1, 0, 0), (l1.Expected, l1.Found, l1.Missing, l1.Moved, l1.Unexpected, l1.Pending));
        Assert.Equal((2, 0, 2, 0, 1, 0), (l2.Expected, l2.Found, l2.Missing, l2.Moved, l2.Unexpected, l2.Pending));
        Assert.Equal((1, 0, 1, 0, 0, 0), (area.Expected, area.Found, area.Missing, area.Moved, area.Unexpected, area.Pending));
        Assert.Equal((5, 1, 3, 1, 1, 0), (report.Totals.Expected, report.Totals.Found, report.Totals.Missing, report.Totals.Moved, report.Totals.Unexpected, report.Totals.Pending));

        // The register follows the count: M2 now stands on L2, the others where they were, and M2's history shows the move.
        var register = new AssetRegister(Data, _clock);
        Assert.Equal(world.L2, (await register.GetRecordAsync(world.M2, None)).Value!.ParentId);
        Assert.Equal(world.L1, (await register.GetRecordAsync(world.M1, None)).Value!.ParentId);
        Assert.Equal(world.L2, (await register.GetRecordAsync(world.M4, None)).Value!.ParentId);
        var move = Assert.Single((await register.HistoryAsync(world.M2, None)).Value!, e => e.Kind == "moved");
        Assert.Equal((world.L1, world.L2), (move.Payload.GetProperty("fromParentId").GetInt64(), move.Payload.GetProperty("toParentId").GetInt64()));
        Assert.Equal(counter.UserId, move.ActorId);
        Assert.Contains($"Stocktake {id}", move.Note, StringComparison.Ordinal);
        Assert.DoesNotContain((await register.HistoryAsync(world.M1, None)).Value!, e => e.Kind == "moved");
    }

    [Fact]
    public async Task replaying_every_command_changes_nothing_and_a_reused_command_id_is_refused()
    {
        var world = await WorldAsync();
        var counter = world.Org[Role.Technician];
        var create = new NewStocktakeRequest(Guid.NewGuid(), world.Area, counter.UserId);
        var first = await Service.CreateAsync(create, world.Org[Role.Planner], None);
        var again = await Service.CreateAsync(create, world.Org[Role.Planner], None);
        Assert.Equal(first.Value!.Stocktake.Id, again.Value!.Stocktake.Id);
        Assert.True(again.Value.Replayed);
        var id = first.Value.Stocktake.Id;
        var detail = (await Service.GetAsync(id, None)).Value!;

        var moveM2 = new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M2).Id, ItemOutcome.Elsewhere, FoundLocationId: world.L2);
        var addM1 = new AddUnexpectedRequest(Guid.NewGuid(), Stop(detail, world.L1).Id, AssetCode: $"M1-{world.Org.Suffix}");
        var addThing = new AddUnexpectedRequest(Guid.NewGuid(), Stop(detail, world.L1).Id, Description: "Ladder");
        var confirm = new ConfirmStopRequest(Guid.NewGuid(), Stop(detail, world.L1).Id, ConfirmMethod.Typed, $"L1-{world.Org.Suffix}");
        var close = new CloseStocktakeRequest(Guid.NewGuid());
        Assert.True((await Service.MarkAsync(id, moveM2, counter, None)).Succeeded);
        Assert.True((await Service.AddUnexpectedAsync(id, addM1, counter, None)).Succeeded);
        Assert.True((await Service.AddUnexpectedAsync(id, addThing, counter, None)).Succeeded);
        Assert.True((await Service.ConfirmStopAsync(id, confirm, counter, None)).Succeeded);
        Assert.True((await Service.CloseAsync(id, close, counter, None)).Succeeded);
        var before = await SnapshotAsync(id, world);

        // The field app sends everything again, some twice and out of order, after the stocktake closed.
        var replays = new List<bool>
        {
            (await Service.AddUnexpectedAsync(id, addThing, counter, None)).Value!.Replayed,
            (await Service.MarkAsync(id, moveM2, counter, None)).Value!.Replayed,
            (await Service.CloseAsync(id, close, counter, None)).Value!.Replayed,
            (await Service.ConfirmStopAsync(id, confirm, counter, None)).Value!.Replayed,
            (await Service.AddUnexpectedAsync(id, addM1, counter, None)).Value!.Replayed,
            (await Service.MarkAsync(id, moveM2, counter, None)).Value!.Replayed,
        };
        var reused = await Service.MarkAsync(id, moveM2 with { Outcome = ItemOutcome.Missing, FoundLocationId = null }, counter, None);
        var afterClose = await Service.MarkAsync(id, moveM2 with { CommandId = Guid.NewGuid(), Outcome = ItemOutcome.Found }, counter, None);

        Assert.All(replays, Assert.True);
        Assert.Equal(before, await SnapshotAsync(id, world));
        Assert.Equal("stocktake.command_reused", reused.Failure!.Errors!["commandId"][0].Code);
        Assert.Equal(("stocktake.closed", FailureKind.IllegalTransition), (afterClose.Failure!.Reason.Code, afterClose.Failure.Kind));
        Assert.Equal(before, await SnapshotAsync(id, world));
    }

    [Fact]
    public async Task a_missing_critical_asset_raises_one_work_order_to_its_owner_department_when_two_instances_close_at_once()
    {
        var world = await WorldAsync();
        var detail = await StartAsync(world);
        var id = detail.Summary.Id;
        var counter = world.Org[Role.Technician];
        await Service.MarkAsync(id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M5).Id, ItemOutcome.Found), counter, None);

        // Two app instances, each with its own service and connection, close with their own command ids at the same time.
        var instances = Enumerable.Range(0, 2)
            .Select(_ => new Stocktakes(Data, new AssetRegister(Data, _clock), new CreateWorkOrder(Data, _clock), _clock, Options.Create(new TicketingOptions())))
            .ToList();
        var closes = await Task.WhenAll(instances.Select(s => s.CloseAsync(id, new CloseStocktakeRequest(Guid.NewGuid()), counter, None)));
        var closedAgain = await Service.CloseAsync(id, new CloseStocktakeRequest(Guid.NewGuid()), world.Org[Role.Manager], None);

        Assert.All(closes, c => Assert.True(c.Succeeded, c.Failure?.Message));
        Assert.Single(closes, c => !c.Value!.Replayed);
        Assert.True(closedAgain.Value!.Replayed);
        await using var connection = await Data.OpenConnectionAsync();
        var orders = (await connection.QueryAsync<(long AssetId, long DepartmentId, long TemplateId, int Priority, string Source)>(
            "SELECT asset_id, department_id, template_id, priority, source FROM work_orders WHERE reference LIKE @r",
            new { r = $"stocktake-{id}-%" })).ToList();
        var order = Assert.Single(orders);
        Assert.Equal((world.M3, world.Org.DepartmentId, world.Template, 1, "inspection"), order);
        var m3 = (await Service.GetAsync(id, None)).Value!.Items.Single(i => i.AssetId == world.M3);
        Assert.NotNull(m3.WorkOrderNumber);
    }

    [Fact]
    public async Task the_work_goes_to_the_nearest_owner_in_the_tree_which_a_planner_sets_with_a_history_event()
    {
        var world = await WorldAsync();
        long other;
        await using (var connection = await Data.OpenConnectionAsync())
        {
            other = await connection.ExecuteScalarAsync<long>("SELECT id FROM departments WHERE name = @n", new { n = $"Other {world.Org.Suffix}" });
            await connection.ExecuteAsync(
                "INSERT INTO templates (name, work_type, default_priority, department_id) VALUES (@n, 'corrective', 3, @other)", new { n = $"Other search {world.Org.Suffix}", other });
        }

        var register = new AssetRegister(Data, _clock);
        var byTechnician = await register.SetOwnerAsync(world.L2, new AssetOwnerRequest(other), world.Org[Role.Technician], None);
        var unknown = await register.SetOwnerAsync(world.L2, new AssetOwnerRequest(long.MaxValue), world.Org[Role.Planner], None);
        var owned = await register.SetOwnerAsync(world.L2, new AssetOwnerRequest(other), world.Org[Role.Planner], None);
        var detail = await StartAsync(world);
        await Service.CloseAsync(detail.Summary.Id, new CloseStocktakeRequest(Guid.NewGuid()), world.Org[Role.Technician], None);

        Assert.Equal(FailureKind.Forbidden, byTechnician.Failure!.Kind);
        Assert.Equal("department.missing", unknown.Failure!.Errors!["departmentId"][0].Code);
        Assert.Equal((other, other), (owned.Value!.DepartmentId, owned.Value.OwnerDepartmentId));
        Assert.Equal(other, (await register.OwnerAsync(world.M3, None)).Value!.OwnerDepartmentId);
        Assert.Equal(world.Org.DepartmentId, (await register.OwnerAsync(world.M5, None)).Value!.OwnerDepartmentId);
        var edited = Assert.Single((await register.HistoryAsync(world.L2, None)).Value!, e => e.Kind == "edited");
        Assert.Equal(other, edited.Payload.GetProperty("after").GetProperty("ownerDepartmentId").GetInt64());
        await using var check = await Data.OpenConnectionAsync();
        var departments = (await check.QueryAsync<(long AssetId, long DepartmentId)>(
            "SELECT asset_id, department_id FROM work_orders WHERE reference LIKE @r ORDER BY asset_id", new { r = $"stocktake-{detail.Summary.Id}-%" })).ToList();
        Assert.Equal([(world.M3, other), (world.M5, world.Org.DepartmentId)], departments);
    }

    [Fact]
    public async Task the_same_command_sent_eight_times_at_once_applies_once_and_moves_the_asset_once()
    {
        var world = await WorldAsync();
        var detail = await StartAsync(world);
        var move = new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M1).Id, ItemOutcome.Elsewhere, AssetCondition.Good, world.L2);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Service.MarkAsync(detail.Summary.Id, move, world.Org[Role.Technician], None))));

        Assert.All(results, r => Assert.True(r.Succeeded, r.Failure?.Message));
        Assert.Single(results, r => !r.Value!.Replayed);
        Assert.Single((await new AssetRegister(Data, _clock).HistoryAsync(world.M1, None)).Value!, e => e.Kind == "moved");
    }

    [Fact]
    public async Task the_expected_list_is_a_snapshot_that_later_register_changes_do_not_alter()
    {
        var world = await WorldAsync();
        var detail = await StartAsync(world);
        await using (var connection = await Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "INSERT INTO assets (code, name, kind, parent_id) VALUES (@c, 'New', 'machine', @l1)", new { c = $"NEW-{world.Org.Suffix}", l1 = world.L1 });
            await connection.ExecuteAsync("UPDATE assets SET name = 'Renamed' WHERE id = @m", new { m = world.M1 });
        }

        var later = (await Service.GetAsync(detail.Summary.Id, None)).Value!;

        Assert.Equal(detail.Items.Select(i => (i.AssetId, i.Name)), later.Items.Select(i => (i.AssetId, i.Name)));
        Assert.DoesNotContain(later.Items, i => i.AssetId == world.Component);
    }

    [Fact]
    public async Task wrong_input_is_refused_naming_the_field_and_nothing_is_stored()
    {
        var world = await WorldAsync();
        var counter = world.Org[Role.Technician];
        var detail = await StartAsync(world);
        var id = detail.Summary.Id;
        var l1 = Stop(detail, world.L1).Id;

        var machineRoot = await Service.CreateAsync(new NewStocktakeRequest(Guid.NewGuid(), world.M1, counter.UserId), world.Org[Role.Planner], None);
        var byTechnician = await Service.CreateAsync(new NewStocktakeRequest(Guid.NewGuid(), world.Area, counter.UserId), counter, None);
        var wrongPlace = await Service.ConfirmStopAsync(id, new ConfirmStopRequest(Guid.NewGuid(), l1, ConfirmMethod.Typed, $"L2-{world.Org.Suffix}"), counter, None);
        var noLocation = await Service.MarkAsync(id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M1).Id, ItemOutcome.Elsewhere), counter, None);
        var machineAsPlace = await Service.MarkAsync(
            id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M1).Id, ItemOutcome.Elsewhere, FoundLocationId: world.M3), counter, None);
        var badPhoto = await Service.MarkAsync(
            id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M1).Id, ItemOutcome.Found, Photo: new PhotoUpload("image/png", Convert.ToBase64String("not a png"u8.ToArray()))),
            counter, None);
        var both = await Service.AddUnexpectedAsync(id, new AddUnexpectedRequest(Guid.NewGuid(), l1, "X", "Y"), counter, None);
        var unknown = await Service.AddUnexpectedAsync(id, new AddUnexpectedRequest(Guid.NewGuid(), l1, AssetCode: "NO-SUCH-CODE"), counter, None);
        var outsider = await Service.MarkAsync(id, new MarkItemRequest(Guid.NewGuid(), Item(detail, world.M1).Id, ItemOutcome.Found), world.Org.OtherTechnician, None);

        Assert.Equal("stocktake.root_not_location", machineRoot.Failure!.Errors!["rootId"][0].Code);
        Assert.Equal(FailureKind.Forbidden, byTechnician.Failure!.Kind);
        Assert.Equal("stocktake.wrong_location", wrongPlace.Failure!.Errors!["code"][0].Code);
        Assert.Equal("stocktake.elsewhere_needs_location", noLocation.Failure!.Errors!["foundLocationId"][0].Code);
        Assert.Equal("stocktake.not_a_location", machineAsPlace.Failure!.Errors!["foundLocationId"][0].Code);
        Assert.Equal("attachment.content", badPhoto.Failure!.Errors!["photo.base64"][0].Code);
        Assert.Equal("stocktake.code_or_description", both.Failure!.Errors!["description"][0].Code);
        Assert.Equal("stocktake.unknown_code", unknown.Failure!.Errors!["assetCode"][0].Code);
        Assert.Equal(FailureKind.Forbidden, outsider.Failure!.Kind);
        var after = (await Service.GetAsync(id, None)).Value!;
        Assert.All(after.Items, i => Assert.Equal(ItemOutcome.Pending, i.Outcome));
        Assert.All(after.Stops, s => Assert.Null(s.ConfirmedAt));
    }

    [Fact]
    public async Task an_unexpected_asset_expected_at_another_stop_is_marked_found_elsewhere_and_moved()
    {
        var world = await WorldAsync();
        var detail = await StartAsync(world);
        var counter = world.Org[Role.Technician];

        var added = await Service.AddUnexpectedAsync(
            detail.Summary.Id, new AddUnexpectedRequest(Guid.NewGuid(), Stop(detail, world.L2).Id, AssetCode: $"M1-{world.Org.Suffix}", Condition: AssetCondition.Damaged), counter, None);

        Assert.Equal((ItemOutcome.Elsewhere, world.L2, AssetCondition.Damaged), (added.Value!.Item.Outcome, added.Value.Item.FoundLocationId!.Value, added.Value.Item.Condition!.Value));
        Assert.Equal(world.L2, (await new AssetRegister(Data, _clock).GetRecordAsync(world.M1, None)).Value!.ParentId);
    }

    [Theory]
    [InlineData("https://plant.example/a/CODE", "CODE")]
    [InlineData("https://plant.example/base/a/L%C3%AFne%201", "Lïne 1")]
    [InlineData("  CODE ", "CODE")]
    [InlineData("", null)]
    public void a_scanned_label_gives_the_code_of_its_address_or_its_text(string scanned, string? code) =>
        Assert.Equal(code, Stocktakes.ScannedCode(scanned));

    private async Task<string> SnapshotAsync(long id, World world)
    {
        await using var connection = await Data.OpenConnectionAsync();
        var items = await connection.QueryAsync<string>(
            "SELECT concat_ws('|', id, stop_id, asset_id, outcome, found_location_id, condition, marked_at, work_order_id) FROM stocktake_items WHERE stocktake_id = @id ORDER BY id",
            new { id });
        var stops = await connection.QueryAsync<string>(
            "SELECT concat_ws('|', id, confirmed_at, confirmed_how) FROM stocktake_stops WHERE stocktake_id = @id ORDER BY id", new { id });
        var events = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM asset_events WHERE asset_id = ANY(@ids)", new { ids = new[] { world.M1, world.M2, world.M3, world.M4, world.M5 } });
        var orders = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE reference LIKE @r", new { r = $"stocktake-{id}-%" });
        return string.Join("\n", items.Concat(stops).Append($"events {events}").Append($"orders {orders}"));
    }
}
