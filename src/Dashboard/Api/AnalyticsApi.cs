using System.Globalization;
using WorkOrders.Analytics.Exports;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Reliability;
using WorkOrders.Analytics.Staff;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Dashboard.Api;

/// <summary>The figures of the analytics pages under /api/v1/analytics, with the same filters and role checks.</summary>
public static class AnalyticsApi
{
    private static readonly string[] Readers = [Roles.Admin, Roles.Executive, Roles.ReliabilityEngineer, Roles.Planner, Roles.Manager];

    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder app)
    {
        var analytics = app.MapGroup("/api/v1/analytics").WithTags("Analytics").RequireAuthorization(p => p.RequireRole(Readers));

        analytics.MapGet("/kpis", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader) =>
            Query(p, actor, reader, (warehouse, filter) =>
            {
                var kpis = new KpiQueries(warehouse);
                return new { filter, definitions = KpiQueries.Definitions, current = kpis.Summary(filter), previous = kpis.Summary(filter.PreviousPeriod()) };
            }));

        analytics.MapGet("/kpis/monthly", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader) =>
            Query(p, actor, reader, (warehouse, filter) => new KpiQueries(warehouse).Monthly(filter)));

        analytics.MapGet("/work-orders", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader, string? kpi, int? skip, int? take) =>
            UnknownKpi(kpi) ?? Query(p, actor, reader, (warehouse, filter) => new DrillDown(warehouse).Page(filter, kpi!, skip ?? 0, take ?? 50)));

        // The list behind a figure as a file, up to a million rows, newest first.
        analytics.MapGet("/work-orders/export.xlsx", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader, TimeProvider clock, string? kpi) =>
            UnknownKpi(kpi) ?? Query(p, actor, reader, (warehouse, filter) =>
            {
                var file = new MemoryStream();
                WorkOrderExport.WriteWorkbook(
                    file, $"Work orders behind the KPI '{kpi}'", filter.Describe(), new DrillDown(warehouse).Lines(filter, kpi!, WorkOrderExport.MaxRows), clock.GetUtcNow().UtcDateTime);
                file.Position = 0;
                return file;
            }, file => Results.File(file, StaffExport.ContentType, $"work-orders-{kpi}-{p.From ?? "recent"}.xlsx")));

        analytics.MapGet("/work-orders/export.csv", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader, string? kpi) =>
        {
            if (UnknownKpi(kpi) is { } unknown)
            {
                return unknown;
            }

            var parsed = p.ToFilter(actor);
            if (parsed.Failure is { } failure)
            {
                return failure.ToResult();
            }

            DuckDB.NET.Data.DuckDBConnection warehouse;
            try
            {
                warehouse = reader.Open();
            }
            catch (WarehouseEmptyException)
            {
                return WarehouseEmpty();
            }

            // Written to the response as the rows are read; the connection closes when the file is done.
            return Results.Stream(
                async stream =>
                {
                    using (warehouse)
                    {
                        await using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
                        await WorkOrderExport.WriteCsvAsync(writer, new DrillDown(warehouse).Lines(parsed.Value!, kpi!, WorkOrderExport.MaxRows), CancellationToken.None);
                    }
                },
                "text/csv; charset=utf-8",
                $"work-orders-{kpi}-{p.From ?? "recent"}.csv");
        });

        analytics.MapGet("/mtbf", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader) =>
            Query(p, actor, reader, (warehouse, filter) => new KpiQueries(warehouse).MtbfByAsset(filter)));

        analytics.MapGet("/reliability/heatmap", (
                [AsParameters] FilterParameters p, Actor actor, WarehouseReader reader, string? rows, string? measure, string? bucket, int? maxRows) =>
            {
                if (maxRows is < 1 or > 1000)
                {
                    return Failure.Invalid("maxRows", "field.from_to", 1, 1000).ToResult();
                }

                if (!TryChoice(rows, HeatmapRows.Asset, out var rowChoice) || !TryChoice(measure, HeatmapMeasure.Count, out var measureChoice)
                    || !TryChoice(bucket, TimeBucket.Month, out var bucketChoice))
                {
                    return Failure.Invalid("rows", "analytics.heatmap_choices").ToResult();
                }

                return Query(p, actor, reader, (warehouse, filter) => new ReliabilityQueries(warehouse).Heatmap(
                    filter, rowChoice, measureChoice, bucketChoice, maxRows ?? ReliabilityQueries.DefaultHeatmapRows));
            });

        analytics.MapGet("/reliability/pareto", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader) =>
            Query(p, actor, reader, (warehouse, filter) => new ReliabilityQueries(warehouse).Pareto(filter)));

        analytics.MapGet("/reliability/repeat-failures", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader, int? withinDays) =>
            withinDays is < 1 or > 365
                ? Failure.Invalid("withinDays", "field.from_to", 1, 365).ToResult()
                : Query(p, actor, reader, (warehouse, filter) => new ReliabilityQueries(warehouse).RepeatFailures(filter, withinDays ?? KpiQueries.DefaultRepeatDays)));

        analytics.MapGet("/staff", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader, string? by) =>
            by is not (null or "technician" or "department")
                ? Failure.Invalid("by", "analytics.by").ToResult()
                : Query(p, actor, reader, (warehouse, filter) => by == "department"
                    ? new StaffQueries(warehouse).ByDepartment(filter)
                    : new StaffQueries(warehouse).ByTechnician(filter)))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Executive, Roles.Manager));

        // Files are plain HTTP downloads, so a page links to them and nothing large passes through the circuit.
        analytics.MapGet("/staff/export.xlsx", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader, TimeProvider clock) =>
            Query(p, actor, reader, (warehouse, filter) =>
            {
                var staff = new StaffQueries(warehouse);
                var file = new MemoryStream();
                StaffExport.WriteWorkbook(file, filter.Describe(), staff.ByTechnician(filter), staff.ByDepartment(filter), clock.GetUtcNow().UtcDateTime);
                file.Position = 0;
                return file;
            }, file => Results.File(file, StaffExport.ContentType, $"staff-performance-{p.From ?? "recent"}.xlsx")))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Executive, Roles.Manager));

        analytics.MapGet("/staff/export.csv", ([AsParameters] FilterParameters p, Actor actor, WarehouseReader reader) =>
            Query(p, actor, reader, (warehouse, filter) => new StaffQueries(warehouse).ByTechnician(filter), rows => Results.Stream(
                async stream =>
                {
                    await using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
                    await StaffExport.WriteCsvAsync(writer, rows, CancellationToken.None);
                },
                "text/csv; charset=utf-8",
                $"staff-performance-{p.From ?? "recent"}.csv")))
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Executive, Roles.Manager));

        return app;
    }

    /// <summary>Parses the filter (naming any bad field), applies the manager's department, and runs the query.</summary>
    internal static IResult Query<T>(FilterParameters parameters, Actor actor, WarehouseReader reader, Func<DuckDB.NET.Data.DuckDBConnection, KpiFilter, T> run) =>
        Query(parameters, actor, reader, run, value => Results.Ok(value));

    internal static IResult Query<T>(
        FilterParameters parameters, Actor actor, WarehouseReader reader, Func<DuckDB.NET.Data.DuckDBConnection, KpiFilter, T> run, Func<T, IResult> respond)
    {
        var parsed = parameters.ToFilter(actor);
        if (parsed.Failure is { } failure)
        {
            return failure.ToResult();
        }

        try
        {
            using var warehouse = reader.Open();
            return respond(run(warehouse, parsed.Value!));
        }
        catch (WarehouseEmptyException)
        {
            return WarehouseEmpty();
        }
    }

    /// <summary>The answer while the warehouse holds nothing yet: 409, saying how to fill it.</summary>
    internal static IResult WarehouseEmpty() =>
        Problems.Problem(StatusCodes.Status409Conflict, new Refusal("analytics.warehouse_empty_title"), new Refusal("analytics.warehouse_empty"));

    private static IResult? UnknownKpi(string? kpi) => kpi is null || !DrillDown.Kpis.Contains(kpi)
        ? Failure.Invalid("kpi", "field.one_of", string.Join(", ", DrillDown.Kpis)).ToResult()
        : null;

    private static bool TryChoice<TEnum>(string? text, TEnum fallback, out TEnum value)
        where TEnum : struct, Enum
    {
        value = fallback;
        return text is null || WireNames.TryParse(text, out value);
    }
}

/// <summary>The query string every analytics endpoint takes. Dates are yyyy-MM-dd; "to" is exclusive.</summary>
public sealed record FilterParameters(string? From, string? To, long? SiteId, long? DepartmentId, long? AssetId, string? WorkType, int? Priority)
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

        var filter = new KpiFilter(from, to, SiteId, department, AssetId, WorkType, Priority);
        foreach (var (field, problem) in filter.Problems())
        {
            errors.Add(field, problem switch
            {
                FilterProblem.PeriodBackwards => new Refusal("period.backwards"),
                FilterProblem.PeriodTooLong => new Refusal("period.too_long"),
                FilterProblem.UnknownWorkType => new Refusal("field.one_of", string.Join(", ", KpiFilter.WorkTypes)),
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
