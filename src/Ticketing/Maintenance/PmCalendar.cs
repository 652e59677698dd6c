using System.Globalization;
using NodaTime;
using NodaTime.Text;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Maintenance;

public enum PmTriggerKind
{
    Calendar,
    Meter,
}

/// <summary>Fixed: due dates from the anchor, whatever happened. Floating: the next due date counts from the last completion.</summary>
public enum PmScheduleMode
{
    Fixed,
    Floating,
}

/// <summary>Skip: no new occurrence while the previous one of the plan on the asset is open (the skipped one is recorded).</summary>
public enum OverlapPolicy
{
    Skip,
    Allow,
}

/// <summary>What to do with occurrences whose due date passed while the generator was down.</summary>
public enum CatchUpPolicy
{
    Latest,
    All,
    MarkMissed,
}

/// <summary>
/// One trigger of a plan. Calendar: every <see cref="Every"/> <see cref="Unit"/>s from <see cref="Anchor"/> at
/// <see cref="AtTime"/> (local time of the site), optionally only in <see cref="ActiveMonths"/>. Meter: on the asset's
/// meter <see cref="MeterName"/>, every <see cref="EveryUnits"/> of lifetime usage, or each time a reading crosses
/// <see cref="Threshold"/>.
/// </summary>
public sealed record PmTrigger(
    long Id,
    PmTriggerKind Kind,
    int? Every = null,
    RecurrenceUnit? Unit = null,
    DateOnly? Anchor = null,
    TimeOnly? AtTime = null,
    PmScheduleMode? Schedule = null,
    IReadOnlyList<int>? ActiveMonths = null,
    string? MeterName = null,
    decimal? EveryUnits = null,
    decimal? Threshold = null)
{
    internal Recurrence ToRecurrence(DateTimeZone zone) => new(
        LocalDate.FromDateOnly(Anchor!.Value), Every!.Value, Unit!.Value, [LocalTime.FromTimeOnly(AtTime!.Value)], zone, ActiveMonths);
}

/// <summary>What the calculator needs of a plan: its lead time in days and its triggers ("whichever comes first").</summary>
public sealed record PmRule(int LeadDays, IReadOnlyList<PmTrigger> Triggers);

/// <summary>
/// What is known of one plan on one asset. <see cref="StartsAt"/>: due dates before it are not owed (the plan or the
/// asset's membership began then). <see cref="LastDueKey"/>: the latest calendar occurrence dealt with (generated,
/// skipped or missed). <see cref="LastMeterLifetime"/>: the meter's lifetime usage when the plan last made work (the
/// "every N units" count starts there). <see cref="MeterReadingId"/>: the last reading looked at.
/// </summary>
public sealed record PmScheduleState(
    DateTime StartsAt,
    DateTime? LastCompletedAt = null,
    string? LastDueKey = null,
    decimal? LastMeterLifetime = null,
    long? MeterReadingId = null);

/// <summary>One reading of a meter as the 0013 contract stores it; lifetime is carried across resets.</summary>
public sealed record PmMeterReading(long Id, DateTime ReadAt, decimal Value, decimal Lifetime, bool IsReset);

/// <summary>
/// One occurrence of a plan on an asset: its stable key ("yyyy-MM-ddTHH:mm" of the planned local time, or "m:"/"t:"
/// for a meter), the due date, and when its work order is to be created (the lead time before the due date).
/// </summary>
public sealed record PmDue(long? TriggerId, PmTriggerKind Kind, string Key, DateTime DueAt, DateTime CreateAt);

/// <summary>
/// What one look at a schedule found: occurrences to deal with now, in due order, and the state after them. The caller
/// applies its overlap and catch-up policies to <see cref="Due"/>, then stores the new state.
/// </summary>
public sealed record PmStep(
    IReadOnlyList<PmDue> Due,
    string? LastDueKey,
    long? MeterReadingId,
    decimal? MeterLifetime,
    DateTime NextCheckAt);

/// <summary>
/// The one calculator of preventive-maintenance due dates: the generator asks it what is due now, and the planners'
/// calendar asks it what falls due in a window, from the same plan and schedule state, so what planners see is what
/// gets created. Pure: no clock, no database.
/// </summary>
/// <remarks>
/// Calendar triggers go through <see cref="Recurrence"/> (anchor + k intervals in the site's zone, so month ends clamp
/// without drifting and a daylight-saving change neither skips nor doubles a due date). Several triggers of one plan
/// are "whichever comes first": their occurrences merge in due order, one occurrence per key. A floating calendar has
/// one occurrence at a time, one interval after the last completion (assumed on its due date when forecasting);
/// every N meter units counts from the lifetime at which the plan last made work, whatever trigger made it.
/// Meter occurrences are due when the reading that reached them was taken, plus the lead time (there is no date to
/// create them ahead of).
/// </remarks>
public static class PmCalendar
{
    /// <summary>No occurrence can come before this unless something changes (a reading, a completion, a move).</summary>
    public static readonly DateTime Never = new(9999, 12, 31, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The most occurrences one look returns for one schedule; a longer catch-up continues at the next look.</summary>
    public const int MaxPerStep = 500;

    private static readonly LocalDateTimePattern KeyPattern = LocalDateTimePattern.CreateWithInvariantCulture("uuuu-MM-dd'T'HH:mm");

    /// <summary>The planned local time a calendar key names, or null for a meter key.</summary>
    public static LocalDateTime? KeyTime(string? key) =>
        key is not null && KeyPattern.Parse(key) is { Success: true } parsed ? parsed.Value : null;

    /// <summary>What is due at <paramref name="now"/> (its create moment has come) and the state after it.</summary>
    /// <param name="rule">The plan's lead time and triggers.</param>
    /// <param name="zone">The site calendar's zone.</param>
    /// <param name="state">The schedule as stored.</param>
    /// <param name="now">The generator's clock.</param>
    /// <param name="readings">The meter's readings after <see cref="PmScheduleState.MeterReadingId"/> in reading order.</param>
    /// <param name="previous">The reading before them (the last one looked at, or the last before the start).</param>
    public static PmStep Step(
        PmRule rule,
        DateTimeZone zone,
        PmScheduleState state,
        DateTime now,
        IReadOnlyList<PmMeterReading>? readings = null,
        PmMeterReading? previous = null)
    {
        var due = new List<PmDue>();
        var pointer = KeyTime(state.LastDueKey);
        var next = Never;

        // Calendar: merge every trigger's occurrences after the pointer whose create moment has come.
        var streams = rule.Triggers.Where(t => t.Kind == PmTriggerKind.Calendar)
            .Select(t => Occurrences(rule, t, zone, state, pointer).GetEnumerator())
            .ToList();
        try
        {
            var heads = streams.Select(s => s.MoveNext() ? s.Current : null).ToList();
            var lastKey = state.LastDueKey;
            while (due.Count < MaxPerStep)
            {
                var i = IndexOfEarliest(heads);
                if (i < 0)
                {
                    break;
                }

                var head = heads[i]!;
                if (head.CreateAt > now)
                {
                    next = Min(next, head.CreateAt);
                    break;
                }

                // Two triggers falling on one planned time are one occurrence.
                if (due.Count == 0 || due[^1].Key != head.Key)
                {
                    due.Add(head);
                    lastKey = head.Key;
                }

                heads[i] = streams[i].MoveNext() ? streams[i].Current : null;
            }

            if (due.Count >= MaxPerStep)
            {
                next = now;
            }

            var (meterDue, readingId, lifetime) = Meter(rule, state, readings ?? [], previous, zone);
            if (due.Count > 0)
            {
                // An occurrence now restarts the meter count, whichever trigger made it.
                lifetime = readings is { Count: > 0 } ? readings[^1].Lifetime : previous?.Lifetime ?? lifetime;
            }

            foreach (var m in meterDue)
            {
                due.Add(m);
            }

            due.Sort((a, b) => a.DueAt.CompareTo(b.DueAt));
            return new PmStep(due, due.Where(d => d.Kind == PmTriggerKind.Calendar).Select(d => d.Key).LastOrDefault() ?? state.LastDueKey, readingId, lifetime, next);
        }
        finally
        {
            foreach (var stream in streams)
            {
                stream.Dispose();
            }
        }
    }

    /// <summary>
    /// The calendar occurrences not dealt with yet whose due date falls in [from, until), in due order: what the
    /// generator will create for them if nothing changes (no reading, no move; floating plans completed on their due date).
    /// </summary>
    public static IReadOnlyList<PmDue> Forecast(PmRule rule, DateTimeZone zone, PmScheduleState state, DateTime from, DateTime until)
    {
        var pointer = KeyTime(state.LastDueKey);
        var result = new List<PmDue>();
        foreach (var trigger in rule.Triggers.Where(t => t.Kind == PmTriggerKind.Calendar))
        {
            foreach (var occurrence in Occurrences(rule, trigger, zone, state, pointer, assumeCompletedOnDue: true))
            {
                if (occurrence.DueAt >= until)
                {
                    break;
                }

                if (occurrence.DueAt >= from)
                {
                    result.Add(occurrence);
                }
            }
        }

        return [.. result.OrderBy(o => o.DueAt).DistinctBy(o => o.Key)];
    }

    /// <summary>The next calendar occurrence not dealt with yet, within ten years.</summary>
    public static PmDue? NextDue(PmRule rule, DateTimeZone zone, PmScheduleState state, DateTime from) =>
        Forecast(rule, zone, state, from, from.AddYears(10)) is [var first, ..] ? first : null;

    /// <summary>One calendar trigger's occurrences after the pointer, due at or after the schedule's start.</summary>
    private static IEnumerable<PmDue> Occurrences(
        PmRule rule, PmTrigger trigger, DateTimeZone zone, PmScheduleState state, LocalDateTime? pointer, bool assumeCompletedOnDue = false)
    {
        var recurrence = trigger.ToRecurrence(zone);
        var start = Instant.FromDateTimeUtc(DateTime.SpecifyKind(state.StartsAt, DateTimeKind.Utc));
        if (trigger.Schedule == PmScheduleMode.Floating)
        {
            Slot? slot = state.LastCompletedAt is { } completed
                ? recurrence.After(Instant.FromDateTimeUtc(DateTime.SpecifyKind(completed, DateTimeKind.Utc)))
                : recurrence.Next(start);
            while (slot is { } s)
            {
                if (pointer is { } p && s.Local <= p)
                {
                    // Made already and not completed yet: the next one waits for its completion.
                    if (!assumeCompletedOnDue)
                    {
                        yield break;
                    }
                }
                else
                {
                    yield return ToDue(rule, trigger, recurrence, s);
                    if (!assumeCompletedOnDue)
                    {
                        yield break;
                    }
                }

                slot = recurrence.After(s.At);
            }

            yield break;
        }

        var from = start;
        if (pointer is { } after)
        {
            var last = recurrence.SlotAt(after);
            from = Instant.Max(from, last.At + Duration.FromTicks(1));
        }

        for (var slot = recurrence.Next(from); slot is { } s; slot = recurrence.Next(s.At + Duration.FromTicks(1)))
        {
            if (pointer is { } p && s.Local <= p)
            {
                continue;
            }

            yield return ToDue(rule, trigger, recurrence, s);
        }
    }

    private static PmDue ToDue(PmRule rule, PmTrigger trigger, Recurrence recurrence, Slot slot)
    {
        var create = rule.LeadDays == 0 ? slot.At : recurrence.SlotAt(slot.Local.PlusDays(-rule.LeadDays)).At;
        return new PmDue(trigger.Id, PmTriggerKind.Calendar, slot.Key, slot.At.ToDateTimeUtc(), create.ToDateTimeUtc());
    }

    /// <summary>
    /// The meter triggers over one batch of readings: every N units makes one occurrence when the lifetime reaches the
    /// count's start plus N (however far past it the batch went); a threshold makes one occurrence for a batch in which
    /// any reading crosses it from below, however many times.
    /// </summary>
    private static (List<PmDue> Due, long? ReadingId, decimal? Lifetime) Meter(
        PmRule rule, PmScheduleState state, IReadOnlyList<PmMeterReading> readings, PmMeterReading? previous, DateTimeZone zone)
    {
        var due = new List<PmDue>();
        var lifetime = state.LastMeterLifetime ?? previous?.Lifetime;
        if (readings.Count == 0)
        {
            return (due, state.MeterReadingId, lifetime);
        }

        var start = lifetime ?? 0m;
        var made = false;
        foreach (var trigger in rule.Triggers.Where(t => t.Kind == PmTriggerKind.Meter))
        {
            if (trigger.EveryUnits is { } every)
            {
                var target = start + every;
                if (readings.FirstOrDefault(r => r.Lifetime >= target) is { } reached)
                {
                    due.Add(MeterDue(rule, trigger, zone, string.Create(CultureInfo.InvariantCulture, $"m:{trigger.Id}:{target:0.###}"), reached.ReadAt));
                    made = true;
                }
            }
            else if (trigger.Threshold is { } threshold)
            {
                var before = previous?.Value ?? 0m;
                PmMeterReading? crossing = null;
                foreach (var reading in readings)
                {
                    if (!reading.IsReset && before < threshold && reading.Value >= threshold)
                    {
                        crossing ??= reading;
                    }

                    before = reading.Value;
                }

                if (crossing is not null)
                {
                    due.Add(MeterDue(rule, trigger, zone, string.Create(CultureInfo.InvariantCulture, $"t:{trigger.Id}:{crossing.Id}"), crossing.ReadAt));
                    made = true;
                }
            }
        }

        return (due, readings[^1].Id, made ? readings[^1].Lifetime : start);
    }

    private static PmDue MeterDue(PmRule rule, PmTrigger trigger, DateTimeZone zone, string key, DateTime readAt)
    {
        var at = Instant.FromDateTimeUtc(DateTime.SpecifyKind(readAt, DateTimeKind.Utc));
        var due = rule.LeadDays == 0 ? at : at.InZone(zone).LocalDateTime.PlusDays(rule.LeadDays).InZoneLeniently(zone).ToInstant();
        return new PmDue(trigger.Id, PmTriggerKind.Meter, key, due.ToDateTimeUtc(), readAt);
    }

    private static int IndexOfEarliest(List<PmDue?> heads)
    {
        var best = -1;
        for (var i = 0; i < heads.Count; i++)
        {
            if (heads[i] is { } head && (best < 0 || head.DueAt < heads[best]!.DueAt))
            {
                best = i;
            }
        }

        return best;
    }

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;
}
