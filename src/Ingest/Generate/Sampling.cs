namespace WorkOrders.Ingest.Generate;

/// <summary>
/// Draws from the laws the generator needs, on a seeded <see cref="Random"/> (the seeded constructor is stable across
/// runs, so a seed always gives the same history).
/// </summary>
public static class Sampling
{
    /// <summary>An independent seed for one part of the generation (a machine, a line, the timelines).</summary>
    public static int Derive(int seed, int stream, int index)
    {
        // SplitMix64 finaliser: neighbouring inputs give unrelated seeds.
        var z = ((ulong)(uint)seed << 32) ^ ((ulong)(uint)stream << 48) ^ (uint)index;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFF_FFFF);
    }

    /// <summary>A uniform number in (0, 1], safe to take the logarithm of.</summary>
    public static double Open(this Random random) => 1.0 - random.NextDouble();

    public static bool Chance(this Random random, double probability) => random.NextDouble() < probability;

    public static double Between(this Random random, double low, double high) => low + ((high - low) * random.NextDouble());

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public static double Normal(this Random random) =>
        Math.Sqrt(-2.0 * Math.Log(random.Open())) * Math.Cos(2.0 * Math.PI * random.NextDouble());

    /// <summary>A log-normal draw given its median and the standard deviation of its logarithm.</summary>
    public static double LogNormal(this Random random, double median, double sigma) => median * Math.Exp(sigma * random.Normal());

    public static double Exponential(this Random random, double mean) => -mean * Math.Log(random.Open());

    /// <summary>
    /// The remaining life of a Weibull(shape, scale) item that has survived to <paramref name="age"/>, by inverting the
    /// conditional survival function: S(age + t) / S(age) = U.
    /// </summary>
    public static double WeibullResidual(this Random random, double shape, double scale, double age)
    {
        var agePart = Math.Pow(age / scale, shape);
        return (scale * Math.Pow(agePart - Math.Log(random.Open()), 1.0 / shape)) - age;
    }
}
