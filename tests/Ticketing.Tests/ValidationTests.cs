using System.Globalization;
using System.Text.Json;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Tests;

public class ValidationTests
{
    private static readonly Template Repair = new(
        7, "Repair", WorkType.Corrective, 3, 1, "Maintenance", AssetRequired: true, ContactRequired: true,
        [
            new("fault_code", "Fault", FieldKind.Choice, Required: true, Options: ["bearing", "leak"]),
            new("downtime_hours", "Downtime", FieldKind.Number, Min: 0, Max: 100),
            new("observed_on", "Observed on", FieldKind.Date),
            new("notes", "Notes", FieldKind.Text, MaxLength: 10),
            new("related_asset", "Related asset", FieldKind.Asset),
        ],
        Active: true, RowVersion: 1);

    private static CreateWorkOrderRequest Valid() => new(
        7, "Pump leaks", "Oil under the pump.", 2, "ext. 12", AssetId: 3,
        CustomFields: Values(("fault_code", "leak"), ("downtime_hours", 1.5), ("observed_on", "2026-02-03"), ("notes", "好的"), ("related_asset", 4)));

    private static Dictionary<string, JsonElement> Values(params (string Key, object? Value)[] values) =>
        values.ToDictionary(v => v.Key, v => JsonSerializer.SerializeToElement(v.Value));

    private static IReadOnlyDictionary<string, string[]> ErrorsOf(CreateWorkOrderRequest request) => ErrorsOf(request, Repair);

    private static IReadOnlyDictionary<string, string[]> ErrorsOf(CreateWorkOrderRequest request, Template? template)
    {
        var errors = new FieldErrors();
        CreateWorkOrder.Validate(request, template, errors);
        return errors.ToFailure().Texts(CultureInfo.InvariantCulture);
    }

    [Fact]
    public void a_complete_request_passes_and_its_values_are_normalised()
    {
        var errors = new FieldErrors();
        var (values, assets) = CreateWorkOrder.Validate(Valid(), Repair, errors);

        Assert.False(errors.Any);
        Assert.Equal("leak", values["fault_code"]);
        Assert.Equal(1.5m, values["downtime_hours"]);
        Assert.Equal("2026-02-03", values["observed_on"]);
        Assert.Equal(4L, values["related_asset"]);
        Assert.Equal([("customFields.related_asset", 4L)], assets);
    }

    [Fact]
    public void missing_required_fields_are_each_named()
    {
        var errors = ErrorsOf(new CreateWorkOrderRequest(7, " ", null, CustomFields: []));

        Assert.Equal(["title", "description", "contact", "assetId", "customFields.fault_code"], errors.Keys);
    }

    [Fact]
    public void an_unknown_template_is_refused_on_the_template_field()
    {
        var errors = ErrorsOf(Valid() with { TemplateId = 999 }, template: null);
        Assert.Contains("does not exist", errors["templateId"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void an_inactive_template_is_refused()
    {
        Assert.True(ErrorsOf(Valid(), Repair with { Active = false }).ContainsKey("templateId"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(-1)]
    public void a_priority_outside_p1_to_p4_is_refused(int priority)
    {
        Assert.Contains("1 (P1", ErrorsOf(Valid() with { Priority = priority })["priority"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void an_over_long_title_and_description_are_refused_with_their_limits()
    {
        var errors = ErrorsOf(Valid() with { Title = new string('t', 201), Description = new string('d', 20_001) });
        Assert.Contains("200", errors["title"][0], StringComparison.Ordinal);
        Assert.Contains("20000", errors["description"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void the_longest_allowed_title_and_description_pass()
    {
        Assert.Empty(ErrorsOf(Valid() with { Title = new string('t', 200), Description = new string('d', 20_000) }));
    }

    [Fact]
    public void html_and_sql_looking_text_is_accepted_as_text()
    {
        var request = Valid() with { Title = "<script>alert(1)</script>", Description = "'; DROP TABLE work_orders; --" };
        Assert.Empty(ErrorsOf(request));
    }

    public static TheoryData<string, object?, string> WrongValues() => new()
    {
        { "fault_code", "fire", "must be one of: bearing, leak" },
        { "fault_code", 3, "must be one of" },
        { "downtime_hours", "lots", "must be a number" },
        { "downtime_hours", 101, "between 0 and 100" },
        { "downtime_hours", -1, "between 0 and 100" },
        { "observed_on", "03/02/2026", "yyyy-MM-dd" },
        { "observed_on", "2026-02-30", "yyyy-MM-dd" },
        { "notes", "0123456789X", "at most 10" },
        { "notes", 12, "must be text" },
        { "related_asset", "pump", "id of an asset" },
        { "related_asset", -4, "id of an asset" },
    };

    [Theory]
    [MemberData(nameof(WrongValues))]
    public void a_custom_value_of_the_wrong_kind_is_refused_naming_the_field(string key, object? value, string reason)
    {
        var fields = Valid().CustomFields!;
        fields[key] = JsonSerializer.SerializeToElement(value);
        var errors = ErrorsOf(Valid() with { CustomFields = fields });
        Assert.Contains(reason, errors[$"customFields.{key}"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void a_value_for_a_field_the_template_does_not_have_is_refused()
    {
        var fields = Valid().CustomFields!;
        fields["colour"] = JsonSerializer.SerializeToElement("red");
        Assert.Contains("not a field", ErrorsOf(Valid() with { CustomFields = fields })["customFields.colour"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void a_template_definition_with_duplicate_or_malformed_fields_is_refused()
    {
        var errors = new FieldErrors();
        TemplateSchema.ValidateDefinition(
            [
                new("Bad Key", "x", FieldKind.Text),
                new("a", "A", FieldKind.Choice),
                new("a", "", FieldKind.Number, Min: 5, Max: 1),
                new("b", "B", FieldKind.Text, Options: ["x"]),
                new("c", "C", FieldKind.Date, MaxLength: 5),
            ],
            errors);

        Assert.Equal(
            ["fields[0].key", "fields[1].options", "fields[2].key", "fields[2].label", "fields[2].min", "fields[3].options", "fields[4].maxLength"],
            errors.ToFailure().Errors!.Keys);
    }
}
