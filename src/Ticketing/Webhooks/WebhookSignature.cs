using System.Security.Cryptography;
using System.Text;

namespace WorkOrders.Ticketing.Webhooks;

/// <summary>
/// The signature a receiver checks: "sha256=" and the lower-case hex HMAC-SHA256 of the exact body bytes, keyed with
/// the subscription's secret.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "X-WorkOrders-Signature";
    public const string EventHeader = "X-WorkOrders-Event";
    public const string DeliveryHeader = "X-WorkOrders-Delivery";

    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>What a receiver does: recompute and compare in constant time.</summary>
    public static bool Verify(string secret, ReadOnlySpan<byte> body, string? signature) =>
        signature is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, body)), Encoding.ASCII.GetBytes(signature));

    /// <summary>A new secret: 32 random bytes as hex.</summary>
    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
