using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Field;

/// <summary>
/// Field devices: a technician's phone registered once while online, then trusted by its own credential for days offline.
/// The credential is <c>{device id}.{32 random bytes, base64url}</c>; PostgreSQL keeps the SHA-256 of the random part
/// only (it is random, so a fast hash is enough: nothing to guess). It stands while the device is not revoked, its
/// user is active and it was used within <see cref="FieldOptions.CredentialLifetime"/>.
/// </summary>
public sealed class Devices(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<FieldOptions> options)
{
    public const int MaxNameLength = 100;

    /// <summary>The claim that marks a principal signed in by a device credential, with the device's id.</summary>
    public const string Claim = "device";

    private const string Columns = """
        d.id, d.user_id, u.display_name AS user_name, d.name, d.created_at, d.last_used_at, d.last_sync_at, d.expires_at, d.revoked_at,
        r.display_name AS revoked_by
        """;

    /// <summary>Who takes work into the field: technicians and managers (inspectors are either).</summary>
    public static bool MayRegister(Actor actor) => actor.Role is Role.Technician or Role.Manager;

    /// <summary>The refusal of a caller who may not register a device, whatever the request says.</summary>
    public static Failure? RegisterRefusal(Actor actor) => MayRegister(actor) ? null : Failure.Forbidden("device.register_forbidden");

    public async Task<Outcome<DeviceCredential>> RegisterAsync(RegisterDeviceRequest request, Actor actor, bool viaDevice, CancellationToken cancellationToken)
    {
        if (RegisterRefusal(actor) is { } refused)
        {
            return refused;
        }

        if (viaDevice)
        {
            return Failure.Forbidden("device.register_signed_in");
        }

        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            return Failure.Invalid("name", "field.required_short", MaxNameLength);
        }

        var secret = RandomNumberGenerator.GetBytes(32);
        var now = clock.GetUtcNow().UtcDateTime;
        var expires = now + options.Value.CredentialLifetime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO field_devices (user_id, name, secret_hash, created_at, expires_at)
            VALUES (@userId, @name, @hash, @now, @expires) RETURNING id
            """,
            new { userId = actor.UserId, name, hash = SHA256.HashData(secret), now, expires },
            cancellationToken: cancellationToken));
        var credential = string.Create(CultureInfo.InvariantCulture, $"{id}.{Base64Url(secret)}");
        return new DeviceCredential(id, credential, new DateTimeOffset(expires, TimeSpan.Zero));
    }

    /// <summary>Devices, newest first: an administrator's of everyone (or of one user), anyone else's own.</summary>
    public async Task<DevicePage> ListAsync(Actor actor, long? userId, bool includeRevoked, int skip, int take, CancellationToken cancellationToken)
    {
        var only = actor.Role == Role.Admin ? userId : actor.UserId;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var filter = "(@only::bigint IS NULL OR d.user_id = @only) AND (@includeRevoked OR d.revoked_at IS NULL)";
        var items = await connection.QueryAsync<DeviceRow>(new CommandDefinition(
            $"""
            SELECT {Columns} FROM field_devices d JOIN users u ON u.id = d.user_id LEFT JOIN users r ON r.id = d.revoked_by
            WHERE {filter} ORDER BY d.created_at DESC, d.id DESC OFFSET @skip LIMIT @take
            """,
            new { only, includeRevoked, skip, take },
            cancellationToken: cancellationToken));
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT count(*) FROM field_devices d WHERE {filter}", new { only, includeRevoked }, cancellationToken: cancellationToken));
        return new DevicePage([.. items.Select(r => r.ToInfo())], count);
    }

    /// <summary>Ends a device's credential at once, on every instance (each request reads the row). Revoking twice keeps the first.</summary>
    public async Task<Outcome<DeviceInfo>> RevokeAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var owner = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT user_id FROM field_devices WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        if (owner is null)
        {
            return Failure.NotFound("device.not_found", id);
        }

        if (actor.Role != Role.Admin && owner != actor.UserId)
        {
            return Failure.Forbidden("device.revoke_forbidden");
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE field_devices SET revoked_at = @now, revoked_by = @actorId WHERE id = @id AND revoked_at IS NULL",
            new { id, now = clock.GetUtcNow().UtcDateTime, actorId = actor.UserId },
            cancellationToken: cancellationToken));
        var row = await connection.QuerySingleAsync<DeviceRow>(new CommandDefinition(
            $"SELECT {Columns} FROM field_devices d JOIN users u ON u.id = d.user_id LEFT JOIN users r ON r.id = d.revoked_by WHERE d.id = @id",
            new { id },
            cancellationToken: cancellationToken));
        return row.ToInfo();
    }

    /// <summary>
    /// The actor behind a credential, or null when it is malformed, wrong, expired, revoked or its user inactive. A
    /// good one slides its expiry forward: one primary-key update, the read and the write in one statement.
    /// </summary>
    public async Task<(Actor Actor, long DeviceId)?> AuthenticateAsync(string credential, CancellationToken cancellationToken)
    {
        var dot = credential.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(credential.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            || FromBase64Url(credential[(dot + 1)..]) is not { Length: 32 } secret)
        {
            return null;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AuthRow>(new CommandDefinition(
            """
            UPDATE field_devices d SET last_used_at = @now, expires_at = @expires
            FROM users u
            WHERE d.id = @id AND u.id = d.user_id AND u.active AND d.revoked_at IS NULL AND d.expires_at > @now AND d.secret_hash = @hash
            RETURNING u.id AS user_id, u.user_name, u.role, u.department_id
            """,
            new { id, now, expires = now + options.Value.CredentialLifetime, hash = SHA256.HashData(secret) },
            cancellationToken: cancellationToken));
        return row is null || !Roles.TryParse(row.Role, out var role) ? null : (new Actor(row.UserId, row.UserName, role, row.DepartmentId), id);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[]? FromBase64Url(string text)
    {
        if (text.Length is 0 or > 100)
        {
            return null;
        }

        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private sealed class AuthRow
    {
        public long UserId { get; init; }
        public string UserName { get; init; } = "";
        public string Role { get; init; } = "";
        public long? DepartmentId { get; init; }
    }

    private sealed class DeviceRow
    {
        public long Id { get; init; }
        public long UserId { get; init; }
        public string UserName { get; init; } = "";
        public string Name { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public DateTime? LastUsedAt { get; init; }
        public DateTime? LastSyncAt { get; init; }
        public DateTime ExpiresAt { get; init; }
        public DateTime? RevokedAt { get; init; }
        public string? RevokedBy { get; init; }

        public DeviceInfo ToInfo() => new(
            Id, UserId, UserName, Name, Utc(CreatedAt), LastUsedAt is { } u ? Utc(u) : null, LastSyncAt is { } s ? Utc(s) : null, Utc(ExpiresAt),
            RevokedAt is { } r ? Utc(r) : null, RevokedBy);
    }

    internal static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}

/// <summary>
/// The <c>Authorization: Device {credential}</c> scheme. It answers only on the field API (<c>/api/v1/field</c>,
/// <c>/api/v1/sync</c>): a device credential opens nothing else, so a lost phone exposes the user's field work and no more.
/// </summary>
public sealed class DeviceAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Devices devices)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Device";

    public static bool IsFieldPath(PathString path) =>
        path.StartsWithSegments("/api/v1/field", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/api/v1/sync", StringComparison.OrdinalIgnoreCase);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        if (!IsFieldPath(Request.Path))
        {
            return AuthenticateResult.Fail("A device credential is for the field API only.");
        }

        var found = await Database.DatabaseRetry.Pipeline.ExecuteAsync(
            static async (state, ct) => await state.devices.AuthenticateAsync(state.credential, ct),
            (devices, credential: header[(SchemeName.Length + 1)..].Trim()),
            Context.RequestAborted);
        if (found is not { } signedIn)
        {
            return AuthenticateResult.Fail("The device credential is unknown, expired or revoked, or its user is deactivated.");
        }

        var identity = new ClaimsIdentity(
            signedIn.Actor.ToClaims().Append(new Claim(Devices.Claim, signedIn.DeviceId.ToString(CultureInfo.InvariantCulture))), SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
