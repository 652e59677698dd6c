using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Notifications;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.Webhooks;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Api;

/// <summary>The REST surface of the work-order core under /api/v1.</summary>
public static class TicketingApi
{
    public static IEndpointRouteBuilder MapTicketingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").RequireAuthorization();

        api.MapPost("/auth/login", async (LoginRequest request, Users users, CancellationToken ct) =>
            await users.SignInAsync(request, ct) is { } actor
                ? Results.SignIn(new ClaimsPrincipal(new ClaimsIdentity(actor.ToClaims(), BearerTokenDefaults.AuthenticationScheme)), authenticationScheme: BearerTokenDefaults.AuthenticationScheme)
                : Problems.Problem(StatusCodes.Status401Unauthorized, new Refusal("auth.sign_in_failed"), new Refusal("auth.wrong_password")))
            .AllowAnonymous()
            .Produces<AccessTokenResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithTags("Auth");

        api.MapGet("/me", (Actor actor) => TypedResults.Ok(actor)).WithTags("Auth");

        MapTemplates(api.MapGroup("/templates").WithTags("Templates"));
        MapWorkOrders(api.MapGroup("/work-orders").WithTags("Work orders"));
        MapDirectory(api);
        MapNotifications(api.MapGroup("/notifications").WithTags("Notifications"));
        app.MapProposalApi();
        api.MapWebhookApi();
        api.MapSla();
        api.MapAssignmentApi();
        api.MapCollaborationApi();
        return app;
    }

    private static void MapTemplates(RouteGroupBuilder templates)
    {
        templates.MapGet("/", async (Templates.Templates service, CancellationToken ct, bool includeInactive = false) =>
            TypedResults.Ok(await service.ListAsync(includeInactive, ct)));
        templates.MapGet("/{id:long}", async (long id, Templates.Templates service, CancellationToken ct) =>
            await service.FindAsync(id, ct) is { } template ? Results.Ok(template) : Failure.NotFound("template.not_found", id).ToResult())
            .Produces<Template>();
        templates.MapPost("/", async (TemplateRequest request, Actor actor, Templates.Templates service, CancellationToken ct) =>
            (await service.CreateAsync(request, actor, ct)).Map(t => Results.Created($"/api/v1/templates/{t.Id}", t)))
            .Produces<Template>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        templates.MapPut("/{id:long}", async (long id, TemplateRequest request, Actor actor, Templates.Templates service, CancellationToken ct) =>
            (await service.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<Template>()
            .ProducesValidationProblem();
    }

    private static void MapWorkOrders(RouteGroupBuilder workOrders)
    {
        workOrders.MapPost("/", async (
                CreateWorkOrderRequest request,
                Actor actor,
                CreateWorkOrder create,
                [Microsoft.AspNetCore.Mvc.FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
                CancellationToken ct) =>
            (await create.HandleAsync(request, actor, WorkOrderSource.Api, idempotencyKey, ct))
                .Map(created => created.Replayed
                    ? Results.Ok(created)
                    : Results.Created($"/api/v1/work-orders/{created.Id}", created)))
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
            .Produces<TransitionResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        workOrders.MapPost("/{id:long}/comments", async (long id, CommentRequest request, Actor actor, AddComment comments, CancellationToken ct) =>
                (await comments.HandleAsync(id, request, actor, ct)).Map(c => Results.Created($"/api/v1/work-orders/{id}#comment-{c.Id}", c)))
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

    private static void MapNotifications(RouteGroupBuilder notifications)
    {
        notifications.MapGet("/", async (Actor actor, Notifications.Notifications service, CancellationToken ct, bool unreadOnly = false, int take = 50) =>
            TypedResults.Ok(await service.ListAsync(actor, unreadOnly, take, ct)));
        notifications.MapPost("/read", async (MarkReadRequest request, Actor actor, Notifications.Notifications service, CancellationToken ct) =>
            TypedResults.Ok(new { marked = await service.MarkReadAsync(actor, request.Ids, ct) }));
    }

    private static void MapDirectory(RouteGroupBuilder api)
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

        api.MapGet("/departments", async (Users users, CancellationToken ct) => TypedResults.Ok(await users.DepartmentsAsync(ct)))
            .WithTags("Users");
        api.MapGet("/users", async (Users users, CancellationToken ct) => TypedResults.Ok(await users.ListAsync(ct)))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Manager))
            .WithTags("Users");
        api.MapPost("/users", async (CreateUserRequest request, Actor actor, Users users, CancellationToken ct) =>
            (await users.CreateAsync(request, actor, ct)).Map(u => Results.Created($"/api/v1/users/{u.Id}", u)))
            .Produces<UserInfo>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithTags("Users");
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
