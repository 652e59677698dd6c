using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Components;
using WorkOrders.Dashboard.Localization;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>
/// The form for raising a work order from a template: the standard fields and one input per custom field, checked with the
/// same rules the server applies (<see cref="CreateWorkOrder.Validate"/>) before the request leaves the form.
/// </summary>
public sealed partial class TemplateForm
{
    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();
    private static readonly string[] StandardFields = ["title", "description", "priority", "contact", "assetId", "reference", "decommissionedReason"];

    private readonly Dictionary<string, CustomInput> _custom = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, string[]> _clientErrors = NoErrors;
    private IReadOnlyDictionary<string, string[]> _serverErrors = NoErrors;
    private IReadOnlyDictionary<string, string[]>? _lastServerErrors;
    private bool _submitted;
    private string? _title;
    private string? _description;
    private int? _priority;
    private string? _contact;
    private long? _assetId;
    private string? _reference;
    private string? _decommissionedReason;

    [Parameter, EditorRequired]
    public Template Template { get; set; } = default!;

    [Parameter, EditorRequired]
    public AssetSearch SearchAssets { get; set; } = default!;

    /// <summary>Raised with the request once it passes the checks that need no database.</summary>
    [Parameter]
    public EventCallback<CreateWorkOrderRequest> OnValidSubmit { get; set; }

    /// <summary>The field errors of the server's refusal, keyed like the request ("title", "customFields.fault_code").</summary>
    [Parameter]
    public IReadOnlyDictionary<string, string[]>? ServerErrors { get; set; }

    [Parameter]
    public bool Busy { get; set; }

    protected override void OnParametersSet()
    {
        _priority ??= Template.DefaultPriority;
        foreach (var field in Template.Fields)
        {
            _custom.TryAdd(field.Key, new CustomInput());
        }

        if (!ReferenceEquals(ServerErrors, _lastServerErrors))
        {
            _lastServerErrors = ServerErrors;
            _serverErrors = ServerErrors ?? NoErrors;
        }
    }

    /// <summary>The request the form holds now; empty inputs are left out.</summary>
    public CreateWorkOrderRequest BuildRequest()
    {
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var field in Template.Fields)
        {
            if (ToJson(field, _custom[field.Key]) is { } value)
            {
                values[field.Key] = value;
            }
        }

        return new CreateWorkOrderRequest(
            Template.Id,
            _title,
            _description,
            _priority,
            string.IsNullOrWhiteSpace(_contact) ? null : _contact,
            _assetId,
            string.IsNullOrWhiteSpace(_reference) ? null : _reference,
            CustomFields: values,
            DecommissionedReason: string.IsNullOrWhiteSpace(_decommissionedReason) ? null : _decommissionedReason);
    }

    private static JsonElement? ToJson(TemplateField field, CustomInput input) => field.Kind switch
    {
        FieldKind.Text or FieldKind.Choice when !string.IsNullOrWhiteSpace(input.Text) => JsonSerializer.SerializeToElement(input.Text),
        FieldKind.Number when input.Number is { } number => JsonSerializer.SerializeToElement(number),
        FieldKind.Date when input.Date is { } date => JsonSerializer.SerializeToElement(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        FieldKind.Asset when input.AssetId is { } assetId => JsonSerializer.SerializeToElement(assetId),
        _ => null,
    };

    private async Task SubmitAsync()
    {
        _submitted = true;
        _serverErrors = NoErrors;
        var request = BuildRequest();
        if (Check(request))
        {
            await OnValidSubmit.InvokeAsync(request);
        }
    }

    private bool Check(CreateWorkOrderRequest request)
    {
        var errors = new FieldErrors();
        CreateWorkOrder.Validate(request, Template, errors);
        _clientErrors = errors.Any ? errors.ToFailure().FieldTexts() : NoErrors;
        return !errors.Any;
    }

    /// <summary>After the first attempt to submit, every change is checked at once so a message goes away when fixed.</summary>
    private void Recheck()
    {
        if (_submitted)
        {
            Check(BuildRequest());
        }
    }

    // Asked for only when the server says the asset is decommissioned (or once something is written in it).
    private bool AsksDecommissionedReason => MessagesFor("decommissionedReason").Any() || !string.IsNullOrEmpty(_decommissionedReason);

    private IEnumerable<string> MessagesFor(string name) =>
        (_clientErrors.GetValueOrDefault(name) ?? []).Concat(_serverErrors.GetValueOrDefault(name) ?? []).Distinct(StringComparer.Ordinal);

    /// <summary>Errors that belong to no input of this form, such as a template that was retired meanwhile.</summary>
    private IEnumerable<KeyValuePair<string, string[]>> OtherErrors =>
        _clientErrors.Concat(_serverErrors)
            .Where(e => !StandardFields.Contains(e.Key, StringComparer.Ordinal)
                && !Template.Fields.Any(f => e.Key == $"customFields.{f.Key}"));

    private string? Hint(TemplateField field) => field.Kind switch
    {
        FieldKind.Number when field.Min is not null || field.Max is not null => T["Form.FromTo",
            field.Min?.ToString(CultureInfo.CurrentCulture) ?? "-∞",
            field.Max?.ToString(CultureInfo.CurrentCulture) ?? "∞"].Value,
        FieldKind.Text => T["Form.AtMostCharacters", field.MaxLength ?? TemplateSchema.DefaultTextLength].Value,
        FieldKind.Date => T["Form.WrittenYyyyMMDd"].Value,
        _ => null,
    };

    /// <summary>What the user entered for one custom field; which property is used depends on the field's kind.</summary>
    private sealed class CustomInput
    {
        public string? Text { get; set; }

        public decimal? Number { get; set; }

        public DateOnly? Date { get; set; }

        public long? AssetId { get; set; }
    }
}
