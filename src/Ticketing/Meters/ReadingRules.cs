namespace WorkOrders.Ticketing.Meters;

/// <summary>A reading as stored: the counter's value, and the usage since the meter was first read (carried over resets).</summary>
public sealed record StoredReading(DateTime ReadAt, decimal Value, decimal Lifetime, bool IsReset);

/// <summary>A reading someone sends: the counter at a time (UTC), and a reason when the counter started again from zero.</summary>
public sealed record ReadingInput(DateTime? ReadAt, decimal? Value, bool IsReset = false, string? ResetReason = null);

/// <summary>What to do with a reading: store it with this lifetime, or nothing because it is stored already.</summary>
public abstract record ReadingDecision
{
    private ReadingDecision()
    {
    }

    /// <summary>A new reading: its lifetime usage, computed from the latest one.</summary>
    public sealed record Store(decimal Lifetime) : ReadingDecision;

    /// <summary>The same meter, time and value is stored already: a retry, which changes nothing.</summary>
    public sealed record AlreadyStored : ReadingDecision;
}

/// <summary>
/// The rules of meter readings, with no database. Readings only go up; a reset (meter replaced, counter rolled over)
/// is the one way down and must say why. Lifetime usage is the sum of the increases since the first reading: a
/// normal reading adds (value - previous value), a reset adds its whole value, because the new counter counted from
/// zero. (For a roll-over the usage between the last reading and the roll-over is not known and is not counted.)
/// <para>
/// A reading older than the latest stored one is refused with <c>meter.reading_out_of_order</c>, unless it is the very
/// same reading (then it is a retry). Readings are append-only and each carries the lifetime up to it, so one slotted
/// in between would make every later lifetime wrong; a late paper record is entered as a note instead. A different value at
/// the time of the latest reading is refused the same way, as two values for one moment cannot both be true.
/// </para>
/// </summary>
public static class ReadingRules
{
    public const int MaxReasonLength = 500;
    public const decimal MaxValue = 999_999_999_999_999.999m;

    /// <summary>Checks the input itself: a time, a value in range with at most 3 decimals, and a reason only and always with a reset.</summary>
    public static void Validate(ReadingInput input, DateTime now, FieldErrors errors, string prefix = "")
    {
        if (input.ReadAt is null)
        {
            errors.Add(prefix + "readAt", "meter.read_at_required");
        }
        else if (input.ReadAt > now.AddMinutes(5))
        {
            errors.Add(prefix + "readAt", "meter.read_at_future");
        }

        if (input.Value is not { } value)
        {
            errors.Add(prefix + "value", "meter.value_required");
        }
        else if (value < 0 || value > MaxValue || decimal.Round(value, 3) != value)
        {
            errors.Add(prefix + "value", "meter.value_range");
        }

        var reason = input.ResetReason?.Trim();
        if (input.IsReset && string.IsNullOrEmpty(reason))
        {
            errors.Add(prefix + "resetReason", "meter.reset_reason_required");
        }
        else if (input.IsReset && reason!.Length > MaxReasonLength)
        {
            errors.Add(prefix + "resetReason", "field.too_long", MaxReasonLength);
        }
        else if (!input.IsReset && !string.IsNullOrEmpty(reason))
        {
            errors.Add(prefix + "resetReason", "meter.reason_without_reset");
        }
    }

    /// <summary>
    /// Decides one valid reading against the latest stored reading of its meter (null for the first) and whether the same
    /// meter, time and value is stored already. A refusal names the field it is about.
    /// </summary>
    public static Outcome<ReadingDecision> Decide(StoredReading? latest, bool sameIsStored, DateTime readAt, decimal value, bool isReset, string prefix = "")
    {
        if (sameIsStored)
        {
            return new ReadingDecision.AlreadyStored();
        }

        if (latest is null)
        {
            // The first reading starts the count; a reset has nothing to reset.
            return new ReadingDecision.Store(0m);
        }

        if (readAt < latest.ReadAt || (readAt == latest.ReadAt && value != latest.Value))
        {
            return Failure.Invalid(prefix + "readAt", "meter.reading_out_of_order", readAt, latest.ReadAt);
        }

        if (isReset)
        {
            return new ReadingDecision.Store(latest.Lifetime + value);
        }

        if (value < latest.Value)
        {
            return Failure.Invalid(prefix + "value", "meter.reading_backwards", value, latest.Value, latest.ReadAt);
        }

        return new ReadingDecision.Store(latest.Lifetime + (value - latest.Value));
    }
}
