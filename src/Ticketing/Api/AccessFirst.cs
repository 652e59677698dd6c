using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Api;

/// <summary>
/// Endpoint metadata: the refusal a caller gets from an endpoint whatever its body says (a role the service refuses, a
/// resource that is not theirs), asked only when the body itself is refused (malformed JSON, a control character, a
/// value of the wrong type). A 403 from it is the answer instead of the 400, so a caller who may not use the endpoint
/// learns nothing about how to shape a request to it; a resource that does not exist leaves the 400 to name the field,
/// which tells nobody anything the 404 would not. The services make the same check again when a well-formed body
/// reaches them; this one reads nothing of the body.
/// </summary>
public sealed class AccessFirst(Func<AccessFirst.Request, Task<Failure?>> check)
{
    /// <summary>What a check may look at: the caller, the route values and the request's services.</summary>
    public sealed record Request(Actor Actor, RouteValueDictionary RouteValues, IServiceProvider Services, CancellationToken Aborted)
    {
        /// <summary>A long route value, such as the <c>{id}</c> of the path; null when it is missing or not a number.</summary>
        public long? Id(string name = "id") =>
            RouteValues.TryGetValue(name, out var value) && long.TryParse(Convert.ToString(value, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    /// <summary>
    /// The 403 to answer instead of a body refusal, or null when the caller may use the endpoint (or it declares no check):
    /// the endpoint and route values are those of the request, also inside the exception handler, which clears them.
    /// </summary>
    public static async Task<IResult?> RefusalAsync(HttpContext http, Endpoint? endpoint, RouteValueDictionary routeValues)
    {
        if (endpoint?.Metadata.GetMetadata<AccessFirst>() is not { } first || Actor.From(http.User) is not { } actor)
        {
            return null;
        }

        return await first.Check(new Request(actor, routeValues, http.RequestServices, http.RequestAborted)) is { Kind: FailureKind.Forbidden } refused
            ? refused.ToResult()
            : null;
    }

    private Func<Request, Task<Failure?>> Check { get; } = check;
}

public static class AccessFirstExtensions
{
    /// <summary>Declares the refusal that comes before anything is said about the body; see <see cref="T:WorkOrders.Ticketing.Api.AccessFirst"/>.</summary>
    public static TBuilder AccessFirst<TBuilder>(this TBuilder builder, Func<AccessFirst.Request, Task<Failure?>> check)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessFirst(check));

    /// <summary>A refusal that depends on the caller alone (a role the service refuses).</summary>
    public static TBuilder AccessFirst<TBuilder>(this TBuilder builder, Func<Actor, Failure?> check)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessFirst(r => Task.FromResult(check(r.Actor))));
}
