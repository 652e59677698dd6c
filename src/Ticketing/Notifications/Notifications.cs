using System.Globalization;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Notifications;

/// <summary>
/// A notification; <see cref="Link"/> is where it leads when it is not a work order (a ready export's file). One with a
/// refusal <see cref="Code"/> and its <see cref="Args"/> reads in the reader's language (<see cref="TextIn"/>);
/// <see cref="Text"/> is its English.
/// </summary>
public sealed record Notification(
    long Id, long? WorkOrderId, string? WorkOrderNumber, string Kind, string Text, DateTime CreatedAt, DateTime? ReadAt, string? Link, string? Code = null, string[]? Args = null)
{
    public string TextIn(CultureInfo culture) => Code is null ? Text : new Refusal(Code, [.. (Args ?? []).Cast<object?>()]).ToText(culture);
}

/// <summary>Which notifications to mark read; all unread ones when <see cref="Ids"/> is left out.</summary>
public sealed record MarkReadRequest(long[]? Ids);

public sealed record NotificationPage(IReadOnlyList<Notification> Items, int Unread);

/// <summary>
/// In-app notifications. Features add them inside their own transaction, so a notification exists exactly when the
/// change that caused it was committed; PostgreSQL announces each one on <see cref="Channel"/>.
/// </summary>
public sealed class Notifications(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const string Channel = "workorder_notifications";
    public const int MaxTextLength = 1000;

    private const string Insert = """
        INSERT INTO notifications (user_id, work_order_id, kind, text, created_at)
        SELECT DISTINCT unnest(@userIds), @workOrderId, @kind, left(@text, 1000), @now
        """;

    private const string Page = """
        SELECT n.id, n.work_order_id, w.number AS work_order_number, n.kind, n.text, n.created_at, n.read_at, n.link, n.code, n.args
        FROM notifications n LEFT JOIN work_orders w ON w.id = n.work_order_id
        WHERE n.user_id = @me AND (NOT @unreadOnly OR n.read_at IS NULL)
        ORDER BY n.id DESC
        LIMIT @take
        """;

    private const string Unread = "SELECT count(*)::int FROM notifications WHERE user_id = @me AND read_at IS NULL";

    private const string MarkRead = """
        UPDATE notifications SET read_at = @now
        WHERE user_id = @me AND read_at IS NULL AND (@ids::bigint[] IS NULL OR id = ANY (@ids))
        """;

    /// <summary>Adds one notification for each of the users, in the caller's transaction.</summary>
    public static Task AddAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        IEnumerable<long> userIds,
        long? workOrderId,
        string kind,
        string text,
        DateTime now,
        CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            Insert, new { userIds = userIds.ToArray(), workOrderId, kind, text, now }, transaction, cancellationToken: cancellationToken));

    public async Task<NotificationPage> ListAsync(Actor actor, bool unreadOnly, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            Page, new { me = actor.UserId, unreadOnly, take = Math.Clamp(take, 1, 200) }, cancellationToken: cancellationToken));
        var unread = await connection.ExecuteScalarAsync<int>(new CommandDefinition(Unread, new { me = actor.UserId }, cancellationToken: cancellationToken));
        return new NotificationPage([.. rows.Select(r => r.ToNotification())], unread);
    }

    public async Task<int> UnreadCountAsync(long userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(Unread, new { me = userId }, cancellationToken: cancellationToken));
    }

    /// <summary>Marks the given notifications of the actor read, or all of them when <paramref name="ids"/> is null.</summary>
    public async Task<int> MarkReadAsync(Actor actor, long[]? ids, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var marked = await connection.ExecuteAsync(new CommandDefinition(
            MarkRead, new { me = actor.UserId, ids, now = clock.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
        if (marked > 0)
        {
            // The user's other open pages (another tab, the bell beside a list) refresh their count too.
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_notify(@channel, @me::text)", new { channel = Channel, me = actor.UserId }, cancellationToken: cancellationToken));
        }

        return marked;
    }

    /// <summary>A row as read: Dapper fills a text[] column into a property, not into a constructor's string[] parameter.</summary>
    private sealed class Row
    {
        public long Id { get; init; }

        public long? WorkOrderId { get; init; }

        public string? WorkOrderNumber { get; init; }

        public string Kind { get; init; } = "";

        public string Text { get; init; } = "";

        public DateTime CreatedAt { get; init; }

        public DateTime? ReadAt { get; init; }

        public string? Link { get; init; }

        public string? Code { get; init; }

        public string[]? Args { get; init; }

        public Notification ToNotification() => new(Id, WorkOrderId, WorkOrderNumber, Kind, Text, CreatedAt, ReadAt, Link, Code, Args);
    }
}
