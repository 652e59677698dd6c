using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Inspections;

/// <summary>Starts a round. Every command carries an id the client made (a UUID): sending it again changes nothing.</summary>
public sealed record StartRoundCommand(Guid? CommandId);

/// <summary>Confirms a stop by its asset's code: the label's QR code (the asset page's address) or the code typed.</summary>
public sealed record ConfirmStopCommand(Guid? CommandId, long? StopId, string? Code);

/// <summary>Records that a stop's label could not be scanned, and why; its items are then recorded as usual.</summary>
public sealed record SkipStopCommand(Guid? CommandId, long? StopId, string? Reason);

/// <summary>
/// A result of one item: number for number items, text for the others ("pass"/"fail", an option, free text), and the
/// SHA-256 of a photo uploaded before. The server judges it; a verdict sent by the client is not read.
/// </summary>
public sealed record RecordResultCommand(Guid? CommandId, long? ItemId, decimal? Number = null, string? Text = null, string? PhotoSha256 = null, string? Note = null);

public sealed record CompleteRoundCommand(Guid? CommandId);

public sealed record PhotoInfo(string Sha256, string ContentType, int SizeBytes);

public sealed record PhotoContent(string FileName, string ContentType, byte[] Content);

public sealed record ResultView(
    long Id,
    decimal? Number,
    string? Text,
    Verdict Verdict,
    string? LimitName,
    decimal? LimitValue,
    string? PhotoSha256,
    string? Note,
    DateTime RecordedAt,
    string? RecordedBy,
    long? FindingWorkOrderId,
    string? FindingWorkOrderNumber,
    bool? FindingCreatedWorkOrder,
    int? FindingOccurrence,
    long? MeterReadingId,
    string? MeterRefusal);

public sealed record RoundItemView(long ItemId, long CheckId, int Position, CheckItem Item, ResultView? Result);

public sealed record RoundStopView(
    long StopId, int Position, long AssetId, string AssetCode, string AssetName, string Instructions, StopStatus? Status, string? SkipReason, DateTime? RecordedAt,
    IReadOnlyList<RoundItemView> Items);

public sealed record RoundView(
    long Id,
    long RouteId,
    string RouteName,
    int RouteVersion,
    string SlotKey,
    DateTime SlotAt,
    DateTime WindowEndsAt,
    DateTime GraceEndsAt,
    RoundStatus Status,
    long? AssigneeId,
    string? AssigneeName,
    string? AssignmentReason,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    DateTime? MissedAt,
    bool Late,
    IReadOnlyList<RoundStopView> Stops);

public sealed record RoundSummary(
    long Id, long RouteId, string RouteName, int RouteVersion, DateTime SlotAt, DateTime WindowEndsAt, DateTime GraceEndsAt, RoundStatus Status,
    long? AssigneeId, string? AssigneeName, int StopsDone, int StopsTotal, int Failures, bool Late, DateTime? CompletedAt);

/// <summary>Per route over a period: rounds due, done on time, done late, missed, still open, and the findings raised.</summary>
public sealed record RouteCompliance(long RouteId, string RouteName, int Due, int OnTime, int Late, int Missed, int Open, int Findings, int WorkOrdersRaised)
{
    /// <summary>Rounds done (on time or late) of those whose time is over, as a share; null before any.</summary>
    public double? Compliance => OnTime + Late + Missed == 0 ? null : (double)(OnTime + Late) / (OnTime + Late + Missed);
}

/// <summary>
/// Doing rounds: the commands the round page and the field app send, and what they read. Each command is one transaction
/// that first claims its command id (inspection_commands), so a replay, even a concurrent one, returns the round as it is
/// instead of acting twice. Results are judged here against the item of the round's route version; a failure raises a
/// finding in the same transaction. A reading of an item that feeds a meter is then recorded on the asset's meter.
/// </summary>
public sealed class Rounds(NpgsqlDataSource dataSource, TimeProvider clock, CreateWorkOrder create, MeterRegister meters, IOptions<TicketingOptions> options)
{
    private const string LockRound = """
        SELECT r.id, r.route_id, r.route_version, r.status, r.department_id, r.assignee_id
        FROM inspection_rounds r WHERE r.id = @roundId FOR UPDATE
        """;

    private const string RoundSelect = """
        SELECT r.id, r.route_id, rt.name AS route_name, r.route_version, r.slot_key, r.slot_at, r.window_ends_at, r.grace_ends_at, r.status,
               r.assignee_id, u.display_name AS assignee_name, r.assignment_reason, r.started_at, r.completed_at, r.missed_at
        FROM inspection_rounds r JOIN inspection_routes rt ON rt.id = r.route_id LEFT JOIN users u ON u.id = r.assignee_id
        WHERE r.id = @roundId
        """;

    private const string SummaryColumns = """
        r.id, r.route_id, rt.name AS route_name, r.route_version, r.slot_at, r.window_ends_at, r.grace_ends_at, r.status,
        r.assignee_id, u.display_name AS assignee_name,
        (SELECT count(*)::int FROM inspection_round_stops x WHERE x.round_id = r.id AND x.status <> 'missed') AS stops_done,
        (SELECT count(*)::int FROM inspection_stops s WHERE s.route_id = r.route_id AND s.version = r.route_version) AS stops_total,
        (SELECT count(*)::int FROM inspection_results x WHERE x.round_id = r.id AND x.verdict = 'fail') AS failures,
        (r.completed_at > r.window_ends_at) IS TRUE AS late, r.completed_at
        """;

    public static bool MaySee(Actor actor) => actor.Role is not Role.Requester;

    /// <summary>The rounds of a person: assigned to them, or waiting unassigned in their department; open ones first by slot.</summary>
    public async Task<IReadOnlyList<RoundSummary>> MineAsync(Actor actor, bool includeDone, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<RoundSummaryRow>(new CommandDefinition(
            $"""
            SELECT {SummaryColumns}
            FROM inspection_rounds r JOIN inspection_routes rt ON rt.id = r.route_id LEFT JOIN users u ON u.id = r.assignee_id
            WHERE (r.assignee_id = @userId OR (r.assignee_id IS NULL AND r.department_id = @departmentId))
              AND (r.status IN ('open', 'in_progress') OR (@includeDone AND r.slot_at > @since))
            ORDER BY r.status IN ('open', 'in_progress') DESC, r.slot_at
            LIMIT 200
            """,
            new { userId = actor.UserId, departmentId = actor.DepartmentId, includeDone, since = clock.GetUtcNow().UtcDateTime.AddDays(-14) },
            cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToSummary())];
    }

    /// <summary>The rounds of a route (or all) whose slot falls in [from, until), newest first.</summary>
    public async Task<IReadOnlyList<RoundSummary>> ListAsync(long? routeId, DateTime from, DateTime until, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<RoundSummaryRow>(new CommandDefinition(
            $"""
            SELECT {SummaryColumns}
            FROM inspection_rounds r JOIN inspection_routes rt ON rt.id = r.route_id LEFT JOIN users u ON u.id = r.assignee_id
            WHERE (@routeId::bigint IS NULL OR r.route_id = @routeId) AND r.slot_at >= @from AND r.slot_at < @until
            ORDER BY r.slot_at DESC
            LIMIT 500
            """,
            new { routeId, from = Utc(from), until = Utc(until) },
            cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToSummary())];
    }

    /// <summary>Per route, the rounds whose slot falls in [from, until): on time, late, missed, open, and their findings.</summary>
    public async Task<IReadOnlyList<RouteCompliance>> ComplianceAsync(DateTime from, DateTime until, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<RouteCompliance>(new CommandDefinition(
            """
            SELECT rt.id AS route_id, rt.name AS route_name,
                   count(r.id)::int AS due,
                   count(r.id) FILTER (WHERE r.status = 'completed' AND r.completed_at <= r.window_ends_at)::int AS on_time,
                   count(r.id) FILTER (WHERE r.status = 'completed' AND r.completed_at > r.window_ends_at)::int AS late,
                   count(r.id) FILTER (WHERE r.status = 'missed')::int AS missed,
                   count(r.id) FILTER (WHERE r.status IN ('open', 'in_progress'))::int AS open,
                   coalesce(sum((SELECT count(*) FROM inspection_findings f WHERE f.round_id = r.id)), 0)::int AS findings,
                   coalesce(sum((SELECT count(*) FROM inspection_findings f WHERE f.round_id = r.id AND f.created_work_order)), 0)::int AS work_orders_raised
            FROM inspection_routes rt
            LEFT JOIN inspection_rounds r ON r.route_id = rt.id AND r.slot_at >= @from AND r.slot_at < @until
            WHERE rt.active OR r.id IS NOT NULL
            GROUP BY rt.id, rt.name
            ORDER BY rt.name
            """,
            new { from = Utc(from), until = Utc(until) },
            cancellationToken: cancellationToken));
        return rows.ToList();
    }

    public async Task<Outcome<RoundView>> GetAsync(long roundId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ViewAsync(connection, null, roundId, cancellationToken) is { } view ? view : Failure.NotFound("inspection.round_not_found", roundId);
    }

    public Task<Outcome<RoundView>> StartAsync(long roundId, StartRoundCommand command, Actor actor, CancellationToken cancellationToken) =>
        RunAsync(roundId, command.CommandId, "start", command, actor, StartBody(actor, cancellationToken), cancellationToken);

    private Func<CommandContext, LockedRound, DateTime, Task<Outcome<long?>>> StartBody(Actor actor, CancellationToken cancellationToken) =>
        async (c, round, now) =>
        {
            if (round.Status is "completed" or "missed")
            {
                return Failure.Illegal("inspection.round_closed", round.Status);
            }

            await StartIfOpenAsync(c, round, actor, now, cancellationToken);
            return (long?)null;
        };

    public Task<Outcome<RoundView>> ConfirmStopAsync(long roundId, ConfirmStopCommand command, Actor actor, CancellationToken cancellationToken) =>
        RunAsync(roundId, command.CommandId, "confirm_stop", command, actor, ConfirmStopBody(command, actor, cancellationToken), cancellationToken);

    private Func<CommandContext, LockedRound, DateTime, Task<Outcome<long?>>> ConfirmStopBody(ConfirmStopCommand command, Actor actor, CancellationToken cancellationToken) =>
        async (c, round, now) =>
        {
            var errors = new FieldErrors();
            if (command.StopId is null)
            {
                errors.Add("stopId", "field.required");
            }

            if (string.IsNullOrWhiteSpace(command.Code))
            {
                errors.Add("code", "field.required");
            }
            else if (command.Code.Length > 500)
            {
                errors.Add("code", "field.too_long", 500);
            }

            if (errors.Any)
            {
                return errors.ToFailure();
            }

            if (await OpenRoundAsync(c, round, actor, now, cancellationToken) is { } closed)
            {
                return closed;
            }

            var stop = await StopAsync(c, round, command.StopId!.Value, cancellationToken);
            if (stop is null)
            {
                return Failure.Invalid("stopId", "inspection.stop_unknown", command.StopId);
            }

            var code = InspectionRules.CodeFromScan(command.Code!);
            if (!string.Equals(code, stop.AssetCode, StringComparison.OrdinalIgnoreCase))
            {
                return Failure.Invalid("code", "inspection.code_mismatch", code);
            }

            await c.Connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO inspection_round_stops (round_id, stop_id, status, scanned_code, recorded_by, recorded_at)
                VALUES (@roundId, @stopId, 'confirmed', @code, @actorId, @now)
                ON CONFLICT (round_id, stop_id) DO UPDATE SET status = 'confirmed', scanned_code = excluded.scanned_code, skip_reason = NULL,
                    recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at
                WHERE inspection_round_stops.status = 'skipped'
                """,
                new { roundId = round.Id, stopId = stop.Id, code = stop.AssetCode, actorId = actor.UserId, now },
                c.Transaction,
                cancellationToken: cancellationToken));
            return stop.Id;
        };

    public Task<Outcome<RoundView>> SkipStopAsync(long roundId, SkipStopCommand command, Actor actor, CancellationToken cancellationToken) =>
        RunAsync(roundId, command.CommandId, "skip_stop", command, actor, SkipStopBody(command, actor, cancellationToken), cancellationToken);

    private Func<CommandContext, LockedRound, DateTime, Task<Outcome<long?>>> SkipStopBody(SkipStopCommand command, Actor actor, CancellationToken cancellationToken) =>
        async (c, round, now) =>
        {
            var errors = new FieldErrors();
            if (command.StopId is null)
            {
                errors.Add("stopId", "field.required");
            }

            var reason = command.Reason?.Trim();
            if (string.IsNullOrEmpty(reason))
            {
                errors.Add("reason", "inspection.skip_reason_required");
            }
            else if (reason.Length > InspectionRules.MaxReasonLength)
            {
                errors.Add("reason", "field.too_long", InspectionRules.MaxReasonLength);
            }

            if (errors.Any)
            {
                return errors.ToFailure();
            }

            if (await OpenRoundAsync(c, round, actor, now, cancellationToken) is { } closed)
            {
                return closed;
            }

            var stop = await StopAsync(c, round, command.StopId!.Value, cancellationToken);
            if (stop is null)
            {
                return Failure.Invalid("stopId", "inspection.stop_unknown", command.StopId);
            }

            await c.Connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO inspection_round_stops (round_id, stop_id, status, skip_reason, recorded_by, recorded_at)
                VALUES (@roundId, @stopId, 'skipped', @reason, @actorId, @now)
                ON CONFLICT (round_id, stop_id) DO NOTHING
                """,
                new { roundId = round.Id, stopId = stop.Id, reason, actorId = actor.UserId, now },
                c.Transaction,
                cancellationToken: cancellationToken));
            return stop.Id;
        };

    public async Task<Outcome<RoundView>> RecordAsync(long roundId, RecordResultCommand command, Actor actor, CancellationToken cancellationToken)
    {
        var outcome = await RunAsync(roundId, command.CommandId, "record", command, actor, RecordBody(command, actor, cancellationToken), cancellationToken);

        if (outcome.Succeeded)
        {
            // After the result's commit, and again on a replay while it is still owed: the meter has its own rules and
            // transaction, and the same meter, time and value is one reading however often it is sent.
            await FeedMeterAsync(roundId, command.ItemId, actor, cancellationToken);
            return await GetAsync(roundId, cancellationToken);
        }

        return outcome;
    }

    private Func<CommandContext, LockedRound, DateTime, Task<Outcome<long?>>> RecordBody(RecordResultCommand command, Actor actor, CancellationToken cancellationToken) =>
        async (c, round, now) =>
        {
            if (command.ItemId is null)
            {
                return Failure.Invalid("itemId", "field.required");
            }

            byte[]? sha = null;
            if (command.PhotoSha256 is { } hex)
            {
                if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
                {
                    return Failure.Invalid("photoSha256", "inspection.photo_sha");
                }

                sha = Convert.FromHexString(hex);
                if (!await c.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                        "SELECT EXISTS (SELECT 1 FROM inspection_photos WHERE sha256 = @sha)", new { sha }, c.Transaction, cancellationToken: cancellationToken)))
                {
                    return Failure.Invalid("photoSha256", "inspection.photo_unknown", hex);
                }
            }

            if (command.Note is { Length: > InspectionRules.MaxTextLength })
            {
                return Failure.Invalid("note", "field.too_long", InspectionRules.MaxTextLength);
            }

            var item = await c.Connection.QuerySingleOrDefaultAsync<RoundItemRow>(new CommandDefinition(
                $"""
                SELECT {InspectionRoutes.ItemColumns}, s.asset_id, a.code AS asset_code, a.name AS asset_name, x.status AS stop_status
                FROM inspection_items i JOIN inspection_stops s ON s.id = i.stop_id JOIN assets a ON a.id = s.asset_id
                LEFT JOIN inspection_round_stops x ON x.round_id = @roundId AND x.stop_id = s.id
                WHERE i.id = @itemId AND s.route_id = @routeId AND s.version = @version
                """,
                new { roundId = round.Id, itemId = command.ItemId, routeId = round.RouteId, version = round.RouteVersion },
                c.Transaction,
                cancellationToken: cancellationToken));
            if (item is null)
            {
                return Failure.Invalid("itemId", "inspection.item_unknown", command.ItemId);
            }

            var checkItem = item.ToItem();
            var judged = InspectionRules.Judge(checkItem, new ResultValue(command.Number, command.Text, sha is not null));
            if (judged.Failure is { } bad)
            {
                return bad;
            }

            if (await OpenRoundAsync(c, round, actor, now, cancellationToken) is { } closed)
            {
                return closed;
            }

            if (item.StopStatus is not ("confirmed" or "skipped"))
            {
                return Failure.Illegal("inspection.stop_not_confirmed", item.AssetCode);
            }

            var judgement = judged.Value!;
            var text = checkItem.Kind == CheckKind.Number ? null : command.Text!.Trim();
            var number = checkItem.Kind == CheckKind.Number ? command.Number : null;
            var resultId = await c.Connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                INSERT INTO inspection_results (round_id, item_id, value_number, value_text, verdict, limit_name, limit_value, photo_sha256, note, recorded_by, recorded_at)
                VALUES (@roundId, @itemId, @number, @text, @verdict, @limitName, @limitValue, @sha, @note, @actorId, @now)
                ON CONFLICT (round_id, item_id) DO NOTHING
                RETURNING id
                """,
                new
                {
                    roundId = round.Id, itemId = item.Id, number, text, verdict = WireNames.Of(judgement.Verdict), judgement.LimitName, judgement.LimitValue, sha,
                    note = string.IsNullOrWhiteSpace(command.Note) ? null : command.Note.Trim(), actorId = actor.UserId, now,
                },
                c.Transaction,
                cancellationToken: cancellationToken));
            if (resultId is null)
            {
                return Failure.Conflict("inspection.result_recorded", checkItem.Label);
            }

            if (judgement.Verdict == Verdict.Fail)
            {
                await Findings.RaiseAsync(
                    c.Connection, c.Transaction, create,
                    new FindingFacts(resultId.Value, round.Id, item.AssetId, item.AssetCode, item.AssetName, item.CheckId, checkItem, number, text, judgement, sha, command.Note),
                    actor, now, cancellationToken);
            }

            return resultId;
        };

    public Task<Outcome<RoundView>> CompleteAsync(long roundId, CompleteRoundCommand command, Actor actor, CancellationToken cancellationToken) =>
        RunAsync(roundId, command.CommandId, "complete", command, actor, CompleteBody(actor, cancellationToken), cancellationToken);

    private Func<CommandContext, LockedRound, DateTime, Task<Outcome<long?>>> CompleteBody(Actor actor, CancellationToken cancellationToken) =>
        async (c, round, now) =>
        {
            if (round.Status is "completed" or "missed")
            {
                return round.Status == "completed" ? (long?)null : Failure.Illegal("inspection.round_closed", round.Status);
            }

            var open = await c.Connection.QuerySingleAsync<(int Stops, int Items)>(new CommandDefinition(
                """
                SELECT (SELECT count(*)::int FROM inspection_stops s WHERE s.route_id = @routeId AND s.version = @version
                         AND NOT EXISTS (SELECT 1 FROM inspection_round_stops x WHERE x.round_id = @roundId AND x.stop_id = s.id)),
                       (SELECT count(*)::int FROM inspection_items i JOIN inspection_stops s ON s.id = i.stop_id
                        WHERE s.route_id = @routeId AND s.version = @version
                          AND NOT EXISTS (SELECT 1 FROM inspection_results x WHERE x.round_id = @roundId AND x.item_id = i.id))
                """,
                new { roundId = round.Id, routeId = round.RouteId, version = round.RouteVersion },
                c.Transaction,
                cancellationToken: cancellationToken));
            if (open.Stops > 0)
            {
                return Failure.Illegal("inspection.stops_open", open.Stops);
            }

            if (open.Items > 0)
            {
                return Failure.Illegal("inspection.items_open", open.Items);
            }

            await StartIfOpenAsync(c, round, actor, now, cancellationToken);
            await c.Connection.ExecuteAsync(new CommandDefinition(
                "UPDATE inspection_rounds SET status = 'completed', completed_at = @now, completed_by = @actorId WHERE id = @roundId",
                new { roundId = round.Id, now, actorId = actor.UserId },
                c.Transaction,
                cancellationToken: cancellationToken));
            return (long?)null;
        };

    /// <summary>Stores a photo by its SHA-256 (the same bytes twice are one photo) for results to name.</summary>
    public async Task<Outcome<PhotoInfo>> UploadPhotoAsync(string? fileName, string? contentType, Stream content, Actor actor, CancellationToken cancellationToken)
    {
        if (!MaySee(actor))
        {
            return Failure.Forbidden("inspection.round_not_yours");
        }

        var name = Path.GetFileName(fileName?.Trim() ?? "");
        if (string.IsNullOrEmpty(name) || name.Length > 255)
        {
            return Failure.Invalid("file", "attachment.name");
        }

        var type = contentType?.Split(';')[0].Trim().ToLowerInvariant() ?? "";
        if (!type.StartsWith("image/", StringComparison.Ordinal) || !Attachments.AllowedTypes.TryGetValue(type, out var signatures))
        {
            return Failure.Invalid("file", "attachment.type", type, string.Join(", ", Attachments.AllowedTypes.Keys.Where(k => k.StartsWith("image/", StringComparison.Ordinal))));
        }

        var read = await Attachments.ReadCheckedAsync(content, type, signatures, options.Value.MaxAttachmentBytes, cancellationToken);
        if (read.Failure is { } unreadable)
        {
            return unreadable;
        }

        var bytes = read.Value!;
        var sha = SHA256.HashData(bytes);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO inspection_photos (sha256, file_name, content_type, size_bytes, content, uploaded_by, uploaded_at)
            VALUES (@sha, @name, @type, @size, @bytes, @actorId, @now)
            ON CONFLICT (sha256) DO NOTHING
            """,
            new { sha, name, type, size = bytes.Length, bytes, actorId = actor.UserId, now = clock.GetUtcNow().UtcDateTime },
            cancellationToken: cancellationToken));
        return new PhotoInfo(Convert.ToHexStringLower(sha), type, bytes.Length);
    }

    public async Task<Outcome<PhotoContent>> PhotoAsync(string sha256, CancellationToken cancellationToken)
    {
        if (sha256.Length != 64 || !sha256.All(Uri.IsHexDigit))
        {
            return Failure.Invalid("sha256", "inspection.photo_sha");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var found = await connection.QuerySingleOrDefaultAsync<PhotoContent>(new CommandDefinition(
            "SELECT file_name AS FileName, content_type AS ContentType, content AS Content FROM inspection_photos WHERE sha256 = @sha",
            new { sha = Convert.FromHexString(sha256) },
            cancellationToken: cancellationToken));
        return found is null ? Failure.NotFound("inspection.photo_not_found", sha256) : found;
    }

    private async Task<Outcome<RoundView>> RunAsync<TCommand>(
        long roundId, Guid? commandId, string kind, TCommand command, Actor actor, Func<CommandContext, LockedRound, DateTime, Task<Outcome<long?>>> body,
        CancellationToken cancellationToken)
    {
        if (commandId is not { } id || id == Guid.Empty)
        {
            return Failure.Invalid("commandId", "field.required");
        }

        if (!MaySee(actor))
        {
            return Failure.Forbidden("inspection.round_not_yours");
        }

        var hash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(new { roundId, kind, command }, TemplateSchema.Json));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        // A concurrent replay waits here on the primary key until the first commits, then finds it.
        var claimed = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO inspection_commands (command_id, user_id, kind, request_hash, round_id, created_at)
            VALUES (@id, @userId, @kind, @hash, NULL, @now) ON CONFLICT (command_id) DO NOTHING
            """,
            new { id, userId = actor.UserId, kind, hash, now },
            transaction,
            cancellationToken: cancellationToken));
        if (claimed == 0)
        {
            var earlier = await connection.QuerySingleAsync<(long UserId, byte[] RequestHash)>(new CommandDefinition(
                "SELECT user_id, request_hash FROM inspection_commands WHERE command_id = @id", new { id }, transaction, cancellationToken: cancellationToken));
            if (earlier.UserId != actor.UserId || !earlier.RequestHash.AsSpan().SequenceEqual(hash))
            {
                return Failure.Invalid("commandId", "inspection.command_reused");
            }

            return await ViewAsync(connection, transaction, roundId, cancellationToken) is { } replay ? replay : Failure.NotFound("inspection.round_not_found", roundId);
        }

        var done = await ActAsync(connection, transaction, roundId, actor, body, now, cancellationToken);
        if (done.Failure is { } failure)
        {
            return failure;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE inspection_commands SET round_id = @roundId, entity_id = @entityId WHERE command_id = @id",
            new { id, roundId, entityId = done.Value },
            transaction,
            cancellationToken: cancellationToken));
        var view = await ViewAsync(connection, transaction, roundId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return view!;
    }

    /// <summary>
    /// A round command inside the caller's transaction, for the field sync, which keeps its own record of the command id
    /// in that transaction: the same checks and effect as the round page's command. The caller commits, then calls
    /// <see cref="AfterRecordAsync"/> for a recorded result.
    /// </summary>
    internal Task<Outcome<long?>> WithinAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long roundId, object command, Actor actor, CancellationToken cancellationToken)
    {
        if (!MaySee(actor))
        {
            return Task.FromResult<Outcome<long?>>(Failure.Forbidden("inspection.round_not_yours"));
        }

        var body = command switch
        {
            ConfirmStopCommand confirm => ConfirmStopBody(confirm, actor, cancellationToken),
            SkipStopCommand skip => SkipStopBody(skip, actor, cancellationToken),
            RecordResultCommand record => RecordBody(record, actor, cancellationToken),
            CompleteRoundCommand => CompleteBody(actor, cancellationToken),
            StartRoundCommand => StartBody(actor, cancellationToken),
            _ => throw new ArgumentException($"No round command {command.GetType().Name}.", nameof(command)),
        };
        return ActAsync(connection, transaction, roundId, actor, body, clock.GetUtcNow().UtcDateTime, cancellationToken);
    }

    /// <summary>What a recorded result owes after its commit: the reading of the meter its item feeds.</summary>
    internal Task AfterRecordAsync(long roundId, long? itemId, Actor actor, CancellationToken cancellationToken) =>
        FeedMeterAsync(roundId, itemId, actor, cancellationToken);

    private static async Task<Outcome<long?>> ActAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long roundId, Actor actor, Func<CommandContext, LockedRound, DateTime, Task<Outcome<long?>>> body, DateTime now, CancellationToken cancellationToken)
    {
        var round = await connection.QuerySingleOrDefaultAsync<LockedRound>(new CommandDefinition(LockRound, new { roundId }, transaction, cancellationToken: cancellationToken));
        if (round is null)
        {
            return Failure.NotFound("inspection.round_not_found", roundId);
        }

        var mayAct = actor.Role is Role.Admin or Role.Planner
                     || actor.ManagesDepartment(round.DepartmentId)
                     || round.AssigneeId == actor.UserId
                     || (round.AssigneeId is null && actor.DepartmentId == round.DepartmentId && actor.Role == Role.Technician);
        if (!mayAct)
        {
            return Failure.Forbidden("inspection.round_not_yours");
        }

        return await body(new CommandContext(connection, transaction), round, now);
    }

    private static async Task<Failure?> OpenRoundAsync(CommandContext c, LockedRound round, Actor actor, DateTime now, CancellationToken cancellationToken)
    {
        if (round.Status is "completed" or "missed")
        {
            return Failure.Illegal("inspection.round_closed", round.Status);
        }

        await StartIfOpenAsync(c, round, actor, now, cancellationToken);
        return null;
    }

    /// <summary>The first command on an open round starts it; an unassigned round becomes the starter's.</summary>
    private static async Task StartIfOpenAsync(CommandContext c, LockedRound round, Actor actor, DateTime now, CancellationToken cancellationToken)
    {
        if (round.Status != "open")
        {
            return;
        }

        await c.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE inspection_rounds SET status = 'in_progress', started_at = @now, started_by = @actorId,
                assignee_id = coalesce(assignee_id, @actorId)
            WHERE id = @roundId AND status = 'open'
            """,
            new { roundId = round.Id, now, actorId = actor.UserId },
            c.Transaction,
            cancellationToken: cancellationToken));
        round.Status = "in_progress";
    }

    private static Task<StopRow?> StopAsync(CommandContext c, LockedRound round, long stopId, CancellationToken cancellationToken) =>
        c.Connection.QuerySingleOrDefaultAsync<StopRow>(new CommandDefinition(
            """
            SELECT s.id, a.code AS asset_code FROM inspection_stops s JOIN assets a ON a.id = s.asset_id
            WHERE s.id = @stopId AND s.route_id = @routeId AND s.version = @version
            """,
            new { stopId, routeId = round.RouteId, version = round.RouteVersion },
            c.Transaction,
            cancellationToken: cancellationToken));

    private async Task FeedMeterAsync(long roundId, long? itemId, Actor actor, CancellationToken cancellationToken)
    {
        MeterFeedRow? owed;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            owed = await connection.QuerySingleOrDefaultAsync<MeterFeedRow>(new CommandDefinition(
                """
                SELECT x.id AS result_id, x.value_number, x.recorded_at, m.id AS meter_id, i.meter_name
                FROM inspection_results x JOIN inspection_items i ON i.id = x.item_id JOIN inspection_stops s ON s.id = i.stop_id
                LEFT JOIN meters m ON m.asset_id = s.asset_id AND m.name = i.meter_name
                WHERE x.round_id = @roundId AND x.item_id = @itemId AND i.meter_name IS NOT NULL
                  AND x.meter_reading_id IS NULL AND x.meter_refusal IS NULL AND x.value_number IS NOT NULL
                """,
                new { roundId, itemId },
                cancellationToken: cancellationToken));
        }

        if (owed is null)
        {
            return;
        }

        long? readingId = null;
        string? refusal;
        if (owed.MeterId is not { } meterId)
        {
            refusal = new Refusal("inspection.meter_missing", owed.MeterName).ToString();
        }
        else
        {
            var recorded = await meters.RecordAsync(new ReadingEntry(meterId, owed.RecordedAt, owed.ValueNumber), MeterRegister.MayRecord(actor) ? actor : null, ReadingSource.Field, cancellationToken);
            readingId = recorded.Value?.Reading.Id;
            refusal = recorded.Failure?.Message;
        }

        await using var update = await dataSource.OpenConnectionAsync(cancellationToken);
        await update.ExecuteAsync(new CommandDefinition(
            "UPDATE inspection_results SET meter_reading_id = @readingId, meter_refusal = @refusal WHERE id = @id",
            new { id = owed.ResultId, readingId, refusal },
            cancellationToken: cancellationToken));
    }

    /// <summary>A round as it stands, read on the caller's connection and transaction (so inside its snapshot); null when there is none.</summary>
    internal static async Task<RoundView?> ViewAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long roundId, CancellationToken cancellationToken)
    {
        var round = await connection.QuerySingleOrDefaultAsync<RoundRow>(new CommandDefinition(RoundSelect, new { roundId }, transaction, cancellationToken: cancellationToken));
        if (round is null)
        {
            return null;
        }

        var stops = (await connection.QueryAsync<RoundStopRow>(new CommandDefinition(
            """
            SELECT s.id, s.position, s.asset_id, a.code AS asset_code, a.name AS asset_name, s.instructions, x.status, x.skip_reason, x.recorded_at
            FROM inspection_stops s JOIN assets a ON a.id = s.asset_id
            LEFT JOIN inspection_round_stops x ON x.round_id = @roundId AND x.stop_id = s.id
            WHERE s.route_id = @routeId AND s.version = @version
            ORDER BY s.position
            """,
            new { roundId, routeId = round.RouteId, version = round.RouteVersion },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        var items = (await connection.QueryAsync<ItemRow>(new CommandDefinition(
            $"SELECT {InspectionRoutes.ItemColumns} FROM inspection_items i WHERE i.stop_id = ANY(@stops) ORDER BY i.position",
            new { stops = stops.Select(s => s.Id).ToArray() },
            transaction,
            cancellationToken: cancellationToken))).ToLookup(i => i.StopId);
        var results = (await connection.QueryAsync<ResultRow>(new CommandDefinition(
            """
            SELECT x.id, x.item_id, x.value_number, x.value_text, x.verdict, x.limit_name, x.limit_value, encode(x.photo_sha256, 'hex') AS photo_sha256, x.note,
                   x.recorded_at, u.display_name AS recorded_by, f.work_order_id AS finding_work_order_id, w.number AS finding_work_order_number,
                   f.created_work_order AS finding_created_work_order, f.occurrence AS finding_occurrence, x.meter_reading_id, x.meter_refusal
            FROM inspection_results x LEFT JOIN users u ON u.id = x.recorded_by
            LEFT JOIN inspection_findings f ON f.result_id = x.id LEFT JOIN work_orders w ON w.id = f.work_order_id
            WHERE x.round_id = @roundId
            """,
            new { roundId },
            transaction,
            cancellationToken: cancellationToken))).ToDictionary(r => r.ItemId);
        return new RoundView(
            round.Id, round.RouteId, round.RouteName, round.RouteVersion, round.SlotKey, round.SlotAt, round.WindowEndsAt, round.GraceEndsAt,
            WireNames.Parse<RoundStatus>(round.Status), round.AssigneeId, round.AssigneeName, round.AssignmentReason, round.StartedAt, round.CompletedAt, round.MissedAt,
            round.CompletedAt > round.WindowEndsAt,
            [.. stops.Select(s => new RoundStopView(
                s.Id, s.Position, s.AssetId, s.AssetCode, s.AssetName, s.Instructions, s.Status is null ? null : WireNames.Parse<StopStatus>(s.Status), s.SkipReason, s.RecordedAt,
                [.. items[s.Id].Select(i => new RoundItemView(i.Id, i.CheckId, i.Position, i.ToItem(), results.TryGetValue(i.Id, out var r) ? r.ToView() : null))]))]);
    }

    private static DateTime Utc(DateTime time) => time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Utc) : time.ToUniversalTime();

    private sealed record CommandContext(NpgsqlConnection Connection, NpgsqlTransaction Transaction);

    private sealed class LockedRound
    {
        public long Id { get; init; }
        public long RouteId { get; init; }
        public int RouteVersion { get; init; }
        public string Status { get; set; } = "";
        public long DepartmentId { get; init; }
        public long? AssigneeId { get; init; }
    }

    private sealed class StopRow
    {
        public long Id { get; init; }
        public string AssetCode { get; init; } = "";
    }

    /// <summary>An item as a result is judged by it, with its stop's asset and whether the stop was visited.</summary>
    private sealed class RoundItemRow : ItemRow
    {
        public long AssetId { get; init; }
        public string AssetCode { get; init; } = "";
        public string AssetName { get; init; } = "";
        public string? StopStatus { get; init; }
    }

    private sealed class MeterFeedRow
    {
        public long ResultId { get; init; }
        public decimal ValueNumber { get; init; }
        public DateTime RecordedAt { get; init; }
        public long? MeterId { get; init; }
        public string MeterName { get; init; } = "";
    }

    private sealed class RoundRow
    {
        public long Id { get; init; }
        public long RouteId { get; init; }
        public string RouteName { get; init; } = "";
        public int RouteVersion { get; init; }
        public string SlotKey { get; init; } = "";
        public DateTime SlotAt { get; init; }
        public DateTime WindowEndsAt { get; init; }
        public DateTime GraceEndsAt { get; init; }
        public string Status { get; init; } = "";
        public long? AssigneeId { get; init; }
        public string? AssigneeName { get; init; }
        public string? AssignmentReason { get; init; }
        public DateTime? StartedAt { get; init; }
        public DateTime? CompletedAt { get; init; }
        public DateTime? MissedAt { get; init; }
    }

    private sealed class RoundStopRow
    {
        public long Id { get; init; }
        public int Position { get; init; }
        public long AssetId { get; init; }
        public string AssetCode { get; init; } = "";
        public string AssetName { get; init; } = "";
        public string Instructions { get; init; } = "";
        public string? Status { get; init; }
        public string? SkipReason { get; init; }
        public DateTime? RecordedAt { get; init; }
    }

    private sealed class ResultRow
    {
        public long Id { get; init; }
        public long ItemId { get; init; }
        public decimal? ValueNumber { get; init; }
        public string? ValueText { get; init; }
        public string Verdict { get; init; } = "";
        public string? LimitName { get; init; }
        public decimal? LimitValue { get; init; }
        public string? PhotoSha256 { get; init; }
        public string? Note { get; init; }
        public DateTime RecordedAt { get; init; }
        public string? RecordedBy { get; init; }
        public long? FindingWorkOrderId { get; init; }
        public string? FindingWorkOrderNumber { get; init; }
        public bool? FindingCreatedWorkOrder { get; init; }
        public int? FindingOccurrence { get; init; }
        public long? MeterReadingId { get; init; }
        public string? MeterRefusal { get; init; }

        public ResultView ToView() => new(
            Id, InspectionRules.Trim(ValueNumber), ValueText, WireNames.Parse<Verdict>(Verdict), LimitName, InspectionRules.Trim(LimitValue), PhotoSha256, Note, RecordedAt, RecordedBy, FindingWorkOrderId,
            FindingWorkOrderNumber, FindingCreatedWorkOrder, FindingOccurrence, MeterReadingId, MeterRefusal);
    }

    private sealed class RoundSummaryRow
    {
        public long Id { get; init; }
        public long RouteId { get; init; }
        public string RouteName { get; init; } = "";
        public int RouteVersion { get; init; }
        public DateTime SlotAt { get; init; }
        public DateTime WindowEndsAt { get; init; }
        public DateTime GraceEndsAt { get; init; }
        public string Status { get; init; } = "";
        public long? AssigneeId { get; init; }
        public string? AssigneeName { get; init; }
        public int StopsDone { get; init; }
        public int StopsTotal { get; init; }
        public int Failures { get; init; }
        public bool Late { get; init; }
        public DateTime? CompletedAt { get; init; }

        public RoundSummary ToSummary() => new(
            Id, RouteId, RouteName, RouteVersion, SlotAt, WindowEndsAt, GraceEndsAt, WireNames.Parse<RoundStatus>(Status), AssigneeId, AssigneeName, StopsDone, StopsTotal,
            Failures, Late, CompletedAt);
    }
}
