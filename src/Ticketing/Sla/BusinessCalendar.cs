namespace WorkOrders.Ticketing.Sla;

/// <summary>A working span of a local day, in minutes from local midnight: [Start, End), End at most 1440.</summary>
public readonly record struct WorkingSpan(int StartMinute, int EndMinute)
{
    public const int MinutesPerDay = 24 * 60;

    public bool Overlaps(WorkingSpan other) => StartMinute < other.EndMinute && other.StartMinute < EndMinute;
}

/// <summary>An interval of instants [Start, End) in UTC. An open end is <see cref="DateTime.MaxValue"/>.</summary>
public readonly record struct UtcRange(DateTime Start, DateTime End)
{
    public static UtcRange From(DateTime start, DateTime? end) =>
        new(DateTime.SpecifyKind(start, DateTimeKind.Utc), end is { } e ? DateTime.SpecifyKind(e, DateTimeKind.Utc) : DateTime.MaxValue);
}

/// <summary>
/// Business time in one time zone: working spans per weekday and whole-day holidays, both in local time. Pure arithmetic
/// over UTC instants: a span's local wall times are turned into real instants on the day, so a span across a
/// daylight-saving change is an hour shorter or longer, as the people working it live it.
/// </summary>
public sealed class BusinessCalendar
{
    /// <summary>How far ahead working time is searched before a calendar is taken to have none.</summary>
    public const int SearchDays = 3660;

    private readonly Dictionary<DayOfWeek, WorkingSpan[]> _hours;
    private readonly HashSet<DateOnly> _holidays;

    public BusinessCalendar(TimeZoneInfo zone, IReadOnlyDictionary<DayOfWeek, IReadOnlyList<WorkingSpan>> hours, IEnumerable<DateOnly>? holidays = null)
    {
        Zone = zone;
        _hours = hours.Where(h => h.Value.Count > 0).ToDictionary(h => h.Key, h => h.Value.OrderBy(s => s.StartMinute).ToArray());
        _holidays = [.. holidays ?? []];
    }

    /// <summary>Every minute of every day, in UTC: business time equals elapsed time.</summary>
    public static BusinessCalendar AroundTheClock { get; } = new(
        TimeZoneInfo.Utc,
        Enum.GetValues<DayOfWeek>().ToDictionary(d => d, IReadOnlyList<WorkingSpan> (_) => [new WorkingSpan(0, WorkingSpan.MinutesPerDay)]));

    public TimeZoneInfo Zone { get; }

    public bool HasWorkingTime => _hours.Count > 0;

    /// <summary>The instant when <paramref name="amount"/> of business time has passed after <paramref name="startUtc"/>, paused intervals not counting.</summary>
    public DateTime Add(DateTime startUtc, TimeSpan amount, IReadOnlyList<UtcRange>? paused = null)
    {
        startUtc = DateTime.SpecifyKind(startUtc, DateTimeKind.Utc);
        if (amount <= TimeSpan.Zero)
        {
            return startUtc;
        }

        var left = amount;
        foreach (var range in Without(WorkingFrom(startUtc), paused))
        {
            var length = range.End - range.Start;
            if (length >= left)
            {
                return range.Start + left;
            }

            left -= length;
        }

        throw new InvalidOperationException($"The calendar has no working time in the {SearchDays} days after {startUtc:O}.");
    }

    /// <summary>The business time between two instants, paused intervals not counting; zero when <paramref name="toUtc"/> is not later.</summary>
    public TimeSpan Between(DateTime fromUtc, DateTime toUtc, IReadOnlyList<UtcRange>? paused = null)
    {
        fromUtc = DateTime.SpecifyKind(fromUtc, DateTimeKind.Utc);
        toUtc = DateTime.SpecifyKind(toUtc, DateTimeKind.Utc);
        var total = TimeSpan.Zero;
        if (toUtc <= fromUtc)
        {
            return total;
        }

        foreach (var range in Without(WorkingFrom(fromUtc), paused))
        {
            if (range.Start >= toUtc)
            {
                break;
            }

            total += (range.End < toUtc ? range.End : toUtc) - range.Start;
        }

        return total;
    }

    /// <summary>The working intervals from an instant on, in order, never overlapping, clipped to start at it.</summary>
    public IEnumerable<UtcRange> WorkingFrom(DateTime fromUtc)
    {
        // From the local day before: a span of the previous local day can still be running at the start.
        var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(fromUtc, Zone)).AddDays(-1);
        var lastEnd = fromUtc;
        for (var i = 0; i <= SearchDays; i++, day = day.AddDays(1))
        {
            if (_holidays.Contains(day) || !_hours.TryGetValue(day.DayOfWeek, out var spans))
            {
                continue;
            }

            foreach (var span in spans)
            {
                var start = ToUtc(day, span.StartMinute, earliest: true);
                var end = ToUtc(day, span.EndMinute, earliest: false);
                // Wall times repeated at a fall-back change could make neighbouring spans share instants: count them once.
                if (start < lastEnd)
                {
                    start = lastEnd;
                }

                if (end > start)
                {
                    yield return new UtcRange(start, end);
                    lastEnd = end;
                }
            }
        }
    }

    /// <summary>The real instant of a local wall time: in a spring-forward gap, the first instant after it; at a repeated (fall-back) time, the earlier or later one.</summary>
    private DateTime ToUtc(DateOnly day, int minute, bool earliest)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified).AddMinutes(minute);
        while (Zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        if (Zone.IsAmbiguousTime(local))
        {
            var offsets = Zone.GetAmbiguousTimeOffsets(local);
            var offset = earliest ? offsets.Max() : offsets.Min();
            return DateTime.SpecifyKind(local - offset, DateTimeKind.Utc);
        }

        return TimeZoneInfo.ConvertTimeToUtc(local, Zone);
    }

    private static IEnumerable<UtcRange> Without(IEnumerable<UtcRange> working, IReadOnlyList<UtcRange>? paused)
    {
        if (paused is not { Count: > 0 })
        {
            foreach (var range in working)
            {
                yield return range;
            }

            yield break;
        }

        var cuts = paused.OrderBy(p => p.Start).ToArray();
        foreach (var range in working)
        {
            var start = range.Start;
            foreach (var cut in cuts)
            {
                if (cut.End <= start || cut.Start >= range.End)
                {
                    continue;
                }

                if (cut.Start > start)
                {
                    yield return new UtcRange(start, cut.Start);
                }

                start = cut.End;
                if (start == DateTime.MaxValue)
                {
                    // Paused until further notice: no business time follows.
                    yield break;
                }

                if (start >= range.End)
                {
                    break;
                }
            }

            if (start < range.End)
            {
                yield return new UtcRange(start, range.End);
            }
        }
    }
}
