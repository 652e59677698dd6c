using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Exports;

/// <summary>
/// Export jobs under /api/v1/exports: the signed-in user's list, one job's status, and its file. Jobs are started by
/// the feature whose rows they export (the analytics list: POST /api/v1/exports in the dashboard).
/// </summary>
public static class ExportApi
{
    public static IServiceCollection AddExportJobs(this IServiceCollection services)
    {
        services.AddOptions<ExportOptions>().BindConfiguration(ExportOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ExportJobs>();
        services.AddSingleton<ExportRetention>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ExportRetention>());
        return services;
    }

    public static void MapExportApi(this RouteGroupBuilder api)
    {
        var exports = api.MapGroup("/exports").WithTags("Exports");
        // The signed-in user's jobs; with all=true everyone's, newest first and paged, for administrators only (403 otherwise).
        exports.MapGet("/", async (Actor actor, ExportJobs jobs, CancellationToken ct, bool all = false, string? state = null, int skip = 0, int take = 50) =>
        {
            if (!all)
            {
                return Results.Ok(await jobs.MineAsync(actor, take, ct));
            }

            if (state is not null && !WireNames.TryParse<ExportState>(state, out _))
            {
                return Failure.Invalid("state", "field.one_of", string.Join(", ", Enum.GetValues<ExportState>().Select(WireNames.Of))).ToResult();
            }

            var only = state is null ? (ExportState?)null : WireNames.Parse<ExportState>(state);
            return (await jobs.AllAsync(actor, only, skip, take, ct)).Map(Results.Ok);
        });
        exports.MapGet("/{id:long}", async (long id, Actor actor, ExportJobs jobs, CancellationToken ct) =>
            (await jobs.GetAsync(actor, id, ct)).Map(job => TypedResults.Ok(job)));

        // A waiting or running job, by its owner or an administrator: 409 once it has ended.
        exports.MapPost("/{id:long}/cancel", async (long id, Actor actor, ExportJobs jobs, CancellationToken ct) =>
            (await jobs.CancelAsync(actor, id, ct)).Map(job => TypedResults.Ok(job)));

        // Only the owner and administrators; the file is sent from disk as it is read.
        exports.MapGet("/{id:long}/file", async (long id, Actor actor, ExportJobs jobs, CancellationToken ct) =>
            (await jobs.FileAsync(actor, id, ct)).Map(file => TypedResults.PhysicalFile(file.Path, ContentType(file.Format), file.FileName)));
    }

    public static string ContentType(string format) => format switch
    {
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/vnd.apache.parquet",
    };
}
