using System.Globalization;
using System.Text;
using Dapper;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Npgsql;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Notifications;

namespace WorkOrders.Ticketing.Email;

/// <summary>
/// E-mails notifications through SMTP. A trigger on notifications writes an email_outbox row, in the notifying
/// transaction, for each recipient with an e-mail address while email_settings says e-mail is on; this service turns
/// that setting on or off at start from <see cref="EmailOptions.Host"/> (every instance shares the database, so
/// they should share the setting), then sends the outbox over one SMTP connection a batch, retrying with backoff
/// until the attempts are spent.
/// </summary>
internal sealed partial class EmailSender(
    NpgsqlDataSource dataSource,
    ChannelListener listener,
    IOptions<EmailOptions> options,
    TimeProvider clock,
    ILogger<EmailSender> logger) : OutboxSender<EmailSender.DueEmail, EmailSender.Attempt>("e-mail sender", Channel, dataSource, listener, clock, logger)
{
    public const string Channel = "email_outbox";

    private const string SetEnabled = "UPDATE email_settings SET enabled = @enabled, updated_at = now() WHERE enabled IS DISTINCT FROM @enabled";

    private const string ClaimDue = $"""
        SELECT o.id, o.attempts, o.to_address, u.display_name, n.text, w.number AS work_order_number, w.title AS work_order_title
        FROM email_outbox o
        JOIN notifications n ON n.id = o.notification_id
        JOIN users u ON u.id = n.user_id
        LEFT JOIN work_orders w ON w.id = n.work_order_id
        WHERE {DuePending}
        """;

    private const string Settle = """
        UPDATE email_outbox
        SET attempts = attempts + 1, status = @status, next_attempt_at = @nextAttemptAt, sent_at = @sentAt, last_error = @error
        WHERE id = @id
        """;

    protected override string Claim => ClaimDue;

    protected override OutboxSettings Settings => new(options.Value.PollInterval, options.Value.BatchSize, options.Value.Retry);

    /// <summary>Turns the e-mail outbox on or off for every later notification, as the options say.</summary>
    public async Task ApplySettingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        var enabled = options.Value.Enabled;
        if (await connection.ExecuteAsync(new CommandDefinition(SetEnabled, new { enabled }, cancellationToken: cancellationToken)) > 0)
        {
            LogSetting(Logger, enabled, options.Value.Host);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ApplySettingAsync(stoppingToken);
        if (options.Value.Enabled)
        {
            await base.ExecuteAsync(stoppingToken);
        }
    }

    /// <summary>Claims one batch of due e-mails, sends them over one SMTP connection, and records each outcome.</summary>
    public Task<int> SendDueAsync(CancellationToken cancellationToken) => SendBatchAsync(cancellationToken);

    protected override Task<Attempt[]> SendAsync(IReadOnlyList<DueEmail> due, CancellationToken cancellationToken) =>
        SendAsync(options.Value, due, cancellationToken);

    protected override async Task SettleAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Settlement<DueEmail, Attempt> settlement, CancellationToken cancellationToken)
    {
        var (email, attempt, state, number, now, next) = settlement;
        var status = state switch { OutboxState.Done => "sent", OutboxState.Pending => "pending", _ => "failed" };
        if (attempt.Error is null)
        {
            LogSent(Logger, email.Id, email.ToAddress);
        }
        else
        {
            LogNotSent(Logger, email.Id, email.ToAddress, number, attempt.Error, state == OutboxState.Pending ? next : null);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            Settle,
            new { id = email.Id, status, nextAttemptAt = next, sentAt = attempt.Error is null ? now : (DateTime?)null, error = attempt.Error },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>The message for one notification: plain text, the work order's number in the subject.</summary>
    public static MimeMessage Compose(MailboxAddress from, MailboxAddress to, string text, string? workOrderNumber, string? workOrderTitle)
    {
        var firstLine = text.Split('\n', 2)[0].Trim();
        var subject = workOrderNumber is null ? firstLine : $"[{workOrderNumber}] {firstLine}";
        var body = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"Hello {to.Name},").Append("\n\n")
            .Append(text).Append("\n\n");
        if (workOrderNumber is not null)
        {
            body.Append(CultureInfo.InvariantCulture, $"Work order {workOrderNumber}: {workOrderTitle}").Append("\n\n");
        }

        body.Append("This message was sent by WorkOrders; you also find it under the bell in the app.\n");
        var message = new MimeMessage { Subject = subject.Length > 150 ? subject[..150] : subject, Body = new TextPart("plain") { Text = body.ToString() } };
        message.From.Add(from);
        message.To.Add(to);
        return message;
    }

    private static async Task<Attempt[]> SendAsync(EmailOptions settings, IReadOnlyList<DueEmail> due, CancellationToken cancellationToken)
    {
        var outcomes = new Attempt[due.Count];
        Array.Fill(outcomes, Attempt.Sent);
        using var smtp = new SmtpClient { Timeout = (int)settings.Timeout.TotalMilliseconds };
        try
        {
            await smtp.ConnectAsync(settings.Host!, settings.Port, Secure(settings.Tls), cancellationToken);
            if (settings.UserName is not null)
            {
                await smtp.AuthenticateAsync(settings.UserName, settings.Password ?? "", cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or SmtpCommandException or SmtpProtocolException or AuthenticationException
                                       or SslHandshakeException or System.Net.Sockets.SocketException or TimeoutException)
        {
            Array.Fill(outcomes, new Attempt($"SMTP {settings.Host}:{settings.Port}: {e.Message}", false));
            return outcomes;
        }

        var from = MailboxAddress.Parse(settings.From!);
        for (var i = 0; i < due.Count; i++)
        {
            var email = due[i];
            if (!MailboxAddress.TryParse(email.ToAddress, out var address))
            {
                outcomes[i] = new Attempt($"'{email.ToAddress}' is not an e-mail address.", true);
                continue;
            }

            address.Name = email.DisplayName;
            try
            {
                using var message = Compose(from, address, email.Text, email.WorkOrderNumber, email.WorkOrderTitle);
                // Sending is at least once (a crash after the server took it sends it again): every send of one outbox
                // row carries the same Message-Id, by which mail systems and readers recognise the repeat.
                message.MessageId = MessageId(email.Id, from);
                await smtp.SendAsync(message, cancellationToken);
            }
            catch (SmtpCommandException e)
            {
                // A refusal of this sender, recipient or message: 5xx is final, 4xx is worth another try.
                outcomes[i] = new Attempt($"SMTP {(int)e.StatusCode}: {e.Message}", (int)e.StatusCode >= 500);
            }
            catch (Exception e) when (e is IOException or SmtpProtocolException or ServiceNotConnectedException or TimeoutException)
            {
                // The connection is gone: this and the rest of the batch are tried again later.
                Array.Fill(outcomes, new Attempt($"SMTP connection lost: {e.Message}", false), i, due.Count - i);
                return outcomes;
            }
        }

        await smtp.DisconnectAsync(true, cancellationToken);
        return outcomes;
    }

    /// <summary>The Message-Id of an outbox row's e-mail: the same for every send of the row, unique to the sender's domain.</summary>
    public static string MessageId(long outboxId, MailboxAddress from) =>
        $"email-outbox-{outboxId.ToString(CultureInfo.InvariantCulture)}@{(from.Domain is { Length: > 0 } domain ? domain : "workorders")}";

    private static SecureSocketOptions Secure(SmtpTls tls) => tls switch
    {
        SmtpTls.None => SecureSocketOptions.None,
        SmtpTls.StartTlsWhenAvailable => SecureSocketOptions.StartTlsWhenAvailable,
        SmtpTls.StartTls => SecureSocketOptions.StartTls,
        SmtpTls.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => throw new ArgumentOutOfRangeException(nameof(tls), tls, null),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail for notifications is {Enabled} (SMTP host '{Host}').")]
    private static partial void LogSetting(ILogger logger, bool enabled, string? host);

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail {Id} sent to {To}.")]
    private static partial void LogSent(ILogger logger, long id, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "E-mail {Id} to {To}, attempt {Attempt}: {Error}; next attempt at {NextAttemptAt:o} (none when empty).")]
    private static partial void LogNotSent(ILogger logger, long id, string to, int attempt, string error, DateTime? nextAttemptAt);

    internal sealed record DueEmail(long Id, int Attempts, string ToAddress, string DisplayName, string Text, string? WorkOrderNumber, string? WorkOrderTitle)
        : IOutboxRow;

    internal sealed record Attempt(string? Error, bool Permanent) : IOutboxAttempt
    {
        public static Attempt Sent { get; } = new(null, false);
    }
}
