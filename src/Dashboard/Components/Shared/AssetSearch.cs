using WorkOrders.Ticketing.Assets;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>Finds assets whose code or name contains the text (all of them, a page at a time, when it is empty).</summary>
public delegate Task<IReadOnlyList<Asset>> AssetSearch(string? text, CancellationToken cancellationToken);

/// <summary>An asset as a picker lists it.</summary>
public sealed record AssetOption(long Id, string Text)
{
    public static AssetOption Of(Asset asset) => new(asset.Id, $"{asset.Code} · {asset.Name}");
}
