using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ticketing.Assignment;

/// <summary>When the loads' changes are folded, bound from "Assignment:Loads"; every 5 seconds by default.</summary>
public sealed class AssigneeLoadOptions : JobOptions
{
    public const string Section = "Assignment:Loads";

    public AssigneeLoadOptions() => Interval = TimeSpan.FromSeconds(5);

    /// <summary>Fold in this process; several processes may, and each change is folded once.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>
/// Each person's open work and load, kept by PostgreSQL as work orders change (migration 0037): statement triggers on
/// work_orders append each statement's change per person to <c>assignee_load_changes</c>, and this job folds those
/// rows into <c>assignee_loads</c>, so that the changes a create reads beside the folded loads stay few. Readers see
/// the right load whether or not a fold has run; a fold only keeps them quick.
/// </summary>
public sealed partial class AssigneeLoads(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<AssigneeLoadOptions> options, ILogger<AssigneeLoads> logger)
    : BackgroundService
{
    /// <summary>
    /// What the insert trigger would have appended for the work orders with ids in [@first, @first + @count), for a bulk
    /// load that runs without triggers (Ingest/HistoryBulkLoad).
    /// </summary>
    public const string NoteLoaded = """
        INSERT INTO assignee_load_changes (user_id, open_count, load)
        SELECT assignee_id, count(*), sum(CASE priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END)
        FROM work_orders
        WHERE id >= @first AND id < @first + @count
          AND assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
        GROUP BY assignee_id
        """;

    private readonly JobRunner _runner = new("Assignee loads", clock, logger, e => e is NpgsqlException or TimeoutException);

    public JobRunner Runner => _runner;

    /// <summary>Folds the changes committed so far into the loads; returns how many change rows were folded.</summary>
    public static async Task<long> FoldAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT fold_assignee_load_changes()", cancellationToken: cancellationToken));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.Enabled
        ? _runner.RunAsync(options.Value.Schedule, FoldAndLogAsync, stoppingToken)
        : Task.CompletedTask;

    private async Task FoldAndLogAsync(CancellationToken cancellationToken) => LogFolded(await FoldAsync(dataSource, cancellationToken));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Folded {Rows} assignee load changes")]
    private partial void LogFolded(long rows);
}
