namespace WorkOrders.Ingest.Generate;

public enum OccurrenceKind : byte
{
    Failure,
    Alarm,
    MinorFault,
    FalseAlarm,
    Preventive,
    Inspection,
    FacilityRequest,
}

/// <summary>
/// Something that makes a work order: when it is raised (Day, in days from the window start), on which asset, and for
/// failures which mode of the asset's type and when the failure itself happened. Flag: for a preventive maintenance,
/// it was cancelled (and so did not help); for a minor fault, it was found on an inspection round.
/// </summary>
/// <summary>
/// One thing that happened. <see cref="FaultCode"/>: for preventive work, the fault mode its visit addressed (null when
/// it was cancelled), which the work order names as corrective work names the mode that failed.
/// </summary>
public readonly record struct Occurrence(double Day, OccurrenceKind Kind, int Asset, int Mode, int Site, double FailedDay, bool Flag, string? FaultCode = null);

/// <summary>A stream of occurrences in time order; the simulation merges many of them.</summary>
public abstract class OccurrenceSource
{
    /// <summary>The day of the next occurrence, +infinity when there is none before the window ends.</summary>
    public abstract double Next { get; }

    public abstract Occurrence Take();
}

/// <summary>
/// Merges the sources (one per machine, one per line, one for facility requests) into one stream in time order, so
/// work orders get ids and numbers in the order they were raised, while only the state of each machine is held.
/// </summary>
public static class Simulation
{
    public static IEnumerable<Occurrence> Run(Plant plant, StressClock clock, int seed, int facilityRequests, bool assetsOnly = false)
    {
        var queue = new PriorityQueue<OccurrenceSource, (double Day, int Source)>();
        var sources = new List<OccurrenceSource>();
        foreach (var machine in plant.Machines)
        {
            sources.Add(new MachineSource(plant, machine, clock));
        }

        foreach (var line in plant.Lines)
        {
            sources.Add(new InspectionSource(line, clock));
        }

        if (!assetsOnly && facilityRequests > 0)
        {
            sources.Add(new FacilitySource(plant, clock, Sampling.Derive(seed, 4, 0), facilityRequests));
        }

        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i].Next < clock.EndDay)
            {
                queue.Enqueue(sources[i], (sources[i].Next, i));
            }
        }

        while (queue.TryDequeue(out var source, out var key))
        {
            var occurrence = source.Take();
            if (occurrence.Day >= clock.WindowDay)
            {
                yield return occurrence;
            }

            if (source.Next < clock.EndDay)
            {
                queue.Enqueue(source, (source.Next, key.Source));
            }
        }
    }

    /// <summary>
    /// How many work orders the machines and lines of <paramref name="plant"/> make in the window: what
    /// <see cref="Run"/> with <c>assetsOnly</c> yields, counted without merging. Each source draws from its own seed and
    /// never looks at another, so the count is a sum over sources, taken on every core and without the merge's heap
    /// (sizing the plant counts several candidate plants this way, while the database has nothing to do).
    /// </summary>
    public static int CountAssetWork(Plant plant, StressClock clock, CancellationToken cancellationToken)
    {
        var total = 0L;
        Parallel.For(
            0,
            plant.Machines.Count + plant.Lines.Count,
            new ParallelOptions { CancellationToken = cancellationToken },
            () => 0L,
            (i, _, count) =>
            {
                OccurrenceSource source = i < plant.Machines.Count
                    ? new MachineSource(plant, plant.Machines[i], clock)
                    : new InspectionSource(plant.Lines[i - plant.Machines.Count], clock);
                while (source.Next < clock.EndDay)
                {
                    if (source.Take().Day >= clock.WindowDay)
                    {
                        count++;
                    }
                }

                return count;
            },
            count => Interlocked.Add(ref total, count));
        return checked((int)total);
    }
}

/// <summary>
/// One machine and its components. Each failure mode keeps an effective age in stress-days and one pending failure
/// drawn from its Weibull law given that age. A failure renews the mode; a preventive maintenance removes part of the
/// age of the modes it helps and redraws their failures (a drawn failure is only a promise while nothing changes).
/// Alarms and minor faults are drawn ahead of a failure and vanish with it when it is redrawn.
/// </summary>
public sealed class MachineSource : OccurrenceSource
{
    private readonly MachinePlan _machine;
    private readonly StressClock _clock;
    private readonly Random _random;
    private readonly Mode[] _modes;
    private readonly PriorityQueue<Pending, (double Day, long Order)> _queue = new();
    private long _order;
    private double _now;

    public MachineSource(Plant plant, MachinePlan machine, StressClock clock)
    {
        _machine = machine;
        _clock = clock;
        _random = new Random(machine.Seed);
        var modes = new List<Mode>();
        foreach (var asset in machine.Components.Prepend(machine.Asset))
        {
            var plan = plant.Assets[asset];
            for (var m = 0; m < plan.Type!.Modes.Count; m++)
            {
                var law = plan.Type.Modes[m];
                // Assets were in service long before the window: start each mode somewhere in its life.
                modes.Add(new Mode(asset, m, law, plan.Degradation) { Age = law.ScaleDays * _random.Between(0, 0.8) });
            }
        }

        _modes = [.. modes];
        for (var i = 0; i < _modes.Length; i++)
        {
            ScheduleFailure(i, 0);
        }

        var interval = machine.Type.PmIntervalDays;
        Push(new Pending(PendingKind.Preventive, -1, 0, 0, false), PmTime(_random.Next(0, interval)));
        if (machine.Monitored)
        {
            Push(new Pending(PendingKind.FalseAlarm, -1, 0, 0, false), _random.Exponential(MeanDaysBetweenFalseAlarms));
        }

        Purge();
    }

    private const double MeanDaysBetweenFalseAlarms = 240;

    private enum PendingKind : byte
    {
        Failure,
        Alarm,
        MinorFault,
        Preventive,
        FalseAlarm,
    }

    public override double Next => _queue.TryPeek(out _, out var key) ? key.Day : double.PositiveInfinity;

    public override Occurrence Take()
    {
        _queue.TryDequeue(out var item, out var key);
        var day = key.Day;
        _now = day;
        var site = _machine.Site;
        Occurrence occurrence;
        switch (item.Kind)
        {
            case PendingKind.Failure:
            {
                var mode = _modes[item.Mode];
                mode.Age = 0;
                mode.Updated = item.FailedDay;
                mode.Version++;
                occurrence = new Occurrence(day, OccurrenceKind.Failure, mode.Asset, mode.Index, site, item.FailedDay, false);
                ScheduleFailure(item.Mode, item.FailedDay);
                break;
            }

            case PendingKind.Alarm:
            case PendingKind.MinorFault:
            {
                var mode = _modes[item.Mode];
                var kind = item.Kind == PendingKind.Alarm ? OccurrenceKind.Alarm : OccurrenceKind.MinorFault;
                occurrence = new Occurrence(day, kind, mode.Asset, mode.Index, site, item.FailedDay, item.Flag);
                break;
            }

            case PendingKind.Preventive:
            {
                var cancelled = _random.Chance(0.04);
                string? addressed = null;
                if (!cancelled)
                {
                    // The visit addresses the mode most worn for its law (its task list: that mode's parts are renewed,
                    // its full PM effect); the general checklist (lubrication, belts) does half as much for the others.
                    var ages = new double[_modes.Length];
                    var target = -1;
                    for (var i = 0; i < _modes.Length; i++)
                    {
                        var mode = _modes[i];
                        if (mode.Law.PmEffect <= 0)
                        {
                            continue;
                        }

                        ages[i] = mode.Age + _clock.Integrate(mode.Updated, day, mode.Law.SummerAmplitude, mode.Degradation);
                        if (target < 0 || ages[i] / mode.Law.ScaleDays > ages[target] / _modes[target].Law.ScaleDays)
                        {
                            target = i;
                        }
                    }

                    for (var i = 0; i < _modes.Length; i++)
                    {
                        var mode = _modes[i];
                        if (mode.Law.PmEffect <= 0)
                        {
                            continue;
                        }

                        mode.Age = ages[i] * (1 - (i == target ? mode.Law.PmEffect : mode.Law.PmEffect * AlongsideShare));
                        mode.Updated = day;
                        mode.Version++;
                        ScheduleFailure(i, day);
                    }

                    addressed = target < 0 ? null : _modes[target].Law.FaultCode;
                }

                Compact();
                occurrence = new Occurrence(day, OccurrenceKind.Preventive, _machine.Asset, -1, site, 0, cancelled, addressed);
                Push(item, PmTime(Math.Floor(day) + _machine.Type.PmIntervalDays));
                break;
            }

            default:
            {
                var asset = _random.Chance(0.5) || _machine.Components.Count == 0 ? _machine.Asset : _random.Pick(_machine.Components);
                occurrence = new Occurrence(day, OccurrenceKind.FalseAlarm, asset, -1, site, 0, false);
                Push(item, day + _random.Exponential(MeanDaysBetweenFalseAlarms));
                break;
            }
        }

        Purge();
        return occurrence;
    }

    /// <summary>The share of its PM effect a mode gets from a visit that addressed another mode of the machine.</summary>
    internal const double AlongsideShare = 0.5;

    /// <summary>Preventive work is raised at 22:00 UTC (06:00 in Taiwan) on its day.</summary>
    private static double PmTime(double day) => Math.Floor(day) + (22.0 / 24);

    private void ScheduleFailure(int index, double now)
    {
        var mode = _modes[index];
        var residual = _random.WeibullResidual(mode.Law.Shape, mode.Law.ScaleDays, mode.Age);
        var failed = _clock.Advance(now, residual, mode.Law.SummerAmplitude, mode.Degradation);
        if (failed >= _clock.EndDay)
        {
            return;
        }

        // Someone notices and reports it a little later.
        var reported = failed + (_random.LogNormal(0.4, 0.8) / 24);
        Push(new Pending(PendingKind.Failure, index, mode.Version, failed, false), reported);
        var room = failed - now;
        if (_machine.Monitored && _random.Chance(mode.Law.AlarmChance))
        {
            var lead = Math.Min(_random.LogNormal(2, 0.8), room * 0.9);
            Push(new Pending(PendingKind.Alarm, index, mode.Version, failed, false), failed - lead);
        }

        if (_random.Chance(mode.Law.MinorChance))
        {
            var lead = Math.Min(_random.LogNormal(7, 0.7), room * 0.9);
            Push(new Pending(PendingKind.MinorFault, index, mode.Version, failed, _random.Chance(0.3)), failed - lead);
        }
    }

    private void Push(Pending pending, double day)
    {
        // Never before what was already given out, so the merged stream stays in time order.
        day = Math.Max(day, _now);
        if (day < _clock.EndDay)
        {
            _queue.Enqueue(pending, (day, _order++));
        }
    }

    /// <summary>Drops redrawn failures and their precursors from the head, so <see cref="Next"/> is always real.</summary>
    private void Purge()
    {
        while (_queue.TryPeek(out var head, out _) && Stale(head))
        {
            _queue.Dequeue();
        }
    }

    /// <summary>Drops every redrawn item after a preventive maintenance, so the queue stays as small as the machine.</summary>
    private void Compact()
    {
        var live = _queue.UnorderedItems.Where(item => !Stale(item.Element)).ToArray();
        _queue.Clear();
        _queue.EnqueueRange(live);
    }

    private bool Stale(in Pending item) =>
        item.Kind is PendingKind.Failure or PendingKind.Alarm or PendingKind.MinorFault && item.Version != _modes[item.Mode].Version;

    private readonly record struct Pending(PendingKind Kind, int Mode, int Version, double FailedDay, bool Flag);

    private sealed class Mode(int asset, int index, FailureMode law, Degradation degradation)
    {
        public int Asset { get; } = asset;

        public int Index { get; } = index;

        public FailureMode Law { get; } = law;

        public Degradation Degradation { get; } = degradation;

        public double Age { get; set; }

        public double Updated { get; set; }

        public int Version { get; set; }
    }
}

/// <summary>An inspection round on a line every four weeks, at 01:00 UTC (09:00 in Taiwan).</summary>
public sealed class InspectionSource : OccurrenceSource
{
    private const int IntervalDays = 28;

    private readonly LinePlan _line;
    private readonly StressClock _clock;
    private double _next;

    public InspectionSource(LinePlan line, StressClock clock)
    {
        _line = line;
        _clock = clock;
        _next = clock.WindowDay + new Random(line.Seed).Next(0, IntervalDays) + (1.0 / 24);
    }

    public override double Next => _next < _clock.EndDay ? _next : double.PositiveInfinity;

    public override Occurrence Take()
    {
        var occurrence = new Occurrence(_next, OccurrenceKind.Inspection, _line.Asset, -1, _line.Site, 0, false);
        _next += IntervalDays;
        return occurrence;
    }
}

/// <summary>
/// Exactly <c>count</c> facility requests (the share of work not tied to machines), spread by a density that favours
/// office hours in Taiwan, weekdays, and summer. Times come in order without holding them: the next of r remaining
/// uniform draws above x is 1 - (1 - x) U^(1/r), mapped through the inverse of the density's distribution function.
/// </summary>
public sealed class FacilitySource : OccurrenceSource
{
    private readonly Random _random;
    private readonly double[] _cumulative;
    private readonly int[] _siteWeights;
    private int _remaining;
    private double _position;
    private readonly double _first;
    private readonly double _last;
    private double _next;

    public FacilitySource(Plant plant, StressClock clock, int seed, int count)
    {
        _random = new Random(seed);
        _remaining = count;
        _first = clock.WindowDay;
        var hours = (int)Math.Ceiling((clock.EndDay - clock.WindowDay) * 24);
        _cumulative = new double[hours + 1];
        var start = clock.ToTime(clock.WindowDay);
        for (var h = 0; h < hours; h++)
        {
            var time = start.AddHours(h + 8);
            var weekday = time.DayOfWeek switch
            {
                DayOfWeek.Saturday => 0.35,
                DayOfWeek.Sunday => 0.2,
                _ => 1.0,
            };
            var office = time.Hour is >= 8 and < 18 ? 1.0 : 0.12;
            var summer = time.Month is >= 6 and <= 9 ? 1.3 : 1.0;
            _cumulative[h + 1] = _cumulative[h] + (weekday * office * summer);
        }

        _siteWeights = [.. plant.Sites.Select(s => s.Machines)];
        _last = clock.EndDay - (2.0 / 86_400);
        _next = Draw();
    }

    public override double Next => _next;

    public override Occurrence Take()
    {
        var day = _next;
        var roll = _random.Next(_siteWeights.Sum());
        var site = 0;
        while ((roll -= _siteWeights[site]) >= 0)
        {
            site++;
        }

        _next = Draw();
        return new Occurrence(day, OccurrenceKind.FacilityRequest, -1, -1, site, 0, false);
    }

    private double Draw()
    {
        if (_remaining == 0)
        {
            return double.PositiveInfinity;
        }

        _position = 1 - ((1 - _position) * Math.Pow(_random.Open(), 1.0 / _remaining--));
        var target = _position * _cumulative[^1];
        var found = Array.BinarySearch(_cumulative, target);
        var hour = Math.Clamp(found >= 0 ? found : ~found - 1, 0, _cumulative.Length - 2);
        var within = (target - _cumulative[hour]) / (_cumulative[hour + 1] - _cumulative[hour]);
        return Math.Min(_first + ((hour + within) / 24), _last);
    }
}
