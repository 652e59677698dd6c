using Microsoft.AspNetCore.Components;
using WorkOrders.Dashboard.Localization;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>Creates or changes a template and its custom fields; the core checks the definition and names each wrong part.</summary>
public sealed partial class TemplateEditor
{
    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();

    private readonly List<FieldDraft> _fields = [];
    private IReadOnlyDictionary<string, string[]> _errors = NoErrors;
    private string? _name;
    private WorkType? _workType;
    private int? _defaultPriority = 3;
    private long? _departmentId;
    private bool _assetRequired;
    private bool _contactRequired;
    private bool _active = true;
    private string? _problem;
    private bool _conflict;
    private bool _busy;

    [Inject]
    private Templates Templates { get; set; } = default!;

    [Inject]
    private OfferedCultures Cultures { get; set; } = default!;

    /// <summary>The template to change, or null to create one.</summary>
    [Parameter]
    public Template? Existing { get; set; }

    [Parameter, EditorRequired]
    public IReadOnlyList<Department> Departments { get; set; } = [];

    [Parameter]
    public EventCallback<Template> OnSaved { get; set; }

    [Parameter]
    public EventCallback OnCancel { get; set; }

    /// <summary>Asks for the template as it is stored now, after someone else changed it.</summary>
    [Parameter]
    public EventCallback OnReload { get; set; }

    protected override void OnInitialized()
    {
        if (Existing is not { } t)
        {
            return;
        }

        (_name, _workType, _defaultPriority, _departmentId) = (t.Name, t.WorkType, t.DefaultPriority, t.DepartmentId);
        (_assetRequired, _contactRequired, _active) = (t.AssetRequired, t.ContactRequired, t.Active);
        _fields.AddRange(t.Fields.Select(FieldDraft.From));
    }

    public TemplateRequest BuildRequest() => new(
        _name,
        _workType,
        _defaultPriority,
        _departmentId,
        _assetRequired,
        _contactRequired,
        [.. _fields.Select(f => f.ToField())],
        _active,
        Existing?.RowVersion);

    private async Task SaveAsync()
    {
        _busy = true;
        _problem = null;
        var actor = await ActorAsync();
        var saved = Existing is { } existing
            ? await Templates.UpdateAsync(existing.Id, BuildRequest(), actor, Aborted)
            : await Templates.CreateAsync(BuildRequest(), actor, Aborted);
        _busy = false;
        _errors = saved.Failure?.FieldTexts() ?? NoErrors;
        _conflict = saved.Failure?.Kind == FailureKind.Conflict;
        if (saved.Value is { } template)
        {
            await OnSaved.InvokeAsync(template);
        }
        else if (saved.Failure is { } failure)
        {
            _problem = failure.Kind switch
            {
                FailureKind.Validation => T["Templates.TemplateWasNotSavedCorrect"],
                FailureKind.Conflict => T["Templates.SomeoneElseChangedThisTemplate"],
                _ => failure.Text(),
            };
        }
    }

    private IEnumerable<string> MessagesFor(string name) => _errors.GetValueOrDefault(name) ?? [];

    private IEnumerable<string> FieldMessages(int index, string part) => MessagesFor($"fields[{index}].{part}");

    private IEnumerable<KeyValuePair<string, string[]>> OtherErrors =>
        _errors.Where(e => e.Key is not ("name" or "workType" or "defaultPriority" or "departmentId")
            && !e.Key.StartsWith("fields[", StringComparison.Ordinal));

    private void AddField() => _fields.Add(new FieldDraft());

    private void Remove(FieldDraft field) => _fields.Remove(field);

    private void Move(int index, int by)
    {
        var target = index + by;
        if (target >= 0 && target < _fields.Count)
        {
            (_fields[index], _fields[target]) = (_fields[target], _fields[index]);
        }
    }

    /// <summary>One custom field as the administrator is editing it; settings that do not apply to its kind are dropped.</summary>
    private sealed class FieldDraft
    {
        public string? Key { get; set; }

        public string? Label { get; set; }

        /// <summary>The label per culture name; kept for cultures this app does not offer, so a save does not drop them.</summary>
        public Dictionary<string, string?> Labels { get; } = new(StringComparer.Ordinal);

        public FieldKind Kind { get; set; } = FieldKind.Text;

        public bool Required { get; set; }

        /// <summary>Choice options, one per line.</summary>
        public string? Options { get; set; }

        public decimal? Min { get; set; }

        public decimal? Max { get; set; }

        public int? MaxLength { get; set; }

        public static FieldDraft From(TemplateField f)
        {
            var draft = new FieldDraft
            {
                Key = f.Key,
                Label = f.Label,
                Kind = f.Kind,
                Required = f.Required,
                Options = f.Options is { } options ? string.Join('\n', options) : null,
                Min = f.Min,
                Max = f.Max,
                MaxLength = f.MaxLength,
            };
            foreach (var (culture, label) in f.Labels ?? new Dictionary<string, string>())
            {
                draft.Labels[culture] = label;
            }

            return draft;
        }

        public TemplateField ToField() => new(
            Key?.Trim() ?? "",
            Label?.Trim() ?? "",
            Kind,
            Required,
            Kind == FieldKind.Choice ? (Options ?? "").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null,
            Kind == FieldKind.Text ? MaxLength : null,
            Kind == FieldKind.Number ? Min : null,
            Kind == FieldKind.Number ? Max : null,
            Labels.Where(l => !string.IsNullOrWhiteSpace(l.Value)).ToDictionary(l => l.Key, l => l.Value!.Trim(), StringComparer.Ordinal) is { Count: > 0 } labels ? labels : null);
    }
}
