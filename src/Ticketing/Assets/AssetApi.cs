using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Assets;

/// <summary>The asset register under /api/v1/assets.</summary>
public static class AssetApi
{
    public static void MapAssetApi(this RouteGroupBuilder api)
    {
        api.MapGet("/assets", async (AssetRegister assets, CancellationToken ct, long? parentId = null, string? text = null) =>
            TypedResults.Ok(text is null ? await assets.ChildrenAsync(parentId, ct) : await assets.SearchAsync(text, 50, ct)))
            .WithTags("Assets");
        api.MapGet("/assets/{id:long}", async (long id, AssetRegister assets, CancellationToken ct) =>
            (await assets.GetAsync(id, ct)).Map(Results.Ok))
            .Produces<AssetDetail>()
            .WithTags("Assets");
        api.MapPost("/assets", async (CreateAssetRequest request, Actor actor, AssetRegister assets, CancellationToken ct) =>
            (await assets.CreateAsync(request, actor, ct)).Map(a => Results.Created($"/api/v1/assets/{a.Id}", a)))
            .Produces<Asset>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithTags("Assets");
    }
}
