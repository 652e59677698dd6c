using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.WorkOrders;

/// <summary>Work orders under /api/v1/work-orders: create, list, read, move through the lifecycle, comment, attach.</summary>
public static class WorkOrderApi
{
    public static void MapWorkOrderApi(this RouteGroupBuilder api)
    {
        var workOrders = api.MapGroup("/work-orders").WithTags("Work orders");
        workOrders.MapPost("/", async (
                CreateWorkOrderRequest request,
                Actor actor,
                CreateWorkOrder create,
                [Microsoft.AspNetCore.Mvc.FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
                CancellationToken ct) =>
            // A replay answers as the first request was answered: 201 with the same Location (its body says Replayed).
            (await create.HandleAsync(request, actor, WorkOrderSource.Api, idempotencyKey, ct))
                .Map(created => Results.Created($"/api/v1/work-orders/{created.Id}", created)))
            .Produces<CreatedWorkOrder>(StatusCodes.Status201Created)
            .ProducesValidationProblem();

        workOrders.MapGet("/", async (
                [AsParameters] ListParameters p, Actor actor, WorkOrderQueries queries, CancellationToken ct) =>
            {
                var statuses = new List<WorkOrderStatus>();
                foreach (var name in p.Status ?? [])
                {
                    if (!WireNames.TryParse<WorkOrderStatus>(name, out var status))
                    {
                        return Failure.Invalid("status", "work_order.status_unknown", name, string.Join(", ", Enum.GetValues<WorkOrderStatus>().Select(WireNames.Of))).ToResult();
                    }

                    statuses.Add(status);
                }

                var query = new WorkOrderQuery(statuses, p.AssigneeId, p.DepartmentId, p.AssetId, p.RequesterId, p.Text, p.Skip ?? 0, p.Take ?? 25, p.OrderBy, p.Desc ?? true);
                return (await queries.ListAsync(query, actor, ct)).Map(Results.Ok);
            })
            .Produces<Page<WorkOrderSummary>>()
            .ProducesValidationProblem();

        workOrders.MapGet("/{id:long}", async (long id, Actor actor, WorkOrderQueries queries, HttpResponse response, CancellationToken ct) =>
                (await queries.GetAsync(id, actor, ct)).Map(detail =>
                {
                    response.Headers.ETag = ETag(detail.RowVersion);
                    return Results.Ok(detail);
                }))
            .Produces<WorkOrderDetail>();

        workOrders.MapPost("/{id:long}/transitions", async (
                long id, TransitionRequest request, Actor actor, ApplyTransition transitions, HttpRequest http, HttpResponse response, CancellationToken ct) =>
            {
                var version = request.RowVersion;
                if (version is null && http.Headers.IfMatch.Count > 0)
                {
                    if (!TryParseETag(http.Headers.IfMatch.ToString(), out var fromHeader))
                    {
                        return Failure.Invalid("If-Match", "work_order.if_match").ToResult();
                    }

                    version = fromHeader;
                }

                return (await transitions.HandleAsync(id, request with { RowVersion = version }, actor, ct)).Map(result =>
                {
                    response.Headers.ETag = ETag(result.RowVersion);
                    return Results.Ok(result);
                });
            })
            .AccessFirst(WorkOrderAccess.AccessFirstAsync)
            .Produces<TransitionResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        workOrders.MapPost("/{id:long}/comments", async (long id, CommentRequest request, Actor actor, AddComment comments, CancellationToken ct) =>
                (await comments.HandleAsync(id, request, actor, ct)).Map(c => Results.Created($"/api/v1/work-orders/{id}#comment-{c.Id}", c)))
            .AccessFirst(WorkOrderAccess.AccessFirstAsync)
            .Produces<Comment>(StatusCodes.Status201Created)
            .ProducesValidationProblem();

        workOrders.MapPost("/{id:long}/attachments", async (long id, HttpRequest http, Actor actor, Attachments attachments, CancellationToken ct) =>
            {
                if (!http.HasFormContentType)
                {
                    return Failure.Invalid("file", "attachment.not_multipart").ToResult();
                }

                var form = await http.ReadFormAsync(ct);
                if (form.Files.GetFile("file") is not { } file)
                {
                    return Failure.Invalid("file", "attachment.part_required").ToResult();
                }

                await using var content = file.OpenReadStream();
                return (await attachments.AddAsync(id, file.FileName, file.ContentType, content, actor, ct))
                    .Map(a => Results.Created($"/api/v1/work-orders/{id}/attachments/{a.Id}", a));
            })
            .AccessFirst(WorkOrderAccess.AccessFirstAsync)
            .DisableAntiforgery()
            .Accepts<IFormFile>("multipart/form-data")
            .Produces<AttachmentInfo>(StatusCodes.Status201Created)
            .ProducesValidationProblem();

        workOrders.MapGet("/{id:long}/attachments/{attachmentId:long}", async (
                long id, long attachmentId, Actor actor, Attachments attachments, HttpResponse response, CancellationToken ct, bool download = false) =>
                (await attachments.GetAsync(id, attachmentId, actor, ct)).Map(a =>
                {
                    // Served as what it was checked to be, never sniffed into something else.
                    response.Headers.XContentTypeOptions = "nosniff";
                    response.Headers.ContentSecurityPolicy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";
                    var inline = !download && a.ContentType.StartsWith("image/", StringComparison.Ordinal);
                    return inline
                        ? Results.File(a.Content, a.ContentType)
                        : Results.File(a.Content, a.ContentType, a.FileName);
                }))
            .Produces(StatusCodes.Status200OK);
    }

    private static string ETag(int rowVersion) => $"\"{rowVersion.ToString(CultureInfo.InvariantCulture)}\"";

    private static bool TryParseETag(string header, out int version)
    {
        version = 0;
        return EntityTagHeaderValue.TryParse(header, out var tag)
            && int.TryParse(tag.Tag.AsSpan().Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }

    private sealed record ListParameters(
        string[]? Status,
        long? AssigneeId,
        long? DepartmentId,
        long? AssetId,
        long? RequesterId,
        string? Text,
        int? Skip,
        int? Take,
        string? OrderBy,
        bool? Desc);
}
