using System.Text.Json;
using Microsoft.AspNetCore.Components;
using WorkOrders.Dashboard.Localization;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>Adds or changes an assignment rule; the core checks the references and names each wrong field.</summary>
public sealed partial class AssignmentRuleEditor
{
    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();

    private readonly List<SkillDraft> _skills = [];
    private IReadOnlyDictionary<string, string[]> _errors = NoErrors;
    private IReadOnlyList<Choice<long?>> _people = [];
    private string? _name;
    private long? _departmentId;
    private AssignmentStrategy? _strategy = AssignmentStrategy.LeastLoaded;
    private long? _namedUserId;
    private long? _templateId;
    private WorkType? _workType;
    private IEnumerable<int> _priorities = [];
    private string? _assetType;
    private long? _locationAssetId;
    private Asset? _location;
    private string? _customFields;
    private bool _active = true;
    private string? _problem;
    private bool _busy;

    [Inject]
    private AssignmentRules Rules { get; set; } = default!;

    [Inject]
    private Users Users { get; set; } = default!;

    [Inject]
    private AssetRegister AssetRegister { get; set; } = default!;

    /// <summary>The rule to change, or null to add one.</summary>
    [Parameter]
    public AssignmentRule? Existing { get; set; }

    [Parameter, EditorRequired]
    public IReadOnlyList<Department> Departments { get; set; } = [];

    [Parameter, EditorRequired]
    public IReadOnlyList<Template> Templates { get; set; } = [];

    [Parameter, EditorRequired]
    public IReadOnlyList<string> Skills { get; set; } = [];

    [Parameter]
    public EventCallback<AssignmentRule> OnSaved { get; set; }

    [Parameter]
    public EventCallback OnCancel { get; set; }

    private IEnumerable<Choice<AssignmentStrategy?>> Strategies =>
        Enum.GetValues<AssignmentStrategy>().Select(s => new Choice<AssignmentStrategy?>(s, T.Of(s)));

    private IEnumerable<KeyValuePair<string, string[]>> OtherErrors =>
        _errors.Where(e => !Shown(e.Key));

    protected override async Task OnInitializedAsync()
    {
        if (Existing is { } r)
        {
            (_name, _departmentId, _strategy, _namedUserId) = (r.Name, r.DepartmentId, r.Strategy, r.NamedUserId);
            (_templateId, _workType, _priorities, _assetType, _locationAssetId, _active) = (r.TemplateId, r.WorkType, r.Priorities, r.AssetType, r.LocationAssetId, r.Active);
            _customFields = string.Join("\n", r.CustomFields.Select(f => $"{f.Key} = {(f.Value.ValueKind == JsonValueKind.String ? f.Value.GetString() : f.Value.GetRawText())}"));
            _skills.AddRange(r.RequiredSkills.Select(s => new SkillDraft { Skill = s.Skill, MinLevel = s.MinLevel }));
            if (r.LocationAssetId is { } location)
            {
                _location = (await AssetRegister.GetAsync(location, Aborted)).Value?.Asset;
            }
        }

        await DepartmentChangedAsync();
    }

    private Task<IReadOnlyList<Asset>> SearchAssets(string? text, CancellationToken cancellationToken) => AssetRegister.SearchAsync(text, AssetPicker.Take, cancellationToken);

    private async Task DepartmentChangedAsync() =>
        _people = _departmentId is { } department
            ? [.. (await Users.AssignableAsync(department, Aborted)).Select(u => new Choice<long?>(u.Id, $"{u.DisplayName} ({T.Of(u.Role)})"))]
            : [];

    private bool Shown(string field) =>
        field is "name" or "departmentId" or "strategy" or "namedUserId" or "requiredSkills" or "templateId" or "workType" or "priorities"
            or "assetType" or "locationAssetId" or "customFields"
        || field.StartsWith("requiredSkills[", StringComparison.Ordinal);

    private IEnumerable<string> MessagesFor(string field) =>
        field == "customFields"
            ? _errors.Where(e => e.Key.StartsWith("customFields", StringComparison.Ordinal)).SelectMany(e => e.Value)
            : _errors.GetValueOrDefault(field) ?? [];

    /// <summary>The request the form stands for; custom field lines that are not "key = value" are reported, not dropped.</summary>
    public (AssignmentRuleRequest Request, IReadOnlyList<string> BadLines) BuildRequest()
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var bad = new List<string>();
        foreach (var line in (_customFields ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0)
            {
                bad.Add(line);
                continue;
            }

            // Numbers and true/false compare as such; anything else as text.
            fields[parts[0]] = decimal.TryParse(parts[1], System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var number)
                ? JsonSerializer.SerializeToElement(number)
                : parts[1] is "true" or "false" ? JsonSerializer.SerializeToElement(parts[1] == "true") : JsonSerializer.SerializeToElement(parts[1]);
        }

        var request = new AssignmentRuleRequest(
            _name,
            _departmentId,
            _strategy,
            _strategy == AssignmentStrategy.NamedPerson ? _namedUserId : null,
            _templateId,
            _workType,
            [.. _priorities],
            string.IsNullOrWhiteSpace(_assetType) ? null : _assetType,
            _locationAssetId,
            fields,
            [.. _skills.Select(s => new RequiredSkill(s.Skill ?? "", s.MinLevel))],
            _active,
            Existing?.RowVersion);
        return (request, bad);
    }

    private async Task SaveAsync()
    {
        var (request, badLines) = BuildRequest();
        if (badLines.Count > 0)
        {
            _errors = new Dictionary<string, string[]> { ["customFields"] = [T["Rules.WriteEachLineAsKey", string.Join("; ", badLines)]] };
            return;
        }

        _busy = true;
        _problem = null;
        var actor = await ActorAsync();
        var outcome = Existing is null
            ? await Rules.CreateAsync(request, actor, Aborted)
            : await Rules.UpdateAsync(Existing.Id, request, actor, Aborted);
        _busy = false;
        switch (outcome.Failure)
        {
            case null:
                _errors = NoErrors;
                await OnSaved.InvokeAsync(outcome.Value!);
                break;
            case { Kind: FailureKind.Validation } invalid:
                _errors = invalid.FieldTexts();
                break;
            case { Kind: FailureKind.Conflict }:
                _problem = T["Rules.SomeoneElseChangedThisRule"];
                break;
            case { } failure:
                _problem = failure.Text();
                break;
        }
    }

    private sealed class SkillDraft
    {
        public string? Skill { get; set; }

        public int MinLevel { get; set; } = 3;
    }
}
