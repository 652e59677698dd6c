using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace WorkOrders.Ticketing.Api;

/// <summary>Turns refusals into RFC 9457 problem responses.</summary>
public static class Problems
{
    public static int StatusOf(FailureKind kind) => kind switch
    {
        FailureKind.Validation => StatusCodes.Status400BadRequest,
        FailureKind.NotFound => StatusCodes.Status404NotFound,
        FailureKind.Forbidden => StatusCodes.Status403Forbidden,
        FailureKind.Conflict => StatusCodes.Status409Conflict,
        FailureKind.IllegalTransition => StatusCodes.Status422UnprocessableEntity,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static IResult ToResult(this Failure failure) => failure.Errors is { } errors
        ? TypedResults.ValidationProblem(errors, detail: failure.Message, title: "The request has invalid fields.")
        : TypedResults.Problem(detail: failure.Message, statusCode: StatusOf(failure.Kind), title: Title(failure.Kind));

    /// <summary>Maps an outcome: its value through <paramref name="ok"/>, its failure to a problem.</summary>
    public static IResult Map<T>(this Outcome<T> outcome, Func<T, IResult> ok) =>
        outcome.Failure is { } failure ? failure.ToResult() : ok(outcome.Value!);

    private static string Title(FailureKind kind) => kind switch
    {
        FailureKind.NotFound => "Not found.",
        FailureKind.Forbidden => "Not allowed.",
        FailureKind.Conflict => "That conflicts with the current state.",
        FailureKind.IllegalTransition => "That action is not possible in the current status.",
        _ => "The request was refused.",
    };
}

/// <summary>
/// A body that is not JSON, or a value of the wrong type, fails model binding with a BadHttpRequestException.
/// This names the field the JSON path points at, instead of an empty 400.
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
            JsonException { Path: { Length: > 1 } path } => (FieldName(path), "has a value of the wrong type or form."),
            JsonException json => ("body", $"is not well-formed JSON ({json.Message.Split(" Path:")[0]})"),
            _ => ("body", bad.Message),
        };
        httpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        var problem = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [reason] })
        {
            Title = "The request has invalid fields.",
            Detail = $"{field}: {reason}",
            Status = StatusCodes.Status400BadRequest,
        };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    private static string FieldName(string path) => path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
