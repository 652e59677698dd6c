using WorkOrders.Ticketing.Field;

namespace WorkOrders.Ticketing.Tests.Field;

public sealed class FieldEditRulesTests
{
    [Fact]
    public void an_edit_of_a_field_nobody_changed_since_its_base_applies_even_when_the_work_order_moved_on() =>
        Assert.Equal(EditDecision.Apply, FieldEdits.Decide(baseVersion: 3, fieldChangedAt: null, current: "Pump", proposed: "Pump seal"));

    [Fact]
    public void an_edit_of_a_field_changed_after_its_base_is_a_conflict() =>
        Assert.Equal(EditDecision.Conflict, FieldEdits.Decide(baseVersion: 3, fieldChangedAt: 4, current: "Pump (A)", proposed: "Pump (B)"));

    [Fact]
    public void an_edit_from_a_base_that_saw_the_last_change_applies() =>
        Assert.Equal(EditDecision.Apply, FieldEdits.Decide(baseVersion: 4, fieldChangedAt: 4, current: "Pump (A)", proposed: "Pump (C)"));

    [Fact]
    public void the_same_value_twice_is_no_conflict() =>
        Assert.Equal(EditDecision.Same, FieldEdits.Decide(baseVersion: 3, fieldChangedAt: 4, current: "Pump", proposed: "Pump"));
}
