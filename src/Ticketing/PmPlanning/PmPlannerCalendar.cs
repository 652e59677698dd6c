using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Maintenance;

namespace WorkOrders.Ticketing.PmPlanning;

/// <summary>What a planner narrows the calendar to; nulls take everything.</summary>
public sealed record PmCalendarFilter(long? DepartmentId = null, long? PlanId = null, string? AssetType = null);

/// <summary>One occurrence on the planner's calendar, with the type of its asset and the Monday of its week.</summary>
public sealed record PmCalendarLine(PmOccurrence Occurrence, string? AssetType, DateOnly Week);

/// <summary>A department's crew: its active technicians and the hours they work in a week.</summary>
public sealed record CrewCapacity(long DepartmentId, string DepartmentName, int Technicians, decimal WeeklyHours);

/// <summary>The estimated hours of PM due in one department in one week, beside its crew's weekly hours.</summary>
public sealed record WeekLoad(long DepartmentId, string DepartmentName, DateOnly Week, decimal HoursDue, int Occurrences, decimal CapacityHours)
{
    public bool OverCapacity => HoursDue > CapacityHours;
}

public sealed record PmCalendarView(DateOnly FirstWeek, int Weeks, IReadOnlyList<PmCalendarLine> Lines, IReadOnlyList<WeekLoad> Loads);

/// <summary>
/// The planner's PM calendar: the occurrences of the next weeks (recorded and forecast by the one calculator, through
/// <see cref="PmOccurrences"/>), and per department the hours due in each week beside the crew's capacity. A crew is
/// the department's active technicians; each works the hours of their working-hours rows in a week, or
/// <see cref="DefaultWeeklyHours"/> when none are set (the assignment rules treat such a person as always available).
/// Time away is not taken off. Weeks run Monday to Sunday in UTC.
/// </summary>
public sealed class PmPlannerCalendar(NpgsqlDataSource dataSource, PmOccurrences occurrences)
{
    public const int MaxWeeks = 52;
    public const decimal DefaultWeeklyHours = 40;

    private const string Capacity = """
        SELECT d.id AS DepartmentId, d.name AS DepartmentName, count(u.id)::int AS Technicians,
               coalesce(sum(coalesce(h.hours, @defaultHours)), 0)::numeric AS WeeklyHours
        FROM departments d
        LEFT JOIN users u ON u.department_id = d.id AND u.role = 'technician' AND u.active
        LEFT JOIN LATERAL (SELECT sum(extract(epoch FROM ends_at - starts_at) / 3600)::numeric AS hours
                           FROM user_working_hours w WHERE w.user_id = u.id) h ON true
        WHERE d.id = ANY(@ids)
        GROUP BY d.id, d.name
        """;

    private const string AssetTypes = "SELECT id AS Id, asset_type AS AssetType FROM assets WHERE id = ANY(@ids)";

    /// <summary>The Monday of the week that holds <paramref name="day"/>.</summary>
    public static DateOnly WeekOf(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    public async Task<Outcome<PmCalendarView>> ShowAsync(DateOnly firstDay, int weeks, PmCalendarFilter filter, CancellationToken cancellationToken)
    {
        if (weeks is < 1 or > MaxWeeks)
        {
            return Failure.Invalid("weeks", "pm.calendar_weeks", 1, MaxWeeks);
        }

        var first = WeekOf(firstDay);
        var from = first.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var forecast = await occurrences.ForecastAsync(new PmForecastQuery(from, from.AddDays(7 * weeks), filter.DepartmentId, filter.PlanId), cancellationToken);
        if (forecast.Failure is { } failure)
        {
            return failure;
        }

        var found = forecast.Value!;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var types = (await connection.QueryAsync<(long Id, string? AssetType)>(new CommandDefinition(
                AssetTypes, new { ids = found.Select(o => o.AssetId).Distinct().ToArray() }, cancellationToken: cancellationToken)))
            .ToDictionary(t => t.Id, t => t.AssetType);
        var lines = found
            .Select(o => new PmCalendarLine(o, types.GetValueOrDefault(o.AssetId), WeekOf(DateOnly.FromDateTime(o.DueAt))))
            .Where(l => filter.AssetType is null || string.Equals(l.AssetType, filter.AssetType, StringComparison.Ordinal))
            .ToList();

        var departments = lines.Select(l => l.Occurrence.DepartmentId).Append(filter.DepartmentId ?? 0).Where(d => d != 0).Distinct().ToArray();
        var crews = (await connection.QueryAsync<CrewCapacity>(new CommandDefinition(
                Capacity, new { ids = departments, defaultHours = DefaultWeeklyHours }, cancellationToken: cancellationToken)))
            .ToDictionary(c => c.DepartmentId);
        return new PmCalendarView(first, weeks, lines, Loads(first, weeks, lines, crews.Values.ToList()));
    }

    /// <summary>Every department with a crew or an occurrence, in every week, zero where nothing is due.</summary>
    public static IReadOnlyList<WeekLoad> Loads(DateOnly first, int weeks, IReadOnlyList<PmCalendarLine> lines, IReadOnlyList<CrewCapacity> crews)
    {
        var due = lines.GroupBy(l => (l.Occurrence.DepartmentId, l.Week))
            .ToDictionary(g => g.Key, g => (Hours: g.Sum(l => l.Occurrence.EstimatedHours), Count: g.Count()));
        var names = crews.ToDictionary(c => c.DepartmentId, c => c.DepartmentName);
        foreach (var l in lines)
        {
            names.TryAdd(l.Occurrence.DepartmentId, l.Occurrence.DepartmentName);
        }

        var capacity = crews.ToDictionary(c => c.DepartmentId, c => c.WeeklyHours);
        return [.. names.OrderBy(n => n.Value, StringComparer.CurrentCulture)
            .SelectMany(n => Enumerable.Range(0, weeks).Select(w =>
            {
                var week = first.AddDays(7 * w);
                var (hours, count) = due.GetValueOrDefault((n.Key, week));
                return new WeekLoad(n.Key, n.Value, week, hours, count, capacity.GetValueOrDefault(n.Key));
            }))];
    }
}
