using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Sla;

public enum SlaTarget
{
    Response,
    Resolution,
}

public enum SlaLevel
{
    Warning,
    Breach,
}

/// <summary>How a work order stands against its SLA, for colouring: ok, at risk (past the warning share), breached, paused; met or missed once resolved.</summary>
public enum SlaRisk
{
    Ok,
    AtRisk,
    Breached,
    Paused,
    Met,
    Missed,
}

/// <summary>One warning or breach of one target.</summary>
public readonly record struct SlaAlert(SlaTarget Target, SlaLevel Level, DateTime At);

/// <summary>The instants of a clock: when each target's warning share has elapsed and when it falls due.</summary>
public sealed record SlaInstants(DateTime ResponseWarnAt, DateTime ResponseDueAt, DateTime ResolutionWarnAt, DateTime ResolutionDueAt);

/// <summary>What the SLA rules need to know about one work order's clock.</summary>
public sealed record SlaClockState(
    SlaInstants Instants,
    WorkOrderStatus Status,
    DateTime? AcknowledgedAt,
    DateTime? ResolvedAt,
    DateTime? PausedSince,
    IReadOnlySet<(SlaTarget Target, SlaLevel Level)> Sent);

/// <summary>The time left on the target that matters now (response until acknowledged, then resolution); negative when overdue.</summary>
public sealed record SlaView(SlaTarget Target, DateTime DueAt, TimeSpan Remaining, SlaRisk Risk);

/// <summary>The SLA decisions, pure: when the clocks fall due, what to send now, how a pause moves them, and the time left.</summary>
public static class SlaRules
{
    /// <summary>The statuses during which the clock stands still.</summary>
    public static bool Pauses(WorkOrderStatus status) => status is WorkOrderStatus.OnHold or WorkOrderStatus.AwaitingFeedback;

    public static SlaInstants Start(BusinessCalendar calendar, DateTime now, int responseMinutes, int resolutionMinutes, int warningPercent) => new(
        calendar.Add(now, WarningPart(responseMinutes, warningPercent)),
        calendar.Add(now, TimeSpan.FromMinutes(responseMinutes)),
        calendar.Add(now, WarningPart(resolutionMinutes, warningPercent)),
        calendar.Add(now, TimeSpan.FromMinutes(resolutionMinutes)));

    /// <summary>
    /// After a pause from <paramref name="pausedSince"/> that took <paramref name="paused"/> of business time, every instant still
    /// ahead of the pause's start moves out by that much business time; instants already passed stay.
    /// </summary>
    public static SlaInstants Push(SlaInstants instants, BusinessCalendar calendar, DateTime pausedSince, TimeSpan paused)
    {
        DateTime Move(DateTime at) => at > pausedSince ? calendar.Add(at, paused) : at;
        return new SlaInstants(Move(instants.ResponseWarnAt), Move(instants.ResponseDueAt), Move(instants.ResolutionWarnAt), Move(instants.ResolutionDueAt));
    }

    /// <summary>The warnings and breaches not yet sent, earliest first; none while paused or once the work is closed or cancelled.</summary>
    public static IEnumerable<SlaAlert> Pending(SlaClockState state)
    {
        if (state.PausedSince is not null || state.Status is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled)
        {
            return [];
        }

        var alerts = new List<SlaAlert>(4);
        void Add(SlaTarget target, SlaLevel level, DateTime at)
        {
            if (!state.Sent.Contains((target, level)))
            {
                alerts.Add(new SlaAlert(target, level, at));
            }
        }

        if (state.AcknowledgedAt is null)
        {
            Add(SlaTarget.Response, SlaLevel.Warning, state.Instants.ResponseWarnAt);
            Add(SlaTarget.Response, SlaLevel.Breach, state.Instants.ResponseDueAt);
        }

        if (state.ResolvedAt is null)
        {
            Add(SlaTarget.Resolution, SlaLevel.Warning, state.Instants.ResolutionWarnAt);
            Add(SlaTarget.Resolution, SlaLevel.Breach, state.Instants.ResolutionDueAt);
        }

        return alerts.OrderBy(a => a.At).ThenBy(a => a.Level);
    }

    /// <summary>The alerts to send at <paramref name="now"/>.</summary>
    public static IReadOnlyList<SlaAlert> Due(SlaClockState state, DateTime now) => [.. Pending(state).Where(a => a.At <= now)];

    /// <summary>When the monitor next needs to look at this clock; null when nothing is left to send or it is paused.</summary>
    public static DateTime? NextAlertAt(SlaClockState state) =>
        Pending(state).Select(a => (DateTime?)a.At).FirstOrDefault();

    /// <summary>The time left on the target that matters now, or null for cancelled work and work closed without being resolved.</summary>
    public static SlaView? View(SlaClockState state, BusinessCalendar calendar, DateTime now)
    {
        var i = state.Instants;
        if (state.ResolvedAt is { } resolvedAt)
        {
            var margin = resolvedAt <= i.ResolutionDueAt ? calendar.Between(resolvedAt, i.ResolutionDueAt) : -calendar.Between(i.ResolutionDueAt, resolvedAt);
            return new SlaView(SlaTarget.Resolution, i.ResolutionDueAt, margin, resolvedAt <= i.ResolutionDueAt ? SlaRisk.Met : SlaRisk.Missed);
        }

        if (state.Status is WorkOrderStatus.Closed or WorkOrderStatus.Cancelled)
        {
            return null;
        }

        var (target, warnAt, dueAt) = state.AcknowledgedAt is null
            ? (SlaTarget.Response, i.ResponseWarnAt, i.ResponseDueAt)
            : (SlaTarget.Resolution, i.ResolutionWarnAt, i.ResolutionDueAt);
        var at = state.PausedSince ?? now;
        var remaining = at <= dueAt ? calendar.Between(at, dueAt) : -calendar.Between(dueAt, at);
        var risk = state.PausedSince is not null ? SlaRisk.Paused
            : now >= dueAt ? SlaRisk.Breached
            : now >= warnAt ? SlaRisk.AtRisk
            : SlaRisk.Ok;
        return new SlaView(target, dueAt, remaining, risk);
    }

    private static TimeSpan WarningPart(int minutes, int percent) => TimeSpan.FromMinutes(minutes * percent / 100.0);
}
