using WorkOrders.Ticketing.Alarms;

namespace WorkOrders.Ticketing.Tests.Alarms;

public sealed class AlarmStateMachineTests
{
    private static readonly DateTime T0 = new(2026, 3, 2, 8, 0, 0, DateTimeKind.Utc);

    private static AlarmCondition Above(decimal threshold, decimal deadband = 0, int forSeconds = 0, int clearSeconds = 0) =>
        new(AlarmComparison.Above, threshold, deadband, TimeSpan.FromSeconds(forSeconds), TimeSpan.FromSeconds(clearSeconds));

    private static List<AlarmStep> Run(AlarmCondition rule, params (int Seconds, decimal Value)[] samples)
    {
        var machine = AlarmMachine.Initial;
        var steps = new List<AlarmStep>();
        foreach (var (seconds, value) in samples)
        {
            (machine, var step) = AlarmStateMachine.Next(rule, machine, new AlarmSample(T0.AddSeconds(seconds), value, null));
            steps.Add(step);
        }

        return steps;
    }

    [Fact]
    public void a_value_wavering_around_the_threshold_inside_the_deadband_raises_once()
    {
        var steps = Run(Above(50, deadband: 1), [.. Enumerable.Range(0, 100).Select(i => (i, i % 2 == 0 ? 50.1m : 49.9m))]);
        Assert.Equal(1, steps.Count(s => s == AlarmStep.Raised));
        Assert.DoesNotContain(AlarmStep.Cleared, steps);
    }

    [Fact]
    public void without_a_deadband_every_crossing_is_a_new_episode()
    {
        var steps = Run(Above(50), (0, 50.1m), (1, 49.9m), (2, 50.1m));
        Assert.Equal([AlarmStep.Raised, AlarmStep.Cleared, AlarmStep.Raised], steps);
    }

    [Fact]
    public void a_for_duration_raises_only_once_the_condition_has_held_that_long_and_a_dip_starts_it_again()
    {
        var steps = Run(Above(50, forSeconds: 300), (0, 60), (120, 60), (200, 40), (260, 60), (500, 60), (560, 60), (600, 60));
        Assert.Equal([AlarmStep.Pending, AlarmStep.Pending, AlarmStep.Normal, AlarmStep.Pending, AlarmStep.Pending, AlarmStep.Raised, AlarmStep.Occurrence], steps);
    }

    [Fact]
    public void a_clear_that_must_hold_goes_through_clearing_and_back_to_active_when_the_value_returns()
    {
        var steps = Run(Above(50, deadband: 2, clearSeconds: 60), (0, 60), (10, 47), (20, 49), (30, 47), (100, 47));
        Assert.Equal([AlarmStep.Raised, AlarmStep.Clearing, AlarmStep.Clearing, AlarmStep.Clearing, AlarmStep.Cleared], steps);
    }

    [Fact]
    public void an_event_older_than_the_newest_judged_does_not_move_the_machine()
    {
        var rule = Above(50);
        var (machine, _) = AlarmStateMachine.Next(rule, AlarmMachine.Initial, new AlarmSample(T0.AddMinutes(5), 60, null));
        var (after, step) = AlarmStateMachine.Next(rule, machine, new AlarmSample(T0, 10, null));
        Assert.Equal((machine, AlarmStep.Late), (after, step));
    }

    [Fact]
    public void time_alone_raises_a_pending_alarm_at_the_moment_it_was_due()
    {
        var rule = Above(50, forSeconds: 300);
        var (pending, _) = AlarmStateMachine.Next(rule, AlarmMachine.Initial, new AlarmSample(T0, 60, null));
        Assert.Null(AlarmStateMachine.Elapse(rule, pending, T0.AddMinutes(4)));
        var elapsed = AlarmStateMachine.Elapse(rule, pending, T0.AddMinutes(9));
        Assert.Equal((AlarmState.Active, AlarmStep.Raised, T0.AddMinutes(5)), (elapsed!.Value.Machine.State, elapsed.Value.Step, elapsed.Value.At));
    }

    [Fact]
    public void ready_states_raise_and_clear()
    {
        var rule = new AlarmCondition(AlarmComparison.State, null, 0, TimeSpan.Zero, TimeSpan.Zero);
        var (raised, first) = AlarmStateMachine.Next(rule, AlarmMachine.Initial, new AlarmSample(T0, null, SignalState.Raised));
        var (_, second) = AlarmStateMachine.Next(rule, raised, new AlarmSample(T0.AddSeconds(1), null, SignalState.Cleared));
        Assert.Equal((AlarmStep.Raised, AlarmStep.Cleared), (first, second));
    }
}
