using Dapper;
using Npgsql;
using Microsoft.Extensions.DependencyInjection;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Api;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>
/// A user's working week and away periods as the API shows and takes them. Weekday 1 = Monday ... 7 = Sunday.
/// <see cref="Version"/> counts the saves of the schedule; sent back with a change, it refuses one made from a stale read.
/// </summary>
public sealed record UserSchedule(long UserId, string TimeZone, IReadOnlyList<WorkingHours> Hours, IReadOnlyList<AwayPeriod> Away, int Version);

/// <summary>
/// Replaces a user's whole schedule. Times of day are in <see cref="TimeZone"/> (an IANA name such as Asia/Taipei).
/// With <see cref="Version"/> (that of the schedule read), a schedule saved by someone else since is not overwritten (409).
/// </summary>
public sealed record ScheduleRequest(string? TimeZone, IReadOnlyList<WorkingHours>? Hours, IReadOnlyList<AwayPeriod>? Away, int? Version = null);

/// <summary>When people work: administrators set anyone's schedule, managers those of their department.</summary>
public sealed class Schedules(NpgsqlDataSource dataSource, TimeProvider? clock = null)
{
    public const int MaxReasonLength = 200;

    private const string Replace = """
        UPDATE users SET time_zone = @timeZone WHERE id = @userId;
        DELETE FROM user_working_hours WHERE user_id = @userId;
        INSERT INTO user_working_hours (user_id, weekday, starts_at, ends_at)
        SELECT @userId, unnest(@weekdays), unnest(@starts), unnest(@ends);
        DELETE FROM user_away WHERE user_id = @userId;
        INSERT INTO user_away (user_id, away_from, away_to, reason)
        SELECT @userId, unnest(@froms), unnest(@tos), unnest(@reasons);
        INSERT INTO user_events (user_id, occurred_at, actor_id, kind, payload)
        VALUES (@userId, @at, @actorId, 'schedule_changed', jsonb_build_object('timeZone', @timeZone::text, 'hours', cardinality(@weekdays), 'away', cardinality(@froms)));
        """;

    /// <summary>The <see cref="AccessFirst"/> check of PUT /users/{id}/schedule: the same refusal as <see cref="SaveAsync"/> makes.</summary>
    public static async Task<Failure?> AccessFirstAsync(AccessFirst.Request request)
    {
        if (request.Id() is not { } id)
        {
            return null;
        }

        await using var connection = await request.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync(request.Aborted);
        return await RefusalAsync(connection, id, request.Actor, request.Aborted);
    }

    private const string LockVersion = """
        SELECT (SELECT count(*) FROM user_events e WHERE e.user_id = u.id AND e.kind = 'schedule_changed')::int
        FROM users u WHERE u.id = @userId
        FOR UPDATE OF u
        """;

    public async Task<Outcome<UserSchedule>> GetAsync(long userId, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await RefusalAsync(connection, userId, actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        return await ReadAsync(connection, null, userId, cancellationToken);
    }

    public async Task<Outcome<UserSchedule>> SaveAsync(long userId, ScheduleRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        Validate(request, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await RefusalAsync(connection, userId, actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var hours = request.Hours ?? [];
        var away = request.Away ?? [];
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The user's row locked first, so two saves of one schedule take turns and the second sees the first's version.
        var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(LockVersion, new { userId }, transaction, cancellationToken: cancellationToken));
        if (request.Version is { } expected && expected != version)
        {
            return Failure.Conflict("schedule.changed");
        }

        await connection.ExecuteAsync(new CommandDefinition(
            Replace,
            new
            {
                userId,
                timeZone = request.TimeZone!.Trim(),
                weekdays = hours.Select(h => (short)h.Weekday).ToArray(),
                starts = hours.Select(h => h.Start).ToArray(),
                ends = hours.Select(h => h.End).ToArray(),
                froms = away.Select(a => DateTime.SpecifyKind(a.From, DateTimeKind.Utc)).ToArray(),
                tos = away.Select(a => DateTime.SpecifyKind(a.To, DateTimeKind.Utc)).ToArray(),
                reasons = away.Select(a => string.IsNullOrWhiteSpace(a.Reason) ? null : a.Reason.Trim()).ToArray(),
                at = (clock ?? TimeProvider.System).GetUtcNow(),
                actorId = actor.UserId,
            },
            transaction,
            cancellationToken: cancellationToken));
        var saved = await ReadAsync(connection, transaction, userId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return saved;
    }

    public static void Validate(ScheduleRequest request, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(request.TimeZone))
        {
            errors.Add("timeZone", "schedule.time_zone_required");
        }
        else if (!TimeZoneInfo.TryFindSystemTimeZoneById(request.TimeZone.Trim(), out _))
        {
            errors.Add("timeZone", "schedule.time_zone_unknown", request.TimeZone);
        }

        var hours = request.Hours ?? [];
        for (var i = 0; i < hours.Count; i++)
        {
            var h = hours[i];
            if (h.Weekday is < 1 or > 7)
            {
                errors.Add($"hours[{i}].weekday", "schedule.weekday");
            }

            if (h.Start >= h.End)
            {
                errors.Add($"hours[{i}].end", "schedule.end_after_start");
            }
            else if (hours.Take(i).Any(o => o.Weekday == h.Weekday && o.Start < h.End && h.Start < o.End))
            {
                errors.Add($"hours[{i}]", "schedule.overlap");
            }
        }

        var away = request.Away ?? [];
        for (var i = 0; i < away.Count; i++)
        {
            if (away[i].From >= away[i].To)
            {
                errors.Add($"away[{i}].to", "schedule.away_order");
            }

            if (away[i].Reason is { Length: > MaxReasonLength })
            {
                errors.Add($"away[{i}].reason", "field.too_long", MaxReasonLength);
            }
            else if (away[i].Reason is { } reason && InputGuard.CheckText(reason) is { } control)
            {
                // The API's guard has refused this before; a page calls the service directly.
                errors.Add($"away[{i}].reason", control);
            }
        }
    }

    private static async Task<Failure?> RefusalAsync(NpgsqlConnection connection, long userId, Actor actor, CancellationToken cancellationToken)
    {
        var found = (await connection.QueryAsync<long?>(new CommandDefinition(
            "SELECT department_id FROM users WHERE id = @userId", new { userId }, cancellationToken: cancellationToken))).AsList();
        if (found.Count == 0)
        {
            return Failure.NotFound("user.not_found", userId);
        }

        return actor.Role == Role.Admin || (actor.Role == Role.Manager && found[0] is { } d && actor.ManagesDepartment(d))
            ? null
            : Failure.Forbidden("schedule.not_allowed");
    }

    private static async Task<UserSchedule> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long userId, CancellationToken cancellationToken)
    {
        var timeZone = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "SELECT time_zone FROM users WHERE id = @userId", new { userId }, transaction, cancellationToken: cancellationToken));
        var hours = await connection.QueryAsync<AutoAssign.HoursRow>(new CommandDefinition(
            "SELECT user_id, weekday, starts_at, ends_at FROM user_working_hours WHERE user_id = @userId ORDER BY weekday, starts_at",
            new { userId },
            transaction,
            cancellationToken: cancellationToken));
        var away = await connection.QueryAsync<AutoAssign.AwayRow>(new CommandDefinition(
            "SELECT user_id, away_from, away_to, reason FROM user_away WHERE user_id = @userId ORDER BY away_from",
            new { userId },
            transaction,
            cancellationToken: cancellationToken));
        var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*)::int FROM user_events WHERE user_id = @userId AND kind = 'schedule_changed'", new { userId }, transaction, cancellationToken: cancellationToken));
        return new UserSchedule(
            userId,
            timeZone ?? "UTC",
            hours.Select(h => h.ToHours()).ToList(),
            away.Select(a => new AwayPeriod(a.AwayFrom, a.AwayTo, a.Reason)).ToList(),
            version);
    }
}
