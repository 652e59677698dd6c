using System.Globalization;
using NodaTime;
using NodaTime.TimeZones;

namespace WorkOrders.Ticketing.Scheduling;

public enum RecurrenceUnit
{
    Day,
    Week,
    Month,
    Year,
}

/// <summary>
/// One due moment of a schedule: the wall-clock time it was planned for and the instant that is in the schedule's zone.
/// The key names the slot for ever (it is the planned wall-clock time), so it stays the same whatever happens to it later.
/// </summary>
public readonly record struct Slot(LocalDateTime Local, Instant At)
{
    public string Key => Local.ToString("uuuu-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
}

/// <summary>
/// A calendar schedule: from the anchor date, every N days, weeks, months or years, at one or more times of day, in an
/// IANA zone, optionally only in some months. The one calculator behind preventive plans, inspection rounds and every
/// calendar that forecasts them, so what planners see is what the generators create.
/// </summary>
/// <remarks>
/// The k-th date is always the anchor plus k intervals, never the previous date plus one: a schedule on the 31st falls
/// on the last day of shorter months and comes back to the 31st after them. Wall-clock times that a daylight-saving
/// change skips move forward by the gap; times it repeats are taken at their first occurrence. So every planned slot
/// exists exactly once.
/// </remarks>
public sealed class Recurrence
{
    private readonly int _activeMonths;

    public Recurrence(LocalDate anchor, int every, RecurrenceUnit unit, IEnumerable<LocalTime> times, DateTimeZone zone, IEnumerable<int>? activeMonths = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        ArgumentNullException.ThrowIfNull(zone);
        var sorted = times.Distinct().Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("A schedule needs at least one time of day.", nameof(times));
        }

        foreach (var month in activeMonths ?? [])
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(month, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(month, 12);
            _activeMonths |= 1 << month;
        }

        Anchor = anchor;
        Every = every;
        Unit = unit;
        Times = sorted;
        Zone = zone;
    }

    public LocalDate Anchor { get; }

    public int Every { get; }

    public RecurrenceUnit Unit { get; }

    public IReadOnlyList<LocalTime> Times { get; }

    public DateTimeZone Zone { get; }

    /// <summary>The months (1-12) in which the schedule has slots; empty for every month.</summary>
    public IReadOnlyList<int> ActiveMonths => [.. Enumerable.Range(1, 12).Where(m => (_activeMonths & (1 << m)) != 0)];

    public bool IsActive(LocalDate date) => _activeMonths == 0 || (_activeMonths & (1 << date.Month)) != 0;

    /// <summary>The k-th date of a fixed schedule: the anchor plus k intervals.</summary>
    public LocalDate DateOf(long k) => Step(Anchor, k);

    /// <summary>The slot of a wall-clock time in the schedule's zone.</summary>
    public Slot SlotAt(LocalDateTime local) => new(local, Zone.ResolveLocal(local, Resolvers.LenientResolver).ToInstant());

    /// <summary>The slots of a fixed schedule that fall in [from, until), in order.</summary>
    public IEnumerable<Slot> Between(Instant from, Instant until)
    {
        // A slot's instant can fall on the date before or after its wall-clock date only through a zone shift of
        // hours, so one day either side is enough.
        var lastDate = until.InZone(Zone).Date.PlusDays(1);
        for (var k = FirstIndexOnOrAfter(from.InZone(Zone).Date.PlusDays(-1)); ; k++)
        {
            var date = DateOf(k);
            if (date > lastDate)
            {
                yield break;
            }

            if (!IsActive(date))
            {
                continue;
            }

            foreach (var time in Times)
            {
                var slot = SlotAt(date + time);
                if (slot.At >= from && slot.At < until)
                {
                    yield return slot;
                }
            }
        }
    }

    /// <summary>The first slot of a fixed schedule at or after <paramref name="from"/>, or null when it has none within a century.</summary>
    public Slot? Next(Instant from)
    {
        var start = from.InZone(Zone).Date.PlusDays(-1);
        for (var k = FirstIndexOnOrAfter(start); ; k++)
        {
            var date = DateOf(k);
            if (date > start.PlusYears(100))
            {
                // Only active months that the interval never lands in (every 12 months from January, active in July).
                return null;
            }

            if (!IsActive(date))
            {
                continue;
            }

            foreach (var time in Times)
            {
                var slot = SlotAt(date + time);
                if (slot.At >= from)
                {
                    return slot;
                }
            }
        }
    }

    /// <summary>
    /// The slot after a completion, for floating schedules: one interval from the completion's date in the zone, at the
    /// first time of day; outside the active months it moves to the first day of the next active month.
    /// </summary>
    public Slot After(Instant completedAt)
    {
        var date = Step(completedAt.InZone(Zone).Date, 1);
        while (!IsActive(date))
        {
            date = new LocalDate(date.Year, date.Month, 1).PlusMonths(1);
        }

        return SlotAt(date + Times[0]);
    }

    private LocalDate Step(LocalDate from, long intervals)
    {
        var units = checked((int)(intervals * Every));
        return Unit switch
        {
            RecurrenceUnit.Day => from.PlusDays(units),
            RecurrenceUnit.Week => from.PlusWeeks(units),
            RecurrenceUnit.Month => from.PlusMonths(units),
            RecurrenceUnit.Year => from.PlusYears(units),
            _ => throw new InvalidOperationException($"Unknown unit {Unit}."),
        };
    }

    private long FirstIndexOnOrAfter(LocalDate date)
    {
        if (date <= Anchor)
        {
            return 0;
        }

        var elapsed = Unit switch
        {
            RecurrenceUnit.Day => Period.Between(Anchor, date, PeriodUnits.Days).Days,
            RecurrenceUnit.Week => Period.Between(Anchor, date, PeriodUnits.Days).Days / 7,
            RecurrenceUnit.Month => Period.Between(Anchor, date, PeriodUnits.Months).Months,
            _ => Period.Between(Anchor, date, PeriodUnits.Years).Years,
        };
        var k = Math.Max(0, (elapsed / Every) - 1);
        while (DateOf(k) < date)
        {
            k++;
        }

        return k;
    }
}
