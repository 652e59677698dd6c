using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace WorkOrders.Ticketing.Api;

/// <summary>
/// While PostgreSQL cannot be reached (stopped, restarting, refusing connections), an API call is answered 503 with
/// <c>Retry-After</c> and a problem that says so, instead of a 500: the client may retry, and nothing was written
/// because the transaction never committed.
/// </summary>
public sealed class DatabaseUnavailableHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsUnavailable(exception))
        {
            return false;
        }

        if (!httpContext.Request.IsApi())
        {
            return await PageAsync(httpContext);
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        var title = new Refusal("status.database_unavailable_title");
        var detail = new Refusal("status.database_unavailable", RetryAfterSeconds);
        var culture = CultureInfo.CurrentUICulture;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = title.ToText(culture),
                Detail = detail.ToText(culture),
                Extensions = { ["code"] = detail.Code },
            },
        });
    }

    /// <summary>
    /// A page asked for while the database is away: 503 with a short page in the reader's language that says so and
    /// asks again by itself after <see cref="RetryAfterSeconds"/> (a meta refresh: no script, so the CSP holds).
    /// </summary>
    private static async Task<bool> PageAsync(HttpContext httpContext)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        var culture = CultureInfo.CurrentUICulture;
        var title = System.Net.WebUtility.HtmlEncode(new Refusal("status.database_unavailable_title").ToText(culture));
        var detail = System.Net.WebUtility.HtmlEncode(new Refusal("status.database_retrying", RetryAfterSeconds).ToText(culture));
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        httpContext.Response.Headers.CacheControl = "no-store";
        httpContext.Response.ContentType = "text/html; charset=utf-8";
        await httpContext.Response.WriteAsync(
            $"""
            <!DOCTYPE html>
            <html lang="{culture.Name}"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{RetryAfterSeconds}"><title>{title}</title></head>
            <body><h1>{title}</h1><p data-testid="database-unavailable">{detail}</p></body></html>
            """,
            httpContext.RequestAborted);
        return true;
    }

    /// <summary>The server is down, starting, shutting down or unreachable: not a fault of this request.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException p => p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
            or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.ConnectionFailure or PostgresErrorCodes.ConnectionException
            or PostgresErrorCodes.SqlClientUnableToEstablishSqlConnection or PostgresErrorCodes.TooManyConnections,
        NpgsqlException n => n.IsTransient || n.InnerException is SocketException or IOException or TimeoutException,
        { InnerException: { } inner } => IsUnavailable(inner),
        _ => false,
    };
}

/// <summary>Readiness: PostgreSQL answers a trivial query within a few seconds.</summary>
public sealed class DatabaseReadiness(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL does not answer.", e);
        }
    }
}
