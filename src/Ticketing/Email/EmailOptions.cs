using System.ComponentModel.DataAnnotations;
using WorkOrders.Ticketing.Notifications;

namespace WorkOrders.Ticketing.Email;

/// <summary>How the SMTP connection is secured.</summary>
public enum SmtpTls
{
    /// <summary>Plain text; only for a relay on the same host or network.</summary>
    None,

    /// <summary>Upgrade with STARTTLS if the server offers it, plain otherwise.</summary>
    StartTlsWhenAvailable,

    /// <summary>Upgrade with STARTTLS, refuse a server that does not offer it.</summary>
    StartTls,

    /// <summary>TLS from the first byte (usually port 465).</summary>
    SslOnConnect,
}

/// <summary>
/// The SMTP server notifications are e-mailed through, bound from the "Email" section. E-mail is off while
/// <see cref="Host"/> is empty.
/// </summary>
public sealed class EmailOptions
{
    public const string Section = "Email";

    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 587;

    public SmtpTls Tls { get; set; } = SmtpTls.StartTls;

    /// <summary>The sender address, such as "WorkOrders &lt;workorders@example.com&gt;"; required when e-mail is on.</summary>
    public string? From { get; set; }

    public string? UserName { get; set; }

    public string? Password { get; set; }

    /// <summary>How long connecting and sending one batch may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    [Range(1.0, 10.0)]
    public double BackoffFactor { get; set; } = 2;

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(6);

    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>How often the sender looks for due retries; new mail wakes it at once.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    [Range(1, 500)]
    public int BatchSize { get; set; } = 50;

    public bool Enabled => !string.IsNullOrWhiteSpace(Host);

    public RetryPolicy Retry => new(FirstRetryDelay, BackoffFactor, MaxAttempts, MaxRetryDelay);

    public static bool IsConsistent(EmailOptions o) =>
        o.Timeout > TimeSpan.Zero && o.FirstRetryDelay > TimeSpan.Zero && o.MaxRetryDelay >= o.FirstRetryDelay && o.PollInterval > TimeSpan.Zero
        && (!o.Enabled || MimeKit.MailboxAddress.TryParse(o.From, out _))
        && (o.UserName is null) == (o.Password is null);
}
