using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Access;

/// <summary>Departments and users under /api/v1; changing an account is for administrators.</summary>
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
            .AccessFirst(Users.AdminOnly)
            .Produces<UserInfo>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithTags("Users");

        var admin = api.MapGroup("/users/{id:long}").WithTags("Users").RequireAuthorization(p => p.RequireRole(Roles.Admin));
        admin.MapGet("", async (long id, Users users, CancellationToken ct) =>
                await users.GetAsync(id, ct) is { } user ? Results.Ok(user) : Failure.NotFound("user.not_found", id).ToResult())
            .Produces<UserInfo>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("", async (long id, EditUserRequest request, Actor actor, Accounts accounts, CancellationToken ct) =>
                (await accounts.EditAsync(id, request, actor, ct)).Map(Results.Ok))
            .Produces<UserInfo>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPost("/deactivate", async (long id, Actor actor, Accounts accounts, CancellationToken ct) =>
                (await accounts.DeactivateAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<UserInfo>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        admin.MapPost("/reactivate", async (long id, Actor actor, Accounts accounts, CancellationToken ct) =>
                (await accounts.ReactivateAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<UserInfo>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/reset-password", async (long id, Actor actor, Accounts accounts, CancellationToken ct) =>
                (await accounts.ResetPasswordAsync(id, actor, ct)).Map(Results.Ok))
            .Produces<PasswordResetResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/history", async (long id, Accounts accounts, CancellationToken ct) => (await accounts.HistoryAsync(id, ct)).Map(Results.Ok))
            .Produces<IReadOnlyList<UserEvent>>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }
}
