using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Sla;

/// <summary>
/// A work order's SLA clock as read from sla_clocks and work_orders, the columns every reader of a clock selects;
/// <see cref="Sent"/> stays empty where a query does not select the alerts already sent.
/// </summary>
internal class SlaClockRow
{
    public DateTime ResponseWarnAt { get; init; }
    public DateTime ResponseDueAt { get; init; }
    public DateTime ResolutionWarnAt { get; init; }
    public DateTime ResolutionDueAt { get; init; }
    public DateTime? PausedSince { get; init; }
    public string Status { get; init; } = "";
    public DateTime? AcknowledgedAt { get; init; }
    public DateTime? ResolvedAt { get; init; }

    /// <summary>The alerts sent, as "target:level".</summary>
    public string[] Sent { get; init; } = [];

    public SlaClockState ToState() => new(
        new SlaInstants(ResponseWarnAt, ResponseDueAt, ResolutionWarnAt, ResolutionDueAt),
        WireNames.Parse<WorkOrderStatus>(Status),
        AcknowledgedAt,
        ResolvedAt,
        PausedSince,
        Sent.Select(s => s.Split(':')).Select(p => (WireNames.Parse<SlaTarget>(p[0]), WireNames.Parse<SlaLevel>(p[1]))).ToHashSet());
}
