using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Webhooks;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>
/// /api/v1/alarms: sources post signed batches of events; administrators manage sources and rules; managers read the
/// alarms under way and each episode's events.
/// </summary>
public static class AlarmApi
{
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static RouteGroupBuilder MapAlarmApi(this RouteGroupBuilder api)
    {
        var alarms = api.MapGroup("/alarms").WithTags("Alarms");
        alarms.MapPost("/", IngestAsync)
            .AllowAnonymous()
            .Produces<AlarmBatchResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        alarms.MapGet("/active", async (Actor actor, AlarmQueries queries, CancellationToken ct, long? siteId = null) =>
                Results.Ok(await queries.ActiveAsync(siteId, ct)))
            .Produces<IReadOnlyList<ActiveAlarm>>();
        alarms.MapGet("/episodes/{id:long}", async (long id, Actor actor, AlarmQueries queries, CancellationToken ct) =>
                await queries.EpisodeAsync(id, ct) is { } episode ? Results.Ok(episode) : Failure.NotFound("alarm.episode_not_found", id).ToResult())
            .Produces<AlarmEpisode>();
        alarms.MapGet("/episodes/{id:long}/events", async (long id, Actor actor, AlarmQueries queries, CancellationToken ct, int skip = 0, int take = 50) =>
                await queries.EpisodeAsync(id, ct) is null ? Failure.NotFound("alarm.episode_not_found", id).ToResult() : Results.Ok(await queries.EventsAsync(id, skip, take, ct)))
            .Produces<AlarmEventPage>();

        var sources = api.MapGroup("/alarm-sources").WithTags("Alarms");
        sources.MapGet("/", async (Actor actor, AlarmSources service, CancellationToken ct) => (await service.ListAsync(actor, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<AlarmSource>>();
        sources.MapPost("/", async (AlarmSourceRequest request, Actor actor, AlarmSources service, CancellationToken ct) =>
                (await service.CreateAsync(request, actor, ct)).Map(created => Results.Created($"/api/v1/alarm-sources/{created.Source.Id}", created)))
            .AccessFirst(AlarmSources.ManageRefusal)
            .Produces<CreatedAlarmSource>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        sources.MapGet("/unknown-assets", async (Actor actor, AlarmSources service, CancellationToken ct, int skip = 0, int take = 50) =>
                (await service.UnknownAssetsAsync(actor, skip, take, ct)).Map(Results.Ok))
            .Produces<UnknownAlarmAssetPage>();
        sources.MapPost("/{id:long}/revoke", async (long id, Actor actor, AlarmSources service, CancellationToken ct) =>
                (await service.RevokeAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<AlarmSource>();

        var rules = api.MapGroup("/alarm-rules").WithTags("Alarms");
        rules.MapGet("/", async (Actor actor, AlarmRules service, CancellationToken ct) => Results.Ok(await service.ListAsync(ct)))
            .Produces<IReadOnlyList<AlarmRuleView>>();
        rules.MapPost("/", async (AlarmRuleRequest request, Actor actor, AlarmRules service, CancellationToken ct) =>
                (await service.CreateAsync(request, actor, ct)).Map(rule => Results.Created($"/api/v1/alarm-rules/{rule.Id}", rule)))
            .AccessFirst(AlarmRules.ManageRefusal)
            .Produces<AlarmRuleView>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        rules.MapPost("/{id:long}/deactivate", async (long id, Actor actor, AlarmRules service, CancellationToken ct) =>
                (await service.DeactivateAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<AlarmRuleView>();
        return api;
    }

    /// <summary>
    /// A signed batch: the key names the source, the signature is checked over the exact body bytes before anything in
    /// them is read. A missing or wrong signature, an unknown or revoked key: 401 with a problem body.
    /// </summary>
    private static async Task<IResult> IngestAsync(HttpRequest request, AlarmSources sources, AlarmIngestion ingestion, CancellationToken ct)
    {
        var key = request.Headers[AlarmSources.KeyHeader].ToString();
        var signature = request.Headers[AlarmSources.SignatureHeader].ToString();
        if (string.IsNullOrEmpty(key) || string.IsNullOrEmpty(signature))
        {
            return Unauthorized("alarm.signature_missing");
        }

        if (request.ContentLength is > MaxBodyBytes)
        {
            return Failure.Invalid("body", "alarm.body_too_large", MaxBodyBytes).ToResult();
        }

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length > MaxBodyBytes)
        {
            return Failure.Invalid("body", "alarm.body_too_large", MaxBodyBytes).ToResult();
        }

        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        var source = await sources.FindByKeyAsync(key, ct);
        if (source is null || source.Revoked || !WebhookSignature.Verify(source.Secret, body.Span, signature))
        {
            return Unauthorized(source is { Revoked: true } ? "alarm.source_revoked" : "alarm.signature_wrong");
        }

        AlarmBatchRequest? batch;
        try
        {
            batch = JsonSerializer.Deserialize<AlarmBatchRequest>(body.Span, Json);
        }
        catch (JsonException e)
        {
            return (e.Path is { Length: > 1 } path
                ? Failure.Invalid(path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$'), "body.wrong_type")
                : Failure.Invalid("body", "body.malformed", e.Message.Split(" Path:")[0])).ToResult();
        }

        if (ingestion.Validate(batch?.Events) is { } refused)
        {
            return refused.ToResult();
        }

        return Results.Ok(await ingestion.IngestAsync(source, AlarmChannel.Api, [.. batch!.Events!.Select(e => e!)], ct));
    }

    private static IResult Unauthorized(string code) =>
        Problems.Problem(StatusCodes.Status401Unauthorized, new Refusal("alarm.unauthorized"), new Refusal(code));
}
