using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace WorkOrders.Ticketing.Api;

/// <summary>
/// Turns refusals into RFC 9457 problem responses in the request's language (its Accept-Language, English without
/// one). Beside the texts they carry the stable codes: <c>code</c> for the refusal, and <c>codes</c> (field to codes)
/// beside <c>errors</c> (field to texts), so a client can act on a code whatever the language.
/// </summary>
public static class Problems
{
    public static int StatusOf(FailureKind kind) => kind switch
    {
        FailureKind.Validation => StatusCodes.Status400BadRequest,
        FailureKind.NotFound => StatusCodes.Status404NotFound,
        FailureKind.Forbidden => StatusCodes.Status403Forbidden,
        FailureKind.Conflict => StatusCodes.Status409Conflict,
        FailureKind.IllegalTransition => StatusCodes.Status422UnprocessableEntity,
        FailureKind.Gone => StatusCodes.Status410Gone,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static IResult ToResult(this Failure failure) => failure.Errors is not null
        ? TypedResults.Problem(ValidationDetails(failure))
        : Problem(StatusOf(failure.Kind), Title(failure.Kind).ToText(CultureInfo.CurrentUICulture), failure.Describe(CultureInfo.CurrentUICulture), failure.Reason.Code);

    /// <summary>A validation failure as a problem: the fields' texts under <c>errors</c>, their codes under <c>codes</c>.</summary>
    internal static HttpValidationProblemDetails ValidationDetails(Failure failure)
    {
        var culture = CultureInfo.CurrentUICulture;
        var errors = failure.Errors ?? new Dictionary<string, Refusal[]>();
        return new HttpValidationProblemDetails(failure.Texts(culture))
        {
            Title = Title(failure.Kind).ToText(culture),
            Detail = failure.Describe(culture),
            Status = StatusCodes.Status400BadRequest,
            Extensions = { ["codes"] = errors.ToDictionary(e => e.Key, e => e.Value.Select(r => r.Code).ToArray()) },
        };
    }

    /// <summary>A problem whose title and detail are refusals, in the request's language.</summary>
    public static IResult Problem(int status, Refusal title, Refusal detail) =>
        Problem(status, title.ToText(CultureInfo.CurrentUICulture), detail.ToText(CultureInfo.CurrentUICulture), detail.Code);

    /// <summary>The answer while the warehouse holds nothing yet: 409, saying how to fill it.</summary>
    public static IResult WarehouseEmpty() =>
        Problem(StatusCodes.Status409Conflict, new Refusal("analytics.warehouse_empty_title"), new Refusal("analytics.warehouse_empty"));

    /// <summary>Sign-in refused for a while (too many attempts): 429 with <c>Retry-After</c> in whole seconds.</summary>
    public static IResult TooManyAttempts(HttpContext http, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Problem(StatusCodes.Status429TooManyRequests, new Refusal("auth.too_many_attempts_title"), new Refusal("auth.too_many_attempts", seconds));
    }

    /// <summary>Maps an outcome: its value through <paramref name="ok"/>, its failure to a problem.</summary>
    public static IResult Map<T>(this Outcome<T> outcome, Func<T, IResult> ok) =>
        outcome.Failure is { } failure ? failure.ToResult() : ok(outcome.Value!);

    private static IResult Problem(int status, string title, string detail, string code) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });

    private static Refusal Title(FailureKind kind) => new(kind switch
    {
        FailureKind.Validation => "problem.validation",
        FailureKind.NotFound => "problem.not_found",
        FailureKind.Forbidden => "problem.forbidden",
        FailureKind.Conflict => "problem.conflict",
        FailureKind.IllegalTransition => "problem.illegal_transition",
        FailureKind.Gone => "problem.gone",
        _ => "problem.refused",
    });
}

/// <summary>
/// A body that is not JSON, or a value of the wrong type, fails model binding with a BadHttpRequestException.
/// This names the field the JSON path points at, instead of an empty 400; or answers the endpoint's
/// <see cref="AccessFirst"/> refusal when the caller may not use it at all.
/// </summary>
public sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        var (field, reason) = bad.InnerException switch
        {
            JsonException { Path: { Length: > 1 } path } => (FieldName(path), new Refusal("body.wrong_type")),
            JsonException json => ("body", new Refusal("body.malformed", json.Message.Split(" Path:")[0])),
            _ => ("body", new Refusal("body.unreadable", bad.Message)),
        };
        // The exception handler has cleared the endpoint and route values; its feature keeps those of the request.
        var feature = httpContext.Features.Get<IExceptionHandlerFeature>();
        if (await AccessFirst.RefusalAsync(httpContext, feature?.Endpoint, feature?.RouteValues ?? new Microsoft.AspNetCore.Routing.RouteValueDictionary()) is { } first)
        {
            await first.ExecuteAsync(httpContext);
            return true;
        }

        httpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        var problem = Problems.ValidationDetails(Failure.Invalid(field, reason));
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    private static string FieldName(string path) => path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
