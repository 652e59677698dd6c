using System.Globalization;
using Microsoft.Extensions.Localization;
using WorkOrders.Analytics.Kpis;

namespace WorkOrders.Dashboard.Components.Shared;

public enum FigureUnit
{
    /// <summary>A number of work orders.</summary>
    Count,

    Hours,

    /// <summary>A share from 0 to 1, shown as a percentage; its change is in percentage points.</summary>
    Share,

    /// <summary>A mean rating from 1 to 5.</summary>
    Rating,
}

/// <summary>Which way a figure should move; Neither for figures such as volume that are not good or bad in themselves.</summary>
public enum Better
{
    Neither,
    Higher,
    Lower,
}

/// <summary>
/// One KPI tile's content. Value null means no work order counted ("no data"); Previous null means the previous
/// period had none, or the figure has no previous period (the backlog is a snapshot). Count is what the figure rests
/// on: the work orders its drill-down lists, or hours when <see cref="CountIsHours"/>.
/// </summary>
public sealed record KpiFigure(
    string Key,
    string Title,
    FigureUnit Unit,
    double? Value,
    double? Previous,
    long Count,
    string? DrillDown,
    Better Better = Better.Higher,
    bool CountIsHours = false,
    bool HasPrevious = true);

/// <summary>How the analytics pages write their figures, in the UI language.</summary>
public static class Figures
{
    public static string Format(IStringLocalizer T, FigureUnit unit, double? value) => value is not { } v || double.IsNaN(v) || double.IsInfinity(v)
        ? T["Figures.NoData"]
        : unit switch
        {
            FigureUnit.Count => v.ToString("N0", CultureInfo.CurrentCulture),
            FigureUnit.Hours => T["Common.Hours", v.ToString("N1", CultureInfo.CurrentCulture)],
            FigureUnit.Share => (v * 100).ToString("N1", CultureInfo.CurrentCulture) + "%",
            FigureUnit.Rating => T["Figures.Rating", v.ToString("N2", CultureInfo.CurrentCulture)],
            _ => v.ToString(CultureInfo.CurrentCulture),
        };

    /// <summary>The change from the previous period, signed, in the figure's unit (percentage points for shares).</summary>
    public static string? Change(IStringLocalizer T, FigureUnit unit, double? value, double? previous)
    {
        if (value is not { } now || previous is not { } before)
        {
            return null;
        }

        var delta = now - before;
        var sign = delta > 0 ? "+" : delta < 0 ? "−" : "±";
        var size = Math.Abs(delta);
        return unit switch
        {
            FigureUnit.Count => sign + size.ToString("N0", CultureInfo.CurrentCulture)
                                + (before > 0 ? " (" + sign + (size / before * 100).ToString("N0", CultureInfo.CurrentCulture) + "%)" : ""),
            FigureUnit.Hours => sign + T["Common.Hours", size.ToString("N1", CultureInfo.CurrentCulture)],
            FigureUnit.Share => sign + T["Figures.PercentagePoints", (size * 100).ToString("N1", CultureInfo.CurrentCulture)],
            FigureUnit.Rating => sign + size.ToString("N2", CultureInfo.CurrentCulture),
            _ => sign + size.ToString(CultureInfo.CurrentCulture),
        };
    }

    /// <summary>"up", "down" or "flat", and whether that is good news, as CSS classes.</summary>
    public static string Trend(Better better, double? value, double? previous)
    {
        if (value is not { } now || previous is not { } before)
        {
            return "none";
        }

        var direction = now > before ? 1 : now < before ? -1 : 0;
        var verdict = (better, direction) switch
        {
            (_, 0) or (Better.Neither, _) => "neutral",
            (Better.Higher, > 0) or (Better.Lower, < 0) => "better",
            _ => "worse",
        };
        return $"{(direction > 0 ? "up" : direction < 0 ? "down" : "flat")} {verdict}";
    }

    public static string Hours(IStringLocalizer T, double? hours) => Format(T, FigureUnit.Hours, hours);

    public static string Share(IStringLocalizer T, double? share) => Format(T, FigureUnit.Share, share);

    /// <summary>yyyy-MM-dd, the form the analytics endpoints and the address bar take.</summary>
    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>
    /// The whole calendar months a trend chart covers: those the period touches, at least six (reaching back from the
    /// period's last month) and at most the last twelve.
    /// </summary>
    public static KpiFilter TrendPeriod(KpiFilter filter)
    {
        var last = new DateOnly(filter.To.AddDays(-1).Year, filter.To.AddDays(-1).Month, 1);
        var first = new DateOnly(filter.From.Year, filter.From.Month, 1);
        if (first > last.AddMonths(-5))
        {
            first = last.AddMonths(-5);
        }

        if (first < last.AddMonths(-11))
        {
            first = last.AddMonths(-11);
        }

        return filter with { From = first, To = last.AddMonths(1) };
    }
}
