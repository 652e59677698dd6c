using System.Globalization;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Exports;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Dashboard.Exports;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;
using WorkOrders.Ticketing.Exports;

namespace WorkOrders.Dashboard.Api;

/// <summary>The figures of the analytics pages under /api/v1/analytics, with the same filters and role checks.</summary>
public static class AnalyticsApi
{
    private static readonly string[] Readers = [Roles.Admin, Roles.Executive, Roles.ReliabilityEngineer, Roles.Planner, Roles.Manager];

    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder app)
    {
        var analytics = app.MapGroup("/api/v1/analytics").WithTags("Analytics").RequireAuthorization(p => p.RequireRole(Readers));

        analytics.MapGet("/kpis", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, CancellationToken ct) =>
            Query(p, actor, async filter => new
            {
                filter,
                definitions = KpiQueries.Definitions,
                current = await figures.SummaryAsync(filter, ct),
                previous = await figures.SummaryAsync(filter.PreviousPeriod(), ct),
            }));

        analytics.MapGet("/kpis/monthly", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, CancellationToken ct) =>
            Query(p, actor, filter => figures.MonthlyAsync(filter, ct)));

        analytics.MapGet("/work-orders", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, string? kpi, int? skip, int? take, CancellationToken ct) =>
            UnknownKpi(kpi) ?? Query(p, actor, filter => figures.WorkOrdersBehindAsync(filter, kpi!, skip ?? 0, take ?? 50, ct)));

        // The list behind a figure as a file, up to a million rows, newest first.
        analytics.MapGet("/work-orders/export.xlsx", (
                [AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, WorkOrderExportStarter jobs, TimeProvider clock, string? kpi, CancellationToken ct) =>
            UnknownKpi(kpi) ?? Query(
                p,
                actor,
                async filter =>
                {
                    if (await TooLargeAsync(jobs, filter, kpi!, ct) is { } tooLarge)
                    {
                        return new ExportOutcome(null, tooLarge);
                    }

                    using var lines = await figures.WorkOrderLinesAsync(filter, kpi!, WorkOrderExport.MaxRows, ct);

                    // Written to a file that goes when the response is sent: rows stream from the warehouse into it.
                    var file = ExportFiles.Temporary();
                    try
                    {
                        await Task.Run(() => WorkOrderExport.WriteWorkbook(file, $"Work orders behind the KPI '{kpi}'", filter.Describe(), lines.Rows, clock.GetUtcNow().UtcDateTime), ct);
                        file.Position = 0;
                        return new ExportOutcome(file, null);
                    }
                    catch
                    {
                        await file.DisposeAsync();
                        throw;
                    }
                },
                made => made.Refused ?? Results.File(made.File!, StaffExport.ContentType, $"work-orders-{kpi}-{p.From ?? "recent"}.xlsx")));

        // DuckDB writes the file itself; it is sent from disk and deleted once sent.
        analytics.MapGet("/work-orders/export.parquet", (
                [AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, WorkOrderExportStarter jobs, string? kpi, CancellationToken ct) =>
            UnknownKpi(kpi) ?? Query(
                p,
                actor,
                async filter =>
                {
                    if (await TooLargeAsync(jobs, filter, kpi!, ct) is { } tooLarge)
                    {
                        return new ExportOutcome(null, tooLarge);
                    }

                    var path = Path.Combine(Path.GetTempPath(), $"workorders-export-{Guid.NewGuid():N}.parquet");
                    try
                    {
                        await figures.WriteWorkOrderParquetAsync(filter, kpi!, WorkOrderExport.MaxRows, path, null, ct);
                        return new ExportOutcome(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Delete, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous), null);
                    }
                    catch
                    {
                        File.Delete(path);
                        throw;
                    }
                },
                made => made.Refused ?? Results.File(made.File!, ExportApi.ContentType("parquet"), $"work-orders-{kpi}-{p.From ?? "recent"}.parquet")));

        // Written to the response as the rows are read; the connection closes with the response.
        analytics.MapGet("/work-orders/export.csv", (
                [AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, WorkOrderExportStarter jobs, HttpResponse response, string? kpi, CancellationToken ct) =>
            UnknownKpi(kpi) ?? Query(
                p,
                actor,
                async filter => await TooLargeAsync(jobs, filter, kpi!, ct) is { } tooLarge
                    ? (Lines: null, Refused: tooLarge)
                    : (Lines: await figures.WorkOrderLinesAsync(filter, kpi!, WorkOrderExport.MaxRows, ct), Refused: (IResult?)null),
                made =>
                {
                    if (made.Refused is { } refused)
                    {
                        return refused;
                    }

                    response.RegisterForDispose(made.Lines!);
                    return Csv(writer => WorkOrderExport.WriteCsvAsync(writer, made.Lines!.Rows, ct), $"work-orders-{kpi}-{p.From ?? "recent"}.csv");
                }));

        analytics.MapGet("/mtbf", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, CancellationToken ct) =>
            Query(p, actor, filter => figures.MtbfByAssetAsync(filter, ct)));

        analytics.MapGet("/reliability/heatmap", (
                [AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, string? rows, string? measure, string? bucket, int? maxRows,
                CancellationToken ct) =>
            {
                if (maxRows is < 1 or > 1000)
                {
                    return Task.FromResult(Failure.Invalid("maxRows", "field.from_to", 1, 1000).ToResult());
                }

                if (!TryChoice(rows, HeatmapRows.Asset, out var rowChoice) || !TryChoice(measure, HeatmapMeasure.Count, out var measureChoice)
                    || !TryChoice(bucket, TimeBucket.Month, out var bucketChoice))
                {
                    return Task.FromResult(Failure.Invalid("rows", "analytics.heatmap_choices").ToResult());
                }

                return Query(p, actor, filter => figures.HeatmapAsync(
                    filter, rowChoice, measureChoice, bucketChoice, maxRows ?? ReliabilityQueries.DefaultHeatmapRows, ct));
            });

        analytics.MapGet("/reliability/pareto", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, CancellationToken ct) =>
            Query(p, actor, filter => figures.ParetoAsync(filter, ct)));

        analytics.MapGet("/reliability/repeat-failures", (
                [AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, int? withinDays, CancellationToken ct) =>
            withinDays is < 1 or > 365
                ? Task.FromResult(Failure.Invalid("withinDays", "field.from_to", 1, 365).ToResult())
                : Query(p, actor, filter => figures.RepeatFailuresAsync(filter, withinDays ?? KpiQueries.DefaultRepeatDays, ct)));

        analytics.MapGet("/staff", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, string? by, CancellationToken ct) =>
            by is not (null or "technician" or "department")
                ? Task.FromResult(Failure.Invalid("by", "analytics.by").ToResult())
                : Query(p, actor, filter => by == "department" ? figures.StaffByDepartmentAsync(filter, ct) : figures.StaffByTechnicianAsync(filter, ct)))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Executive, Roles.Manager));

        // Files are plain HTTP downloads, so a page links to them and nothing large passes through the circuit.
        analytics.MapGet("/staff/export.xlsx", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, TimeProvider clock, CancellationToken ct) =>
            Query(
                p,
                actor,
                async filter =>
                {
                    var (technicians, departments) = (await figures.StaffByTechnicianAsync(filter, ct), await figures.StaffByDepartmentAsync(filter, ct));
                    var file = new MemoryStream();
                    StaffExport.WriteWorkbook(file, filter.Describe(), technicians, departments, clock.GetUtcNow().UtcDateTime);
                    file.Position = 0;
                    return file;
                },
                file => Results.File(file, StaffExport.ContentType, $"staff-performance-{p.From ?? "recent"}.xlsx")))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Executive, Roles.Manager));

        analytics.MapGet("/staff/export.csv", ([AsParameters] FilterParameters p, Actor actor, WarehouseAnalytics figures, CancellationToken ct) =>
            Query(
                p,
                actor,
                filter => figures.StaffByTechnicianAsync(filter, ct),
                rows => Csv(writer => StaffExport.WriteCsvAsync(writer, rows, ct), $"staff-performance-{p.From ?? "recent"}.csv")))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Executive, Roles.Manager));

        return app;
    }

    /// <summary>Parses the filter (naming any bad field), applies the manager's department, and asks the analytics service.</summary>
    internal static Task<IResult> Query<T>(FilterParameters parameters, Actor actor, Func<KpiFilter, Task<T>> ask) =>
        Query(parameters, actor, ask, value => Results.Ok(value));

    internal static async Task<IResult> Query<T>(FilterParameters parameters, Actor actor, Func<KpiFilter, Task<T>> ask, Func<T, IResult> respond)
    {
        var parsed = parameters.ToFilter(actor);
        if (parsed.Failure is { } failure)
        {
            return failure.ToResult();
        }

        try
        {
            return respond(await ask(parsed.Value!));
        }
        catch (WarehouseEmptyException)
        {
            return Problems.WarehouseEmpty();
        }
    }

    /// <summary>
    /// A list longer than the export-job threshold is refused here (409 naming the job endpoint): a page cannot wait for
    /// it, and the job's fair share keeps several at once from taking the server down.
    /// </summary>
    private static async Task<IResult?> TooLargeAsync(WorkOrderExportStarter jobs, KpiFilter filter, string kpi, CancellationToken ct)
    {
        var rows = await jobs.CountAsync(filter, kpi, ct);
        return rows > jobs.Threshold ? Failure.Conflict("export.use_job", rows, jobs.Threshold).ToResult() : null;
    }

    private sealed record ExportOutcome(Stream? File, IResult? Refused);

    /// <summary>A CSV download with a byte order mark (so spreadsheets read it as UTF-8), written as the rows come.</summary>
    private static IResult Csv(Func<TextWriter, Task> write, string fileName) => Results.Stream(
        async stream =>
        {
            await using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
            await write(writer);
        },
        "text/csv; charset=utf-8",
        fileName);

    private static Task<IResult>? UnknownKpi(string? kpi) => kpi is null || !DrillDown.Kpis.Contains(kpi)
        ? Task.FromResult(Failure.Invalid("kpi", "field.one_of", string.Join(", ", DrillDown.Kpis)).ToResult())
        : null;

    private static bool TryChoice<TEnum>(string? text, TEnum fallback, out TEnum value)
        where TEnum : struct, Enum
    {
        value = fallback;
        return text is null || WireNames.TryParse(text, out value);
    }
}

/// <summary>The query string every analytics endpoint takes. Dates are yyyy-MM-dd; "to" is exclusive.</summary>
public sealed record FilterParameters(
    string? From, string? To, long? SiteId, long? DepartmentId, long? AssetId, string? WorkType, int? Priority,
    string? Category = null, string? Source = null, string? Field = null, string? FieldValue = null)
{
    public const int DefaultDays = 30;

    public Outcome<KpiFilter> ToFilter(Actor actor)
    {
        var errors = new FieldErrors();
        var to = Date(To, "to", errors) ?? DateOnly.FromDateTime(DateTime.UtcNow).AddDays(1);
        var from = Date(From, "from", errors) ?? to.AddDays(-DefaultDays);
        var department = DepartmentId;
        if (actor.Role == Role.Manager)
        {
            if (department is not null && department != actor.DepartmentId)
            {
                return Failure.Forbidden("analytics.own_department");
            }

            department = actor.DepartmentId ?? -1;
        }

        var filter = new KpiFilter(from, to, SiteId, department, AssetId, WorkType, Priority, Category, Source, Field, FieldValue);
        foreach (var (field, problem) in filter.Problems())
        {
            errors.Add(field, problem switch
            {
                FilterProblem.PeriodBackwards => new Refusal("period.backwards"),
                FilterProblem.PeriodTooLong => new Refusal("period.too_long"),
                FilterProblem.UnknownWorkType => new Refusal("field.one_of", string.Join(", ", KpiFilter.WorkTypes)),
                FilterProblem.UnknownSource => new Refusal("field.one_of", string.Join(", ", KpiFilter.Sources)),
                FilterProblem.CategoryInvalid => new Refusal("field.required_short", KpiFilter.MaxValueLength),
                FilterProblem.FieldKeyInvalid => new Refusal("analytics.field_key"),
                FilterProblem.FieldValueInvalid => new Refusal("analytics.field_value", KpiFilter.MaxValueLength),
                _ => new Refusal("analytics.priority"),
            });
        }

        return errors.Any ? errors.ToFailure() : filter;
    }

    private static DateOnly? Date(string? text, string field, FieldErrors errors)
    {
        if (text is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        errors.Add(field, "field.date");
        return null;
    }
}
