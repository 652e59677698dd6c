using System.Globalization;
using DuckDB.NET.Data;

namespace WorkOrders.Analytics.Forecasting;

/// <summary>
/// One coming week of one department: the forecast number of new work orders with its interval, the hands-on hours
/// that work is expected to take, and the technician hours the department has in a week.
/// </summary>
public sealed record VolumeWeek(
    long DepartmentId,
    string Department,
    DateOnly WeekStart,
    double Forecast,
    double Low,
    double High,
    double ExpectedWorkHours,
    double CapacityHours,
    int Technicians);

/// <summary>
/// Weekly work orders per department for the coming weeks: a linear trend over the last year of weekly counts times a
/// month-of-year seasonal factor (from full years of history, 1 when there is less), with the interval taken from the
/// errors the same method made when it forecast the last 26 weeks from what came before them (rolling origin,
/// per weeks-ahead step). Expected work = forecast x the department's mean hands-on (in progress) hours per work order
/// over the last year; capacity = its active technicians x <c>hoursPerTechnician</c>.
/// </summary>
public static class VolumeForecast
{
    public const int MaxWeeks = 26;

    private const string Weekly = """
        SELECT d.department_id, d.name, date_trunc('week', w.created_at)::DATE AS week, count(*)
        FROM (SELECT department_id, created_at FROM fact_work_order UNION ALL SELECT department_id, created_at FROM open_work_order) w
        JOIN dim_department d USING (department_id)
        WHERE w.created_at < date_trunc('week', $now)
        GROUP BY ALL ORDER BY 1, 3
        """;

    private const string Departments = """
        SELECT d.department_id,
               (SELECT count(*) FROM dim_user u WHERE u.department_id = d.department_id AND u.role = 'technician' AND u.active) AS technicians,
               (SELECT avg(s.seconds) / 3600.0
                FROM (SELECT work_order_id, sum(seconds) AS seconds FROM fact_status_interval WHERE status = 'in_progress' GROUP BY ALL) s
                JOIN fact_work_order w USING (work_order_id)
                WHERE w.department_id = d.department_id AND w.created_at >= $now - INTERVAL 365 DAY) AS hands_on
        FROM dim_department d
        """;

    /// <summary>
    /// The next <paramref name="weeks"/> weeks (1 to 26) from the week of the warehouse's latest data, per department with
    /// history, with a <paramref name="coverage"/> interval (0.5 to 0.99). Out-of-range arguments throw
    /// <see cref="ArgumentOutOfRangeException"/> naming them.
    /// </summary>
    public static IReadOnlyList<VolumeWeek> Forecast(DuckDBConnection warehouse, int weeks = 8, double coverage = 0.8, double hoursPerTechnician = 40)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weeks, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(weeks, MaxWeeks);
        if (double.IsNaN(coverage) || coverage < 0.5 || coverage > 0.99)
        {
            throw new ArgumentOutOfRangeException(nameof(coverage), coverage, "must be from 0.5 to 0.99");
        }

        if (double.IsNaN(hoursPerTechnician) || hoursPerTechnician <= 0 || hoursPerTechnician > 168)
        {
            throw new ArgumentOutOfRangeException(nameof(hoursPerTechnician), hoursPerTechnician, "must be above 0 and at most 168");
        }

        var now = RiskScoring.Now(warehouse);
        var thisWeek = DateOnly.FromDateTime(now).AddDays(-(((int)now.DayOfWeek + 6) % 7));
        var series = new Dictionary<long, (string Name, SortedDictionary<DateOnly, double> Counts)>();
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = Weekly;
            command.Parameters.Add(new DuckDBParameter("now", now));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetInt64(0);
                if (!series.TryGetValue(id, out var entry))
                {
                    entry = series[id] = (reader.GetString(1), new SortedDictionary<DateOnly, double>());
                }

                entry.Counts[reader.GetFieldValue<DateOnly>(2)] = reader.GetInt64(3);
            }
        }

        var staff = new Dictionary<long, (int Technicians, double? HandsOn)>();
        using (var command = warehouse.CreateCommand())
        {
            command.CommandText = Departments;
            command.Parameters.Add(new DuckDBParameter("now", now));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                staff[reader.GetInt64(0)] = (Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture), reader.IsDBNull(2) ? null : reader.GetDouble(2));
            }
        }

        var result = new List<VolumeWeek>();
        foreach (var (id, (name, counts)) in series.OrderBy(s => s.Value.Name, StringComparer.Ordinal))
        {
            // Weeks without work count as zero, from the first week with work up to the last complete week.
            var first = counts.Keys.First();
            var history = new List<(DateOnly Week, double Count)>();
            for (var week = first; week < thisWeek; week = week.AddDays(7))
            {
                history.Add((week, counts.GetValueOrDefault(week)));
            }

            var forecast = Fit(history, weeks);
            var (low, high) = Interval(history, weeks, coverage);
            var (technicians, handsOn) = staff.GetValueOrDefault(id);
            for (var h = 0; h < weeks; h++)
            {
                var value = Math.Max(0, forecast[h]);
                result.Add(new VolumeWeek(
                    id, name, thisWeek.AddDays(7 * h), value, Math.Max(0, value + low[h]), Math.Max(0, value + high[h]),
                    value * (handsOn ?? 0), technicians * hoursPerTechnician, technicians));
            }
        }

        return result;
    }

    /// <summary>The forecast of the <paramref name="ahead"/> weeks after the history: trend over the last 52 weeks x month factor.</summary>
    internal static double[] Fit(IReadOnlyList<(DateOnly Week, double Count)> history, int ahead)
    {
        var forecast = new double[ahead];
        if (history.Count == 0)
        {
            return forecast;
        }

        var season = Season(history);
        var recent = history.Skip(Math.Max(0, history.Count - 52)).ToList();
        var x = Enumerable.Range(0, recent.Count).Select(i => (double)i).ToList();
        var y = recent.Select(w => w.Count / season[w.Week.Month - 1]).ToList();
        var meanX = x.Average();
        var meanY = y.Average();
        var sxx = x.Sum(v => (v - meanX) * (v - meanX));
        var slope = sxx == 0 ? 0 : x.Zip(y, (a, b) => (a - meanX) * (b - meanY)).Sum() / sxx;
        var last = recent[^1].Week;
        for (var h = 0; h < ahead; h++)
        {
            var week = last.AddDays(7 * (h + 1));
            forecast[h] = (meanY + (slope * (recent.Count + h - meanX))) * season[week.Month - 1];
        }

        return forecast;
    }

    /// <summary>Month-of-year factors (mean weekly count in the month / overall mean) once two full years are known, else 1.</summary>
    private static double[] Season(IReadOnlyList<(DateOnly Week, double Count)> history)
    {
        var factors = Enumerable.Repeat(1.0, 12).ToArray();
        if (history.Count < 104)
        {
            return factors;
        }

        var mean = history.Average(w => w.Count);
        if (mean <= 0)
        {
            return factors;
        }

        foreach (var month in history.GroupBy(w => w.Week.Month))
        {
            factors[month.Key - 1] = Math.Max(0.1, month.Average(w => w.Count) / mean);
        }

        return factors;
    }

    /// <summary>
    /// The quantiles of the errors (actual - forecast) per weeks-ahead step, from forecasting each of the last 26 weeks
    /// from the history before it. With too little history, ± the square root of the mean (a Poisson spread).
    /// </summary>
    internal static (double[] Low, double[] High) Interval(IReadOnlyList<(DateOnly Week, double Count)> history, int ahead, double coverage)
    {
        var errors = Enumerable.Range(0, ahead).Select(_ => new List<double>()).ToArray();
        for (var origin = Math.Max(26, history.Count - 26 - ahead); origin < history.Count; origin++)
        {
            var forecast = Fit(history.Take(origin).ToList(), ahead);
            for (var h = 0; h < ahead && origin + h < history.Count; h++)
            {
                errors[h].Add(history[origin + h].Count - forecast[h]);
            }
        }

        var low = new double[ahead];
        var high = new double[ahead];
        var spread = Math.Sqrt(Math.Max(1, history.Count == 0 ? 1 : history.TakeLast(26).Average(w => w.Count)));
        // The normal quantile of the coverage, by the logistic approximation (within a few percent here).
        var z = Math.Log((1 + coverage) / (1 - coverage)) / 1.702;
        for (var h = 0; h < ahead; h++)
        {
            if (errors[h].Count < 8)
            {
                low[h] = -z * spread;
                high[h] = z * spread;
                continue;
            }

            var sorted = errors[h].Order().ToList();
            low[h] = Quantile(sorted, (1 - coverage) / 2);
            high[h] = Quantile(sorted, 1 - ((1 - coverage) / 2));
        }

        return (low, high);
    }

    private static double Quantile(List<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }
}
