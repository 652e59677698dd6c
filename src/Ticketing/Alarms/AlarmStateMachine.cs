namespace WorkOrders.Ticketing.Alarms;

/// <summary>Where one rule stands on one asset, as alarm_states.state spells it.</summary>
public enum AlarmState
{
    Normal,
    Pending,
    Active,
    Clearing,
    Cleared,
}

/// <summary>How a rule judges its signal, as alarm_rules.comparison spells it.</summary>
public enum AlarmComparison
{
    Above,
    Below,
    State,
}

/// <summary>A ready alarm state a source sends instead of a value.</summary>
public enum SignalState
{
    Raised,
    Cleared,
}

/// <summary>What the state machine needs of a rule.</summary>
public sealed record AlarmCondition(AlarmComparison Comparison, decimal? Threshold, decimal Deadband, TimeSpan For, TimeSpan ClearFor);

/// <summary>The persisted state: since when (event time) it holds, and the newest event judged.</summary>
public sealed record AlarmMachine(AlarmState State, DateTime? Since, DateTime? LastEventAt)
{
    public static AlarmMachine Initial { get; } = new(AlarmState.Normal, null, null);

    /// <summary>Active or clearing: an episode is under way.</summary>
    public bool InEpisode => State is AlarmState.Active or AlarmState.Clearing;
}

/// <summary>One reading or state of a signal at a time.</summary>
public readonly record struct AlarmSample(DateTime At, decimal? Value, SignalState? State);

/// <summary>What an event did to the machine.</summary>
public enum AlarmStep
{
    /// <summary>Nothing alarming, nothing under way.</summary>
    Normal,

    /// <summary>The condition holds but not yet for long enough.</summary>
    Pending,

    /// <summary>The condition has held long enough: a new episode starts now.</summary>
    Raised,

    /// <summary>An episode is under way and this event is one more occurrence of it.</summary>
    Occurrence,

    /// <summary>The value came back past the deadband; the clear must still hold.</summary>
    Clearing,

    /// <summary>The episode ended.</summary>
    Cleared,

    /// <summary>Older than the newest event judged: it does not move the machine.</summary>
    Late,
}

/// <summary>
/// The alarm state machine, with no database: normal -> pending -> active -> clearing -> cleared, judged by event time.
/// A value must be beyond the threshold for <see cref="AlarmCondition.For"/> to raise, and back past the threshold by
/// the deadband for <see cref="AlarmCondition.ClearFor"/> to clear; a value inside the deadband keeps an episode going,
/// so a value wavering around the threshold makes one episode, not one per crossing.
/// </summary>
public static class AlarmStateMachine
{
    /// <summary>Whether a sample is beyond the threshold (or a raised state).</summary>
    public static bool Alarming(AlarmCondition rule, AlarmSample sample) => rule.Comparison switch
    {
        AlarmComparison.State => sample.State == SignalState.Raised,
        AlarmComparison.Above => sample.Value > rule.Threshold,
        _ => sample.Value < rule.Threshold,
    };

    /// <summary>Whether a sample is back past the threshold by the deadband (or a cleared state).</summary>
    public static bool Clear(AlarmCondition rule, AlarmSample sample) => rule.Comparison switch
    {
        AlarmComparison.State => sample.State == SignalState.Cleared,
        AlarmComparison.Above => sample.Value < rule.Threshold - rule.Deadband,
        _ => sample.Value > rule.Threshold + rule.Deadband,
    };

    /// <summary>The machine after one event, and what the event did.</summary>
    public static (AlarmMachine Machine, AlarmStep Step) Next(AlarmCondition rule, AlarmMachine machine, AlarmSample sample)
    {
        if (machine.LastEventAt is { } last && sample.At < last)
        {
            return (machine, AlarmStep.Late);
        }

        var at = sample.At;
        var alarming = Alarming(rule, sample);
        var clear = Clear(rule, sample);
        switch (machine.State)
        {
            case AlarmState.Normal or AlarmState.Cleared:
                if (!alarming)
                {
                    return (new AlarmMachine(machine.State, machine.Since, at), AlarmStep.Normal);
                }

                return rule.For <= TimeSpan.Zero
                    ? (new AlarmMachine(AlarmState.Active, at, at), AlarmStep.Raised)
                    : (new AlarmMachine(AlarmState.Pending, at, at), AlarmStep.Pending);

            case AlarmState.Pending:
                if (!alarming)
                {
                    return (new AlarmMachine(AlarmState.Normal, at, at), AlarmStep.Normal);
                }

                return at - machine.Since!.Value >= rule.For
                    ? (new AlarmMachine(AlarmState.Active, at, at), AlarmStep.Raised)
                    : (machine with { LastEventAt = at }, AlarmStep.Pending);

            case AlarmState.Active:
                if (!clear)
                {
                    return (machine with { LastEventAt = at }, AlarmStep.Occurrence);
                }

                return rule.ClearFor <= TimeSpan.Zero
                    ? (new AlarmMachine(AlarmState.Cleared, at, at), AlarmStep.Cleared)
                    : (new AlarmMachine(AlarmState.Clearing, at, at), AlarmStep.Clearing);

            default:
                if (!clear)
                {
                    // Back inside the deadband or beyond the threshold again: the same episode goes on.
                    return (new AlarmMachine(AlarmState.Active, at, at), alarming ? AlarmStep.Occurrence : AlarmStep.Clearing);
                }

                return at - machine.Since!.Value >= rule.ClearFor
                    ? (new AlarmMachine(AlarmState.Cleared, at, at), AlarmStep.Cleared)
                    : (machine with { LastEventAt = at }, AlarmStep.Clearing);
        }
    }

    /// <summary>
    /// The step time alone makes, with no event: a pending condition that has held for its time raises at the moment
    /// it was due, and a clear that has held for its time ends the episode. Null when nothing is due by <paramref name="now"/>.
    /// </summary>
    public static (AlarmMachine Machine, AlarmStep Step, DateTime At)? Elapse(AlarmCondition rule, AlarmMachine machine, DateTime now)
    {
        if (machine.State == AlarmState.Pending && machine.Since is { } pendingSince && pendingSince + rule.For <= now)
        {
            var at = pendingSince + rule.For;
            return (new AlarmMachine(AlarmState.Active, at, Max(machine.LastEventAt, at)), AlarmStep.Raised, at);
        }

        if (machine.State == AlarmState.Clearing && machine.Since is { } clearingSince && clearingSince + rule.ClearFor <= now)
        {
            var at = clearingSince + rule.ClearFor;
            return (new AlarmMachine(AlarmState.Cleared, at, Max(machine.LastEventAt, at)), AlarmStep.Cleared, at);
        }

        return null;
    }

    private static DateTime Max(DateTime? a, DateTime b) => a is { } value && value > b ? value : b;
}
