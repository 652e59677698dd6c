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

    /// <summary>
    /// How long the change log behind <c>/sync/changes</c> is kept. A cursor older than that may have missed a change and
    /// is answered 410 <c>sync.cursor_expired</c>: the app takes a fresh trip pack.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan ChangeRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long the stored result of a synced command is kept (from its sync and its device time, whichever is later), so
    /// a retry gets the same answer; at least <see cref="CredentialLifetime"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan CommandRetention { get; set; } = TimeSpan.FromDays(90);
}

/// <summary>When the field retention job runs, bound from "Field:Retention"; every hour by default.</summary>
public sealed class FieldRetentionOptions : Jobs.JobOptions
{
    public const string Section = "Field:Retention";

    /// <summary>Run the job in this process; several processes may, and one of them does each period's work.</summary>
    public bool Enabled { get; set; } = true;
}
