using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The asset register against a real PostgreSQL: every change with its history event, concurrency and the tree rules.</summary>
public class AssetRegisterTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private AssetRegister Register => new(Data, _clock);

    private static string[] Codes(Failure? failure, string field) => failure?.Errors?[field].Select(r => r.Code).ToArray() ?? [];

    private async Task<long> LineIdAsync(TestOrg org) =>
        (await Register.GetAsync(org.MachineId, None)).Value!.Asset.ParentId!.Value;

    private async Task<AssetRecord> NewAsync(TestOrg org, string code, AssetKind kind, long? parentId, AssetState? state = null) =>
        (await Register.GetRecordAsync((await Register.CreateAsync(
            new CreateAssetRequest($"{code}-{org.Suffix}", code, kind, parentId, Lifecycle: state), org[Role.Admin], None)).Value!.Id, None)).Value!;

    [Fact]
    public async Task an_asset_is_registered_with_every_attribute_and_a_created_event()
    {
        var org = await TestOrg.CreateAsync(Data);
        var name = "離心泵 🛠️ Pompe n°2";
        var created = await Register.CreateAsync(
            new CreateAssetRequest(
                $"P-{org.Suffix}", name, AssetKind.Machine, await LineIdAsync(org), "pump", "Hall 2", 4, new DateOnly(2025, 3, 1),
                "Grundfos", "CR 10-4", "SN-778", new DateOnly(2025, 3, 15), 12_500.50m, new DateOnly(2028, 3, 1), AssetState.Planned),
            org[Role.Planner],
            None);

        var record = (await Register.GetRecordAsync(created.Value!.Id, None)).Value!;
        Assert.Equal(
            (name, "pump", "Grundfos", "CR 10-4", "SN-778", new DateOnly(2025, 3, 1), new DateOnly(2025, 3, 15), 4, 12_500.50m, new DateOnly(2028, 3, 1), "Hall 2", AssetState.Planned, 1),
            (record.Name, record.AssetType, record.Manufacturer, record.Model, record.SerialNumber, record.InstalledOn, record.CommissionedOn, record.Criticality, record.Cost, record.WarrantyEndsOn, record.Location, record.Lifecycle, record.RowVersion));
        var history = (await Register.HistoryAsync(record.Id, None)).Value!;
        var only = Assert.Single(history);
        Assert.Equal(("created", AssetState.Planned, org[Role.Planner].UserId), (only.Kind, only.ToState!.Value, only.ActorId!.Value));
        Assert.Equal(name, only.Payload.GetProperty("name").GetString());
        Assert.Equal(_clock.GetUtcNow(), only.OccurredAt);
    }

    [Fact]
    public async Task bad_attributes_are_refused_with_the_field_and_the_reason_and_nothing_is_stored()
    {
        var org = await TestOrg.CreateAsync(Data);
        var outcome = await Register.CreateAsync(
            new CreateAssetRequest(
                "  ", new string('名', 201), AssetKind.Machine, await LineIdAsync(org), Criticality: 6, InstalledOn: new DateOnly(2025, 3, 1),
                CommissionedOn: new DateOnly(2025, 2, 1), Cost: -1, WarrantyEndsOn: new DateOnly(2024, 1, 1), SerialNumber: new string('x', 101)),
            org[Role.Admin],
            None);

        Assert.Equal(FailureKind.Validation, outcome.Failure?.Kind);
        Assert.Equal(["code", "name", "serialNumber", "criticality", "cost", "commissionedOn", "warrantyEndsOn"], outcome.Failure!.Errors!.Keys);
        Assert.Equal(["asset.commissioned_before_installed"], Codes(outcome.Failure, "commissionedOn"));
        Assert.Equal(["asset.cost"], Codes((await Register.CreateAsync(
            new CreateAssetRequest($"Q-{org.Suffix}", "Q", AssetKind.Site, Cost: 1.005m), org[Role.Admin], None)).Failure, "cost"));
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM assets WHERE code = @c", new { c = $"Q-{org.Suffix}" }));
    }

    [Fact]
    public async Task a_name_counts_characters_as_the_database_does_so_200_emoji_pass_and_201_do_not()
    {
        var org = await TestOrg.CreateAsync(Data);
        var emoji = string.Concat(Enumerable.Repeat("🔧", 200));

        var accepted = await Register.CreateAsync(new CreateAssetRequest($"E-{org.Suffix}", emoji, AssetKind.Site), org[Role.Admin], None);
        var refused = await Register.CreateAsync(new CreateAssetRequest($"F-{org.Suffix}", emoji + "🔧", AssetKind.Site), org[Role.Admin], None);

        Assert.Equal(emoji, accepted.Value?.Name);
        Assert.Equal(["field.required_short"], Codes(refused.Failure, "name"));
    }

    [Fact]
    public async Task a_code_in_use_is_refused_on_create_and_on_edit()
    {
        var org = await TestOrg.CreateAsync(Data);
        var taken = await Register.CreateAsync(new CreateAssetRequest($"M-{org.Suffix}", "Twin", AssetKind.Site), org[Role.Admin], None);
        var site = await NewAsync(org, "S2", AssetKind.Site, null);
        var edit = await Register.EditAsync(site.Id, site.ToEdit() with { Code = $"M-{org.Suffix}" }, org[Role.Admin], None);

        Assert.Equal(["asset.code_taken"], Codes(taken.Failure, "code"));
        Assert.Equal(["asset.code_taken"], Codes(edit.Failure, "code"));
    }

    [Fact]
    public async Task an_edit_writes_only_the_changed_fields_before_and_after_and_a_stale_version_is_refused()
    {
        var org = await TestOrg.CreateAsync(Data);
        var machine = (await Register.GetRecordAsync(org.MachineId, None)).Value!;
        _clock.Advance(TimeSpan.FromHours(1));

        var edited = await Register.EditAsync(machine.Id, machine.ToEdit() with { Name = "Pump 2", Cost = 99.5m }, org[Role.Admin], None);
        var stale = await Register.EditAsync(machine.Id, machine.ToEdit() with { Name = "Pump 3" }, org[Role.Planner], None);

        Assert.Equal(("Pump 2", 99.5m, machine.RowVersion + 1, _clock.GetUtcNow()), (edited.Value!.Name, edited.Value.Cost, edited.Value.RowVersion, edited.Value.UpdatedAt));
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        Assert.Equal("asset.stale", stale.Failure!.Reason.Code);
        var events = (await Register.HistoryAsync(machine.Id, None)).Value!.Where(e => e.Kind == "edited").ToList();
        var edit = Assert.Single(events);
        Assert.Equal(["cost", "name"], edit.Payload.GetProperty("before").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(
            ("Pump", JsonValueKind.Null, "Pump 2", 99.5m),
            (edit.Payload.GetProperty("before").GetProperty("name").GetString(), edit.Payload.GetProperty("before").GetProperty("cost").ValueKind,
             edit.Payload.GetProperty("after").GetProperty("name").GetString(), edit.Payload.GetProperty("after").GetProperty("cost").GetDecimal()));
    }

    [Fact]
    public async Task two_edits_from_the_same_version_at_once_let_exactly_one_through()
    {
        var org = await TestOrg.CreateAsync(Data);
        var machine = (await Register.GetRecordAsync(org.MachineId, None)).Value!;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Task.Run(() => Register.EditAsync(machine.Id, machine.ToEdit() with { Name = $"Pump {i}" }, org[Role.Admin], None))));

        Assert.Single(outcomes, o => o.Succeeded);
        Assert.All(outcomes.Where(o => !o.Succeeded), o => Assert.Equal(FailureKind.Conflict, o.Failure!.Kind));
        Assert.Single((await Register.HistoryAsync(machine.Id, None)).Value!, e => e.Kind == "edited");
        Assert.Equal(machine.RowVersion + 1, (await Register.GetRecordAsync(machine.Id, None)).Value!.RowVersion);
    }

    [Fact]
    public async Task a_move_keeps_the_tree_rules_refuses_cycles_and_records_both_parents()
    {
        var org = await TestOrg.CreateAsync(Data);
        var line = await LineIdAsync(org);
        var area = await NewAsync(org, "A", AssetKind.Area, org.SiteId);
        var outer = await NewAsync(org, "C1", AssetKind.Component, org.MachineId);
        var inner = await NewAsync(org, "C2", AssetKind.Component, outer.Id);

        var moved = await Register.MoveAsync(org.MachineId, new MoveAssetRequest(area.Id), org[Role.Admin], None);
        var intoItsOwnPart = await Register.MoveAsync(outer.Id, new MoveAssetRequest(inner.Id), org[Role.Admin], None);
        var machineUnderComponent = await Register.MoveAsync(org.MachineId, new MoveAssetRequest(inner.Id), org[Role.Admin], None);
        var siteUnderArea = await Register.MoveAsync(org.SiteId, new MoveAssetRequest(area.Id), org[Role.Admin], None);
        var lineUnderArea = await Register.MoveAsync(line, new MoveAssetRequest(area.Id), org[Role.Admin], None);

        Assert.Equal(area.Id, moved.Value!.ParentId);
        Assert.Equal(["asset.move_cycle"], Codes(intoItsOwnPart.Failure, "parentId"));
        Assert.Equal(["asset.parent_kind"], Codes(machineUnderComponent.Failure, "parentId"));
        Assert.Equal(["asset.site_without_parent"], Codes(siteUnderArea.Failure, "parentId"));
        Assert.True(lineUnderArea.Succeeded);
        var move = Assert.Single((await Register.HistoryAsync(org.MachineId, None)).Value!, e => e.Kind == "moved");
        Assert.Equal((line, $"L-{org.Suffix}", area.Id, area.Code), (
            move.Payload.GetProperty("fromParentId").GetInt64(), move.Payload.GetProperty("fromParentCode").GetString(),
            move.Payload.GetProperty("toParentId").GetInt64(), move.Payload.GetProperty("toParentCode").GetString()));
        Assert.Equal([org.SiteId, area.Id], (await Register.GetAsync(org.MachineId, None)).Value!.Path.Select(a => a.Id));
    }

    [Fact]
    public async Task the_top_of_the_tree_lists_the_sites_and_an_asset_lists_its_own_children_with_their_counts()
    {
        var org = await TestOrg.CreateAsync(Data);
        var line = await LineIdAsync(org);

        var sites = await Register.ChildrenAsync(null, None);
        var children = await Register.ChildrenAsync(line, None);

        Assert.Contains(sites, a => a.Id == org.SiteId && a.ChildCount > 0);
        Assert.All(sites, a => Assert.Null(a.ParentId));
        Assert.Contains(children, a => a.Id == org.MachineId);
        Assert.All(children, a => Assert.Equal(line, a.ParentId));
    }

    [Fact]
    public async Task crossed_moves_at_the_same_time_never_close_a_cycle()
    {
        var org = await TestOrg.CreateAsync(Data);
        for (var round = 0; round < 8; round++)
        {
            var a = await NewAsync(org, $"CA{round}", AssetKind.Component, org.MachineId);
            var b = await NewAsync(org, $"CB{round}", AssetKind.Component, org.MachineId);

            var outcomes = await Task.WhenAll(
                Task.Run(() => Register.MoveAsync(a.Id, new MoveAssetRequest(b.Id), org[Role.Admin], None)),
                Task.Run(() => Register.MoveAsync(b.Id, new MoveAssetRequest(a.Id), org[Role.Admin], None)));

            var refused = Assert.Single(outcomes, o => !o.Succeeded);
            Assert.Equal(["asset.move_cycle"], Codes(refused.Failure, "parentId"));
            long?[] parents = [(await Register.GetRecordAsync(a.Id, None)).Value!.ParentId, (await Register.GetRecordAsync(b.Id, None)).Value!.ParentId];
            Assert.Single(parents, p => p == org.MachineId);
        }
    }

    [Fact]
    public async Task the_lifecycle_goes_from_planned_to_disposed_with_a_reason_for_each_step()
    {
        var org = await TestOrg.CreateAsync(Data);
        var asset = await NewAsync(org, "LC", AssetKind.Machine, await LineIdAsync(org), AssetState.Planned);
        var part = await NewAsync(org, "LCP", AssetKind.Component, asset.Id);
        (AssetAction Action, AssetState To)[] steps =
        [
            (AssetAction.Commission, AssetState.InService), (AssetAction.StandBy, AssetState.Standby), (AssetAction.StartRepair, AssetState.UnderRepair),
            (AssetAction.FinishRepair, AssetState.InService), (AssetAction.Decommission, AssetState.Decommissioned),
        ];

        foreach (var (action, to) in steps)
        {
            _clock.Advance(TimeSpan.FromDays(1));
            var changed = await Register.ChangeLifecycleAsync(asset.Id, new AssetLifecycleRequest(action, $"because {action}"), org[Role.Planner], None);
            Assert.Equal(to, changed.Value?.Lifecycle);
        }

        var noReason = await Register.ChangeLifecycleAsync(asset.Id, new AssetLifecycleRequest(AssetAction.Dispose, " "), org[Role.Admin], None);
        var partStanding = await Register.ChangeLifecycleAsync(asset.Id, new AssetLifecycleRequest(AssetAction.Dispose, "scrapped"), org[Role.Admin], None);
        await Register.ChangeLifecycleAsync(part.Id, new AssetLifecycleRequest(AssetAction.Decommission, "with its machine"), org[Role.Admin], None);
        await Register.ChangeLifecycleAsync(part.Id, new AssetLifecycleRequest(AssetAction.Dispose, "with its machine"), org[Role.Admin], None);
        var disposed = await Register.ChangeLifecycleAsync(asset.Id, new AssetLifecycleRequest(AssetAction.Dispose, "scrapped"), org[Role.Admin], None);
        var afterDisposal = await Register.ChangeLifecycleAsync(asset.Id, new AssetLifecycleRequest(AssetAction.Recommission, "changed my mind"), org[Role.Admin], None);

        Assert.Equal(["field.required"], Codes(noReason.Failure, "reason"));
        Assert.Equal("asset.children_not_disposed", partStanding.Failure?.Reason.Code);
        Assert.Equal(AssetState.Disposed, disposed.Value?.Lifecycle);
        Assert.Equal((FailureKind.IllegalTransition, "asset.lifecycle_illegal"), (afterDisposal.Failure!.Kind, afterDisposal.Failure.Reason.Code));
        var lifecycle = (await Register.HistoryAsync(asset.Id, None)).Value!.Where(e => e.Kind == "lifecycle").ToList();
        Assert.Equal(
            [(AssetState.Planned, AssetState.InService, "because Commission"), (AssetState.InService, AssetState.Standby, "because StandBy"),
             (AssetState.Standby, AssetState.UnderRepair, "because StartRepair"), (AssetState.UnderRepair, AssetState.InService, "because FinishRepair"),
             (AssetState.InService, AssetState.Decommissioned, "because Decommission"), (AssetState.Decommissioned, AssetState.Disposed, "scrapped")],
            lifecycle.Select(e => (e.FromState!.Value, e.ToState!.Value, e.Note!)));
    }

    [Fact]
    public async Task asset_history_is_append_only()
    {
        var org = await TestOrg.CreateAsync(Data);
        var asset = await NewAsync(org, "H", AssetKind.Site, null);
        await using var connection = await Data.OpenConnectionAsync();

        var update = await Assert.ThrowsAsync<PostgresException>(() =>
            connection.ExecuteAsync("UPDATE asset_events SET note = 'rewritten' WHERE asset_id = @id", new { id = asset.Id }));
        var delete = await Assert.ThrowsAsync<PostgresException>(() =>
            connection.ExecuteAsync("DELETE FROM asset_events WHERE asset_id = @id", new { id = asset.Id }));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, update.SqlState);
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, delete.SqlState);
        Assert.Single((await Register.HistoryAsync(asset.Id, None)).Value!);
    }

    [Theory]
    [InlineData(Role.Admin, true)]
    [InlineData(Role.Planner, true)]
    [InlineData(Role.Manager, false)]
    [InlineData(Role.Technician, false)]
    [InlineData(Role.ReliabilityEngineer, false)]
    [InlineData(Role.Requester, false)]
    public async Task administrators_and_planners_write_the_register_and_the_others_read_it(Role role, bool writes)
    {
        var org = await TestOrg.CreateAsync(Data);
        var machine = (await Register.GetRecordAsync(org.MachineId, None)).Value!;

        Outcome<AssetRecord>[] outcomes =
        [
            await Register.EditAsync(machine.Id, machine.ToEdit() with { Name = "Renamed" }, org[role], None),
            await Register.ChangeLifecycleAsync(machine.Id, new AssetLifecycleRequest(AssetAction.StandBy, "weekend"), org[role], None),
            await Register.MoveAsync(machine.Id, new MoveAssetRequest(org.SiteId), org[role], None),
        ];
        var created = await Register.CreateAsync(new CreateAssetRequest($"R-{org.Suffix}", "R", AssetKind.Site), org[role], None);

        Assert.All(outcomes, o => Assert.Equal(writes ? null : FailureKind.Forbidden, o.Failure?.Kind));
        Assert.Equal(writes ? null : FailureKind.Forbidden, created.Failure?.Kind);
    }

    [Fact]
    public async Task the_register_lists_by_kind_type_state_place_and_text()
    {
        var org = await TestOrg.CreateAsync(Data);
        var line = await LineIdAsync(org);
        var spare = await NewAsync(org, "SPARE", AssetKind.Machine, line, AssetState.Planned);
        await NewAsync(org, "OTHERSITE", AssetKind.Site, null);

        var under = await Register.ListAsync(new AssetQuery(Under: org.SiteId), None);
        var planned = await Register.ListAsync(new AssetQuery(Lifecycle: AssetState.Planned, Under: org.SiteId), None);
        var pumps = await Register.ListAsync(new AssetQuery(Kind: AssetKind.Machine, Type: "PUMP", Text: org.Suffix), None);
        var paged = await Register.ListAsync(new AssetQuery(Under: org.SiteId, Skip: 1, Take: 1), None);

        Assert.Equal([$"L-{org.Suffix}", $"M-{org.Suffix}", spare.Code], under.Items.Select(a => a.Code));
        Assert.Equal([spare.Code], planned.Items.Select(a => a.Code));
        Assert.Equal([$"M-{org.Suffix}"], pumps.Items.Select(a => a.Code));
        Assert.Equal((3, $"M-{org.Suffix}"), (paged.Total, Assert.Single(paged.Items).Code));
        Assert.Equal($"L-{org.Suffix}", under.Items[1].ParentCode);
    }

    [Fact]
    public async Task no_new_work_on_a_disposed_asset_and_work_on_a_decommissioned_one_keeps_its_reason()
    {
        var org = await TestOrg.CreateAsync(Data);
        var create = new CreateWorkOrder(Data, _clock);
        var request = new CreateWorkOrderRequest(
            org.TemplateId, "Check the pump", "Before it leaves.", 2, null, org.MachineId,
            CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });
        await Register.ChangeLifecycleAsync(org.MachineId, new AssetLifecycleRequest(AssetAction.Decommission, "line closed"), org[Role.Admin], None);

        var withoutReason = await create.HandleAsync(request, org[Role.Requester], WorkOrderSource.Web, null, None);
        var withReason = await create.HandleAsync(request with { DecommissionedReason = "drain it before sale" }, org[Role.Requester], WorkOrderSource.Web, null, None);
        await Register.ChangeLifecycleAsync(org.MachineId, new AssetLifecycleRequest(AssetAction.Dispose, "sold"), org[Role.Admin], None);
        var onDisposed = await create.HandleAsync(request with { DecommissionedReason = "one more" }, org[Role.Requester], WorkOrderSource.Web, null, None);

        Assert.Equal(["asset.decommissioned_reason"], Codes(withoutReason.Failure, "decommissionedReason"));
        Assert.Equal(["asset.disposed_no_work"], Codes(onDisposed.Failure, "assetId"));
        await using var connection = await Data.OpenConnectionAsync();
        var (note, payload) = await connection.QuerySingleAsync<(string, string)>(
            "SELECT note, payload->>'decommissionedReason' FROM work_order_events WHERE work_order_id = @id AND kind = 'created'", new { id = withReason.Value!.Id });
        Assert.Equal(("drain it before sale", "drain it before sale"), (note, payload));
    }
}
