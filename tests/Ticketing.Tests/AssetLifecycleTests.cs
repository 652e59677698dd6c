using WorkOrders.Ticketing.Assets;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Every state x action pair of the asset lifecycle against a table written by hand.</summary>
public class AssetLifecycleTests
{
    private const string No = "-";

    // Rows: the state now. Columns: commission, stand_by, resume, start_repair, finish_repair, decommission, recommission, dispose.
    // A cell is the state after the action, or "-" when the action is refused from that state.
    private static readonly string[][] Table =
    [
        /* planned        */ ["in_service", No, No, No, No, "decommissioned", No, No],
        /* in_service     */ [No, "standby", No, "under_repair", No, "decommissioned", No, No],
        /* standby        */ [No, No, "in_service", "under_repair", No, "decommissioned", No, No],
        /* under_repair   */ [No, No, No, No, "in_service", "decommissioned", No, No],
        /* decommissioned */ [No, No, No, No, No, No, "in_service", "disposed"],
        /* disposed       */ [No, No, No, No, No, No, No, No],
    ];

    private static readonly string[] States = ["planned", "in_service", "standby", "under_repair", "decommissioned", "disposed"];

    private static readonly string[] Actions = ["commission", "stand_by", "resume", "start_repair", "finish_repair", "decommission", "recommission", "dispose"];

    public static TheoryData<string, string, string> Pairs()
    {
        var data = new TheoryData<string, string, string>();
        for (var s = 0; s < States.Length; s++)
        {
            for (var a = 0; a < Actions.Length; a++)
            {
                data.Add(States[s], Actions[a], Table[s][a]);
            }
        }

        return data;
    }

    [Fact]
    public void the_table_covers_every_state_and_every_action()
    {
        Assert.Equal(Enum.GetValues<AssetState>().Select(WireNames.Of), States);
        Assert.Equal(Enum.GetValues<AssetAction>().Select(WireNames.Of), Actions);
        Assert.Equal(States.Length * Actions.Length, Pairs().Count());
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void each_action_from_each_state_gives_the_state_of_the_table_or_a_refusal(string state, string action, string expected)
    {
        var outcome = AssetLifecycle.Decide(WireNames.Parse<AssetState>(state), WireNames.Parse<AssetAction>(action));

        if (expected == No)
        {
            Assert.Equal(FailureKind.IllegalTransition, outcome.Failure?.Kind);
            Assert.Equal(new Refusal("asset.lifecycle_illegal", action, state), outcome.Failure!.Reason);
        }
        else
        {
            Assert.Null(outcome.Failure);
            Assert.Equal(expected, WireNames.Of(outcome.Value));
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void the_allowed_actions_are_exactly_those_the_decision_takes(string state, string action, string expected)
    {
        var allowed = AssetLifecycle.Allowed(WireNames.Parse<AssetState>(state));

        Assert.Equal(expected != No, allowed.Contains(WireNames.Parse<AssetAction>(action)));
    }

    [Theory]
    [InlineData("planned", true, false, true)]
    [InlineData("in_service", true, false, true)]
    [InlineData("standby", true, false, true)]
    [InlineData("under_repair", true, false, true)]
    [InlineData("decommissioned", true, true, false)]
    [InlineData("disposed", false, false, false)]
    public void what_each_state_lets_work_do(string state, bool takesWork, bool needsReason, bool takesPreventive)
    {
        var s = WireNames.Parse<AssetState>(state);

        Assert.Equal(takesWork, AssetLifecycle.TakesWork(s));
        Assert.Equal(needsReason, AssetLifecycle.WorkNeedsReason(s));
        Assert.Equal(takesPreventive, AssetLifecycle.TakesPreventiveWork(s));
    }
}
