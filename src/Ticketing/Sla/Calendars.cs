using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Sla;

public sealed record Holiday(DateOnly? Date, string? Name);

/// <summary>A business calendar as the API shows it: hours per weekday as spans like "08:00-12:00".</summary>
public sealed record CalendarInfo(
    long Id,
    string Name,
    string TimeZone,
    bool IsDefault,
    IReadOnlyDictionary<string, string[]> Hours,
    IReadOnlyList<Holiday> Holidays,
    IReadOnlyList<long> SiteIds,
    int RowVersion);

/// <summary>
/// What an administrator sends to create or change a calendar. Hours maps a weekday ("monday" .. "sunday") to its working
/// spans, "HH:mm-HH:mm" in local time (end up to 24:00); sites are assets of kind site whose work counts this calendar's time.
/// </summary>
public sealed record CalendarRequest(
    string? Name,
    string? TimeZone,
    bool IsDefault = false,
    Dictionary<string, string[]>? Hours = null,
    List<Holiday>? Holidays = null,
    List<long>? SiteIds = null,
    int? RowVersion = null);

/// <summary>A calendar request that passed the rules needing no database.</summary>
public sealed record ValidCalendar(string Name, TimeZoneInfo Zone, Dictionary<DayOfWeek, List<WorkingSpan>> Hours, List<(DateOnly Date, string Name)> Holidays, long[] SiteIds);

/// <summary>The rules for a calendar, pure: spans well-formed and not overlapping, some working time, a known IANA time zone.</summary>
public static partial class CalendarRules
{
    public const int MaxNameLength = 100;
    public const int MaxHolidays = 1000;

    public static string WeekdayName(DayOfWeek day) => WireNames.Of(day);

    /// <summary>Monday first, as people read a week.</summary>
    public static IReadOnlyList<DayOfWeek> Week { get; } =
        [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday];

    public static string Format(WorkingSpan span) =>
        string.Create(CultureInfo.InvariantCulture, $"{span.StartMinute / 60:D2}:{span.StartMinute % 60:D2}-{span.EndMinute / 60:D2}:{span.EndMinute % 60:D2}");

    public static ValidCalendar? Validate(CalendarRequest request, FieldErrors errors)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            errors.Add("name", "field.required_short", MaxNameLength);
        }

        TimeZoneInfo? zone = null;
        var zoneId = request.TimeZone?.Trim();
        if (string.IsNullOrEmpty(zoneId))
        {
            errors.Add("timeZone", "calendar.time_zone_required");
        }
        else if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out zone) || !zone.HasIanaId)
        {
            errors.Add("timeZone", "calendar.time_zone_unknown", zoneId);
            zone = null;
        }

        var hours = new Dictionary<DayOfWeek, List<WorkingSpan>>();
        foreach (var (key, texts) in request.Hours ?? [])
        {
            var field = $"hours.{key}";
            if (!WireNames.TryParse<DayOfWeek>(key, out var day))
            {
                errors.Add(field, "calendar.weekday");
                continue;
            }

            var spans = new List<WorkingSpan>();
            foreach (var text in texts ?? [])
            {
                if (ParseSpan(text, out var span) is { } problem)
                {
                    errors.Add(field, problem);
                    continue;
                }

                if (spans.FirstOrDefault(s => s.Overlaps(span)) is { EndMinute: > 0 } clash)
                {
                    errors.Add(field, "calendar.spans_overlap", Format(clash), Format(span));
                    continue;
                }

                spans.Add(span);
            }

            hours[day] = spans;
        }

        if (!hours.Values.Any(s => s.Count > 0) && !errors.Any)
        {
            errors.Add("hours", "calendar.no_working_time");
        }

        var holidays = new List<(DateOnly, string)>();
        var holidayList = request.Holidays ?? [];
        if (holidayList.Count > MaxHolidays)
        {
            errors.Add("holidays", "calendar.too_many_holidays", MaxHolidays);
        }

        for (var i = 0; i < holidayList.Count && i < MaxHolidays; i++)
        {
            var holiday = holidayList[i];
            var holidayName = holiday?.Name?.Trim();
            if (holiday?.Date is not { } date)
            {
                errors.Add($"holidays[{i}].date", "calendar.holiday_date");
                continue;
            }

            if (string.IsNullOrEmpty(holidayName) || holidayName.Length > MaxNameLength)
            {
                errors.Add($"holidays[{i}].name", "field.required_short", MaxNameLength);
                continue;
            }

            if (holidays.Any(h => h.Item1 == date))
            {
                errors.Add($"holidays[{i}].date", "calendar.holiday_twice", date);
                continue;
            }

            holidays.Add((date, holidayName));
        }

        return errors.Any ? null : new ValidCalendar(name!, zone!, hours, holidays, [.. (request.SiteIds ?? []).Distinct()]);
    }

    public static BusinessCalendar ToCalendar(this ValidCalendar valid) => new(
        valid.Zone,
        valid.Hours.ToDictionary(h => h.Key, IReadOnlyList<WorkingSpan> (h) => h.Value),
        valid.Holidays.Select(h => h.Date));

    /// <summary>Reads "HH:mm-HH:mm"; returns why it cannot, or null.</summary>
    public static Refusal? ParseSpan(string? text, out WorkingSpan span)
    {
        span = default;
        var match = SpanPattern().Match(text?.Trim() ?? "");
        if (!match.Success)
        {
            return new Refusal("calendar.span_form", text);
        }

        int Minute(int group) => (int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) * 60)
            + int.Parse(match.Groups[group + 1].Value, CultureInfo.InvariantCulture);
        var start = Minute(1);
        var end = Minute(3);
        if (start >= WorkingSpan.MinutesPerDay || end > WorkingSpan.MinutesPerDay || match.Groups[2].Value is var m1 && int.Parse(m1, CultureInfo.InvariantCulture) > 59
            || int.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture) > 59)
        {
            return new Refusal("calendar.span_clock", text);
        }

        if (end <= start)
        {
            return new Refusal("calendar.span_backwards", text);
        }

        span = new WorkingSpan(start, end);
        return null;
    }

    [GeneratedRegex(@"^(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$")]
    private static partial Regex SpanPattern();
}

/// <summary>Reads a calendar for the SLA arithmetic.</summary>
internal static class CalendarStore
{
    private const string Read = """
        SELECT time_zone FROM business_calendars WHERE id = @id;
        SELECT weekday, start_minute, end_minute FROM calendar_hours WHERE calendar_id = @id;
        SELECT day::timestamp FROM calendar_holidays WHERE calendar_id = @id;
        """;

    /// <summary>The calendar, or around the clock in UTC when there is none (no id and no default).</summary>
    public static async Task<BusinessCalendar> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long? id, CancellationToken cancellationToken)
    {
        id ??= await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT id FROM business_calendars WHERE is_default", transaction: transaction, cancellationToken: cancellationToken));
        if (id is null)
        {
            return BusinessCalendar.AroundTheClock;
        }

        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(Read, new { id }, transaction, cancellationToken: cancellationToken));
        var zone = await results.ReadSingleOrDefaultAsync<string>();
        var hours = (await results.ReadAsync<(short Weekday, short Start, short End)>()).ToList();
        var holidays = (await results.ReadAsync<DateTime>()).ToList();
        return Of(zone, hours, holidays);
    }

    /// <summary>A calendar from its time zone (around the clock in UTC when null), working spans and holidays.</summary>
    public static BusinessCalendar Of(string? zone, IEnumerable<(short Weekday, short Start, short End)> hours, IEnumerable<DateTime> holidays) =>
        zone is null
            ? BusinessCalendar.AroundTheClock
            : new BusinessCalendar(
                TimeZoneInfo.FindSystemTimeZoneById(zone),
                hours.GroupBy(h => (DayOfWeek)h.Weekday).ToDictionary(g => g.Key, IReadOnlyList<WorkingSpan> (g) => [.. g.Select(h => new WorkingSpan(h.Start, h.End))]),
                [.. holidays.Select(DateOnly.FromDateTime)]);
}

/// <summary>Business calendars: read and written by administrators.</summary>
public sealed class Calendars(NpgsqlDataSource dataSource)
{
    private const string SelectAll = """
        SELECT id, name, time_zone, is_default, row_version FROM business_calendars ORDER BY is_default DESC, name;
        SELECT calendar_id, weekday, start_minute, end_minute FROM calendar_hours ORDER BY calendar_id, weekday, start_minute;
        SELECT calendar_id, day::timestamp, name FROM calendar_holidays ORDER BY calendar_id, day;
        SELECT calendar_id, site_asset_id FROM site_calendars ORDER BY site_asset_id;
        """;

    public async Task<IReadOnlyList<CalendarInfo>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadAsync(connection, null, null, cancellationToken);
    }

    public async Task<Outcome<CalendarInfo>> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await ReadAsync(connection, null, id, cancellationToken)).FirstOrDefault() is { } found ? found : Failure.NotFound("calendar.not_found", id);
    }

    public Task<Outcome<CalendarInfo>> CreateAsync(CalendarRequest request, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(null, request, actor, cancellationToken);

    public Task<Outcome<CalendarInfo>> UpdateAsync(long id, CalendarRequest request, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(id, request, actor, cancellationToken);

    public async Task<Outcome<bool>> DeleteAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("calendar.admin_only");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var isDefault = await connection.ExecuteScalarAsync<bool?>(new CommandDefinition(
            "SELECT is_default FROM business_calendars WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        if (isDefault is null)
        {
            return Failure.NotFound("calendar.not_found", id);
        }

        if (isDefault.Value)
        {
            return Failure.Conflict("calendar.default_undeletable");
        }

        // Running clocks on it fall back to the default calendar (sla_clocks.calendar_id is set to NULL).
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM business_calendars WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        return true;
    }

    private async Task<Outcome<CalendarInfo>> WriteAsync(long? id, CalendarRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("calendar.admin_only");
        }

        var errors = new FieldErrors();
        if (id is not null && request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required");
        }

        var valid = CalendarRules.Validate(request, errors);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (valid is { SiteIds.Length: > 0 })
        {
            var sites = (await connection.QueryAsync<long>(new CommandDefinition(
                "SELECT id FROM assets WHERE id = ANY(@ids) AND kind = 'site'", new { ids = valid.SiteIds }, cancellationToken: cancellationToken))).ToHashSet();
            foreach (var missing in valid.SiteIds.Where(s => !sites.Contains(s)))
            {
                errors.Add("siteIds", "calendar.not_a_site", missing);
            }
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (id is { } existing)
        {
            var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
                "SELECT is_default, row_version FROM business_calendars WHERE id = @existing FOR UPDATE", new { existing }, transaction, cancellationToken: cancellationToken));
            if (row is null)
            {
                return Failure.NotFound("calendar.not_found", existing);
            }

            if (row.RowVersion != request.RowVersion)
            {
                return Failure.Conflict("calendar.stale", row.RowVersion, request.RowVersion);
            }

            if (row.IsDefault && !request.IsDefault)
            {
                return Failure.Invalid("isDefault", "calendar.default_unset");
            }
        }

        if (request.IsDefault)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE business_calendars SET is_default = false WHERE is_default AND id IS DISTINCT FROM @id", new { id }, transaction, cancellationToken: cancellationToken));
        }

        long calendarId;
        try
        {
            calendarId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                id is null
                    ? "INSERT INTO business_calendars (name, time_zone, is_default) VALUES (@name, @zone, @isDefault) RETURNING id"
                    : """
                      UPDATE business_calendars SET name = @name, time_zone = @zone, is_default = @isDefault, row_version = row_version + 1, updated_at = now()
                      WHERE id = @id RETURNING id
                      """,
                new { id, name = valid!.Name, zone = valid.Zone.Id, isDefault = request.IsDefault },
                transaction,
                cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("name", "calendar.name_taken", valid!.Name);
        }

        var spans = valid.Hours.SelectMany(h => h.Value.Select(s => new { weekday = (short)h.Key, start = (short)s.StartMinute, end = (short)s.EndMinute })).ToList();
        await connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM calendar_hours WHERE calendar_id = @calendarId;
            DELETE FROM calendar_holidays WHERE calendar_id = @calendarId;
            DELETE FROM site_calendars WHERE calendar_id = @calendarId;
            INSERT INTO calendar_hours (calendar_id, weekday, start_minute, end_minute)
            SELECT @calendarId, * FROM unnest(@weekdays, @starts, @ends);
            INSERT INTO calendar_holidays (calendar_id, day, name) SELECT @calendarId, * FROM unnest(@days, @names);
            INSERT INTO site_calendars (site_asset_id, calendar_id) SELECT s, @calendarId FROM unnest(@sites) AS s
            ON CONFLICT (site_asset_id) DO UPDATE SET calendar_id = excluded.calendar_id;
            """,
            new
            {
                calendarId,
                weekdays = spans.Select(s => s.weekday).ToArray(),
                starts = spans.Select(s => s.start).ToArray(),
                ends = spans.Select(s => s.end).ToArray(),
                days = valid.Holidays.Select(h => h.Date).ToArray(),
                names = valid.Holidays.Select(h => h.Name).ToArray(),
                sites = valid.SiteIds,
            },
            transaction,
            cancellationToken: cancellationToken));
        var saved = (await ReadAsync(connection, transaction, calendarId, cancellationToken)).Single();
        await transaction.CommitAsync(cancellationToken);
        return saved;
    }

    private sealed class VersionRow
    {
        public bool IsDefault { get; init; }
        public int RowVersion { get; init; }
    }

    // Calendars are few (one per site at most), so they are read whole.
    private static async Task<IReadOnlyList<CalendarInfo>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long? id, CancellationToken cancellationToken)
    {
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(SelectAll, transaction: transaction, cancellationToken: cancellationToken));
        var calendars = (await results.ReadAsync<(long Id, string Name, string TimeZone, bool IsDefault, int RowVersion)>()).ToList();
        var hours = (await results.ReadAsync<(long CalendarId, short Weekday, short Start, short End)>()).ToLookup(h => h.CalendarId);
        var holidays = (await results.ReadAsync<(long CalendarId, DateTime Day, string Name)>()).ToLookup(h => h.CalendarId);
        var sites = (await results.ReadAsync<(long CalendarId, long SiteId)>()).ToLookup(s => s.CalendarId);
        return calendars
            .Where(c => id is null || c.Id == id)
            .Select(c => new CalendarInfo(
                c.Id,
                c.Name,
                c.TimeZone,
                c.IsDefault,
                CalendarRules.Week
                    .Where(d => hours[c.Id].Any(h => h.Weekday == (short)d))
                    .ToDictionary(CalendarRules.WeekdayName, d => hours[c.Id].Where(h => h.Weekday == (short)d).Select(h => CalendarRules.Format(new WorkingSpan(h.Start, h.End))).ToArray()),
                [.. holidays[c.Id].Select(h => new Holiday(DateOnly.FromDateTime(h.Day), h.Name))],
                [.. sites[c.Id].Select(s => s.SiteId)],
                c.RowVersion))
            .ToList();
    }
}
