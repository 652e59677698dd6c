namespace WorkOrders.FieldApp.Contracts;

/// <summary>
/// <c>POST /api/v1/devices</c>, signed in as a technician or manager (cookie or bearer token): registers this phone or
/// tablet. <paramref name="Name"/> is what administrators see ("Pixel 8 of Lin"), 1-100 characters.
/// </summary>
public sealed record RegisterDeviceRequest(string? Name);

/// <summary>
/// The answer to a registration, shown once: send <c>Authorization: Device {Credential}</c> to the field endpoints.
/// The credential stands until <see cref="ExpiresAt"/>, which moves forward on every use (sliding), until an
/// administrator revokes the device or the user is deactivated. The server keeps only its hash.
/// </summary>
public sealed record DeviceCredential(long DeviceId, string Credential, DateTimeOffset ExpiresAt);

/// <summary>A registered device as administrators (all) and its owner (their own) see it.</summary>
public sealed record DeviceInfo(
    long Id,
    long UserId,
    string UserName,
    string Name,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? LastSyncAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RevokedAt,
    string? RevokedBy);

/// <summary>A page of devices, newest first, with the count of all that match.</summary>
public sealed record DevicePage(IReadOnlyList<DeviceInfo> Items, long Count);
