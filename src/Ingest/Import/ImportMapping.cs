using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Import;

/// <summary>What to do with a row whose status says open but which carries a closed date.</summary>
public enum OpenRowWithClosedDate
{
    /// <summary>Trust the date: the row is imported as closed at that time.</summary>
    Close,

    /// <summary>Trust the status: the closed date is ignored and the row is imported open.</summary>
    KeepOpen,

    /// <summary>Send the row to the reject file.</summary>
    Reject,
}

/// <summary>When the lifecycle's start happened, for a row whose source gives neither an acknowledged nor a started time.</summary>
public enum UnknownStart
{
    /// <summary>At the resolved time (or the closed time): time to acknowledge is then an upper bound.</summary>
    AtResolve,

    /// <summary>At the created time: time to acknowledge is then zero.</summary>
    AtCreate,

    /// <summary>
    /// Not known: the start event is placed at the resolved time (or the closed time) marked undated, and the work order
    /// keeps no acknowledged or started time, so time to acknowledge leaves it out instead of repeating time to repair.
    /// </summary>
    NotKnown,
}

/// <summary>What a closed or resolved row without a resolved time stands for.</summary>
public enum ResolvedWhenMissing
{
    /// <summary>The work was resolved when it was closed: the closed time is the resolved time.</summary>
    Closed,

    /// <summary>The resolved time is not known: the work order keeps none, so it counts in volume but not in MTTR.</summary>
    None,
}

/// <summary>A title longer than the 200 characters a work order allows.</summary>
public enum TitleOverflow
{
    /// <summary>The title is cut at a word with an ellipsis, and the whole text opens the description.</summary>
    MoveToDescription,

    /// <summary>Send the row to the reject file.</summary>
    Reject,
}

/// <summary>
/// Where one value of a work order comes from: a source <see cref="Column"/>, or a <see cref="Template"/> that joins
/// columns written as <c>{column}</c>; then, optionally, translated through <see cref="Values"/> (keys match trimmed and
/// case-insensitively). An empty value becomes <see cref="Default"/>. A value the map does not know is passed on as it
/// is when <see cref="Passthrough"/>, else it becomes the default, else the row is rejected.
/// </summary>
public record ValueSpec
{
    public string? Column { get; init; }

    public string? Template { get; init; }

    public Dictionary<string, string>? Values { get; init; }

    public string? Default { get; init; }

    public bool Passthrough { get; init; }
}

/// <summary>The problem category: a custom field of the template (fault_code for the warehouse's failure code).</summary>
public sealed record CategorySpec : ValueSpec
{
    public string Field { get; init; } = "fault_code";

    public string Label { get; init; } = "Fault";
}

/// <summary>A further text custom field filled from the source (created with the template when it is missing).</summary>
public sealed record CustomFieldSpec : ValueSpec
{
    public string Field { get; init; } = "";

    public string? Label { get; init; }
}

/// <summary>The location: a site asset per value, code = prefix + the value in capitals, created when missing.</summary>
public sealed record SiteSpec : ValueSpec
{
    public string CodePrefix { get; init; } = "";
}

/// <summary>
/// The asset the work is on: code = prefix + the value in capitals, created when missing as <see cref="Kind"/> with its
/// type and installation date, under <see cref="ParentCode"/> or else under the row's site. Once created, an asset is
/// the register's: a later row does not change it.
/// </summary>
public sealed record AssetSpec : ValueSpec
{
    public string CodePrefix { get; init; } = "";

    public Ticketing.Assets.AssetKind Kind { get; init; } = Ticketing.Assets.AssetKind.Machine;

    /// <summary>The asset type of an asset the import creates (pump, elevator...).</summary>
    public ValueSpec? Type { get; init; }

    /// <summary>The column with the installation date (yyyy-MM-dd) of an asset the import creates.</summary>
    public string? InstalledOn { get; init; }

    /// <summary>An existing asset every created asset goes under; without it, the row's site.</summary>
    public string? ParentCode { get; init; }
}

/// <summary>The external id: stored as prefix + value in work_orders.reference, one work order per id.</summary>
public sealed record ExternalIdSpec
{
    public string Column { get; init; } = "";

    public string Prefix { get; init; } = "";
}

/// <summary>The source columns that hold the lifecycle times; only created is required.</summary>
public sealed record TimesSpec
{
    public string Created { get; init; } = "";

    public string? Acknowledged { get; init; }

    public string? Started { get; init; }

    public string? Resolved { get; init; }

    public string? Closed { get; init; }

    /// <summary>The source's own response deadline: the SLA response figure of imported work is measured against it.</summary>
    public string? ResponseDue { get; init; }

    /// <summary>The source's own resolution deadline: the SLA resolution figure of imported work is measured against it.</summary>
    public string? ResolutionDue { get; init; }
}

/// <summary>
/// An event-log export: one row per update of a ticket. Rows are grouped by the external id and put in order by
/// <see cref="OrderBy"/> (as numbers when they are numbers, else as times in the mapping's formats, else as text);
/// <see cref="At"/> is the column with the time of each update (the order column when not given). The last row gives
/// the ticket's values; every change of status, assignee or department along the way becomes a history event at its time.
/// </summary>
public sealed record EventLogSpec
{
    public string OrderBy { get; init; } = "";

    public string? At { get; init; }

    public string AtColumn => At ?? OrderBy;
}

/// <summary>The template the work orders are raised from; created (with the category and custom fields) when missing.</summary>
public sealed record TemplateSpec
{
    public string Name { get; init; } = "";

    public WorkType WorkType { get; init; } = WorkType.Corrective;

    /// <summary>The department that owns a template the import creates.</summary>
    public string Department { get; init; } = "";

    public int DefaultPriority { get; init; } = 3;
}

/// <summary>
/// How another system's ticket export becomes work orders. Written as JSON (comments allowed); samples/nyc311-elevator-mapping.json
/// is a complete example with every option explained.
/// </summary>
public sealed partial record ImportMapping
{
    public const int MaxReferenceLength = CreateWorkOrder.MaxReferenceLength;

    /// <summary>The statuses a status value may map to.</summary>
    public static readonly IReadOnlyList<WorkOrderStatus> TargetStatuses =
        [WorkOrderStatus.New, WorkOrderStatus.Assigned, WorkOrderStatus.InProgress, WorkOrderStatus.Resolved, WorkOrderStatus.Closed, WorkOrderStatus.Cancelled];

    /// <summary>The statuses a status value of an event log may map to: the paused ones too, since its history has their times.</summary>
    public static readonly IReadOnlyList<WorkOrderStatus> EventLogStatuses =
        [.. TargetStatuses, WorkOrderStatus.OnHold, WorkOrderStatus.AwaitingFeedback];

    /// <summary>The statuses this mapping's status values may map to.</summary>
    public IReadOnlyList<WorkOrderStatus> Statuses => EventLog is null ? TargetStatuses : EventLogStatuses;

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false), new ScalarTextConverter() },
    };

    public ExternalIdSpec ExternalId { get; init; } = new();

    /// <summary>The zone the source's times are written in (IANA name); they are stored in UTC.</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>DuckDB strptime formats, tried in order; none means ISO 8601.</summary>
    public IReadOnlyList<string> DateFormats { get; init; } = [];

    public TimesSpec Times { get; init; } = new();

    /// <summary>
    /// The column with how many times the source reopened a ticket: each reopen becomes a resolve and a reject (undated,
    /// placed at the start) before the ticket's own resolve, so first-time fix counts it as the live application would.
    /// </summary>
    public string? Reopens { get; init; }

    /// <summary>Set when the export has one row per update of a ticket rather than one per ticket.</summary>
    public EventLogSpec? EventLog { get; init; }

    /// <summary>
    /// Texts the source writes for "no value" (for example <c>?</c>, <c>N/A</c>, <c>NULL</c>, <c>-</c>): a cell that holds
    /// one of them, trimmed and in any case, is read as empty in every mapped column, times included.
    /// </summary>
    public IReadOnlyList<string> MissingValues { get; init; } = [];

    /// <summary>What a closed or resolved row without a resolved time stands for: the closed time (the default) or not known.</summary>
    public ResolvedWhenMissing ResolvedWhenMissing { get; init; } = ResolvedWhenMissing.Closed;

    public UnknownStart StartWhenUnknown { get; init; } = UnknownStart.NotKnown;

    public TemplateSpec Template { get; init; } = new();

    /// <summary>Further templates a row may be raised from (each created when missing, as <see cref="Template"/> is).</summary>
    public IReadOnlyList<TemplateSpec> Templates { get; init; } = [];

    /// <summary>
    /// The template of each row, by name: a value map from a source column to the names of <see cref="Template"/> and
    /// <see cref="Templates"/>, so that work types (a preventive visit, a repair) come from the row. Without it, or
    /// for an empty value without a default, the row is raised from <see cref="Template"/>.
    /// </summary>
    public ValueSpec? TemplateBy { get; init; }

    /// <summary>Every template the mapping names, the default first.</summary>
    public IEnumerable<TemplateSpec> AllTemplates => [Template, .. Templates];

    public ValueSpec? Title { get; init; }

    public TitleOverflow TitleOverflow { get; init; } = TitleOverflow.MoveToDescription;

    public ValueSpec? Description { get; init; }

    /// <summary>Values 1 (most urgent) to 4; when the source leaves it empty, the template's default priority.</summary>
    public ValueSpec? Priority { get; init; }

    /// <summary>Values new, assigned, in_progress, resolved, closed or cancelled. Without it: closed when there is a closed date, else new.</summary>
    public ValueSpec? Status { get; init; }

    /// <summary>An open status with a closed date later than created.</summary>
    public OpenRowWithClosedDate OpenWithClosedDate { get; init; } = OpenRowWithClosedDate.Reject;

    /// <summary>An open status with a closed date equal to created (often a placeholder of the source system).</summary>
    public OpenRowWithClosedDate? OpenClosedAtCreation { get; init; }

    /// <summary>The department name (created when missing); without it, the template's department.</summary>
    public ValueSpec? Department { get; init; }

    /// <summary>A user name; a missing user is created as an inactive technician of the work order's department.</summary>
    public ValueSpec? Assignee { get; init; }

    public ValueSpec? Contact { get; init; }

    public SiteSpec? Site { get; init; }

    public AssetSpec? Asset { get; init; }

    public CategorySpec? Category { get; init; }

    public IReadOnlyList<CustomFieldSpec> CustomFields { get; init; } = [];

    public OpenRowWithClosedDate ClosedAtCreationPolicy => OpenClosedAtCreation ?? OpenWithClosedDate;

    public static ImportMapping Load(string path)
    {
        ImportMapping? mapping;
        try
        {
            using var stream = File.OpenRead(path);
            mapping = JsonSerializer.Deserialize<ImportMapping>(stream, Json);
        }
        catch (JsonException e)
        {
            throw new MappingException($"the mapping {path} is not valid: {e.Message}");
        }

        return (mapping ?? throw new MappingException($"the mapping {path} is empty")).Checked();
    }

    /// <summary>Every source column the mapping reads.</summary>
    public IEnumerable<string> Columns()
    {
        IEnumerable<string?> named =
            [ExternalId.Column, Times.Created, Times.Acknowledged, Times.Started, Times.Resolved, Times.Closed, Times.ResponseDue, Times.ResolutionDue,
             Reopens, Asset?.InstalledOn, EventLog?.OrderBy, EventLog?.At];
        IEnumerable<ValueSpec?> specs = [Title, Description, Priority, Status, Department, Assignee, Contact, Site, Category, Asset, Asset?.Type, TemplateBy, .. CustomFields];
        return named.Concat(specs.SelectMany(s => s is null ? [] : ColumnsOf(s)))
            .OfType<string>()
            .Distinct(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The columns a value reads: its column, or the placeholders of its template.</summary>
    public static IEnumerable<string> ColumnsOf(ValueSpec spec) =>
        spec.Template is { } template ? Placeholder().Matches(template).Select(m => m.Groups[1].Value) : spec.Column is { } column ? [column] : [];

    [GeneratedRegex(@"\{([^{}]+)\}")]
    public static partial Regex Placeholder();

    /// <summary>The rules a mapping must keep before any row is read; the first broken one is reported.</summary>
    public ImportMapping Checked()
    {
        Require(!string.IsNullOrWhiteSpace(ExternalId.Column), "externalId.column is required");
        Require(!string.IsNullOrWhiteSpace(Times.Created), "times.created is required");
        foreach (var (template, name) in AllTemplates.Select((t, i) => (t, i == 0 ? "template" : $"templates[{i - 1}]")))
        {
            Require(!string.IsNullOrWhiteSpace(template.Name) && template.Name.Length <= 100, $"{name}.name is required, at most 100 characters");
            Require(template.DefaultPriority is >= 1 and <= 4, $"{name}.defaultPriority must be 1 to 4");
        }

        var templateNames = AllTemplates.Select(t => t.Name.Trim()).ToList();
        Require(templateNames.Distinct(StringComparer.Ordinal).Count() == templateNames.Count, "template and templates name one template twice");
        Require(TemplateBy is not null || Templates.Count == 0, "templates needs templateBy, the column that chooses a row's template");
        foreach (var value in (TemplateBy?.Values?.Values.AsEnumerable() ?? []).Append(TemplateBy?.Default).OfType<string>())
        {
            Require(templateNames.Contains(value.Trim()), $"templateBy maps to '{value}', which is not the name of template or one of templates");
        }

        Require(Title is not null, "title is required");
        Require(Description is not null, "description is required");
        Require(EventLog is null || !string.IsNullOrWhiteSpace(EventLog.OrderBy), "eventLog.orderBy is required: the column that puts a ticket's updates in order");
        Require(MissingValues.All(v => !string.IsNullOrWhiteSpace(v)), "missingValues may not hold an empty text (empty cells are empty already)");
        Require(ExternalId.Prefix.Length < MaxReferenceLength, $"externalId.prefix must be shorter than {MaxReferenceLength} characters");
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
        }
        catch (TimeZoneNotFoundException)
        {
            throw new MappingException($"timeZone '{TimeZone}' is not a known time zone (use an IANA name such as America/New_York)");
        }

        foreach (var (name, spec) in Specs())
        {
            Require(spec.Column is null != spec.Template is null, $"{name} needs exactly one of column or template");
            var keys = spec.Values?.Keys.Select(k => k.Trim()).ToList() ?? [];
            Require(keys.Distinct(StringComparer.OrdinalIgnoreCase).Count() == keys.Count, $"{name}.values has keys that differ only in case or spaces");
        }

        if (Priority is not null)
        {
            foreach (var value in (Priority.Values?.Values.AsEnumerable() ?? []).Append(Priority.Default).OfType<string>())
            {
                Require(value is "1" or "2" or "3" or "4", $"priority maps to '{value}'; priorities are 1 to 4");
            }
        }

        if (Status is not null)
        {
            foreach (var value in (Status.Values?.Values.AsEnumerable() ?? []).Append(Status.Default).OfType<string>())
            {
                Require(
                    Ticketing.WireNames.TryParse<WorkOrderStatus>(value, out var status) && Statuses.Contains(status),
                    $"status maps to '{value}'; the statuses are {string.Join(", ", Statuses.Select(Ticketing.WireNames.Of))}");
            }
        }

        if (Asset is { } asset)
        {
            var parents = Ticketing.Assets.AssetPlacement.ParentKinds(asset.Kind);
            Require(
                parents.Count == 0 || asset.ParentCode is not null || (Site is not null && parents.Contains(Ticketing.Assets.AssetKind.Site)),
                $"asset.kind {Ticketing.WireNames.Of(asset.Kind)} needs asset.parentCode, or a site mapping when it may stand in a site");
            Require(parents.Count > 0 || asset.ParentCode is null, "asset.parentCode is not allowed for a site");
        }

        var keysSeen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in CustomFields.Select(f => f.Field).Concat(Category is null ? [] : [Category.Field]))
        {
            Require(FieldKey().IsMatch(field), $"custom field key '{field}' must start with a-z and hold only a-z, 0-9 and _");
            Require(keysSeen.Add(field), $"custom field '{field}' is filled twice");
        }

        return this;
    }

    private IEnumerable<(string Name, ValueSpec Spec)> Specs()
    {
        (string, ValueSpec?)[] all =
        [
            ("title", Title), ("description", Description), ("priority", Priority), ("status", Status), ("department", Department),
            ("assignee", Assignee), ("contact", Contact), ("site", Site), ("category", Category), ("asset", Asset), ("asset type", Asset?.Type),
            ("templateBy", TemplateBy),
            .. CustomFields.Select(f => ($"customFields.{f.Field}", (ValueSpec?)f)),
        ];
        return all.Where(s => s.Item2 is not null).Select(s => (s.Item1, s.Item2!));
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new MappingException(message);
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,39}$")]
    private static partial Regex FieldKey();

    /// <summary>Lets value maps be written with numbers (priority 1) as well as text.</summary>
    private sealed class ScalarTextConverter : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False =>
                System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan),
            _ => throw new JsonException($"expected text or a number, found {reader.TokenType}"),
        };

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }
}

/// <summary>A mapping that cannot be used with this file or database: the import stops before writing anything.</summary>
public sealed class MappingException(string message) : Exception(message);
