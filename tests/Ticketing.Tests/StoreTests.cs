using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>The feature services against a real PostgreSQL database. Each test makes its own organisation.</summary>
public class StoreTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private CreateWorkOrder Create => new(Data, _clock);

    private ApplyTransition Transitions => new(Data, _clock);

    private WorkOrderQueries Queries => new(Data);

    private Attachments Files => new(Data, _clock, Options.Create(new TicketingOptions { MaxAttachmentBytes = 1024 }));

    private static CreateWorkOrderRequest Request(TestOrg org, string title = "Pump leaks") => new(
        org.TemplateId, title, "Oil under the pump.", 2, "ext. 12", org.MachineId,
        CustomFields: new() { ["fault_code"] = JsonSerializer.SerializeToElement("leak") });

    private async Task<CreatedWorkOrder> NewWorkOrderAsync(TestOrg org, string title = "Pump leaks") =>
        (await Create.HandleAsync(Request(org, title), org[Role.Requester], WorkOrderSource.Web, null, CancellationToken.None)).Value!;

    private async Task<TransitionResult> StepAsync(long id, Actor actor, WorkOrderAction action, string? note = null, long? assigneeId = null, int? rating = null)
    {
        var version = (await Queries.GetAsync(id, actor, CancellationToken.None)).Value!.RowVersion;
        _clock.Advance(TimeSpan.FromMinutes(30));
        var outcome = await Transitions.HandleAsync(id, new TransitionRequest(WireNames.Of(action), note, assigneeId, rating, version), actor, CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    [Fact]
    public async Task a_new_work_order_is_stored_with_a_yearly_number_and_its_created_event()
    {
        var org = await TestOrg.CreateAsync(Data);

        var created = await NewWorkOrderAsync(org, "Spindle noise 主軸異音");

        Assert.Matches(@"^WO-2026-\d{6}$", created.Number);
        var detail = (await Queries.GetAsync(created.Id, org[Role.Requester], CancellationToken.None)).Value!;
        Assert.Equal("Spindle noise 主軸異音", detail.Title);
        Assert.Equal(WorkOrderStatus.New, detail.Status);
        Assert.Equal(org.DepartmentId, detail.DepartmentId);
        Assert.Equal(WorkOrderSource.Web, detail.Source);
        Assert.Equal("leak", detail.CustomFields["fault_code"].GetString());
        // With no assignment rule for its template, the work order waits in the department queue.
        Assert.Equal(["created", "queued"], detail.History.Select(e => e.Kind));
        var created_ = detail.History[0];
        Assert.Equal("created", created_.Kind);
        Assert.Equal(WorkOrderStatus.New, created_.ToStatus);
        Assert.Equal(org[Role.Requester].UserId, created_.ActorId);
    }

    [Fact]
    public async Task numbers_follow_each_other_within_a_year()
    {
        var org = await TestOrg.CreateAsync(Data);
        var first = await NewWorkOrderAsync(org);
        var second = await NewWorkOrderAsync(org);
        Assert.True(int.Parse(second.Number[8..]) > int.Parse(first.Number[8..]));
    }

    [Fact]
    public async Task a_refused_create_stores_nothing()
    {
        var org = await TestOrg.CreateAsync(Data);
        var bad = Request(org) with { AssetId = 987654321 };

        var outcome = await Create.HandleAsync(bad, org[Role.Requester], WorkOrderSource.Api, "key-1", CancellationToken.None);

        Assert.Contains("does not exist", outcome.Failure!.Texts(CultureInfo.InvariantCulture)["assetId"][0], StringComparison.Ordinal);
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE template_id = @TemplateId", new { org.TemplateId }));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM idempotency_keys WHERE user_id = @id", new { id = org[Role.Requester].UserId }));
    }

    [Fact]
    public async Task a_retried_create_with_the_same_key_returns_the_first_work_order()
    {
        var org = await TestOrg.CreateAsync(Data);
        var requester = org[Role.Requester];

        var first = (await Create.HandleAsync(Request(org), requester, WorkOrderSource.Api, "retry-1", CancellationToken.None)).Value!;
        var again = (await Create.HandleAsync(Request(org), requester, WorkOrderSource.Api, "retry-1", CancellationToken.None)).Value!;

        Assert.False(first.Replayed);
        Assert.True(again.Replayed);
        Assert.Equal(first.Id, again.Id);
        var reused = await Create.HandleAsync(Request(org, "Something else"), requester, WorkOrderSource.Api, "retry-1", CancellationToken.None);
        Assert.Contains("different request", reused.Failure!.Texts(CultureInfo.InvariantCulture)["Idempotency-Key"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task concurrent_retries_with_one_key_make_exactly_one_work_order()
    {
        var org = await TestOrg.CreateAsync(Data);
        var requester = org[Role.Requester];

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Create.HandleAsync(Request(org), requester, WorkOrderSource.Api, "burst", CancellationToken.None)));

        Assert.All(outcomes, o => Assert.True(o.Succeeded, o.Failure?.Message));
        Assert.Single(outcomes.Select(o => o.Value!.Id).Distinct());
        Assert.Single(outcomes, o => !o.Value!.Replayed);
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE template_id = @TemplateId", new { org.TemplateId }));
    }

    [Fact]
    public async Task the_whole_cycle_leaves_a_complete_ordered_history()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;
        var manager = org[Role.Manager];
        var technician = org[Role.Technician];

        await StepAsync(id, manager, WorkOrderAction.Assign, assigneeId: technician.UserId);
        await StepAsync(id, technician, WorkOrderAction.Start);
        await StepAsync(id, technician, WorkOrderAction.Hold, "waiting for a seal");
        await StepAsync(id, technician, WorkOrderAction.Resume);
        await StepAsync(id, technician, WorkOrderAction.Resolve, "seal replaced");
        await StepAsync(id, manager, WorkOrderAction.Reject, "still drips");
        await StepAsync(id, technician, WorkOrderAction.Resolve, "tightened");
        var last = await StepAsync(id, org[Role.Requester], WorkOrderAction.Approve, rating: 5);

        var detail = (await Queries.GetAsync(id, manager, CancellationToken.None)).Value!;
        Assert.Equal(WorkOrderStatus.Closed, detail.Status);
        Assert.Equal(last.RowVersion, detail.RowVersion);
        Assert.Equal(9, detail.RowVersion);
        Assert.Equal(5, detail.Rating);
        Assert.Equal(
            ["created", "queued", "assign", "start", "hold", "resume", "resolve", "reject", "resolve", "approve"],
            detail.History.Select(e => e.Kind));
        Assert.Equal("waiting for a seal", detail.History[4].Note);
        Assert.Equal(technician.UserId, detail.History[2].Payload.GetProperty("assigneeId").GetInt64());
        Assert.True(detail.AcknowledgedAt < detail.ResolvedAt && detail.ResolvedAt < detail.ClosedAt);
        Assert.Empty(detail.AllowedActions);
    }

    [Fact]
    public async Task a_stale_row_version_is_a_conflict_and_changes_nothing()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;
        await StepAsync(id, org[Role.Manager], WorkOrderAction.Assign, assigneeId: org[Role.Technician].UserId);

        var stale = await Transitions.HandleAsync(id, new TransitionRequest("start", RowVersion: 1), org[Role.Technician], CancellationToken.None);

        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        var detail = (await Queries.GetAsync(id, org[Role.Manager], CancellationToken.None)).Value!;
        Assert.Equal(WorkOrderStatus.Assigned, detail.Status);
        Assert.Equal(3, detail.History.Count);
    }

    [Fact]
    public async Task an_illegal_transition_changes_nothing()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;

        var outcome = await Transitions.HandleAsync(id, new TransitionRequest("approve", RowVersion: 1), org[Role.Manager], CancellationToken.None);

        Assert.Equal(FailureKind.IllegalTransition, outcome.Failure?.Kind);
        var detail = (await Queries.GetAsync(id, org[Role.Manager], CancellationToken.None)).Value!;
        Assert.Equal((WorkOrderStatus.New, 1, 2), (detail.Status, detail.RowVersion, detail.History.Count));
    }

    [Fact]
    public async Task assigning_to_a_user_who_does_not_exist_names_the_field()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;
        var outcome = await Transitions.HandleAsync(id, new TransitionRequest("assign", AssigneeId: 99999999, RowVersion: 1), org[Role.Manager], CancellationToken.None);
        Assert.Contains("does not exist", outcome.Failure!.Texts(CultureInfo.InvariantCulture)["assigneeId"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task history_refuses_update_delete_and_truncate_even_for_the_superuser()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;
        await using var connection = await Data.OpenConnectionAsync();

        foreach (var sql in new[]
                 {
                     "UPDATE work_order_events SET note = 'rewritten' WHERE work_order_id = @id",
                     "DELETE FROM work_order_events WHERE work_order_id = @id",
                     "TRUNCATE work_order_events CASCADE",
                 })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql, new { id }));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
            Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        }

        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_order_events WHERE work_order_id = @id AND note IS NULL", new { id }));
    }

    [Fact]
    public async Task lists_filter_sort_and_page_on_the_server_and_show_each_role_only_what_it_may_see()
    {
        var org = await TestOrg.CreateAsync(Data);
        var mine = await NewWorkOrderAsync(org, $"Valve {org.Suffix} alpha");
        var other = (await Create.HandleAsync(Request(org, $"Valve {org.Suffix} beta"), org[Role.Manager], WorkOrderSource.Web, null, CancellationToken.None)).Value!;
        await StepAsync(other.Id, org[Role.Manager], WorkOrderAction.Assign, assigneeId: org[Role.Technician].UserId);

        async Task<IReadOnlyList<string>> Titles(Actor actor, WorkOrderQuery query) =>
            (await Queries.ListAsync(query, actor, CancellationToken.None)).Value!.Items.Select(i => i.Title).ToList();

        var text = new WorkOrderQuery(Text: $"valve {org.Suffix}", OrderBy: "title", Descending: false);
        Assert.Equal([$"Valve {org.Suffix} alpha", $"Valve {org.Suffix} beta"], await Titles(org[Role.Manager], text));
        Assert.Equal([$"Valve {org.Suffix} alpha"], await Titles(org[Role.Requester], text));
        Assert.Equal([$"Valve {org.Suffix} beta"], await Titles(org[Role.Manager], text with { Statuses = [WorkOrderStatus.Assigned] }));
        Assert.Equal([$"Valve {org.Suffix} beta"], await Titles(org[Role.Technician], text with { AssigneeId = org[Role.Technician].UserId }));
        Assert.Empty(await Titles(org.OutsideManager, text));
        Assert.Equal(2, (await Titles(org[Role.Executive], text)).Count);

        // The asset filter takes the whole subtree: the work orders are on a machine below the site.
        Assert.Equal(2, (await Titles(org[Role.Manager], text with { AssetId = org.SiteId })).Count);

        var page = (await Queries.ListAsync(text with { Take = 1, Skip = 1 }, org[Role.Manager], CancellationToken.None)).Value!;
        Assert.Equal(2, page.Total);
        Assert.Equal($"Valve {org.Suffix} beta", Assert.Single(page.Items).Title);
        Assert.Equal(mine.Number, (await Queries.ListAsync(text with { Text = mine.Number }, org[Role.Manager], CancellationToken.None)).Value!.Items.Single().Number);
    }

    [Theory]
    [InlineData("password", "orderBy")]
    [InlineData(null, "take")]
    public async Task a_list_with_an_unknown_sort_or_an_oversized_page_is_refused(string? orderBy, string field)
    {
        var org = await TestOrg.CreateAsync(Data);
        var outcome = await Queries.ListAsync(new WorkOrderQuery(OrderBy: orderBy, Take: orderBy is null ? 10_000 : 10), org[Role.Manager], CancellationToken.None);
        Assert.True(outcome.Failure!.Errors!.ContainsKey(field));
    }

    [Fact]
    public async Task people_outside_a_work_order_may_not_open_it()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;
        var stranger = new Actor(org.OutsideManager.UserId, "outside", Role.Requester, null);

        Assert.Equal(FailureKind.Forbidden, (await Queries.GetAsync(id, stranger, CancellationToken.None)).Failure?.Kind);
        Assert.Equal(FailureKind.Forbidden, (await Queries.GetAsync(id, org.OutsideManager, CancellationToken.None)).Failure?.Kind);
        Assert.True((await Queries.GetAsync(id, org[Role.ReliabilityEngineer], CancellationToken.None)).Succeeded);
        Assert.Equal(FailureKind.NotFound, (await Queries.GetAsync(long.MaxValue, org[Role.Admin], CancellationToken.None)).Failure?.Kind);
    }

    [Fact]
    public async Task an_attachment_is_stored_with_its_sha256_and_an_event()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

        var info = (await Files.AddAsync(id, "photo.png", "image/png", new MemoryStream(png), org[Role.Requester], CancellationToken.None)).Value!;

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(png)), info.Sha256);
        Assert.Equal(png, (await Files.GetAsync(id, info.Id, org[Role.Requester], CancellationToken.None)).Value!.Content);
        var detail = (await Queries.GetAsync(id, org[Role.Requester], CancellationToken.None)).Value!;
        Assert.Equal("attachment", detail.History[^1].Kind);
        Assert.Equal(info.Id, Assert.Single(detail.Attachments).Id);
    }

    [Theory]
    [InlineData("big.txt", "text/plain", 1025, "larger than the limit")]
    [InlineData("page.html", "text/html", 10, "is not accepted")]
    [InlineData("fake.png", "image/png", 10, "is not a image/png file")]
    [InlineData("empty.txt", "text/plain", 0, "is empty")]
    public async Task an_attachment_that_is_too_large_of_a_refused_type_or_not_what_it_claims_is_refused(string name, string type, int size, string reason)
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;

        var outcome = await Files.AddAsync(id, name, type, new MemoryStream(new byte[size]), org[Role.Requester], CancellationToken.None);

        Assert.Contains(reason, outcome.Failure!.Texts(CultureInfo.InvariantCulture)["file"][0], StringComparison.Ordinal);
        Assert.Empty((await Queries.GetAsync(id, org[Role.Requester], CancellationToken.None)).Value!.Attachments);
    }

    [Fact]
    public async Task comments_are_kept_verbatim_and_recorded_in_the_history()
    {
        var org = await TestOrg.CreateAsync(Data);
        var id = (await NewWorkOrderAsync(org)).Id;
        const string body = "<img src=x onerror=alert(1)> '; DROP TABLE comments; -- 好";

        var comment = (await new AddComment(Data, _clock).HandleAsync(id, new CommentRequest(body), org[Role.Requester], CancellationToken.None)).Value!;

        var detail = (await Queries.GetAsync(id, org[Role.Requester], CancellationToken.None)).Value!;
        Assert.Equal(body, Assert.Single(detail.Comments).Body);
        Assert.Equal(comment.Id, detail.History[^1].Payload.GetProperty("commentId").GetInt64());
    }

    [Fact]
    public async Task signing_in_checks_the_hashed_password_and_never_says_which_part_was_wrong_nor_tells_a_guesser_the_account_is_deactivated()
    {
        var org = await TestOrg.CreateAsync(Data);
        var users = new Users(Data, new PasswordHasher<Users>());
        var name = org[Role.Technician].UserName;

        Assert.Equal(org[Role.Technician], (await users.SignInAsync(new LoginRequest(name.ToUpperInvariant(), TestOrg.Password), CancellationToken.None)).Session?.Actor);
        Assert.Equal(SignInRefusal.WrongPassword, (await users.SignInAsync(new LoginRequest(name, "wrong"), CancellationToken.None)).Refusal);
        Assert.Equal(SignInRefusal.WrongPassword, (await users.SignInAsync(new LoginRequest("nobody-" + org.Suffix, TestOrg.Password), CancellationToken.None)).Refusal);

        // Only the right password learns that the account is deactivated; a wrong one still hears only "wrong".
        await using var connection = await Data.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE users SET active = false WHERE id = @UserId", org[Role.Technician]);
        Assert.Equal(SignInRefusal.Deactivated, (await users.SignInAsync(new LoginRequest(name, TestOrg.Password), CancellationToken.None)).Refusal);
        Assert.Equal(SignInRefusal.WrongPassword, (await users.SignInAsync(new LoginRequest(name, "wrong"), CancellationToken.None)).Refusal);
        var stored = await connection.ExecuteScalarAsync<string>("SELECT password_hash FROM users WHERE id = @UserId", org[Role.Technician]);
        Assert.DoesNotContain(TestOrg.Password, stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task only_administrators_change_templates_and_a_stale_edit_is_a_conflict()
    {
        var org = await TestOrg.CreateAsync(Data);
        var templates = new Templates.Templates(Data);
        var request = new TemplateRequest($"Inspection {org.Suffix}", WorkType.Inspection, 3, org.DepartmentId,
            Fields: [new("area", "Area", FieldKind.Choice, Required: true, Options: ["North", "South"])]);

        Assert.Equal(FailureKind.Forbidden, (await templates.CreateAsync(request, org[Role.Manager], CancellationToken.None)).Failure?.Kind);
        var created = (await templates.CreateAsync(request, org[Role.Admin], CancellationToken.None)).Value!;
        Assert.Contains("already exists", (await templates.CreateAsync(request, org[Role.Admin], CancellationToken.None)).Failure!.Texts(CultureInfo.InvariantCulture)["name"][0], StringComparison.Ordinal);

        var renamed = (await templates.UpdateAsync(created.Id, request with { Name = $"Walkdown {org.Suffix}", RowVersion = 1 }, org[Role.Admin], CancellationToken.None)).Value!;
        Assert.Equal(2, renamed.RowVersion);
        var stale = await templates.UpdateAsync(created.Id, request with { RowVersion = 1 }, org[Role.Admin], CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, stale.Failure?.Kind);
        Assert.Equal($"Walkdown {org.Suffix}", (await templates.FindAsync(created.Id, CancellationToken.None))!.Name);
    }

    [Fact]
    public async Task the_asset_tree_keeps_its_levels_and_reports_the_path_of_a_node()
    {
        var org = await TestOrg.CreateAsync(Data);
        var assets = new AssetRegister(Data);
        var misplaced = await assets.CreateAsync(new CreateAssetRequest($"X-{org.Suffix}", "Gearbox", AssetKind.Line, org.MachineId), org[Role.Admin], CancellationToken.None);
        Assert.Contains("belongs under a site / area", misplaced.Failure!.Texts(CultureInfo.InvariantCulture)["parentId"][0], StringComparison.Ordinal);

        var component = (await assets.CreateAsync(new CreateAssetRequest($"C-{org.Suffix}", "Seal", AssetKind.Component, org.MachineId, Criticality: 5), org[Role.Admin], CancellationToken.None)).Value!;
        var detail = (await assets.GetAsync(component.Id, CancellationToken.None)).Value!;
        Assert.Equal([AssetKind.Site, AssetKind.Line, AssetKind.Machine], detail.Path.Select(a => a.Kind));
        Assert.Equal(org.SiteId, detail.Path[0].Id);
        Assert.Equal(1, (await assets.GetAsync(org.MachineId, CancellationToken.None)).Value!.Asset.ChildCount);
    }

    [Fact]
    public async Task migrating_again_applies_nothing_and_every_migration_is_recorded()
    {
        var migrator = new Migrator(Data, NullLogger<Migrator>.Instance);

        Assert.Equal(0, await migrator.ApplyAsync(CancellationToken.None));
        Assert.Empty(await migrator.PendingAsync(CancellationToken.None));
        await using var connection = await Data.OpenConnectionAsync();
        var recorded = await connection.QueryAsync<int>("SELECT version FROM schema_migrations ORDER BY version");
        Assert.Equal(Migrator.All.Select(m => m.Version), recorded);
    }
}
