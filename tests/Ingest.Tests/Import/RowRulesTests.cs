using System.Text.Json;
using WorkOrders.Ingest.Import;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Tests.Import;

/// <summary>The row rules and the history plan, with no database.</summary>
public sealed class RowRulesTests
{
    private static readonly string[] Columns = ["id", "opened", "closed", "state", "subject"];

    private static readonly Template Template = new(
        7, "Repair", WorkType.Corrective, 3, 11, "Maintenance", AssetRequired: false, ContactRequired: false,
        [new TemplateField("fault_code", "Fault", FieldKind.Choice, Options: ["leak", "other"])], Active: true, RowVersion: 1);

    private static ImportMapping Mapping(string extra = "") => JsonSerializer.Deserialize<ImportMapping>($$"""
        {
          "externalId": { "column": "id" },
          "timeZone": "America/New_York",
          "times": { "created": "opened", "closed": "closed" },
          "template": { "name": "Repair" },
          "title": { "column": "subject" },
          "description": { "template": "{subject} (imported)" },
          "status": { "column": "state", "values": { "Open": "new", "Done": "closed" } }
          {{extra}}
        }
        """, ImportMapping.Json)!.Checked();

    private static SourceRow Row(string state, DateTime opened, DateTime? closed) =>
        new(1, ["A-1", opened.ToString("u"), closed?.ToString("u"), state, "Lift stuck"], new SourceTimes(opened, null, null, null, closed));

    private static readonly DateTime Opened = new(2024, 7, 1, 9, 0, 0);

    [Theory]
    [InlineData("close", "closed", false)]
    [InlineData("keep_open", "new", false)]
    [InlineData("reject", null, true)]
    public void an_open_row_with_a_later_closed_date_is_closed_kept_open_or_rejected_as_the_mapping_says(string policy, string? status, bool rejected)
    {
        var rules = new RowRules(Mapping($""", "openWithClosedDate": "{policy}" """), Columns, Template);

        var verdict = rules.Decide(Row("Open", Opened, Opened.AddDays(3)));

        Assert.Equal(rejected, verdict.Ticket is null);
        Assert.Equal(status, verdict.Ticket is { } t ? Ticketing.WireNames.Of(t.History.Status) : null);
        string[] problems = rejected ? ["status"] : [];
        Assert.Equal(problems, verdict.Problems.Select(p => p.Field));
    }

    [Fact]
    public void a_template_without_a_placeholder_is_a_constant_such_as_every_asset_s_type()
    {
        var rules = new RowRules(
            Mapping(""", "asset": { "template": "{subject} {id}", "codePrefix": "B-", "parentCode": "SITE-1", "type": { "template": "elevator" } } """), Columns, Template);

        var ticket = rules.Decide(Row("Open", Opened, null)).Ticket!;

        Assert.Equal(("B-LIFT-STUCK-A-1", "Lift stuck A-1", "elevator"), (ticket.Asset!.Code, ticket.Asset.Name, ticket.Asset.Type));
    }

    [Fact]
    public void a_closed_date_equal_to_created_on_an_open_row_follows_its_own_rule()
    {
        var rules = new RowRules(Mapping(""", "openWithClosedDate": "close", "openClosedAtCreation": "keep_open" """), Columns, Template);

        var placeholder = rules.Decide(Row("Open", Opened, Opened)).Ticket!;
        var real = rules.Decide(Row("Open", Opened, Opened.AddHours(1))).Ticket!;

        Assert.Equal((WorkOrderStatus.New, null), (placeholder.History.Status, placeholder.History.ClosedAt));
        Assert.Equal(WorkOrderStatus.Closed, real.History.Status);
    }

    [Fact]
    public void source_times_are_stored_in_utc_and_one_skipped_by_daylight_saving_is_read_in_standard_time()
    {
        var rules = new RowRules(Mapping(), Columns, Template);

        var summer = rules.Decide(Row("Open", Opened, null)).Ticket!;
        var skipped = rules.Decide(Row("Open", new DateTime(2024, 3, 10, 2, 30, 0), null)).Ticket!;

        Assert.Equal(new DateTime(2024, 7, 1, 13, 0, 0, DateTimeKind.Utc), summer.History.CreatedAt);
        Assert.Equal(DateTimeKind.Utc, summer.History.CreatedAt.Kind);
        Assert.Equal(new DateTime(2024, 3, 10, 7, 30, 0, DateTimeKind.Utc), skipped.History.CreatedAt);
    }

    [Fact]
    public void a_status_the_mapping_does_not_know_is_rejected_and_one_with_a_default_is_not()
    {
        var strict = new RowRules(Mapping(), Columns, Template);
        var lenient = new RowRules(
            Mapping() with { Status = new ValueSpec { Column = "state", Values = new() { ["Open"] = "new" }, Default = "closed" } }, Columns, Template);

        var refused = strict.Decide(Row("Parked", Opened, Opened.AddDays(1)));
        var taken = lenient.Decide(Row("Parked", Opened, Opened.AddDays(1)));

        Assert.Equal("status", Assert.Single(refused.Problems).Field);
        Assert.Contains("'Parked' from state is not in the mapping's values", refused.Problems[0].Reason);
        Assert.Equal(WorkOrderStatus.Closed, taken.Ticket!.History.Status);
    }

    [Fact]
    public void a_value_outside_a_choice_field_of_the_template_is_refused_by_the_live_rules()
    {
        var rules = new RowRules(Mapping(""", "category": { "column": "subject", "field": "fault_code", "passthrough": true, "values": { "Leak": "leak" } } """), Columns, Template);

        var verdict = rules.Decide(Row("Open", Opened, null));

        Assert.Equal("customFields.fault_code", Assert.Single(verdict.Problems).Field);
    }

    [Fact]
    public void a_closed_ticket_with_an_assignee_gets_created_assign_start_resolve_approve()
    {
        var created = new DateTime(2024, 5, 1, 8, 0, 0, DateTimeKind.Utc);
        var times = new TicketTimes(created, created.AddMinutes(20), null, created.AddHours(5), created.AddDays(1));

        var plan = ImportHistory.Plan(WorkOrderStatus.Closed, hasAssignee: true, times, UnknownStart.AtResolve);

        Assert.Equal(
            ["created:new@0", "assign:assigned@0", "start:in_progress@20", "resolve:resolved@300", "approve:closed@1440"],
            plan.Steps.Select(s => $"{s.Kind}:{Ticketing.WireNames.Of(s.To)}@{(s.At - created).TotalMinutes}"));
        Assert.Equal((5, created.AddMinutes(20), created.AddMinutes(20)), (plan.RowVersion, plan.AcknowledgedAt, plan.StartedAt));
        Assert.Equal(created.AddDays(1), plan.UpdatedAt);
    }

    [Theory]
    [InlineData(UnknownStart.AtResolve, 24 * 60)]
    [InlineData(UnknownStart.AtCreate, 0)]
    public void without_an_acknowledged_time_the_start_is_placed_as_the_mapping_says(UnknownStart rule, int minutes)
    {
        var created = new DateTime(2024, 5, 1, 8, 0, 0, DateTimeKind.Utc);

        var plan = ImportHistory.Plan(WorkOrderStatus.Closed, hasAssignee: false, new TicketTimes(created, null, null, null, created.AddDays(1)), rule);

        Assert.Equal(["created", "start", "resolve", "approve"], plan.Steps.Select(s => s.Kind));
        Assert.Equal(created.AddMinutes(minutes), plan.StartedAt);
        Assert.Equal(plan.StartedAt, plan.AcknowledgedAt);
        Assert.Equal(created.AddDays(1), plan.ResolvedAt);
    }

    [Fact]
    public void a_ticket_cancelled_before_any_work_goes_from_new_to_cancelled()
    {
        var created = new DateTime(2024, 5, 1, 8, 0, 0, DateTimeKind.Utc);

        var plan = ImportHistory.Plan(WorkOrderStatus.Cancelled, hasAssignee: false, new TicketTimes(created, null, null, null, created.AddHours(1)), UnknownStart.AtResolve);

        Assert.Equal(["created:new", "cancel:cancelled"], plan.Steps.Select(s => $"{s.Kind}:{Ticketing.WireNames.Of(s.To)}"));
        Assert.Null(plan.StartedAt);
        Assert.Equal(created.AddHours(1), plan.ClosedAt);
    }

    [Theory]
    [InlineData("""{ "title": { "column": "x" }, "description": { "column": "x" }, "times": { "created": "t" }, "template": { "name": "T" } }""", "externalId.column is required")]
    [InlineData("""{ "externalId": { "column": "id" }, "title": { "column": "x" }, "description": { "column": "x" }, "times": { "created": "t" }, "template": { "name": "T" }, "priority": { "column": "p", "values": { "High": 7 } } }""", "priority maps to '7'")]
    [InlineData("""{ "externalId": { "column": "id" }, "title": { "column": "x" }, "description": { "column": "x" }, "times": { "created": "t" }, "template": { "name": "T" }, "status": { "column": "s", "values": { "Parked": "on_hold" } } }""", "status maps to 'on_hold'")]
    [InlineData("""{ "externalId": { "column": "id" }, "title": { "column": "x", "template": "{y}" }, "description": { "column": "x" }, "times": { "created": "t" }, "template": { "name": "T" } }""", "title needs exactly one of column or template")]
    [InlineData("""{ "externalId": { "column": "id" }, "title": { "column": "x" }, "description": { "column": "x" }, "times": { "created": "t" }, "template": { "name": "T" }, "timeZone": "Mars/Olympus" }""", "timeZone 'Mars/Olympus' is not a known time zone")]
    public void a_mapping_that_cannot_work_is_refused_before_any_row_is_read(string json, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mapping-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            Assert.Contains(message, Assert.Throws<MappingException>(() => ImportMapping.Load(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void the_sample_mapping_loads()
    {
        var mapping = ImportMapping.Load(ImportFiles.NycMapping);

        Assert.Equal("America/New_York", mapping.TimeZone);
        Assert.Equal(OpenRowWithClosedDate.KeepOpen, mapping.ClosedAtCreationPolicy);
        Assert.Contains("borough", mapping.Columns());
    }
}
