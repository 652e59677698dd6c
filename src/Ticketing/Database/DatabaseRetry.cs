using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Polly;
using Polly.Retry;

namespace WorkOrders.Ticketing.Database;

/// <summary>
/// Retries of work that is safe to repeat when PostgreSQL fails in passing (a dropped connection, a restart, a
/// failover: <see cref="NpgsqlException.IsTransient"/>): reads, and the background jobs' runs, each of which is built to
/// be run again. Writes are not retried here: a write whose answer was lost may have committed.
/// </summary>
public static class DatabaseRetry
{
    /// <summary>A transient PostgreSQL failure, also when wrapped in another exception.</summary>
    public static bool IsTransient(Exception? exception) => exception switch
    {
        null => false,
        NpgsqlException npgsql when npgsql.IsTransient => true,
        _ => IsTransient(exception.InnerException),
    };

    /// <summary>
    /// Four more tries over about 3 s (200 ms doubling, with jitter): a sub-second drop is ridden through; a longer
    /// outage ends as the last failure (a 503 for the API).
    /// </summary>
    public static ResiliencePipeline Pipeline { get; } = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = 4,
            Delay = TimeSpan.FromMilliseconds(200),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .Build();
}

/// <summary>
/// Runs a GET or HEAD request again when it failed on a transient PostgreSQL error before anything of the answer was
/// sent: a read is safe to repeat. Other methods pass through untouched.
/// </summary>
public sealed class ReadRetry(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }

        // A failure after the answer started cannot be retried: it is kept aside from the pipeline and thrown as it was.
        var late = await DatabaseRetry.Pipeline.ExecuteAsync<ExceptionDispatchInfo?, (HttpContext Http, RequestDelegate Next)>(
            static async (state, _) =>
            {
                var (http, next) = state;
                try
                {
                    await next(http);
                    return null;
                }
                catch (Exception e) when (DatabaseRetry.IsTransient(e) && http.Response.HasStarted)
                {
                    return ExceptionDispatchInfo.Capture(e);
                }
                catch (Exception e) when (DatabaseRetry.IsTransient(e))
                {
                    // What the failed try set (status, headers) goes; the retry starts from a clean answer.
                    http.Response.Clear();
                    throw;
                }
            },
            (context, next),
            context.RequestAborted);
        late?.Throw();
    }
}
