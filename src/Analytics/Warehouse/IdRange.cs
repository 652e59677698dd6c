namespace WorkOrders.Analytics.Warehouse;

/// <summary>The ids from <paramref name="First"/> to <paramref name="Last"/>, both included: a slice of the rows a run derives.</summary>
public readonly record struct IdRange(long First, long Last)
{
    /// <summary>
    /// The ranges, at most <paramref name="size"/> ids wide and as even as may be, that cover <paramref name="first"/> to
    /// <paramref name="last"/>; one range when that fits.
    /// </summary>
    public static IReadOnlyList<IdRange> Slices(long first, long last, long size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        var ids = last - first + 1;
        var count = (ids + size - 1) / size;
        return [.. Enumerable.Range(0, (int)count).Select(i => new IdRange(first + ids * i / count, first + ids * (i + 1) / count - 1))];
    }
}
