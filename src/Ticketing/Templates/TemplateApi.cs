using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Templates;

/// <summary>Templates under /api/v1/templates.</summary>
public static class TemplateApi
{
    public static void MapTemplateApi(this RouteGroupBuilder api)
    {
        var templates = api.MapGroup("/templates").WithTags("Templates");
        templates.MapGet("/", async (Templates service, CancellationToken ct, bool includeInactive = false) =>
            TypedResults.Ok(await service.ListAsync(includeInactive, ct)));
        templates.MapGet("/{id:long}", async (long id, Templates service, CancellationToken ct) =>
            await service.FindAsync(id, ct) is { } template ? Results.Ok(template) : Failure.NotFound("template.not_found", id).ToResult())
            .Produces<Template>();
        templates.MapPost("/", async (TemplateRequest request, Actor actor, Templates service, CancellationToken ct) =>
            (await service.CreateAsync(request, actor, ct)).Map(t => Results.Created($"/api/v1/templates/{t.Id}", t)))
            .AccessFirst(Templates.AdminOnly)
            .Produces<Template>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        templates.MapPut("/{id:long}", async (long id, TemplateRequest request, Actor actor, Templates service, CancellationToken ct) =>
            (await service.UpdateAsync(id, request, actor, ct)).Map(Results.Ok))
            .AccessFirst(Templates.AdminOnly)
            .Produces<Template>()
            .ProducesValidationProblem();
    }
}
