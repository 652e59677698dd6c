using System.Globalization;
using System.Text;
using System.Text.Json;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Import;

/// <summary>Why a row cannot be imported: the work-order field and a reason that quotes the source.</summary>
public sealed record RowProblem(string Field, string Reason);

/// <summary>A site asset by code, created with this name when missing.</summary>
public sealed record SiteRef(string Code, string Name);

/// <summary>The asset a work order is on, by code, created with these attributes (under the parent code) when missing.</summary>
public sealed record AssetRef(string Code, string Name, Ticketing.Assets.AssetKind Kind, string? Type, DateOnly? InstalledOn, string? ParentCode);

/// <summary>A row that passed every rule: what its work order and history will be, with names still to resolve to ids.</summary>
public sealed record ImportedTicket(
    long SourceRow,
    string Reference,
    string Title,
    string Description,
    int Priority,
    string? Contact,
    string DepartmentName,
    SiteRef? Site,
    string? AssigneeUserName,
    string? AssigneeDisplayName,
    string CustomFieldsJson,
    HistoryPlan History,
    AssetRef? Asset,
    Template Template,
    DateTime? ResponseDueAt = null,
    DateTime? ResolutionDueAt = null);

/// <summary>The decision on one row: a ticket, or the problems that send it to the reject file.</summary>
public sealed record RowVerdict(long SourceRow, string? ExternalId, ImportedTicket? Ticket, IReadOnlyList<RowProblem> Problems);

/// <summary>
/// Maps and checks one source row with no database: the mapping's columns and value maps, the time rules, then the very
/// checks the live create applies (<see cref="CreateWorkOrder.Validate"/>) against the template.
/// </summary>
public sealed partial class RowRules
{
    public const int MaxDepartmentName = 100;
    public const int MaxSiteCode = 50;
    public const int MaxSiteName = 200;

    private readonly ImportMapping _mapping;
    private readonly Template _template;
    private readonly IReadOnlyDictionary<string, Template> _templates;
    private readonly MappedValue? _templateBy;
    private readonly int? _reopens;
    private readonly TimeZoneInfo _zone;
    private readonly int _externalId;
    private readonly int?[] _timeColumns;
    private readonly string?[] _timeNames;
    private readonly MappedValue _title;
    private readonly MappedValue _description;
    private readonly MappedValue? _priority;
    private readonly MappedValue? _status;
    private readonly MappedValue? _department;
    private readonly MappedValue? _assignee;
    private readonly MappedValue? _contact;
    private readonly MappedValue? _site;
    private readonly MappedValue? _asset;
    private readonly MappedValue? _assetType;
    private readonly int? _installedOn;
    private readonly (string Key, MappedValue Value)[] _customFields;

    /// <param name="mapping">The checked mapping.</param>
    /// <param name="columns">The file's mapped columns, in the order of a row's values.</param>
    /// <param name="template">The mapping's default template.</param>
    /// <param name="templates">Every template of the mapping by name, when rows choose theirs (templateBy).</param>
    public RowRules(ImportMapping mapping, IReadOnlyList<string> columns, Template template, IReadOnlyDictionary<string, Template>? templates = null)
    {
        _mapping = mapping;
        _template = template;
        _templates = templates ?? new Dictionary<string, Template> { [template.Name] = template };
        _zone = TimeZoneInfo.FindSystemTimeZoneById(mapping.TimeZone);
        int IndexOf(string column) => columns.Select((c, i) => (c, i)).First(x => string.Equals(x.c, column, StringComparison.OrdinalIgnoreCase)).i;
        MappedValue Compile(string name, ValueSpec spec) => new(name, spec, IndexOf);
        _externalId = IndexOf(mapping.ExternalId.Column);
        _timeNames =
        [
            mapping.Times.Created, mapping.Times.Acknowledged, mapping.Times.Started, mapping.Times.Resolved, mapping.Times.Closed, mapping.EventLog?.AtColumn,
            mapping.Times.ResponseDue, mapping.Times.ResolutionDue,
        ];
        _timeColumns = _timeNames.Select(t => t is null ? (int?)null : IndexOf(t)).ToArray();
        _title = Compile("title", mapping.Title!);
        _description = Compile("description", mapping.Description!);
        _priority = mapping.Priority is { } p ? Compile("priority", p) : null;
        _status = mapping.Status is { } s ? Compile("status", s) : null;
        _department = mapping.Department is { } d ? Compile("department", d) : null;
        _assignee = mapping.Assignee is { } a ? Compile("assignee", a) : null;
        _contact = mapping.Contact is { } c ? Compile("contact", c) : null;
        _site = mapping.Site is { } site ? Compile("site", site) : null;
        _asset = mapping.Asset is { } asset ? Compile("asset", asset) : null;
        _assetType = mapping.Asset?.Type is { } assetType ? Compile("asset type", assetType) : null;
        _installedOn = mapping.Asset?.InstalledOn is { } installed ? IndexOf(installed) : null;
        _templateBy = mapping.TemplateBy is { } by ? Compile("template", by) : null;
        _reopens = mapping.Reopens is { } reopens ? IndexOf(reopens) : null;
        _customFields = [.. (mapping.Category is { } category ? [(category.Field, Compile("category", category))] : Array.Empty<(string, MappedValue)>())
            .Concat(mapping.CustomFields.Select(f => (f.Field, Compile($"customFields.{f.Field}", f))))];
    }

    /// <summary>The external id as the row writes it; null when empty.</summary>
    public string? ExternalIdOf(SourceRow row) => Blank(row.Values[_externalId]);

    /// <summary>
    /// An event-log ticket: its updates in order, the last giving the ticket's values (checked as any row is) and each
    /// giving its time, status, assignee and department to the history (<see cref="EventLogHistory"/>). A problem on an
    /// earlier update rejects the ticket, naming that update's row.
    /// </summary>
    public RowVerdict Decide(IReadOnlyList<SourceRow> updates)
    {
        var last = updates[^1];
        var verdict = Decide(last, eventLog: true);
        var problems = new List<RowProblem>(verdict.Problems);
        var mapped = new List<TicketUpdate>(updates.Count);
        foreach (var row in updates)
        {
            var own = new List<RowProblem>();
            var update = Update(row, row == last ? verdict.Ticket?.History.Status : null, verdict.Ticket?.Template ?? _template, own);
            problems.AddRange(row == last ? own : own.Select(p => p with { Reason = $"update on row {row.Number}: {p.Reason}" }));
            if (update is not null)
            {
                mapped.Add(update);
            }
        }

        if (problems.Count > 0 || verdict.Ticket is not { } ticket)
        {
            return verdict with { Ticket = null, Problems = problems.DistinctBy(p => (p.Field, p.Reason)).ToList() };
        }

        var created = updates.Select(u => u.Times.Created).OfType<DateTime>().Min();
        var history = EventLogHistory.Plan(ToUtc(created), mapped);
        var (assignee, assigneeName) = EventLogHistory.FinalAssignee(history);
        return verdict with { Ticket = ticket with { History = history, AssigneeUserName = assignee, AssigneeDisplayName = assigneeName } };
    }

    /// <summary>One update of an event log, mapped; null with a problem when it cannot be.</summary>
    private TicketUpdate? Update(SourceRow row, WorkOrderStatus? decided, Template template, List<RowProblem> problems)
    {
        var values = row.Values;
        if (row.Times.EventAt is not { } at)
        {
            var column = _mapping.EventLog!.AtColumn;
            problems.Add(new("eventLog.at", $"'{Blank(values[_timeColumns[5]!.Value])}' in {column} is not a time{Formats()}; every update needs one."));
            return null;
        }

        var status = decided;
        if (status is null && _status is null)
        {
            status = row.Times.Closed is null ? WorkOrderStatus.New : WorkOrderStatus.Closed;
        }
        else if (status is null && _status!.Require(values, problems) is { } text)
        {
            if (WireNames.TryParse<WorkOrderStatus>(text, out var parsed) && _mapping.Statuses.Contains(parsed))
            {
                status = parsed;
            }
            else
            {
                problems.Add(new("status", $"'{text}' is not a status an event log can report ({string.Join(", ", _mapping.Statuses.Select(WireNames.Of))})."));
            }
        }

        var department = _department is null ? template.DepartmentName : _department.Require(values, problems);
        var (assignee, assigneeName) = Assignee(values, problems);

        return status is { } known && department is not null && problems.Count == 0
            ? new TicketUpdate(ToUtc(at), known, assignee, assigneeName, department)
            : null;
    }

    public RowVerdict Decide(SourceRow row) => Decide(row, eventLog: false);

    private RowVerdict Decide(SourceRow row, bool eventLog)
    {
        var problems = new List<RowProblem>();
        var values = row.Values;
        var externalId = Blank(values[_externalId]);
        string? reference = null;
        if (externalId is null)
        {
            problems.Add(new("reference", $"{_mapping.ExternalId.Column} is empty; the external id is required."));
        }
        else
        {
            reference = _mapping.ExternalId.Prefix + externalId;
        }

        var times = Times(row, problems);
        var title = _title.Get(values, problems);
        var description = _description.Get(values, problems);
        if (title is null)
        {
            problems.Add(new("title", $"{_title.Source} is empty; a title is required."));
        }
        else if (title.Length > CreateWorkOrder.MaxTitleLength && _mapping.TitleOverflow == TitleOverflow.MoveToDescription)
        {
            description = description is null ? title : $"{title}\n\n{description}";
            title = Shorten(title, CreateWorkOrder.MaxTitleLength);
        }

        int? priority = null;
        if (_priority?.Get(values, problems) is { } priorityText)
        {
            if (int.TryParse(priorityText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
            {
                priority = number;
            }
            else
            {
                problems.Add(new("priority", $"'{priorityText}' from {_priority.Source} is not a priority 1 to 4."));
            }
        }

        var template = TemplateOf(values, problems);
        var department = _department is null ? template.DepartmentName : _department.Require(values, problems);
        if (department is { Length: > MaxDepartmentName })
        {
            problems.Add(new("department", $"'{department}' is longer than {MaxDepartmentName} characters."));
        }

        var (assignee, assigneeName) = Assignee(values, problems);

        SiteRef? site = null;
        if (_site?.Get(values, problems) is { } siteName)
        {
            site = new SiteRef(_mapping.Site!.CodePrefix + Code(siteName), siteName);
            if (site.Code.Length > MaxSiteCode || site.Name.Length > MaxSiteName)
            {
                problems.Add(new("site", $"'{siteName}' makes a site code longer than {MaxSiteCode} or a name longer than {MaxSiteName} characters."));
            }
        }

        var asset = Asset(values, site, problems);
        var contact = _contact?.Get(values, problems);
        var custom = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (key, value) in _customFields)
        {
            if (value.Get(values, problems) is { } text)
            {
                custom[key] = JsonSerializer.SerializeToElement(text);
            }
        }

        var decided = Status(values, times, assignee is not null, eventLog, problems);
        var (responseDue, resolutionDue) = Deadlines(row, times, problems);
        var reopens = Reopens(values, problems);

        // The live create's own rules. A site stands in for the asset id, which exists only once the batch is written; a
        // missing title is reported above already.
        var errors = new FieldErrors();
        var request = new CreateWorkOrderRequest(
            template.Id, title ?? "-", description, priority, contact, site is null && asset is null ? null : long.MaxValue, reference, null, custom);
        var (normalised, _) = CreateWorkOrder.Validate(request, template, errors);
        if (errors.Any)
        {
            foreach (var (field, reasons) in errors.ToFailure().Errors!)
            {
                problems.AddRange(reasons.Select(r => new RowProblem(field, r.ToString())));
            }
        }

        if (problems.Count > 0 || decided is not { } outcome)
        {
            return new RowVerdict(row.Number, externalId, null, problems);
        }

        // An event log's history is made from all its updates by the caller; this one only stands for its final status.
        var history = eventLog
            ? new HistoryPlan(outcome.Status, [new HistoryStep(ImportHistory.Created, null, outcome.Status, outcome.Times.Created)], outcome.Times.Created, null, null, null, null)
            : ImportHistory.Plan(outcome.Status, assignee is not null, outcome.Times, _mapping.StartWhenUnknown, _mapping.ResolvedWhenMissing, reopens);
        var ticket = new ImportedTicket(
            row.Number,
            reference!,
            title!.Trim(),
            description!.Trim(),
            priority ?? template.DefaultPriority,
            contact,
            department!,
            site,
            assignee,
            assigneeName,
            JsonSerializer.Serialize(normalised, TemplateSchema.Json),
            history,
            asset,
            template,
            responseDue,
            resolutionDue);
        return new RowVerdict(row.Number, externalId, ticket, problems);
    }

    /// <summary>The source's response and resolution deadlines in UTC, each present, a time, and not before created.</summary>
    private (DateTime? Response, DateTime? Resolution) Deadlines(SourceRow row, TicketTimes? times, List<RowProblem> problems)
    {
        DateTime? Deadline(int index, DateTime? parsed, string field)
        {
            if (_timeColumns[index] is not { } column || Blank(row.Values[column]) is not { } raw)
            {
                return null;
            }

            if (parsed is not { } local)
            {
                problems.Add(new(field, $"'{raw}' in {_timeNames[index]} is not a date{Formats()}."));
                return null;
            }

            var utc = ToUtc(local);
            if (times is not null && utc < times.Created)
            {
                problems.Add(new(field, $"{_timeNames[index]} '{raw}' is before {_timeNames[0]}."));
                return null;
            }

            return utc;
        }

        return (Deadline(6, row.Times.ResponseDue, "responseDue"), Deadline(7, row.Times.ResolutionDue, "resolutionDue"));
    }

    /// <summary>How many times the source reopened the ticket: a whole number 0 to 100; 0 when the mapping names no column or the cell is empty.</summary>
    private int Reopens(string?[] values, List<RowProblem> problems)
    {
        if (_reopens is not { } column || Blank(values[column]) is not { } raw)
        {
            return 0;
        }

        if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count is >= 0 and <= 100)
        {
            return count;
        }

        problems.Add(new("reopens", $"'{raw}' in {_mapping.Reopens} is not a count of reopens 0 to 100."));
        return 0;
    }

    /// <summary>The assignee as a user name and as the source wrote it; null when the mapping names none or the cell is empty.</summary>
    private (string? UserName, string? Name) Assignee(string?[] values, List<RowProblem> problems)
    {
        if (_assignee?.Get(values, problems) is not { } name)
        {
            return (null, null);
        }

        var userName = UserName(name);
        if (!UserNamePattern().IsMatch(userName))
        {
            problems.Add(new("assignee", $"'{name}' does not make a user name (2 to 64 of a-z, 0-9, '.', '_', '-')."));
        }

        return (userName, name);
    }

    /// <summary>The row's template: the one templateBy names, else the mapping's default.</summary>
    private Template TemplateOf(string?[] values, List<RowProblem> problems)
    {
        if (_templateBy?.Get(values, problems) is not { } name)
        {
            return _template;
        }

        if (_templates.TryGetValue(name.Trim(), out var template))
        {
            return template;
        }

        problems.Add(new("template", $"'{name}' from {_templateBy.Source} is not one of the mapping's templates ({string.Join(", ", _templates.Keys)})."));
        return _template;
    }

    /// <summary>The row's asset, checked by the register's own attribute rules; null when the mapping names none or the row leaves it empty.</summary>
    private AssetRef? Asset(string?[] values, SiteRef? site, List<RowProblem> problems)
    {
        if (_asset?.Get(values, problems) is not { } assetName)
        {
            return null;
        }

        var spec = _mapping.Asset!;
        var code = spec.CodePrefix + Code(assetName);
        var type = _assetType?.Get(values, problems);
        DateOnly? installedOn = null;
        if (_installedOn is { } column && Blank(values[column]) is { } installedText)
        {
            if (DateOnly.TryParseExact(installedText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                installedOn = day;
            }
            else
            {
                problems.Add(new("asset", $"'{installedText}' from {spec.InstalledOn} is not a date written yyyy-MM-dd."));
            }
        }

        var errors = new FieldErrors();
        Ticketing.Assets.AssetAttributes.Check(code, assetName, type, null, null, null, installedOn, null, 3, null, null, null, errors);
        if (errors.Any)
        {
            problems.AddRange(errors.ToFailure().Errors!.SelectMany(e => e.Value.Select(r => new RowProblem($"asset.{e.Key}", r.ToString()))));
            return null;
        }

        var parentCode = Ticketing.Assets.AssetPlacement.ParentKinds(spec.Kind).Count == 0 ? null : spec.ParentCode ?? site?.Code;
        if (parentCode is null && Ticketing.Assets.AssetPlacement.ParentKinds(spec.Kind).Count > 0)
        {
            problems.Add(new("asset", $"'{assetName}' has no site on this row to stand in."));
            return null;
        }

        return new AssetRef(code, assetName.Trim(), spec.Kind, type, installedOn, parentCode);
    }

    /// <summary>The times in UTC, checked for presence, format and order; null when any is wrong.</summary>
    private TicketTimes? Times(SourceRow row, List<RowProblem> problems)
    {
        string[] names = ["created", "acknowledged", "started", "resolved", "closed"];
        DateTime?[] parsed = [row.Times.Created, row.Times.Acknowledged, row.Times.Started, row.Times.Resolved, row.Times.Closed];
        var utc = new DateTime?[names.Length];
        var count = problems.Count;
        for (var i = 0; i < names.Length; i++)
        {
            if (_timeColumns[i] is not { } column)
            {
                continue;
            }

            var raw = Blank(row.Values[column]);
            if (raw is null)
            {
                if (i == 0)
                {
                    problems.Add(new("created", $"{_timeNames[0]} is empty; the created time is required."));
                }
            }
            else if (parsed[i] is not { } local)
            {
                problems.Add(new(names[i], $"'{raw}' in {_timeNames[i]} is not a date{Formats()}."));
            }
            else
            {
                utc[i] = ToUtc(local);
            }
        }

        if (problems.Count > count)
        {
            return null;
        }

        // Every later time must not come before an earlier one: created <= acknowledged <= started <= resolved <= closed.
        for (var later = 1; later < names.Length; later++)
        {
            for (var earlier = later - 1; earlier >= 0; earlier--)
            {
                if (utc[later] is { } late && utc[earlier] is { } early)
                {
                    if (late < early)
                    {
                        problems.Add(new(names[later],
                            $"{_timeNames[later]} '{Blank(row.Values[_timeColumns[later]!.Value])}' is before {_timeNames[earlier]} '{Blank(row.Values[_timeColumns[earlier]!.Value])}'."));
                    }

                    break;
                }
            }
        }

        return problems.Count > count ? null : new TicketTimes(utc[0]!.Value, utc[1], utc[2], utc[3], utc[4]);
    }

    /// <summary>
    /// The status the row ends in, after the mapping's rules for open rows that carry a closed date, and the times that go
    /// with it (a closed date the mapping says to ignore is dropped).
    /// </summary>
    private (WorkOrderStatus Status, TicketTimes Times)? Status(string?[] values, TicketTimes? times, bool hasAssignee, bool eventLog, List<RowProblem> problems)
    {
        WorkOrderStatus status;
        string said;
        if (_status is null)
        {
            status = times?.Closed is null ? WorkOrderStatus.New : WorkOrderStatus.Closed;
            said = times?.Closed is null ? "(none: no closed date)" : "(none: a closed date)";
        }
        else if (_status.Require(values, problems) is not { } mapped)
        {
            return null;
        }
        else if (!WireNames.TryParse(mapped, out status) || !_mapping.Statuses.Contains(status))
        {
            problems.Add(new("status", $"'{mapped}' is not a status an import can end in ({string.Join(", ", _mapping.Statuses.Select(WireNames.Of))})."));
            return null;
        }
        else
        {
            said = $"'{_status.Raw(values)}'";
        }

        if (times is null)
        {
            return null;
        }

        var open = status is not (WorkOrderStatus.Closed or WorkOrderStatus.Cancelled);
        if (open && times.Closed is { } closed)
        {
            var policy = closed == times.Created ? _mapping.ClosedAtCreationPolicy : _mapping.OpenWithClosedDate;
            switch (policy)
            {
                case OpenRowWithClosedDate.Close:
                    status = WorkOrderStatus.Closed;
                    break;
                case OpenRowWithClosedDate.KeepOpen:
                    times = times with { Closed = null };
                    break;
                default:
                    problems.Add(new("status", $"the status {said} is open but {_mapping.Times.Closed} gives a closed date (the mapping says to reject such rows)."));
                    return null;
            }
        }

        if (status is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled && times.Closed is null && !eventLog)
        {
            problems.Add(new("closed", _mapping.Times.Closed is null
                ? $"the status {said} is {WireNames.Of(status)} but the mapping names no closed column."
                : $"the status {said} is {WireNames.Of(status)} but {_mapping.Times.Closed} is empty."));
            return null;
        }

        // An event log dates the resolve by its update.
        if (status == WorkOrderStatus.Resolved && (times.Resolved ?? times.Closed) is null && !eventLog)
        {
            problems.Add(new("resolved", $"the status {said} is resolved but the row gives no resolved time."));
            return null;
        }

        if (status == WorkOrderStatus.Assigned && !hasAssignee)
        {
            problems.Add(new("assignee", $"the status {said} is assigned but the row names no assignee."));
            return null;
        }

        return (status, times);
    }

    private DateTime ToUtc(DateTime local)
    {
        var wall = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        // A wall time skipped by a daylight-saving jump is read in standard time, as PostgreSQL does; ambiguous ones too.
        return _zone.IsInvalidTime(wall)
            ? DateTime.SpecifyKind(wall - _zone.BaseUtcOffset, DateTimeKind.Utc)
            : TimeZoneInfo.ConvertTimeToUtc(wall, _zone);
    }

    private string Formats() => _mapping.DateFormats.Count == 0 ? " (ISO 8601 expected)" : $" in the formats {string.Join(" or ", _mapping.DateFormats)}";

    private static string Shorten(string text, int max)
    {
        var cut = text[..(max - 1)];
        var space = cut.LastIndexOf(' ');
        return (space > max / 2 ? cut[..space] : cut).TrimEnd() + "…";
    }

    private static string UserName(string name) => WhiteSpace().Replace(name.Trim().ToLowerInvariant(), ".");

    private static string Code(string name)
    {
        var code = new StringBuilder(name.Length);
        foreach (var c in name.Trim().ToUpperInvariant())
        {
            code.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        return MultipleDashes().Replace(code.ToString(), "-").Trim('-');
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9._-]{2,64}$")]
    private static partial System.Text.RegularExpressions.Regex UserNamePattern();

    [System.Text.RegularExpressions.GeneratedRegex(@"\s+")]
    private static partial System.Text.RegularExpressions.Regex WhiteSpace();

    [System.Text.RegularExpressions.GeneratedRegex("-{2,}")]
    private static partial System.Text.RegularExpressions.Regex MultipleDashes();

    /// <summary>One value spec, compiled against the file's columns.</summary>
    private sealed class MappedValue
    {
        private readonly string _name;
        private readonly ValueSpec _spec;
        private readonly (string? Literal, int Column)[] _parts;
        private readonly Dictionary<string, string>? _values;

        public MappedValue(string name, ValueSpec spec, Func<string, int> indexOf)
        {
            _name = name;
            _spec = spec;
            if (spec.Template is { } template)
            {
                var parts = new List<(string?, int)>();
                var at = 0;
                foreach (System.Text.RegularExpressions.Match match in ImportMapping.Placeholder().Matches(template))
                {
                    parts.Add((template[at..match.Index], -1));
                    parts.Add((null, indexOf(match.Groups[1].Value)));
                    at = match.Index + match.Length;
                }

                parts.Add((template[at..], -1));
                _parts = [.. parts];
                Source = $"the template \"{template}\"";
            }
            else
            {
                _parts = [(null, indexOf(spec.Column!))];
                Source = spec.Column!;
            }

            _values = spec.Values?.ToDictionary(v => v.Key.Trim(), v => v.Value, StringComparer.OrdinalIgnoreCase);
        }

        /// <summary>Where the value comes from, for messages.</summary>
        public string Source { get; }

        /// <summary>The source text: the column, or the template with its columns filled in; null when all of it is empty.</summary>
        public string? Raw(string?[] values)
        {
            if (_parts.Length == 1)
            {
                // One part: a column, or a template with no placeholder (a constant such as "elevator").
                return _parts[0].Literal is { } constant ? Blank(constant) : Blank(values[_parts[0].Column]);
            }

            var text = new StringBuilder();
            var any = false;
            foreach (var (literal, column) in _parts)
            {
                if (literal is not null)
                {
                    text.Append(literal);
                }
                else if (Blank(values[column]) is { } value)
                {
                    text.Append(value);
                    any = true;
                }
            }

            return any ? Blank(text.ToString()) : null;
        }

        /// <summary>As <see cref="Get"/>, and an empty value without a default is a problem too.</summary>
        public string? Require(string?[] values, List<RowProblem> problems)
        {
            var before = problems.Count;
            var value = Get(values, problems);
            if (value is null && problems.Count == before)
            {
                problems.Add(new(_name, $"{Source} is empty and the mapping gives no default."));
            }

            return value;
        }

        public string? Get(string?[] values, List<RowProblem> problems)
        {
            var raw = Raw(values);
            if (raw is null)
            {
                return _spec.Default;
            }

            if (_values is null)
            {
                return raw;
            }

            if (_values.TryGetValue(raw, out var mapped))
            {
                return mapped;
            }

            // Passthrough keeps a text the map does not know; the default stands in for it only without passthrough.
            if (_spec.Passthrough)
            {
                return raw;
            }

            if (_spec.Default is not null)
            {
                return _spec.Default;
            }

            problems.Add(new(_name, $"'{raw}' from {Source} is not in the mapping's values ({string.Join(", ", _values.Keys.Take(10))}) and there is no default."));
            return null;
        }
    }
}
