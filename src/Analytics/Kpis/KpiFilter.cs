using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Kpis;

/// <summary>What makes a filter unanswerable; the edge says it in the reader's language.</summary>
public enum FilterProblem
{
    /// <summary>The period ends before it starts.</summary>
    PeriodBackwards,

    /// <summary>The period is longer than ten years.</summary>
    PeriodTooLong,

    /// <summary>The work type is none of <see cref="KpiFilter.WorkTypes"/>.</summary>
    UnknownWorkType,

    /// <summary>The priority is not 1 to 4.</summary>
    PriorityOutOfRange,

    /// <summary>The source is none of <see cref="KpiFilter.Sources"/>.</summary>
    UnknownSource,

    /// <summary>The category is blank or longer than <see cref="KpiFilter.MaxValueLength"/>.</summary>
    CategoryInvalid,

    /// <summary>The custom field's key is not a template field key (a lower-case letter, then letters, digits or _; at most 40).</summary>
    FieldKeyInvalid,

    /// <summary>A custom field without a value, a value without a field, or a value longer than <see cref="KpiFilter.MaxValueLength"/>.</summary>
    FieldValueInvalid,
}

/// <summary>
/// The period and filters every KPI takes. The period is [From, To) in UTC days. A filter left null takes all.
/// AssetId takes the asset and everything below it. Category is the fault code (the custom field "fault_code" of any
/// work type); Source is where the work came from (see <see cref="Sources"/>); FieldKey and FieldValue take the work
/// orders whose custom field of that key holds that value (as text: a number as written, true or false). A row that
/// cannot meet a filter (a missed PM occurrence has no custom fields, a round no category) is left out by it.
/// </summary>
public sealed partial record KpiFilter(
    DateOnly From,
    DateOnly To,
    long? SiteId = null,
    long? DepartmentId = null,
    long? AssetId = null,
    string? WorkType = null,
    int? Priority = null,
    string? Category = null,
    string? Source = null,
    string? FieldKey = null,
    string? FieldValue = null)
{
    public const int MaxValueLength = 200;

    public static IReadOnlyList<string> WorkTypes { get; } = ["corrective", "preventive", "inspection", "service_request", "approval"];

    /// <summary>
    /// Where work came from, as the KPIs group it: live (raised by a person, in the app or through its API), import,
    /// forecast (an accepted forecast proposal), pm (a preventive plan), alarm, round (an inspection finding).
    /// </summary>
    public static IReadOnlyList<string> Sources { get; } = ["live", "import", "forecast", "pm", "alarm", "round"];

    /// <summary>
    /// The channels the work-order core records (work_orders.source: web, api, alarm, inspection, pm, forecast, import)
    /// that make up a source of <see cref="Sources"/>: live is web and api, round is inspection, the others their own.
    /// </summary>
    public static IReadOnlyList<string> Channels(string source) => source switch
    {
        "live" => ["web", "api"],
        "round" => ["inspection"],
        _ => [Sources.Single(s => s == source)],
    };

    private string SourceIn(string column) => $"{column} IN ({string.Join(", ", Channels(Source!).Select(c => $"'{c}'"))})";

    [JsonIgnore]
    public DateTime Start => From.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    [JsonIgnore]
    public DateTime End => To.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    [JsonIgnore]
    public double Hours => (End - Start).TotalHours;

    /// <summary>The same length of time just before this period, for "change against the previous period".</summary>
    public KpiFilter PreviousPeriod() => this with { From = From.AddDays(From.DayNumber - To.DayNumber), To = From };

    /// <summary>Field errors for a filter that cannot be answered; empty when it can.</summary>
    public IReadOnlyDictionary<string, FilterProblem> Problems()
    {
        var errors = new Dictionary<string, FilterProblem>(StringComparer.Ordinal);
        if (To <= From)
        {
            errors["to"] = FilterProblem.PeriodBackwards;
        }
        else if (To.DayNumber - From.DayNumber > 3660)
        {
            errors["to"] = FilterProblem.PeriodTooLong;
        }

        if (WorkType is not null && !WorkTypes.Contains(WorkType))
        {
            errors["workType"] = FilterProblem.UnknownWorkType;
        }

        if (Priority is { } p && p is < 1 or > 4)
        {
            errors["priority"] = FilterProblem.PriorityOutOfRange;
        }

        if (Source is not null && !Sources.Contains(Source))
        {
            errors["source"] = FilterProblem.UnknownSource;
        }

        if (Category is not null && (string.IsNullOrWhiteSpace(Category) || Category.Length > MaxValueLength || Category.Contains('\0', StringComparison.Ordinal)))
        {
            errors["category"] = FilterProblem.CategoryInvalid;
        }

        if (FieldKey is not null && !FieldKeyPattern().IsMatch(FieldKey))
        {
            errors["field"] = FilterProblem.FieldKeyInvalid;
        }
        else if ((FieldKey is null) != (FieldValue is null) || FieldValue is { Length: 0 or > MaxValueLength } || FieldValue?.Contains('\0', StringComparison.Ordinal) == true)
        {
            errors["fieldValue"] = FilterProblem.FieldValueInvalid;
        }

        return errors;
    }

    /// <summary>
    /// The filter as SQL over a work-order table aliased <paramref name="alias"/> (columns department_id, asset_id,
    /// work_type, priority, category, source (the channel, see <see cref="Channels"/>) and custom_fields (JSON
    /// text)). Only numbers, checked names and quoted literals reach the text.
    /// </summary>
    public string Where(string alias)
    {
        if (Problems().Count > 0)
        {
            throw new InvalidOperationException($"A filter with problems ({string.Join(", ", Problems().Keys)}) cannot be asked.");
        }

        var sql = new StringBuilder("TRUE");
        if (DepartmentId is { } department)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.department_id = {department}");
        }

        if (SiteId is { } site)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.asset_id IN (SELECT asset_id FROM dim_asset WHERE site_id = {site})");
        }

        if (AssetId is { } asset)
        {
            sql.Append(CultureInfo.InvariantCulture, $"""
                 AND {alias}.asset_id IN (WITH RECURSIVE sub AS (SELECT asset_id FROM dim_asset WHERE asset_id = {asset}
                     UNION ALL SELECT a.asset_id FROM dim_asset a JOIN sub ON a.parent_id = sub.asset_id) SELECT asset_id FROM sub)
                """);
        }

        if (WorkType is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.work_type = '{WorkTypes.Single(w => w == WorkType)}'");
        }

        if (Priority is { } priority)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.priority = {priority}");
        }

        if (Category is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.category = {Literal(Category)}");
        }

        if (Source is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {SourceIn($"{alias}.source")}");
        }

        if (FieldKey is not null && FieldValue is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND json_extract_string({alias}.custom_fields, '$.{FieldKey}') = {Literal(FieldValue)}");
        }

        return sql.ToString();
    }

    /// <summary>
    /// The filter as SQL over rows shaped like PostgreSQL's work_orders aliased <paramref name="alias"/> (columns
    /// department_id, asset_id, work_type, priority, source and custom_fields as jsonb), for the PostgreSQL twin of each
    /// question (the benchmark that checks the warehouse against the live tables). The period is the caller's.
    /// </summary>
    public string PostgresWhere(string alias)
    {
        var sql = new StringBuilder("TRUE");
        if (DepartmentId is { } department)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.department_id = {department}");
        }

        // A site is the root of its tree, so the site filter is the subtree of the site.
        foreach (var root in new[] { SiteId, AssetId })
        {
            if (root is { } id)
            {
                sql.Append(CultureInfo.InvariantCulture, $"""
                     AND {alias}.asset_id IN (WITH RECURSIVE sub AS (SELECT id FROM assets WHERE id = {id}
                         UNION ALL SELECT a.id FROM assets a JOIN sub ON a.parent_id = sub.id) SELECT id FROM sub)
                    """);
            }
        }

        if (WorkType is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.work_type = '{WorkTypes.Single(w => w == WorkType)}'");
        }

        if (Priority is { } priority)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.priority = {priority}");
        }

        if (Category is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.custom_fields->>'fault_code' = {Literal(Category)}");
        }

        if (Source is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {SourceIn($"{alias}.source")}");
        }

        if (FieldKey is not null && FieldValue is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.custom_fields->>'{FieldKey}' = {Literal(FieldValue)}");
        }

        return sql.ToString();
    }

    /// <summary>
    /// Whether the rollups carry this filter: they keep the department, work type, priority, channel and category of
    /// the work they sum, and the asset when <paramref name="byAsset"/> (the failure rollup), never the custom fields.
    /// </summary>
    internal bool CarriedByRollups(bool byAsset) => FieldKey is null && (byAsset || (SiteId is null && AssetId is null));

    /// <summary>
    /// The category and custom fields of every work order, archived or open, by id: for the rows a work order stands
    /// behind (a PM occurrence, an alarm episode, an inspection finding), so that they meet the filter as their work does.
    /// </summary>
    internal const string WorkOrderFields = """
        (SELECT work_order_id, category, custom_fields FROM fact_work_order
         UNION ALL
         SELECT work_order_id, category, custom_fields FROM open_work_order)
        """;

    // An empty relation of WorkOrderFields' shape: a LEFT JOIN to it keeps every row, with nulls.
    private const string NoWorkOrderFields = "(SELECT work_order_id, category, custom_fields FROM open_work_order LIMIT 0)";

    /// <summary>
    /// <see cref="WorkOrderFields"/> when the filter reads a work order's custom fields, or its category and
    /// <paramref name="category"/> (the rows take it from their work order); otherwise an empty relation of its shape,
    /// so that a question without those filters does not join every work order (a hash table of ten million rows).
    /// </summary>
    internal string WorkOrderFieldsFor(bool category) => FieldKey is not null || (category && Category is not null) ? WorkOrderFields : NoWorkOrderFields;

    // A string literal for DuckDB and PostgreSQL (standard strings: a quote is doubled, a backslash is itself).
    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    [GeneratedRegex("^[a-z][a-z0-9_]{0,39}$")]
    private static partial Regex FieldKeyPattern();

    /// <summary>The period and filters in words, for the top of an exported sheet.</summary>
    public string Describe(string? departmentName = null)
    {
        var parts = new List<string> { $"Period {From:yyyy-MM-dd} to {To.AddDays(-1):yyyy-MM-dd} (UTC)" };
        if (DepartmentId is not null)
        {
            parts.Add($"department {departmentName ?? DepartmentId.Value.ToString(CultureInfo.InvariantCulture)}");
        }

        if (SiteId is { } site)
        {
            parts.Add($"site {site.ToString(CultureInfo.InvariantCulture)}");
        }

        if (AssetId is { } asset)
        {
            parts.Add($"asset {asset.ToString(CultureInfo.InvariantCulture)} and below");
        }

        if (WorkType is not null)
        {
            parts.Add($"work type {WorkType}");
        }

        if (Priority is { } priority)
        {
            parts.Add($"priority P{priority.ToString(CultureInfo.InvariantCulture)}");
        }

        if (Category is not null)
        {
            parts.Add($"category {Category}");
        }

        if (Source is not null)
        {
            parts.Add($"source {Source}");
        }

        if (FieldKey is not null)
        {
            parts.Add($"{FieldKey} = {FieldValue}");
        }

        return string.Join("; ", parts);
    }

    /// <summary>
    /// Writes the period into the command's text as literals where it says <c>$from</c> and <c>$to</c>, outside its quoted
    /// strings. Bound as parameters, the bounds were unknown when DuckDB planned the statement, so a scan could not skip
    /// the row groups outside the period: the drill-down's first page took 33 ms at a million work orders, 12.5 ms so.
    /// </summary>
    internal void Bind(DuckDBCommand command) =>
        command.CommandText = PeriodBound().Replace(command.CommandText, m => m.Groups[1].Value switch
        {
            "from" => Timestamp(Start),
            "to" => Timestamp(End),
            _ => m.Value,
        });

    /// <summary>A moment as a DuckDB TIMESTAMP literal, to the microsecond (its fraction written only when it has one).</summary>
    internal static string Timestamp(DateTime moment) => moment.Ticks % TimeSpan.TicksPerSecond == 0
        ? string.Create(CultureInfo.InvariantCulture, $"TIMESTAMP '{moment:yyyy-MM-dd HH:mm:ss}'")
        : string.Create(CultureInfo.InvariantCulture, $"TIMESTAMP '{moment:yyyy-MM-dd HH:mm:ss.ffffff}'");

    // A quoted string (kept as it is: a category or field value may hold "$from") or a bound of the period.
    [GeneratedRegex(@"'(?:[^']|'')*'|\$(from|to)\b")]
    private static partial Regex PeriodBound();
}
