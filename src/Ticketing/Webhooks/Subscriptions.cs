using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Webhooks;

/// <summary>A receiver registered for one kind of history event, or every kind ("*"). The secret is never read back.</summary>
public sealed record WebhookSubscription(
    long Id, string Url, string EventKind, string? Description, bool Active, DateTime CreatedAt, int Pending, int Delivered, int Failed);

/// <summary>The subscription just made, with its secret: the only time the secret is shown.</summary>
public sealed record CreatedWebhook(WebhookSubscription Subscription, string Secret);

/// <summary>
/// What an administrator sends. <see cref="Secret"/> is optional when creating (one is generated) and ignored when
/// changing a subscription.
/// </summary>
public sealed record WebhookRequest(string? Url, string? EventKind, string? Secret = null, string? Description = null, bool Active = true);

/// <summary>Administrators register, change and remove webhook receivers.</summary>
public sealed class WebhookSubscriptions(NpgsqlDataSource dataSource, TimeProvider clock, WebhookTargets targets)
{
    public const string AnyKind = "*";

    private const string Select = """
        SELECT s.id, s.url, s.event_kind, s.description, s.active, s.created_at,
               count(*) FILTER (WHERE o.status = 'pending')::int AS pending,
               count(*) FILTER (WHERE o.status = 'delivered')::int AS delivered,
               count(*) FILTER (WHERE o.status = 'failed')::int AS failed
        FROM webhook_subscriptions s LEFT JOIN webhook_outbox o ON o.subscription_id = s.id
        WHERE (@id::bigint IS NULL OR s.id = @id)
        GROUP BY s.id
        ORDER BY s.id
        """;

    private const string Insert = """
        INSERT INTO webhook_subscriptions (url, event_kind, secret, description, active, created_by, created_at)
        VALUES (@url, @eventKind, @secret, @description, @active, @createdBy, @now)
        RETURNING id
        """;

    private const string Update = """
        UPDATE webhook_subscriptions SET url = @url, event_kind = @eventKind, description = @description, active = @active
        WHERE id = @id
        """;

    private const string Delete = "DELETE FROM webhook_subscriptions WHERE id = @id";

    /// <summary>Checks a request; each refusal names the field and the reason.</summary>
    public static FieldErrors Validate(WebhookRequest request, bool creating)
    {
        var errors = new FieldErrors();
        var url = request.Url?.Trim();
        if (string.IsNullOrEmpty(url))
        {
            errors.Add("url", "webhook.url_required");
        }
        else if (url.Length > 2000)
        {
            errors.Add("url", "field.longer_than", 2000);
        }
        else if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)
                 || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                 || string.IsNullOrEmpty(uri.Host))
        {
            errors.Add("url", "webhook.url_not_absolute");
        }
        else if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            errors.Add("url", "webhook.url_credentials");
        }

        var kind = request.EventKind?.Trim();
        if (string.IsNullOrEmpty(kind))
        {
            errors.Add("eventKind", "webhook.event_kind_required");
        }
        else if (kind != AnyKind && !EventKinds.IsKnown(kind))
        {
            errors.Add("eventKind", "webhook.event_kind_unknown", kind, string.Join(", ", EventKinds.All));
        }

        if (creating && request.Secret is { } secret && (secret.Length < 16 || secret.Length > 200 || secret.Any(char.IsWhiteSpace)))
        {
            errors.Add("secret", "webhook.secret");
        }

        if (request.Description is { Length: > 200 })
        {
            errors.Add("description", "field.longer_than", 200);
        }

        return errors;
    }

    /// <summary>The form of the request, then where its URL leads (after the form, so only a well-formed URL is resolved).</summary>
    private async Task<Failure?> CheckAsync(WebhookRequest request, bool creating, CancellationToken cancellationToken)
    {
        var errors = Validate(request, creating);
        if (!errors.Any && await targets.RefuseAsync(new Uri(request.Url!.Trim(), UriKind.Absolute), cancellationToken) is { } refused)
        {
            errors.Add("url", refused);
        }

        return errors.Any ? errors.ToFailure() : null;
    }

    public async Task<Outcome<IReadOnlyList<WebhookSubscription>>> ListAsync(Actor actor, CancellationToken cancellationToken)
    {
        if (Refuse(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<WebhookSubscription>(new CommandDefinition(Select, new { id = (long?)null }, cancellationToken: cancellationToken));
        return rows.AsList();
    }

    public async Task<Outcome<WebhookSubscription>> GetAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (Refuse(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindAsync(connection, id, cancellationToken) is { } found ? found : Failure.NotFound("webhook.not_found", id);
    }

    public async Task<Outcome<CreatedWebhook>> CreateAsync(WebhookRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (Refuse(actor) is { } refused)
        {
            return refused;
        }

        if (await CheckAsync(request, creating: true, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        var secret = request.Secret ?? WebhookSignature.NewSecret();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            Insert,
            new
            {
                url = request.Url!.Trim(),
                eventKind = request.EventKind!.Trim(),
                secret,
                description = Blank(request.Description),
                active = request.Active,
                createdBy = actor.UserId,
                now = clock.GetUtcNow().UtcDateTime,
            },
            cancellationToken: cancellationToken));
        return new CreatedWebhook((await FindAsync(connection, id, cancellationToken))!, secret);
    }

    public async Task<Outcome<WebhookSubscription>> UpdateAsync(long id, WebhookRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (Refuse(actor) is { } refused)
        {
            return refused;
        }

        if (await CheckAsync(request, creating: false, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            Update,
            new { id, url = request.Url!.Trim(), eventKind = request.EventKind!.Trim(), description = Blank(request.Description), active = request.Active },
            cancellationToken: cancellationToken));
        return changed == 0 ? Failure.NotFound("webhook.not_found", id) : (await FindAsync(connection, id, cancellationToken))!;
    }

    /// <summary>Removes a subscription with its deliveries and their attempt log; to keep the log, deactivate it instead.</summary>
    public async Task<Outcome<long>> DeleteAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (Refuse(actor) is { } refused)
        {
            return refused;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var deleted = await connection.ExecuteAsync(new CommandDefinition(Delete, new { id }, cancellationToken: cancellationToken));
        return deleted == 0 ? Failure.NotFound("webhook.not_found", id) : id;
    }

    internal static Failure? Refuse(Actor actor) =>
        actor.Role == Role.Admin ? null : Failure.Forbidden("webhook.admin_only");

    private static async Task<WebhookSubscription?> FindAsync(NpgsqlConnection connection, long id, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<WebhookSubscription>(new CommandDefinition(Select, new { id = (long?)id }, cancellationToken: cancellationToken));

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
