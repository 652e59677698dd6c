using System.ComponentModel.DataAnnotations;

namespace WorkOrders.Ticketing;

/// <summary>Settings of the work-order core, bound from the "Ticketing" section.</summary>
public sealed class TicketingOptions
{
    public const string Section = "Ticketing";

    /// <summary>The largest attachment accepted, in bytes.</summary>
    [Range(1, 100 * 1024 * 1024)]
    public int MaxAttachmentBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>How long an API bearer token stays valid.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a security stamp read from PostgreSQL answers from memory at most, should the notification of its
    /// change be lost (see <see cref="Access.SessionStamps"/>). Zero reads it on every request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan SessionStampLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Apply pending migrations at start-up; when false, a start that finds the schema behind refuses.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>Create the demo departments, users, assets, templates and work orders when the database has no users.</summary>
    public bool SeedDemo { get; set; }
}
