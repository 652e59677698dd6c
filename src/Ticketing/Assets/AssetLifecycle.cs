namespace WorkOrders.Ticketing.Assets;

/// <summary>The life of an asset, after the maintenance standard (EN 13306): from acceptance to disposal.</summary>
public enum AssetState
{
    Planned,
    InService,
    Standby,
    UnderRepair,
    Decommissioned,
    Disposed,
}

/// <summary>What a planner or administrator does to an asset's state.</summary>
public enum AssetAction
{
    /// <summary>Accepted and put to work: planned to in service.</summary>
    Commission,

    /// <summary>Kept ready but not running: in service to standby.</summary>
    StandBy,

    /// <summary>Back to work from standby.</summary>
    Resume,

    /// <summary>Taken out of service to be repaired, from in service or standby.</summary>
    StartRepair,

    /// <summary>Repaired and back in service.</summary>
    FinishRepair,

    /// <summary>Taken out of use for good (or a plan abandoned): no new PM occurrences, new work needs a reason.</summary>
    Decommission,

    /// <summary>A decommissioned asset brought back into service (mothballed equipment restarted).</summary>
    Recommission,

    /// <summary>Sold, scrapped or otherwise gone: only from decommissioned, and the end of the life.</summary>
    Dispose,
}

/// <summary>
/// The one rule for lifecycle changes: a pure function of the current state and the action. Every change is an
/// explicit action, so a refused pair always says which action from which state; an asset never moves by itself.
/// </summary>
public static class AssetLifecycle
{
    public const int MaxReasonLength = 2000;

    private static readonly Dictionary<AssetAction, (AssetState[] From, AssetState To)> Rules = new()
    {
        [AssetAction.Commission] = ([AssetState.Planned], AssetState.InService),
        [AssetAction.StandBy] = ([AssetState.InService], AssetState.Standby),
        [AssetAction.Resume] = ([AssetState.Standby], AssetState.InService),
        [AssetAction.StartRepair] = ([AssetState.InService, AssetState.Standby], AssetState.UnderRepair),
        [AssetAction.FinishRepair] = ([AssetState.UnderRepair], AssetState.InService),
        [AssetAction.Decommission] = ([AssetState.Planned, AssetState.InService, AssetState.Standby, AssetState.UnderRepair], AssetState.Decommissioned),
        [AssetAction.Recommission] = ([AssetState.Decommissioned], AssetState.InService),
        [AssetAction.Dispose] = ([AssetState.Decommissioned], AssetState.Disposed),
    };

    /// <summary>The state after the action, or the refusal <c>asset.lifecycle_illegal</c> naming the action and the state.</summary>
    public static Outcome<AssetState> Decide(AssetState state, AssetAction action)
    {
        var (from, to) = Rules[action];
        return from.Contains(state)
            ? to
            : Failure.Illegal("asset.lifecycle_illegal", WireNames.Of(action), WireNames.Of(state));
    }

    /// <summary>The actions allowed from a state, in declaration order, for the buttons of the asset page.</summary>
    public static IReadOnlyList<AssetAction> Allowed(AssetState state) =>
        [.. Enum.GetValues<AssetAction>().Where(a => Rules[a].From.Contains(state))];

    /// <summary>Whether new work may be raised on an asset in this state at all (a disposed asset takes none).</summary>
    public static bool TakesWork(AssetState state) => state != AssetState.Disposed;

    /// <summary>Whether new work on an asset in this state needs a reason (it is decommissioned).</summary>
    public static bool WorkNeedsReason(AssetState state) => state == AssetState.Decommissioned;

    /// <summary>Whether PM plans generate occurrences for an asset in this state.</summary>
    public static bool TakesPreventiveWork(AssetState state) => state is not (AssetState.Decommissioned or AssetState.Disposed);
}
