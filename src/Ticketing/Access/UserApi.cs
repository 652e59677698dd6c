using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Access;

/// <summary>Departments and users under /api/v1.</summary>
public static class UserApi
{
    public static void MapUserApi(this RouteGroupBuilder api)
    {
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
}
