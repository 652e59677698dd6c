using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Scheduling;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.Inspections;

/// <summary>
/// One check item as the editor sends it. checkId names the item of an earlier version it continues (findings of the
/// same asset and check are collected on one work order); none for a new item.
/// </summary>
public sealed record ItemRequest(
    long? CheckId,
    string? Label,
    CheckKind? Kind,
    string? Unit = null,
    decimal? WarningLow = null,
    decimal? WarningHigh = null,
    decimal? AlarmLow = null,
    decimal? AlarmHigh = null,
    IReadOnlyList<string>? Options = null,
    IReadOnlyList<string>? FailingOptions = null,
    PhotoRule Photo = PhotoRule.Never,
    Severity Severity = Severity.Medium,
    string? FaultCode = null,
    long? FindingTemplateId = null,
    string? MeterName = null)
{
    public CheckItem ToItem() => new(
        Kind ?? CheckKind.Text, Label?.Trim() ?? "", Blank(Unit), WarningLow, WarningHigh, AlarmLow, AlarmHigh,
        Options?.Select(o => o.Trim()).ToList(), FailingOptions?.Select(o => o.Trim()).ToList(), Photo, Severity, Blank(FaultCode), FindingTemplateId, Blank(MeterName));

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

public sealed record StopRequest(long? AssetId, string? Instructions, IReadOnlyList<ItemRequest>? Items);

/// <summary>When rounds fall due: every N units from the anchor at the times of day (local to the route's site).</summary>
public sealed record ScheduleRequest(
    int? Every,
    RecurrenceUnit? Unit,
    DateOnly? Anchor,
    IReadOnlyList<TimeOnly>? Times,
    int? WindowMinutes,
    int? GraceMinutes = 0,
    int? LeadMinutes = 60);

/// <summary>A route as the editor sends it; every save of an existing route (rowVersion required) is a new version.</summary>
public sealed record RouteRequest(
    string? Name,
    long? TemplateId,
    string? Description,
    IReadOnlyList<StopRequest>? Stops,
    IReadOnlyList<ScheduleRequest>? Schedules = null,
    bool Active = true,
    int? RowVersion = null);

public sealed record RouteItem(long Id, long CheckId, int Position, CheckItem Item);

public sealed record RouteStop(long Id, int Position, long AssetId, string AssetCode, string AssetName, string AssetKind, string Instructions, IReadOnlyList<RouteItem> Items);

public sealed record RouteSchedule(long Id, int Every, RecurrenceUnit Unit, DateOnly Anchor, IReadOnlyList<TimeOnly> Times, int WindowMinutes, int GraceMinutes, int LeadMinutes);

public sealed record RouteVersionInfo(int Version, DateTime CreatedAt, string? CreatedBy, int Stops, int Items);

public sealed record InspectionRoute(
    long Id,
    string Name,
    long TemplateId,
    string TemplateName,
    long DepartmentId,
    bool Active,
    int CurrentVersion,
    int Version,
    string Description,
    IReadOnlyList<RouteStop> Stops,
    IReadOnlyList<RouteSchedule> Schedules,
    IReadOnlyList<RouteVersionInfo> Versions,
    int RowVersion);

public sealed record RouteSummary(long Id, string Name, string TemplateName, bool Active, int CurrentVersion, int Stops, int Items, string? Schedule, DateTime UpdatedAt);

/// <summary>
/// Inspection routes: made and changed by planners, managers and administrators. Each save writes a new immutable
/// version (its stops and items); rounds keep the version they were made from, so a change of limits never changes a past
/// verdict. Schedules are replaced on save (the old rows stay, inactive, for the rounds that name them).
/// </summary>
public sealed class InspectionRoutes(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public static bool MayManage(Actor actor) => actor.Role is Role.Admin or Role.Planner or Role.Manager;

    /// <summary>The refusal of saving a route to a role that may not manage routes; also the endpoints' <c>AccessFirst</c> check.</summary>
    public static Failure? ManageRefusal(Actor actor) => MayManage(actor) ? null : Failure.Forbidden("inspection.manage_forbidden");

    private const string RouteSelect = """
        SELECT r.id, r.name, r.template_id, t.name AS template_name, t.department_id, r.active, r.current_version, r.row_version,
               v.description, v.version
        FROM inspection_routes r JOIN templates t ON t.id = r.template_id
        JOIN inspection_route_versions v ON v.route_id = r.id AND v.version = coalesce(@version, r.current_version)
        WHERE r.id = @id
        """;

    private const string StopSelect = """
        SELECT s.id, s.position, s.asset_id, a.code AS asset_code, a.name AS asset_name, a.kind AS asset_kind, s.instructions
        FROM inspection_stops s JOIN assets a ON a.id = s.asset_id
        WHERE s.route_id = @id AND s.version = @version ORDER BY s.position
        """;

    internal const string ItemColumns = """
        i.id, i.stop_id, i.check_id, i.position, i.label, i.kind, i.unit, i.warning_low, i.warning_high, i.alarm_low, i.alarm_high,
        i.options, i.failing_options, i.photo_required, i.severity, i.fault_code, i.finding_template_id, i.meter_name
        """;

    public async Task<IReadOnlyList<RouteSummary>> ListAsync(bool includeInactive, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<RouteSummary>(new CommandDefinition(
            """
            SELECT r.id, r.name, t.name AS template_name, r.active, r.current_version,
                   (SELECT count(*)::int FROM inspection_stops s WHERE s.route_id = r.id AND s.version = r.current_version) AS stops,
                   (SELECT count(*)::int FROM inspection_items i JOIN inspection_stops s ON s.id = i.stop_id
                    WHERE s.route_id = r.id AND s.version = r.current_version) AS items,
                   (SELECT string_agg(array_to_string(ARRAY(SELECT to_char(x, 'HH24:MI') FROM unnest(sc.times) x), ' '), '; ')
                    FROM inspection_schedules sc WHERE sc.route_id = r.id AND sc.active) AS schedule,
                   r.updated_at
            FROM inspection_routes r JOIN templates t ON t.id = r.template_id
            WHERE r.active OR @includeInactive
            ORDER BY r.name
            """,
            new { includeInactive },
            cancellationToken: cancellationToken));
        return rows.ToList();
    }

    /// <summary>A route as one version states it (the current one when <paramref name="version"/> is null).</summary>
    public async Task<InspectionRoute?> FindAsync(long id, int? version, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindAsync(connection, null, id, version, cancellationToken);
    }

    internal static async Task<InspectionRoute?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, int? version, CancellationToken cancellationToken)
    {
        var route = await connection.QuerySingleOrDefaultAsync<RouteRow>(new CommandDefinition(RouteSelect, new { id, version }, transaction, cancellationToken: cancellationToken));
        if (route is null)
        {
            return null;
        }

        var stops = (await connection.QueryAsync<StopRow>(new CommandDefinition(StopSelect, new { id, version = route.Version }, transaction, cancellationToken: cancellationToken))).ToList();
        var items = (await connection.QueryAsync<ItemRow>(new CommandDefinition(
                $"SELECT {ItemColumns} FROM inspection_items i WHERE i.stop_id = ANY(@stops) ORDER BY i.position",
                new { stops = stops.Select(s => s.Id).ToArray() },
                transaction,
                cancellationToken: cancellationToken)))
            .ToLookup(i => i.StopId);
        var schedules = (await connection.QueryAsync<ScheduleRow>(new CommandDefinition(
            $"SELECT {ScheduleRow.Columns} FROM inspection_schedules WHERE route_id = @id AND active ORDER BY id", new { id }, transaction, cancellationToken: cancellationToken))).ToList();
        var versions = (await connection.QueryAsync<RouteVersionInfo>(new CommandDefinition(
            """
            SELECT v.version, v.created_at, u.display_name AS created_by,
                   (SELECT count(*)::int FROM inspection_stops s WHERE s.route_id = v.route_id AND s.version = v.version) AS stops,
                   (SELECT count(*)::int FROM inspection_items i JOIN inspection_stops s ON s.id = i.stop_id WHERE s.route_id = v.route_id AND s.version = v.version) AS items
            FROM inspection_route_versions v LEFT JOIN users u ON u.id = v.created_by
            WHERE v.route_id = @id ORDER BY v.version DESC
            """,
            new { id },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        return new InspectionRoute(
            route.Id, route.Name, route.TemplateId, route.TemplateName, route.DepartmentId, route.Active, route.CurrentVersion, route.Version, route.Description,
            [.. stops.Select(s => new RouteStop(s.Id, s.Position, s.AssetId, s.AssetCode, s.AssetName, s.AssetKind, s.Instructions,
                [.. items[s.Id].Select(i => new RouteItem(i.Id, i.CheckId, i.Position, i.ToItem()))]))],
            [.. schedules.Select(s => s.ToSchedule())],
            versions,
            route.RowVersion);
    }

    public Task<Outcome<InspectionRoute>> CreateAsync(RouteRequest request, Actor actor, CancellationToken cancellationToken) =>
        SaveAsync(null, request, actor, cancellationToken);

    public Task<Outcome<InspectionRoute>> UpdateAsync(long id, RouteRequest request, Actor actor, CancellationToken cancellationToken) =>
        SaveAsync(id, request, actor, cancellationToken);

    private async Task<Outcome<InspectionRoute>> SaveAsync(long? id, RouteRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        var errors = new FieldErrors();
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            errors.Add("name", "field.required");
        }
        else if (name.Length > InspectionRules.MaxNameLength)
        {
            errors.Add("name", "field.too_long", InspectionRules.MaxNameLength);
        }

        if (request.TemplateId is null)
        {
            errors.Add("templateId", "field.required");
        }

        if (request.Description is { Length: > 4000 })
        {
            errors.Add("description", "field.too_long", 4000);
        }

        if (id is not null && request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required");
        }

        var stops = request.Stops ?? [];
        if (stops.Count is 0 or > InspectionRules.MaxStops)
        {
            errors.Add("stops", "inspection.stops_count", InspectionRules.MaxStops);
        }

        var checkIds = new HashSet<long>();
        for (var s = 0; s < stops.Count; s++)
        {
            var stop = stops[s];
            if (stop.AssetId is null)
            {
                errors.Add($"stops[{s}].assetId", "field.required");
            }

            if (stop.Instructions is { Length: > 2000 })
            {
                errors.Add($"stops[{s}].instructions", "field.too_long", 2000);
            }

            var items = stop.Items ?? [];
            if (items.Count is 0 or > InspectionRules.MaxItemsPerStop)
            {
                errors.Add($"stops[{s}].items", "inspection.items_count", InspectionRules.MaxItemsPerStop);
            }

            for (var i = 0; i < items.Count; i++)
            {
                var prefix = $"stops[{s}].items[{i}].";
                if (items[i].Kind is null)
                {
                    errors.Add(prefix + "kind", "field.required");
                }

                InspectionRules.Validate(items[i].ToItem(), prefix, errors);
                if (items[i].CheckId is { } checkId && !checkIds.Add(checkId))
                {
                    errors.Add(prefix + "checkId", "inspection.check_twice", checkId);
                }
            }
        }

        var schedules = request.Schedules ?? [];
        for (var i = 0; i < schedules.Count; i++)
        {
            InspectionRules.Validate(schedules[i], $"schedules[{i}].", errors);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var template = await Templates.Templates.FindAsync(connection, transaction, request.TemplateId!.Value, cancellationToken);
        if (template is null || !template.Active)
        {
            errors.Add("templateId", "template.unusable", request.TemplateId);
        }
        else if (template.WorkType != WorkType.Inspection)
        {
            errors.Add("templateId", "inspection.template_not_inspection", template.Name);
        }

        var assetIds = stops.Where(s => s.AssetId is not null).Select(s => s.AssetId!.Value).Distinct().ToArray();
        var assets = (await connection.QueryAsync<(long Id, string Code, string Lifecycle)>(new CommandDefinition(
            "SELECT id, code, lifecycle FROM assets WHERE id = ANY(@assetIds)", new { assetIds }, transaction, cancellationToken: cancellationToken))).ToDictionary(a => a.Id);
        var findingTemplates = stops.SelectMany(s => s.Items ?? []).Where(i => i.FindingTemplateId is not null).Select(i => i.FindingTemplateId!.Value).Distinct().ToArray();
        var usable = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM templates WHERE id = ANY(@findingTemplates) AND active", new { findingTemplates }, transaction, cancellationToken: cancellationToken))).ToHashSet();
        var knownChecks = id is null
            ? []
            : (await connection.QueryAsync<long>(new CommandDefinition(
                "SELECT id FROM inspection_checks WHERE route_id = @id", new { id }, transaction, cancellationToken: cancellationToken))).ToHashSet();
        for (var s = 0; s < stops.Count; s++)
        {
            if (stops[s].AssetId is { } assetId)
            {
                if (!assets.TryGetValue(assetId, out var asset))
                {
                    errors.Add($"stops[{s}].assetId", "asset.missing", assetId);
                }
                else if (!AssetLifecycle.TakesWork(WireNames.Parse<AssetState>(asset.Lifecycle)))
                {
                    errors.Add($"stops[{s}].assetId", "asset.disposed_no_work", asset.Code);
                }
            }

            var items = stops[s].Items ?? [];
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i].FindingTemplateId is { } t && !usable.Contains(t))
                {
                    errors.Add($"stops[{s}].items[{i}].findingTemplateId", "template.unusable", t);
                }

                if (items[i].CheckId is { } c && !knownChecks.Contains(c))
                {
                    errors.Add($"stops[{s}].items[{i}].checkId", "inspection.check_unknown", c);
                }
            }
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        int version;
        if (id is null)
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition("SAVEPOINT route_name", transaction: transaction, cancellationToken: cancellationToken));
                id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    """
                    INSERT INTO inspection_routes (name, template_id, active, created_by, created_at, updated_at)
                    VALUES (@name, @templateId, @active, @actorId, @now, @now) RETURNING id
                    """,
                    new { name, templateId = request.TemplateId, active = request.Active, actorId = actor.UserId, now },
                    transaction,
                    cancellationToken: cancellationToken));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                return Failure.Invalid("name", "inspection.name_taken", name);
            }

            version = 1;
        }
        else
        {
            var current = await connection.QuerySingleOrDefaultAsync<(int CurrentVersion, int RowVersion)?>(new CommandDefinition(
                "SELECT current_version, row_version FROM inspection_routes WHERE id = @id FOR UPDATE", new { id }, transaction, cancellationToken: cancellationToken));
            if (current is not { } found)
            {
                return Failure.NotFound("inspection.route_not_found", id);
            }

            if (found.RowVersion != request.RowVersion)
            {
                return Failure.Conflict("inspection.route_stale");
            }

            version = found.CurrentVersion + 1;
            try
            {
                await connection.ExecuteAsync(new CommandDefinition("SAVEPOINT route_name", transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE inspection_routes SET name = @name, template_id = @templateId, active = @active, current_version = @version,
                        row_version = row_version + 1, updated_at = @now
                    WHERE id = @id
                    """,
                    new { id, name, templateId = request.TemplateId, active = request.Active, version, now },
                    transaction,
                    cancellationToken: cancellationToken));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                return Failure.Invalid("name", "inspection.name_taken", name);
            }
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO inspection_route_versions (route_id, version, description, created_by, created_at) VALUES (@id, @version, @description, @actorId, @now)",
            new { id, version, description = request.Description?.Trim() ?? "", actorId = actor.UserId, now },
            transaction,
            cancellationToken: cancellationToken));
        for (var s = 0; s < stops.Count; s++)
        {
            var stopId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "INSERT INTO inspection_stops (route_id, version, position, asset_id, instructions) VALUES (@id, @version, @position, @assetId, @instructions) RETURNING id",
                new { id, version, position = s + 1, assetId = stops[s].AssetId, instructions = stops[s].Instructions?.Trim() ?? "" },
                transaction,
                cancellationToken: cancellationToken));
            var items = stops[s].Items!;
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i].ToItem();
                var checkId = items[i].CheckId ?? await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "INSERT INTO inspection_checks (route_id) VALUES (@id) RETURNING id", new { id }, transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO inspection_items (stop_id, check_id, position, label, kind, unit, warning_low, warning_high, alarm_low, alarm_high,
                        options, failing_options, photo_required, severity, fault_code, finding_template_id, meter_name)
                    VALUES (@stopId, @checkId, @position, @label, @kind, @unit, @warningLow, @warningHigh, @alarmLow, @alarmHigh,
                        @options, @failingOptions, @photo, @severity, @faultCode, @findingTemplateId, @meterName)
                    """,
                    new
                    {
                        stopId, checkId, position = i + 1, label = item.Label, kind = WireNames.Of(item.Kind), item.Unit, item.WarningLow, item.WarningHigh, item.AlarmLow, item.AlarmHigh,
                        options = item.Kind == CheckKind.Choice ? item.Options?.ToArray() : null,
                        failingOptions = item.Kind == CheckKind.Choice ? (item.FailingOptions ?? []).ToArray() : null,
                        photo = WireNames.Of(item.Photo), severity = WireNames.Of(item.Severity), item.FaultCode,
                        item.FindingTemplateId, item.MeterName,
                    },
                    transaction,
                    cancellationToken: cancellationToken));
            }
        }

        // Schedules are replaced: the generator's state of a new row starts now, and a slot an old row made already is
        // not made again (rounds are unique per route and slot).
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE inspection_schedules SET active = false WHERE route_id = @id AND active", new { id }, transaction, cancellationToken: cancellationToken));
        foreach (var schedule in schedules)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO inspection_schedules (route_id, every_n, unit, anchor, times, window_minutes, grace_minutes, lead_minutes, starts_at)
                VALUES (@id, @every, @unit, @anchor, @times::time[], @windowMinutes, @graceMinutes, @leadMinutes,
                        coalesce((SELECT max(last_slot_at) FROM inspection_schedules WHERE route_id = @id), @now))
                """,
                new
                {
                    id, every = schedule.Every, unit = WireNames.Of(schedule.Unit!.Value), anchor = schedule.Anchor!.Value,
                    times = schedule.Times!.Distinct().Order().Select(t => t.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
                    schedule.WindowMinutes, graceMinutes = schedule.GraceMinutes ?? 0, leadMinutes = schedule.LeadMinutes ?? 60, now,
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        var saved = await FindAsync(connection, transaction, id.Value, null, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return saved!;
    }

    private sealed class RouteRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public long TemplateId { get; init; }
        public string TemplateName { get; init; } = "";
        public long DepartmentId { get; init; }
        public bool Active { get; init; }
        public int CurrentVersion { get; init; }
        public int RowVersion { get; init; }
        public string Description { get; init; } = "";
        public int Version { get; init; }
    }

    private sealed class StopRow
    {
        public long Id { get; init; }
        public int Position { get; init; }
        public long AssetId { get; init; }
        public string AssetCode { get; init; } = "";
        public string AssetName { get; init; } = "";
        public string AssetKind { get; init; } = "";
        public string Instructions { get; init; } = "";
    }
}

internal class ItemRow
{
    public long Id { get; init; }
    public long StopId { get; init; }
    public long CheckId { get; init; }
    public int Position { get; init; }
    public string Label { get; init; } = "";
    public string Kind { get; init; } = "";
    public string? Unit { get; init; }
    public decimal? WarningLow { get; init; }
    public decimal? WarningHigh { get; init; }
    public decimal? AlarmLow { get; init; }
    public decimal? AlarmHigh { get; init; }
    public string[]? Options { get; init; }
    public string[]? FailingOptions { get; init; }
    public string PhotoRequired { get; init; } = "never";
    public string Severity { get; init; } = "medium";
    public string? FaultCode { get; init; }
    public long? FindingTemplateId { get; init; }
    public string? MeterName { get; init; }

    public CheckItem ToItem() => new(
        WireNames.Parse<CheckKind>(Kind), Label, Unit, InspectionRules.Trim(WarningLow), InspectionRules.Trim(WarningHigh), InspectionRules.Trim(AlarmLow), InspectionRules.Trim(AlarmHigh), Options, FailingOptions,
        WireNames.Parse<PhotoRule>(PhotoRequired), WireNames.Parse<Severity>(Severity), FaultCode, FindingTemplateId, MeterName);
}

internal sealed class ScheduleRow
{
    public const string Columns = "id, route_id, every_n, unit, anchor, times::text[] AS times, window_minutes, grace_minutes, lead_minutes, starts_at, last_slot_at";

    public long Id { get; init; }
    public long RouteId { get; init; }
    public int EveryN { get; init; }
    public string Unit { get; init; } = "day";
    public DateOnly Anchor { get; init; }
    public string[] Times { get; init; } = [];
    public int WindowMinutes { get; init; }
    public int GraceMinutes { get; init; }
    public int LeadMinutes { get; init; }
    public DateTime StartsAt { get; init; }
    public DateTime? LastSlotAt { get; init; }

    public IReadOnlyList<TimeOnly> LocalTimes => [.. Times.Select(t => TimeOnly.Parse(t, System.Globalization.CultureInfo.InvariantCulture))];

    public RouteSchedule ToSchedule() => new(Id, EveryN, WireNames.Parse<RecurrenceUnit>(Unit), Anchor, LocalTimes, WindowMinutes, GraceMinutes, LeadMinutes);
}
