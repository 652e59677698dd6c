using System.Globalization;

namespace WorkOrders.Ingest.Generate;

/// <summary>
/// What to generate. The history runs for <see cref="Months"/> calendar months up to 00:00 UTC of <see cref="End"/>.
/// <see cref="Machines"/> fixes the plant size; without it the plant is sized so that machine work is about 85 % of
/// the work orders and facility requests make up the rest.
/// </summary>
public sealed record GenerateOptions(int WorkOrders, int Months, int Seed, DateOnly End, int? Machines = null)
{
    public const int MaxWorkOrders = 50_000_000;
    public const int MaxMonths = 240;
    public const int MaxMachines = 1_000_000;

    public DateTime WindowEnd => End.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    public DateTime WindowStart => WindowEnd.AddMonths(-Months);

    /// <summary>Reads the options, refusing any value out of range with a message that names the option.</summary>
    public static GenerateOptions Parse(CliArgs args, DateOnly today)
    {
        var workOrders = Whole(args, "work-orders", 100_000, 1, MaxWorkOrders);
        var months = Whole(args, "months", 36, 1, MaxMonths);
        var seed = Whole(args, "seed", 1, 0, int.MaxValue);
        int? machines = args.Text("machines") is null ? null : Whole(args, "machines", 0, 1, MaxMachines);
        var end = today;
        if (args.Text("end") is { } text
            && !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out end))
        {
            throw new CliException($"--end must be a date written yyyy-MM-dd, not '{text}'");
        }

        if (args.Has("end") && args.Text("end") is null)
        {
            throw new CliException("--end needs a date written yyyy-MM-dd");
        }

        return new GenerateOptions(workOrders, months, seed, end, machines);
    }

    private static int Whole(CliArgs args, string name, int fallback, int min, int max)
    {
        if (!args.Has(name))
        {
            return fallback;
        }

        var text = args.Text(name);
        if (text is null || !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new CliException($"--{name} must be a whole number from {min} to {max}, not '{text}'");
        }

        if (value < min || value > max)
        {
            throw new CliException($"--{name} must be from {min} to {max} (it was {value})");
        }

        return (int)value;
    }
}
