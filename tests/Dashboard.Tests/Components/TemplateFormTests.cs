using System.Globalization;
using System.Text.Json;
using AngleSharp.Dom;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Radzen;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed class TemplateFormTests : BunitContext
{
    private static readonly Asset Pump = new(11, "M-1", "Pump", AssetKind.Machine, null, null, null, 3, null, "active", 0);
    private static readonly Asset Valve = new(12, "M-2", "Valve", AssetKind.Machine, null, null, null, 3, null, "active", 0);

    private static readonly Template Repair = new(
        7, "Repair", WorkType.Corrective, 3, 1, "Maintenance", AssetRequired: true, ContactRequired: false,
        [
            new("fault_code", "Fault", FieldKind.Choice, Required: true, Options: ["bearing", "leak"], Labels: TemplateSchema.Label("zh-TW", "故障類型")),
            new("downtime_hours", "Downtime (hours)", FieldKind.Number, Min: 0, Max: 10),
            new("observed_on", "Observed on", FieldKind.Date),
            new("notes", "Notes", FieldKind.Text, MaxLength: 5),
            new("related_asset", "Related asset", FieldKind.Asset),
        ],
        Active: true,
        RowVersion: 1);

    private readonly List<CreateWorkOrderRequest> _submitted = [];

    public TemplateFormTests()
    {
        this.UseDashboardComponents();
    }

    [Fact]
    public void a_template_with_a_field_of_each_kind_renders_one_input_per_field()
    {
        var form = RenderForm();

        Assert.Single(Row(form, "custom-fault_code").QuerySelectorAll(".rz-dropdown"));
        Assert.Single(Row(form, "custom-downtime_hours").QuerySelectorAll(".rz-numeric input"));
        Assert.Single(Row(form, "custom-observed_on").QuerySelectorAll(".rz-datepicker input"));
        Assert.Single(Row(form, "custom-notes").QuerySelectorAll("input.rz-textbox"));
        Assert.Single(Row(form, "custom-related_asset").QuerySelectorAll(".rz-dropdown .rz-dropdown-filter"));
        Assert.Equal(5, form.FindAll(".custom-field").Count);
        Assert.Equal(["bearing", "leak"], Row(form, "custom-fault_code").QuerySelectorAll("li[role=option]").Select(li => li.TextContent.Trim()));
        foreach (var standard in new[] { "title", "description", "priority", "contact", "assetId", "reference" })
        {
            Assert.NotNull(Row(form, standard));
        }
    }

    [Fact]
    public void required_fields_are_marked_and_optional_ones_are_not()
    {
        var form = RenderForm();

        foreach (var required in new[] { "title", "description", "assetId", "custom-fault_code" })
        {
            Assert.Equal("true", Row(form, required).GetAttribute("data-required"));
            Assert.NotNull(Row(form, required).QuerySelector("label .required"));
        }

        foreach (var optional in new[] { "contact", "reference", "custom-downtime_hours", "custom-observed_on", "custom-notes", "custom-related_asset" })
        {
            Assert.Equal("false", Row(form, optional).GetAttribute("data-required"));
            Assert.Null(Row(form, optional).QuerySelector("label .required"));
        }
    }

    [Fact]
    public void a_required_choice_field_left_empty_shows_its_message()
    {
        var form = RenderForm();
        FillStandardFields(form);

        form.Find("form").Submit();

        Assert.Equal("is required.", Error(form, "custom-fault_code"));
        Assert.Empty(_submitted);
    }

    [Fact]
    public void submitting_an_empty_form_names_every_missing_required_field_and_nothing_else()
    {
        var form = RenderForm();

        form.Find("form").Submit();

        Assert.Equal("is required.", Error(form, "title"));
        Assert.Equal("is required.", Error(form, "description"));
        Assert.Equal("is required by this template.", Error(form, "assetId"));
        Assert.Equal("is required.", Error(form, "custom-fault_code"));
        Assert.Equal(4, form.FindAll(".field-error").Count);
        Assert.Empty(_submitted);
    }

    [Fact]
    public void a_number_out_of_range_and_text_too_long_say_what_is_wrong()
    {
        var form = RenderForm();
        FillStandardFields(form);
        Pick(form, "custom-fault_code", "bearing");
        Row(form, "custom-downtime_hours").QuerySelector("input")!.Change("50");
        Row(form, "custom-notes").QuerySelector("input")!.Change("too long");

        form.Find("form").Submit();

        Assert.Equal("must be between 0 and 10.", Error(form, "custom-downtime_hours"));
        Assert.Equal("must be at most 5 characters.", Error(form, "custom-notes"));
        Assert.Empty(_submitted);
    }

    [Fact]
    public void a_message_goes_away_as_soon_as_its_field_is_fixed()
    {
        var form = RenderForm();
        form.Find("form").Submit();
        Assert.NotNull(ErrorElement(form, "title"));

        Row(form, "title").QuerySelector("input")!.Change("Pump leaks");

        Assert.Null(ErrorElement(form, "title"));
        Assert.NotNull(ErrorElement(form, "description"));
    }

    [Fact]
    public void a_filled_form_produces_the_request_with_custom_values_as_json()
    {
        var form = RenderForm();
        Row(form, "title").QuerySelector("input")!.Change("泵浦漏水 <script>alert(1)</script>");
        Row(form, "description").QuerySelector("textarea")!.Change("Oil under the pump 🛢️");
        Row(form, "priority").QuerySelectorAll("button").Single(b => b.TextContent.Trim() == "P1").Click();
        Row(form, "contact").QuerySelector("input")!.Change("王小明 0912-345-678");
        Pick(form, "assetId", "M-1 · Pump");
        Pick(form, "custom-fault_code", "leak");
        Row(form, "custom-downtime_hours").QuerySelector("input")!.Change("2.5");
        Row(form, "custom-observed_on").QuerySelector("input")!.Change("2025-03-04");
        Row(form, "custom-notes").QuerySelector("input")!.Change("ok");
        Pick(form, "custom-related_asset", "M-2 · Valve");

        form.Find("form").Submit();

        Assert.Empty(form.FindAll(".field-error"));
        var request = Assert.Single(_submitted);
        Assert.Equal(7, request.TemplateId);
        Assert.Equal("泵浦漏水 <script>alert(1)</script>", request.Title);
        Assert.Equal("Oil under the pump 🛢️", request.Description);
        Assert.Equal(1, request.Priority);
        Assert.Equal("王小明 0912-345-678", request.Contact);
        Assert.Equal(11, request.AssetId);
        Assert.Null(request.Reference);
        var values = request.CustomFields!;
        Assert.Equal(["downtime_hours", "fault_code", "notes", "observed_on", "related_asset"], values.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.String, values["fault_code"].ValueKind);
        Assert.Equal("leak", values["fault_code"].GetString());
        Assert.Equal(JsonValueKind.Number, values["downtime_hours"].ValueKind);
        Assert.Equal(2.5m, values["downtime_hours"].GetDecimal());
        Assert.Equal("2025-03-04", values["observed_on"].GetString());
        Assert.Equal("ok", values["notes"].GetString());
        Assert.Equal(JsonValueKind.Number, values["related_asset"].ValueKind);
        Assert.Equal(12, values["related_asset"].GetInt64());
    }

    [Fact]
    public void the_priority_starts_at_the_template_default_and_empty_optional_fields_are_left_out()
    {
        var form = RenderForm();
        FillStandardFields(form);
        Pick(form, "custom-fault_code", "bearing");

        form.Find("form").Submit();

        var request = Assert.Single(_submitted);
        Assert.Equal(3, request.Priority);
        Assert.Null(request.Contact);
        Assert.Equal(["fault_code"], request.CustomFields!.Keys);
    }

    [Fact]
    public void the_servers_field_errors_are_shown_next_to_the_fields_they_name()
    {
        var errors = new Dictionary<string, string[]>
        {
            ["assetId"] = ["asset 99 does not exist."],
            ["customFields.related_asset"] = ["asset 98 does not exist."],
            ["templateId"] = ["template 7 does not exist or is no longer in use."],
        };

        var form = RenderForm(errors);

        Assert.Equal("asset 99 does not exist.", Error(form, "assetId"));
        Assert.Equal("asset 98 does not exist.", Error(form, "custom-related_asset"));
        Assert.Contains("templateId: template 7 does not exist or is no longer in use.", form.Find("[data-testid=form-errors]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void a_decommissioned_asset_refused_by_the_server_asks_for_the_reason_and_sends_it()
    {
        var quiet = RenderForm();
        Assert.Empty(quiet.FindAll("[data-testid='field-decommissionedReason']"));

        var form = RenderForm(new Dictionary<string, string[]> { ["decommissionedReason"] = ["asset M-1 is decommissioned: say why new work on it is needed."] });
        FillStandardFields(form);
        Pick(form, "custom-fault_code", "leak");
        Assert.Contains("decommissioned", Error(form, "decommissionedReason"), StringComparison.Ordinal);
        Row(form, "decommissionedReason").QuerySelector("textarea")!.Change("drain it before sale");
        form.Find("form").Submit();

        Assert.Equal("drain it before sale", Assert.Single(_submitted).DecommissionedReason);
    }

    [Fact]
    public void markup_in_a_field_label_is_shown_as_text()
    {
        var template = Repair with { Fields = [new("x", "<b>bold</b><script>alert(1)</script>", FieldKind.Text)] };

        var form = RenderForm(template: template);

        var label = Row(form, "custom-x").QuerySelector("label")!;
        Assert.Empty(label.QuerySelectorAll("b, script"));
        Assert.Contains("<b>bold</b><script>alert(1)</script>", label.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void in_traditional_chinese_the_chinese_labels_and_messages_are_shown()
    {
        var previous = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = new CultureInfo("zh-TW");
        try
        {
            var form = RenderForm();
            form.Find("form").Submit();

            Assert.Contains("故障類型", Row(form, "custom-fault_code").QuerySelector("label")!.TextContent, StringComparison.Ordinal);
            Assert.Contains("標題", Row(form, "title").QuerySelector("label")!.TextContent, StringComparison.Ordinal);
            Assert.Equal("必填。", Error(form, "custom-fault_code"));
            Assert.Equal("必填。", Error(form, "title"));
        }
        finally
        {
            CultureInfo.CurrentUICulture = previous;
        }
    }

    private IRenderedComponent<TemplateForm> RenderForm(IReadOnlyDictionary<string, string[]>? serverErrors = null, Template? template = null)
    {
        AssetSearch search = (text, _) => Task.FromResult<IReadOnlyList<Asset>>(
            [.. new[] { Pump, Valve }.Where(a => string.IsNullOrEmpty(text) || a.Code.Contains(text, StringComparison.OrdinalIgnoreCase))]);
        return Render<TemplateForm>(p => p
            .Add(x => x.Template, template ?? Repair)
            .Add(x => x.SearchAssets, search)
            .Add(x => x.ServerErrors, serverErrors)
            .Add(x => x.OnValidSubmit, (CreateWorkOrderRequest r) => _submitted.Add(r)));
    }

    private static void FillStandardFields(IRenderedComponent<TemplateForm> form)
    {
        Row(form, "title").QuerySelector("input")!.Change("Pump leaks");
        Row(form, "description").QuerySelector("textarea")!.Change("Oil under the pump.");
        Pick(form, "assetId", "M-1 · Pump");
    }

    private static void Pick(IRenderedComponent<TemplateForm> form, string row, string option) =>
        Row(form, row).QuerySelectorAll("li[role=option]").Single(li => li.TextContent.Trim() == option).Click();

    private static IElement Row(IRenderedComponent<TemplateForm> form, string testId) => form.Find($"[data-testid='field-{testId}']");

    private static IElement? ErrorElement(IRenderedComponent<TemplateForm> form, string testId) =>
        form.FindAll($"[data-testid='error-{testId}']").SingleOrDefault();

    private static string Error(IRenderedComponent<TemplateForm> form, string testId) =>
        (ErrorElement(form, testId) ?? throw new Xunit.Sdk.XunitException($"no message for {testId}")).TextContent.Trim();
}
