namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>A heatmap cell the user clicked: its row (an asset id or an asset type), failure code and bucket (null for the sum of all).</summary>
public sealed record HeatmapSelection(string RowKey, string RowLabel, string FailureCode, DateOnly? Bucket, double Value, long WorkOrders);
