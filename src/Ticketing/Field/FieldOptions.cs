using System.ComponentModel.DataAnnotations;

namespace WorkOrders.Ticketing.Field;

/// <summary>Settings of the field API, bound from the "Field" section.</summary>
public sealed class FieldOptions
{
    public const string Section = "Field";

    /// <summary>How long a device credential stands unused; every use moves its end this far ahead (sliding).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The most commands one sync request may carry.</summary>
    [Range(1, 1000)]
    public int MaxBatch { get; set; } = 200;

    /// <summary>The furthest ahead a trip pack may reach for rounds due, in days.</summary>
    [Range(1, 60)]
    public int MaxTripDays { get; set; } = 14;

    /// <summary>The largest chunk of a photo upload one PUT may carry, in bytes.</summary>
    [Range(1024, 100 * 1024 * 1024)]
    public int MaxChunkBytes { get; set; } = 2 * 1024 * 1024;
}
