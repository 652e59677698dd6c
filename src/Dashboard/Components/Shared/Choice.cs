namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>One entry of a drop-down: the value it stands for and the words shown for it.</summary>
public sealed record Choice<T>(T Value, string Text);
