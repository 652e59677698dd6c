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
}
