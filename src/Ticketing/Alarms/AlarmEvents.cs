namespace WorkOrders.Ticketing.Alarms;

/// <summary>
/// One event as a source sends it: its own id (unique per source), the asset by code or the device by its id (the
/// asset's serial number), the signal, a value or a ready state ("raised"/"cleared"), and when it happened (UTC).
/// </summary>
public sealed record AlarmEventInput(string? EventId, string? AssetCode, string? DeviceId, string? Signal, decimal? Value, string? State, DateTime? Time);

public sealed record AlarmBatchRequest(IReadOnlyList<AlarmEventInput?>? Events);

/// <summary>How an event arrived, as alarm_events.channel spells it.</summary>
public enum AlarmChannel
{
    Api,
    Mqtt,
}

/// <summary>
/// What became of one event. <see cref="Result"/>: accepted, duplicate (the event id was received before: nothing
/// changed) or refused (with <see cref="Code"/> and <see cref="Reason"/>). <see cref="Outcome"/>: what an accepted event
/// did (raised, attached, pending, normal, clearing, cleared, late, suppressed, rate_limited, refused_by_core, no_rule).
/// </summary>
public sealed record AlarmEventResult(string? EventId, string Result, string? Outcome, string? Field, string? Code, string? Reason, long? WorkOrderId);

public sealed record AlarmBatchResult(int Accepted, int Duplicates, int Refused, IReadOnlyList<AlarmEventResult> Events);

/// <summary>What alarm_events.outcome says an event did.</summary>
public static class AlarmOutcomes
{
    public const string Raised = "raised";
    public const string Attached = "attached";
    public const string Pending = "pending";
    public const string Normal = "normal";
    public const string Clearing = "clearing";
    public const string Cleared = "cleared";
    public const string Late = "late";
    public const string Active = "active";
    public const string Suppressed = "suppressed";
    public const string RateLimited = "rate_limited";
    public const string RefusedByCore = "refused_by_core";
    public const string NoRule = "no_rule";

    /// <summary>An alarm of another system's history, imported: it raised no work order here (episodes and raise events).</summary>
    public const string Imported = "imported";

    /// <summary>Stored for an event whose asset code or device id the register does not know; answered refused.</summary>
    public const string UnknownAsset = "unknown_asset";

    /// <summary>Stored for an event whose device id several assets carry; answered refused.</summary>
    public const string AmbiguousDevice = "ambiguous_device";

    /// <summary>When an event is judged by several rules, the outcome that says most wins.</summary>
    public static int Weight(string outcome) => outcome switch
    {
        Raised => 10,
        Attached => 9,
        Suppressed => 8,
        RateLimited => 7,
        RefusedByCore => 6,
        Cleared => 5,
        Active => 4,
        Clearing => 3,
        Pending => 2,
        Late => 1,
        _ => 0,
    };
}
