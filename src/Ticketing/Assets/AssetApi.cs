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
        // parentId and text keep the tree browsing of before (one level, or a quick search); any other filter, or none,
        // lists the register page by page.
        api.MapGet("/assets", async (
                AssetRegister assets,
                CancellationToken ct,
                long? parentId = null,
                string? text = null,
                string? kind = null,
                string? type = null,
                string? lifecycle = null,
                long? under = null,
                string? q = null,
                int skip = 0,
                int take = 50) =>
            {
                if (parentId is not null || text is not null)
                {
                    return Results.Ok(text is null ? await assets.ChildrenAsync(parentId, ct) : await assets.SearchAsync(text, 50, ct));
                }

                var errors = new FieldErrors();
                AssetKind? kindFilter = null;
                AssetState? stateFilter = null;
                if (kind is not null)
                {
                    if (WireNames.TryParse<AssetKind>(kind, out var k))
                    {
                        kindFilter = k;
                    }
                    else
                    {
                        errors.Add("kind", "field.one_of", string.Join(", ", Enum.GetValues<AssetKind>().Select(WireNames.Of)));
                    }
                }

                if (lifecycle is not null)
                {
                    if (WireNames.TryParse<AssetState>(lifecycle, out var l))
                    {
                        stateFilter = l;
                    }
                    else
                    {
                        errors.Add("lifecycle", "field.one_of", string.Join(", ", Enum.GetValues<AssetState>().Select(WireNames.Of)));
                    }
                }

                if (skip < 0)
                {
                    errors.Add("skip", "field.not_negative");
                }

                if (take is < 1 or > AssetRegister.MaxPage)
                {
                    errors.Add("take", "field.from_to", 1, AssetRegister.MaxPage);
                }

                return errors.Any
                    ? errors.ToFailure().ToResult()
                    : Results.Ok(await assets.ListAsync(new AssetQuery(kindFilter, type, stateFilter, under, q, skip, take), ct));
            })
            .Produces<AssetList>()
            .ProducesValidationProblem()
            .WithTags("Assets");
        api.MapGet("/assets/{id:long}", async (long id, AssetRegister assets, CancellationToken ct) =>
            {
                var detail = await assets.GetAsync(id, ct);
                return detail.Failure is { } failure
                    ? failure.ToResult()
                    : Results.Ok(detail.Value! with { Record = (await assets.GetRecordAsync(id, ct)).Value });
            })
            .Produces<AssetDetail>()
            .WithTags("Assets");
        api.MapGet("/assets/{id:long}/history", async (long id, AssetRegister assets, CancellationToken ct) =>
            (await assets.HistoryAsync(id, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<AssetEvent>>()
            .WithTags("Assets");
        api.MapPost("/assets", async (CreateAssetRequest request, Actor actor, AssetRegister assets, CancellationToken ct) =>
            (await assets.CreateAsync(request, actor, ct)).Map(a => Results.Created($"/api/v1/assets/{a.Id}", a)))
            .AccessFirst(AssetRegister.WriteRefusal)
            .Produces<Asset>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithTags("Assets");
        api.MapPut("/assets/{id:long}", async (long id, EditAssetRequest request, Actor actor, AssetRegister assets, CancellationToken ct) =>
            (await assets.EditAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(AssetRegister.WriteRefusal)
            .Produces<AssetRecord>()
            .ProducesValidationProblem()
            .WithTags("Assets");
        api.MapPost("/assets/{id:long}/move", async (long id, MoveAssetRequest request, Actor actor, AssetRegister assets, CancellationToken ct) =>
            (await assets.MoveAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(AssetRegister.WriteRefusal)
            .Produces<AssetRecord>()
            .ProducesValidationProblem()
            .WithTags("Assets");
        api.MapPost("/assets/{id:long}/lifecycle", async (long id, AssetLifecycleRequest request, Actor actor, AssetRegister assets, CancellationToken ct) =>
            (await assets.ChangeLifecycleAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(AssetRegister.WriteRefusal)
            .Produces<AssetRecord>()
            .ProducesValidationProblem()
            .WithTags("Assets");
    }
}
