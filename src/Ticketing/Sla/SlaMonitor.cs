using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Jobs;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Sla;

/// <summary>Settings of the SLA monitor, bound from the "Sla" section.</summary>
public sealed class SlaOptions
{
    public const string Section = "Sla";

    /// <summary>How often the monitor looks for warnings and breaches to send.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Raise the priority by one (P3 to P2, never above P1) when a target is breached.</summary>
    public bool RaisePriorityOnBreach { get; set; }

    /// <summary>How many work orders one transaction of a scan handles.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 200;

    /// <summary>Run the monitor in this process; a second instance may run it too, each alert is still sent once.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>
/// Warns the assignee and the department's managers when a target's warning share has elapsed, and escalates on a breach
/// (managers and assignee notified; optionally the priority raised). Each alert is a history event and notifications,
/// written in one transaction with its row in sla_alerts, whose key makes it happen once. Work orders are taken with
/// FOR UPDATE SKIP LOCKED, so monitors in several processes share the work instead of repeating it.
/// </summary>
public sealed partial class SlaMonitor(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<SlaOptions> options, ILogger<SlaMonitor> logger)
    : BackgroundService
{
    // Nothing is half-sent when a scan fails: each batch is one transaction, and the next scan takes it again.
    private readonly JobRunner _runner = new("SLA monitor", clock, logger, e => e is NpgsqlException or TimeoutException);

    private const string TakeDue = """
        SELECT w.id
        FROM sla_clocks c JOIN work_orders w ON w.id = c.work_order_id
        WHERE c.next_alert_at <= @now
        ORDER BY c.next_alert_at
        LIMIT @take
        FOR UPDATE OF w SKIP LOCKED
        """;

    // Read again after the lock is held, so the values are the committed ones.
    private const string LoadLocked = """
        SELECT w.id, w.number, w.title, w.priority, w.department_id, w.assignee_id, w.status, w.acknowledged_at, w.resolved_at,
               c.response_warn_at, c.response_due_at, c.resolution_warn_at, c.resolution_due_at, c.paused_since,
               ARRAY(SELECT a.target || ':' || a.level FROM sla_alerts a WHERE a.work_order_id = w.id) AS sent,
               ARRAY(SELECT m.id FROM users m WHERE m.role = 'manager' AND m.active AND m.department_id = w.department_id) AS managers
        FROM sla_clocks c JOIN work_orders w ON w.id = c.work_order_id
        WHERE w.id = ANY(@ids)
        """;

    private const string ClaimAlert = """
        INSERT INTO sla_alerts (work_order_id, target, level, sent_at) VALUES (@id, @target, @level, @now)
        ON CONFLICT DO NOTHING
        """;

    private const string RaisePriority = """
        UPDATE work_orders SET priority = priority - 1, row_version = row_version + 1, updated_at = @now
        WHERE id = @id AND priority > 1
        RETURNING priority
        """;

    private const string SetNextAlert = "UPDATE sla_clocks SET next_alert_at = @next WHERE work_order_id = @id";

    /// <summary>One pass: sends every warning and breach due now. Returns how many were sent by this call.</summary>
    public async Task<int> ScanAsync(CancellationToken cancellationToken)
    {
        var sent = 0;
        var batch = options.Value.BatchSize;
        while (true)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var ids = (await connection.QueryAsync<long>(new CommandDefinition(
                TakeDue, new { now, take = batch }, transaction, cancellationToken: cancellationToken))).ToArray();
            if (ids.Length == 0)
            {
                return sent;
            }

            var rows = await connection.QueryAsync<DueRow>(new CommandDefinition(LoadLocked, new { ids }, transaction, cancellationToken: cancellationToken));
            foreach (var row in rows)
            {
                sent += await SendAsync(connection, transaction, row, now, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            if (ids.Length < batch)
            {
                return sent;
            }
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.Enabled
        ? _runner.RunAsync(new JobSchedule(options.Value.Interval), ScanAndLogAsync, stoppingToken)
        : Task.CompletedTask;

    private async Task ScanAndLogAsync(CancellationToken cancellationToken)
    {
        if (await ScanAsync(cancellationToken) is > 0 and var count)
        {
            LogSent(count);
        }
    }

    private async Task<int> SendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DueRow row, DateTime now, CancellationToken cancellationToken)
    {
        var state = row.ToState();
        var count = 0;
        var sentNow = new HashSet<(SlaTarget, SlaLevel)>(state.Sent);
        foreach (var alert in SlaRules.Due(state, now))
        {
            var claimed = await connection.ExecuteAsync(new CommandDefinition(
                ClaimAlert,
                new { id = row.Id, target = WireNames.Of(alert.Target), level = WireNames.Of(alert.Level), now },
                transaction,
                cancellationToken: cancellationToken));
            sentNow.Add((alert.Target, alert.Level));
            if (claimed == 0)
            {
                continue;
            }

            var target = alert.Target == SlaTarget.Response ? "response" : "resolution";
            var due = alert.Target == SlaTarget.Response ? state.Instants.ResponseDueAt : state.Instants.ResolutionDueAt;
            var dueText = due.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";
            var (kind, text) = alert.Level == SlaLevel.Warning
                ? (SlaEvents.Warning, $"{row.Number} '{row.Title}': the {target} target is at risk; it falls due at {dueText}.")
                : (SlaEvents.Breach, $"{row.Number} '{row.Title}': the {target} target was breached; it fell due at {dueText}.");
            await History.AppendAsync(
                connection, transaction, row.Id, now, null, kind, null, null, null,
                new { target = WireNames.Of(alert.Target), dueAt = due }, cancellationToken);
            var recipients = row.AssigneeId is { } assignee ? row.Managers.Append(assignee) : row.Managers;
            await Notifications.Notifications.AddAsync(connection, transaction, recipients, row.Id, kind, text, now, cancellationToken);
            if (alert.Level == SlaLevel.Breach && options.Value.RaisePriorityOnBreach)
            {
                await RaiseAsync(connection, transaction, row, now, cancellationToken);
            }

            LogAlert(row.Number, kind, target);
            count++;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            SetNextAlert, new { id = row.Id, next = SlaRules.NextAlertAt(state with { Sent = sentNow }) }, transaction, cancellationToken: cancellationToken));
        return count;
    }

    private static async Task RaiseAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DueRow row, DateTime now, CancellationToken cancellationToken)
    {
        var raised = await connection.ExecuteScalarAsync<short?>(new CommandDefinition(
            RaisePriority, new { id = row.Id, now }, transaction, cancellationToken: cancellationToken));
        if (raised is { } priority)
        {
            await History.AppendAsync(
                connection, transaction, row.Id, now, null, SlaEvents.PriorityRaised, null, null, null,
                new { from = priority + 1, to = (int)priority }, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SLA monitor sent {Count} warnings and breaches")]
    private partial void LogSent(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "SLA {Kind} for {Number} ({Target})")]
    private partial void LogAlert(string number, string kind, string target);

    private sealed class DueRow : SlaClockRow
    {
        public long Id { get; init; }
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public short Priority { get; init; }
        public long DepartmentId { get; init; }
        public long? AssigneeId { get; init; }
        public long[] Managers { get; init; } = [];
    }
}
