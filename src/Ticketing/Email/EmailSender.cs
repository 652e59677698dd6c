using System.Globalization;
using System.Text;
using Dapper;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Hosting;
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
/// they should share the setting), then claims due rows with FOR UPDATE SKIP LOCKED and sends them, retrying with
/// backoff until the attempts are spent.
/// </summary>
public sealed partial class EmailSender(
    NpgsqlDataSource dataSource,
    ChannelListener listener,
    IOptions<EmailOptions> options,
    TimeProvider clock,
    ILogger<EmailSender> logger) : BackgroundService
{
    public const string Channel = "email_outbox";

    private const string SetEnabled = "UPDATE email_settings SET enabled = @enabled, updated_at = now() WHERE enabled IS DISTINCT FROM @enabled";

    private const string Claim = """
        SELECT m.id, m.attempts, m.to_address, u.display_name, n.text, w.number AS work_order_number, w.title AS work_order_title
        FROM email_outbox m
        JOIN notifications n ON n.id = m.notification_id
        JOIN users u ON u.id = n.user_id
        LEFT JOIN work_orders w ON w.id = n.work_order_id
        WHERE m.status = 'pending' AND m.next_attempt_at <= @now
        ORDER BY m.next_attempt_at, m.id
        LIMIT @batch
        FOR UPDATE OF m SKIP LOCKED
        """;

    private const string Settle = """
        UPDATE email_outbox
        SET attempts = attempts + 1, status = @status, next_attempt_at = @nextAttemptAt, sent_at = @sentAt, last_error = @error
        WHERE id = @id
        """;

    /// <summary>Turns the e-mail outbox on or off for every later notification, as the options say.</summary>
    public async Task ApplySettingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var enabled = options.Value.Enabled;
        if (await connection.ExecuteAsync(new CommandDefinition(SetEnabled, new { enabled }, cancellationToken: cancellationToken)) > 0)
        {
            LogSetting(enabled, options.Value.Host);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ApplySettingAsync(stoppingToken);
        if (options.Value.Enabled)
        {
            await listener.RunOnSignalAsync(Channel, options.Value.PollInterval, SendAllDueAsync, stoppingToken);
        }
    }

    /// <summary>Sends batches until none is due; database trouble is logged and left for the next round.</summary>
    public Task SendAllDueAsync(CancellationToken cancellationToken) =>
        OutboxRound.DrainAsync(SendDueAsync, options.Value.BatchSize, LogDatabaseTrouble, LogRoundFailed, cancellationToken);

    /// <summary>Claims one batch of due e-mails, sends them over one SMTP connection, and records each outcome.</summary>
    public async Task<int> SendDueAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = (await connection.QueryAsync<DueEmail>(new CommandDefinition(
            Claim, new { now = clock.GetUtcNow().UtcDateTime, batch = settings.BatchSize }, transaction, cancellationToken: cancellationToken))).AsList();
        if (due.Count > 0)
        {
            var outcomes = await SendAsync(settings, due, cancellationToken);
            foreach (var (email, error) in due.Zip(outcomes))
            {
                var now = clock.GetUtcNow().UtcDateTime;
                var attempt = email.Attempts + 1;
                var (status, next) = error switch
                {
                    null => ("sent", now),
                    { Permanent: true } => ("failed", now),
                    _ when Retry.AfterFailure(attempt, now, settings.Retry) is { GiveUp: false } retry => ("pending", retry.NextAttemptAt),
                    _ => ("failed", now),
                };
                if (error is null)
                {
                    LogSent(email.Id, email.ToAddress);
                }
                else
                {
                    LogNotSent(email.Id, email.ToAddress, attempt, error.Message, status == "pending" ? next : null);
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    Settle,
                    new { id = email.Id, status, nextAttemptAt = next, sentAt = error is null ? now : (DateTime?)null, error = error?.Message },
                    transaction,
                    cancellationToken: cancellationToken));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return due.Count;
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

    private static async Task<SendError?[]> SendAsync(EmailOptions settings, List<DueEmail> due, CancellationToken cancellationToken)
    {
        var outcomes = new SendError?[due.Count];
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
            Array.Fill(outcomes, new SendError($"SMTP {settings.Host}:{settings.Port}: {e.Message}", false));
            return outcomes;
        }

        var from = MailboxAddress.Parse(settings.From!);
        for (var i = 0; i < due.Count; i++)
        {
            var email = due[i];
            if (!MailboxAddress.TryParse(email.ToAddress, out var address))
            {
                outcomes[i] = new SendError($"'{email.ToAddress}' is not an e-mail address.", true);
                continue;
            }

            address.Name = email.DisplayName;
            try
            {
                using var message = Compose(from, address, email.Text, email.WorkOrderNumber, email.WorkOrderTitle);
                await smtp.SendAsync(message, cancellationToken);
            }
            catch (SmtpCommandException e)
            {
                // A refusal of this sender, recipient or message: 5xx is final, 4xx is worth another try.
                outcomes[i] = new SendError($"SMTP {(int)e.StatusCode}: {e.Message}", (int)e.StatusCode >= 500);
            }
            catch (Exception e) when (e is IOException or SmtpProtocolException or ServiceNotConnectedException or TimeoutException)
            {
                // The connection is gone: this and the rest of the batch are tried again later.
                Array.Fill(outcomes, new SendError($"SMTP connection lost: {e.Message}", false), i, due.Count - i);
                return outcomes;
            }
        }

        await smtp.DisconnectAsync(true, cancellationToken);
        return outcomes;
    }

    private static SecureSocketOptions Secure(SmtpTls tls) => tls switch
    {
        SmtpTls.None => SecureSocketOptions.None,
        SmtpTls.StartTlsWhenAvailable => SecureSocketOptions.StartTlsWhenAvailable,
        SmtpTls.StartTls => SecureSocketOptions.StartTls,
        SmtpTls.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => throw new ArgumentOutOfRangeException(nameof(tls), tls, null),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail for notifications is {Enabled} (SMTP host '{Host}').")]
    private partial void LogSetting(bool enabled, string? host);

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail {Id} sent to {To}.")]
    private partial void LogSent(long id, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "E-mail {Id} to {To}, attempt {Attempt}: {Error}; next attempt at {NextAttemptAt:o} (none when empty).")]
    private partial void LogNotSent(long id, string to, int attempt, string error, DateTime? nextAttemptAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "E-mails could not be read or settled; trying again on the next round.")]
    private partial void LogDatabaseTrouble(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A round of sending failed unexpectedly; the next round tries again.")]
    private partial void LogRoundFailed(Exception exception);

    private sealed record DueEmail(long Id, int Attempts, string ToAddress, string DisplayName, string Text, string? WorkOrderNumber, string? WorkOrderTitle);

    private sealed record SendError(string Message, bool Permanent);
}
