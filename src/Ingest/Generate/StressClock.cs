namespace WorkOrders.Ingest.Generate;

/// <summary>How an asset wears out: from <see cref="StartDay"/> its stress clock runs 1 + <see cref="PerYear"/> x years faster.</summary>
public readonly record struct Degradation(double StartDay, double PerYear)
{
    public static Degradation None { get; } = new(double.PositiveInfinity, 0);

    public bool Degrades => PerYear > 0;
}

/// <summary>
/// The simulated time in days from its start, cut at calendar-month boundaries. Failure laws run on a stress clock
/// whose rate is constant within a month: the season (summer is harder on some modes) times the asset's degradation.
/// A Weibull draw in stress-days is turned into a calendar time by walking the months, which keeps seasonal and
/// degrading hazards exact enough without numerical integration.
/// </summary>
public sealed class StressClock
{
    public const double DaysPerYear = 365.25;
    public const int DefaultWarmupDays = 540;

    private readonly double[] _starts;
    private readonly double[] _summer;
    private readonly double[] _middles;

    /// <summary>
    /// Failures are simulated from <paramref name="warmupDays"/> before the window, so that ages and the effect of
    /// earlier preventive maintenance are settled when the recorded history begins.
    /// </summary>
    public StressClock(DateTime windowStart, DateTime end, int warmupDays = DefaultWarmupDays)
    {
        var start = windowStart.AddDays(-warmupDays);
        Start = start;
        WindowDay = warmupDays;
        EndDay = (end - start).TotalDays;
        var starts = new List<double> { 0 };
        var summer = new List<double>();
        var middles = new List<double>();
        var month = new DateTime(start.Year, start.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        var from = start;
        while (from < end)
        {
            var next = month.AddMonths(1) < end ? month.AddMonths(1) : end;
            // +1 in July, -1 in January.
            summer.Add(Math.Cos(2 * Math.PI * (month.Month - 7) / 12.0));
            middles.Add(((from - start).TotalDays + (next - start).TotalDays) / 2);
            starts.Add((next - start).TotalDays);
            from = next;
            month = month.AddMonths(1);
        }

        _starts = [.. starts];
        _summer = [.. summer];
        _middles = [.. middles];
    }

    /// <summary>Where the simulation starts (before the window, see the constructor).</summary>
    public DateTime Start { get; }

    /// <summary>The start of the recorded window in days from <see cref="Start"/>.</summary>
    public double WindowDay { get; }

    /// <summary>The end of the window in days from its start; nothing happens at or after it.</summary>
    public double EndDay { get; }

    /// <summary>The calendar time at which <paramref name="stress"/> stress-days have passed since <paramref name="from"/>, or +infinity past the window.</summary>
    public double Advance(double from, double stress, double summerAmplitude, Degradation degradation)
    {
        if (from >= EndDay)
        {
            return double.PositiveInfinity;
        }

        var i = Segment(from);
        var t = from;
        for (; i < _summer.Length; i++)
        {
            var rate = Rate(i, summerAmplitude, degradation);
            var capacity = (_starts[i + 1] - t) * rate;
            if (stress <= capacity)
            {
                return t + (stress / rate);
            }

            stress -= capacity;
            t = _starts[i + 1];
        }

        return double.PositiveInfinity;
    }

    /// <summary>The stress-days that pass between two calendar times.</summary>
    public double Integrate(double from, double to, double summerAmplitude, Degradation degradation)
    {
        var total = 0.0;
        for (var i = Segment(from); i < _summer.Length && _starts[i] < to; i++)
        {
            var overlap = Math.Min(to, _starts[i + 1]) - Math.Max(from, _starts[i]);
            total += overlap * Rate(i, summerAmplitude, degradation);
        }

        return total;
    }

    public DateTime ToTime(double day) => Start.AddTicks((long)Math.Round(day * 86_400) * TimeSpan.TicksPerSecond);

    private double Rate(int segment, double summerAmplitude, Degradation degradation)
    {
        var season = 1 + (summerAmplitude * _summer[segment]);
        var years = Math.Max(0, _middles[segment] - degradation.StartDay) / DaysPerYear;
        return season * (1 + (degradation.PerYear * years));
    }

    private int Segment(double day)
    {
        var found = Array.BinarySearch(_starts, day);
        var index = found >= 0 ? found : ~found - 1;
        return Math.Clamp(index, 0, _summer.Length - 1);
    }
}
