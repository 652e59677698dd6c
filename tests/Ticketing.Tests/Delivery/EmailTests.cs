using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Email;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Delivery;

/// <summary>E-mail through MailKit against an SMTP server the test starts. The class has a database of its own: e-mail is a database-wide setting.</summary>
public sealed class EmailTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private EmailSender Sender(int port, string? host = "127.0.0.1") => new(
        Data,
        new ChannelListener(Data, [new ListenChannel(EmailSender.Channel)], NullLogger<ChannelListener>.Instance),
        Options.Create(new EmailOptions
        {
            Host = host,
            Port = port,
            Tls = SmtpTls.None,
            From = "WorkOrders <workorders@plant.test>",
            Timeout = TimeSpan.FromSeconds(5),
            FirstRetryDelay = TimeSpan.FromMinutes(1),
            MaxAttempts = 3,
        }),
        _clock,
        NullLogger<EmailSender>.Instance);

    private async Task<(TestOrg Org, long WorkOrderId, string Number)> OrgWithWorkOrderAsync(string? technicianEmail)
    {
        var org = await TestOrg.CreateAsync(Data);
        await using var connection = await Data.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE users SET email = @technicianEmail WHERE id = @UserId", new { technicianEmail, org[Role.Technician].UserId });
        await connection.ExecuteAsync("UPDATE users SET email = 'manager@plant.test' WHERE id = @UserId", new { org[Role.Manager].UserId });
        var number = $"WO-T-{org.Suffix}";
        var id = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, department_id, created_at, updated_at, source)
            VALUES (@number, @TemplateId, 'corrective', 'Pump leaks 漏水', '', 2, 'new', @requester, @DepartmentId, now(), now(), 'web')
            RETURNING id
            """,
            new { number, org.TemplateId, requester = org[Role.Requester].UserId, org.DepartmentId });
        return (org, id, number);
    }

    private async Task NotifyAsync(long[] userIds, long workOrderId, string text)
    {
        await using var connection = await Data.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Notifications.Notifications.AddAsync(connection, transaction, userIds, workOrderId, "assigned", text, _clock.GetUtcNow().UtcDateTime, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private async Task<(string Status, int Attempts, string? Error)> OutboxOfAsync(string address)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return await connection.QuerySingleAsync<(string, int, string?)>(
            "SELECT status, attempts, last_error FROM email_outbox WHERE to_address = @address", new { address });
    }

    [Fact]
    public async Task a_notification_is_mailed_to_its_recipient_with_the_work_order_in_the_subject_and_the_text_in_the_body()
    {
        await using var smtp = TestSmtpServer.Start();
        var sender = Sender(smtp.Port);
        await sender.ApplySettingAsync(CancellationToken.None);
        var (org, workOrderId, number) = await OrgWithWorkOrderAsync("tech@plant.test");

        await NotifyAsync([org[Role.Technician].UserId, org[Role.Requester].UserId], workOrderId, "You were assigned: pump leaks 漏水");
        Assert.Equal(1, await sender.SendDueAsync(CancellationToken.None));

        var mail = Assert.Single(smtp.Received);
        Assert.Equal(["tech@plant.test"], mail.RcptTo);
        Assert.Equal("workorders@plant.test", mail.MailFrom);
        Assert.Equal("tech@plant.test", ((MailboxAddress)Assert.Single(mail.Message.To)).Address);
        Assert.Equal($"[{number}] You were assigned: pump leaks 漏水", mail.Message.Subject);
        Assert.Contains("You were assigned: pump leaks 漏水", mail.Message.TextBody, StringComparison.Ordinal);
        Assert.Contains($"Work order {number}: Pump leaks 漏水", mail.Message.TextBody, StringComparison.Ordinal);
        Assert.Equal(("sent", 1, (string?)null), await OutboxOfAsync("tech@plant.test"));
        Assert.Equal(0, await sender.SendDueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task an_smtp_server_that_is_down_leaves_the_mail_queued_and_a_retry_after_it_is_back_sends_it_once()
    {
        var port = TestReceiver.FreePort();
        var sender = Sender(port);
        await sender.ApplySettingAsync(CancellationToken.None);
        var address = $"down-{Guid.NewGuid():N}@plant.test";
        var (org, workOrderId, _) = await OrgWithWorkOrderAsync(address);

        await NotifyAsync([org[Role.Technician].UserId], workOrderId, "Breach soon");
        Assert.Equal(1, await sender.SendDueAsync(CancellationToken.None));
        var (status, attempts, error) = await OutboxOfAsync(address);
        Assert.Equal(("pending", 1), (status, attempts));
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);

        await using var smtp = TestSmtpServer.Start(port);
        Assert.Equal(0, await sender.SendDueAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await sender.SendDueAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await sender.SendDueAsync(CancellationToken.None));

        Assert.Equal([address], Assert.Single(smtp.Received).RcptTo);
        Assert.Equal("sent", (await OutboxOfAsync(address)).Status);
    }

    [Fact]
    public async Task a_recipient_the_server_refuses_for_good_is_marked_failed_without_retrying()
    {
        await using var smtp = TestSmtpServer.Start();
        var sender = Sender(smtp.Port);
        await sender.ApplySettingAsync(CancellationToken.None);
        var address = $"gone-{Guid.NewGuid():N}@plant.test";
        smtp.Refused.Add(address);
        var (org, workOrderId, _) = await OrgWithWorkOrderAsync(address);

        await NotifyAsync([org[Role.Technician].UserId, org[Role.Manager].UserId], workOrderId, "Escalated");
        await sender.SendDueAsync(CancellationToken.None);

        var (status, attempts, error) = await OutboxOfAsync(address);
        Assert.Equal(("failed", 1), (status, attempts));
        Assert.StartsWith("SMTP 550", error, StringComparison.Ordinal);
        Assert.Contains(smtp.Received, m => m.RcptTo.SequenceEqual(["manager@plant.test"]));
    }

    [Fact]
    public async Task while_no_smtp_host_is_configured_notifications_queue_no_mail()
    {
        await Sender(25, host: null).ApplySettingAsync(CancellationToken.None);
        var address = $"off-{Guid.NewGuid():N}@plant.test";
        var (org, workOrderId, _) = await OrgWithWorkOrderAsync(address);

        await NotifyAsync([org[Role.Technician].UserId], workOrderId, "Nobody mails this");

        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM email_outbox WHERE to_address = @address", new { address }));
    }

    [Fact]
    public async Task an_email_sent_again_after_a_crash_before_its_row_was_settled_carries_the_same_message_id()
    {
        await using var smtp = TestSmtpServer.Start();
        var sender = Sender(smtp.Port);
        await sender.ApplySettingAsync(CancellationToken.None);
        var address = $"again-{Guid.NewGuid():N}@plant.test";
        var (org, workOrderId, _) = await OrgWithWorkOrderAsync(address);
        await NotifyAsync([org[Role.Technician].UserId], workOrderId, "Assigned to you");
        Assert.Equal(1, await sender.SendDueAsync(CancellationToken.None));

        // A kill -9 between the server's "250" and the commit leaves the row as it was before the send.
        await using (var connection = await Data.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE email_outbox SET status = 'pending', attempts = 0, sent_at = NULL WHERE to_address = @address", new { address });
        }

        Assert.Equal(1, await sender.SendDueAsync(CancellationToken.None));
        var ids = smtp.Received.Where(m => m.RcptTo.Contains(address)).Select(m => m.Message.MessageId).ToList();
        await using var read = await Data.OpenConnectionAsync();
        var outboxId = await read.ExecuteScalarAsync<long>("SELECT id FROM email_outbox WHERE to_address = @address", new { address });
        Assert.Equal([$"email-outbox-{outboxId}@plant.test", $"email-outbox-{outboxId}@plant.test"], ids);
    }
}
