using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Assets;

namespace WorkOrders.Ticketing.Stocktaking;

/// <summary>
/// Stocktaking under /api/v1/stocktakes. Every command carries the client's commandId: sending it again answers with
/// the state now and <c>replayed: true</c>, and changes nothing. The .xlsx report is a dashboard endpoint.
/// </summary>
public static class StocktakeApi
{
    public static void MapStocktakeApi(this RouteGroupBuilder api)
    {
        // The owner department is where a missing critical asset's work goes; it applies down the tree.
        api.MapGet("/assets/{id:long}/owner", async (long id, AssetRegister assets, CancellationToken ct) =>
            (await assets.OwnerAsync(id, ct)).Map(Results.Ok))
            .Produces<AssetOwner>()
            .WithTags("Assets");
        api.MapPut("/assets/{id:long}/owner", async (long id, AssetOwnerRequest request, Actor actor, AssetRegister assets, CancellationToken ct) =>
            (await assets.SetOwnerAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(AssetRegister.WriteRefusal)
            .Produces<AssetOwner>()
            .ProducesValidationProblem()
            .WithTags("Assets");
        var group = api.MapGroup("/stocktakes").WithTags("Stocktaking");
        group.MapGet("", async (Stocktakes stocktakes, CancellationToken ct, string? status = null, int skip = 0, int take = 50) =>
            {
                StocktakeStatus? filter = null;
                if (status is not null)
                {
                    if (!WireNames.TryParse<StocktakeStatus>(status, out var s))
                    {
                        return Failure.Invalid("status", "field.one_of", string.Join(", ", Enum.GetValues<StocktakeStatus>().Select(WireNames.Of))).ToResult();
                    }

                    filter = s;
                }

                return Results.Ok(await stocktakes.ListAsync(filter, skip, take, ct));
            })
            .Produces<StocktakeList>()
            .ProducesValidationProblem();
        group.MapPost("", async (NewStocktakeRequest request, Actor actor, Stocktakes stocktakes, CancellationToken ct) =>
            (await stocktakes.CreateAsync(request, actor, ct)).Map(c => c.Replayed
                ? Results.Ok(c)
                : Results.Created($"/api/v1/stocktakes/{c.Stocktake.Id}", c)))
            .AccessFirst(Stocktakes.CreateRefusal)
            .Produces<CreatedStocktake>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        group.MapGet("/locations", async (Stocktakes stocktakes, CancellationToken ct, string? text = null) =>
            Results.Ok(await stocktakes.LocationsAsync(text, 100, ct)));
        group.MapGet("/{id:long}", async (long id, Stocktakes stocktakes, CancellationToken ct) =>
            (await stocktakes.GetAsync(id, ct)).Map(Results.Ok))
            .Produces<StocktakeDetail>();
        group.MapGet("/{id:long}/report", async (long id, Stocktakes stocktakes, CancellationToken ct) =>
            (await stocktakes.ReportAsync(id, ct)).Map(Results.Ok))
            .Produces<StocktakeReport>();
        group.MapPost("/{id:long}/confirm-stop", async (long id, ConfirmStopRequest request, Actor actor, Stocktakes stocktakes, CancellationToken ct) =>
            (await stocktakes.ConfirmStopAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<StopResult>()
            .ProducesValidationProblem();
        group.MapPost("/{id:long}/mark", async (long id, MarkItemRequest request, Actor actor, Stocktakes stocktakes, CancellationToken ct) =>
            (await stocktakes.MarkAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<ItemResult>()
            .ProducesValidationProblem();
        group.MapPost("/{id:long}/unexpected", async (long id, AddUnexpectedRequest request, Actor actor, Stocktakes stocktakes, CancellationToken ct) =>
            (await stocktakes.AddUnexpectedAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<ItemResult>()
            .ProducesValidationProblem();
        group.MapPost("/{id:long}/close", async (long id, CloseStocktakeRequest request, Actor actor, Stocktakes stocktakes, CancellationToken ct) =>
            (await stocktakes.CloseAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<CloseResult>()
            .ProducesValidationProblem();
        group.MapGet("/photos/{sha256}", async (string sha256, Stocktakes stocktakes, CancellationToken ct) =>
            await stocktakes.PhotoAsync(sha256, ct) is { } photo
                ? Results.File(photo.Content, photo.ContentType)
                : Failure.NotFound("stocktake.photo_not_found", sha256).ToResult());
    }
}
