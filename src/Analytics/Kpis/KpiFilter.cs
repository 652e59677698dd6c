using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
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
}

/// <summary>
/// The period and filters every KPI takes. The period is [From, To) in UTC days. A filter left null takes all.
/// AssetId takes the asset and everything below it.
/// </summary>
public sealed record KpiFilter(
    DateOnly From,
    DateOnly To,
    long? SiteId = null,
    long? DepartmentId = null,
    long? AssetId = null,
    string? WorkType = null,
    int? Priority = null)
{
    public static IReadOnlyList<string> WorkTypes { get; } = ["corrective", "preventive", "inspection", "service_request", "approval"];

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

        return errors;
    }

    /// <summary>
    /// The filter as SQL over a work-order table aliased <paramref name="alias"/> (columns department_id, asset_id,
    /// work_type, priority). Only numbers and checked names reach the text.
    /// </summary>
    public string Where(string alias)
    {
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

        return sql.ToString();
    }

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

        return string.Join("; ", parts);
    }

    internal void Bind(DuckDBCommand command)
    {
        command.Parameters.Add(new DuckDBParameter("from", Start));
        command.Parameters.Add(new DuckDBParameter("to", End));
    }
}
