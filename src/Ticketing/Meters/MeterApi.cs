using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Meters;

/// <summary>A reading of the meter in the route.</summary>
public sealed record ReadingBody(DateTime? ReadAt, decimal? Value, bool IsReset = false, string? ResetReason = null);

/// <summary>One or more readings of one meter, stored together or not at all.</summary>
public sealed record ReadingBatch(IReadOnlyList<ReadingBody>? Readings);

public sealed record ReadingBatchResult(IReadOnlyList<RecordedReading> Readings, int Created);

/// <summary>Meters and readings under /api/v1: the meters of an asset, and the readings of a meter.</summary>
public static class MeterApi
{
    public static void MapMeterApi(this RouteGroupBuilder api)
    {
        api.MapGet("/assets/{id:long}/meters", async (long id, MeterRegister meters, CancellationToken ct) =>
            (await meters.ListAsync(id, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<Meter>>()
            .WithTags("Meters");
        api.MapPost("/assets/{id:long}/meters", async (long id, MeterRequest request, Actor actor, MeterRegister meters, CancellationToken ct) =>
            (await meters.AddAsync(id, request, actor, ct)).Map(m => Results.Created($"/api/v1/meters/{m.Id}", m)))
            .AccessFirst(MeterRegister.ManageRefusal)
            .Produces<Meter>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithTags("Meters");
        api.MapGet("/meters/{meterId:long}", async (long meterId, MeterRegister meters, CancellationToken ct) =>
            (await meters.GetAsync(meterId, ct)).Map(Results.Ok))
            .Produces<Meter>()
            .WithTags("Meters");
        api.MapPut("/meters/{meterId:long}", async (long meterId, MeterRequest request, Actor actor, MeterRegister meters, CancellationToken ct) =>
            (await meters.RenameAsync(meterId, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(MeterRegister.ManageRefusal)
            .Produces<Meter>()
            .ProducesValidationProblem()
            .WithTags("Meters");
        api.MapGet("/meters/{meterId:long}/readings", async (long meterId, MeterRegister meters, CancellationToken ct, int skip = 0, int take = 50) =>
            (await meters.ReadingsAsync(meterId, skip, take, ct)).Map(Results.Ok))
            .Produces<ReadingPage>()
            .WithTags("Meters");
        // 201 when the batch stored something new, 200 when every reading was stored already (a retry).
        api.MapPost("/meters/{meterId:long}/readings", async (long meterId, ReadingBatch batch, Actor actor, MeterRegister meters, CancellationToken ct) =>
            (await meters.RecordAsync(
                [.. (batch.Readings ?? []).Select(r => new ReadingEntry(meterId, r.ReadAt, r.Value, r.IsReset, r.ResetReason))], actor, ReadingSource.Api, ct))
            .Map(recorded =>
            {
                var result = new ReadingBatchResult(recorded, recorded.Count(r => r.Created));
                return result.Created > 0 ? Results.Created($"/api/v1/meters/{meterId}/readings", result) : Results.Ok(result);
            }))
            .AccessFirst(MeterRegister.RecordRefusal)
            .Produces<ReadingBatchResult>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithTags("Meters");
    }
}
