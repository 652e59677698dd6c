using System.ComponentModel.DataAnnotations;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Exports;

/// <summary>Settings of large exports, bound from the "Exports" section.</summary>
public sealed class ExportOptions
{
    public const string Section = "Exports";

    /// <summary>An export of more rows than this becomes a job; up to it the page's download writes the file at once.</summary>
    [Range(1, 1_000_000)]
    public int JobThresholdRows { get; set; } = 50_000;

    /// <summary>At most this many export jobs run at once across every app instance (one per user besides).</summary>
    [Range(1, 64)]
    public int MaxRunning { get; set; } = 2;

    /// <summary>How long a finished file is kept for its owner before the retention job deletes it.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "90.00:00:00")]
    public TimeSpan KeepFor { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Where finished files are kept; every app instance must see the same folder. Empty: a folder under the temp folder.</summary>
    public string Directory { get; set; } = "";

    /// <summary>How often an idle worker looks for queued jobs (a job started in the same instance wakes it at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A running job whose worker has not reported for this long is taken to have stopped and goes back to the queue.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the worker writes a running job's progress (and renews its lease).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the retention job looks for files past <see cref="KeepFor"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A job tried this many times (its worker stopped each time) fails instead of going back to the queue.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    public string FileDirectory => string.IsNullOrWhiteSpace(Directory) ? Path.Combine(Path.GetTempPath(), "workorders-exports") : Directory;
}

public enum ExportState
{
    Queued,
    Running,
    Ready,
    Failed,
    Expired,
    Cancelled,
}

/// <summary>
/// An export job as its owner sees it. <see cref="QueuePosition"/> is 1 for the next to start while it waits;
/// <see cref="RowsWritten"/> of <see cref="RowsTotal"/> is the progress while it runs.
/// </summary>
public sealed record ExportJob(
    long Id,
    long OwnerId,
    string Kind,
    string Format,
    string Title,
    string FileName,
    ExportState State,
    long RowsTotal,
    long RowsWritten,
    int? QueuePosition,
    string? Error,
    long? FileBytes,
    DateTime CreatedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    DateTime? ExpiresAt,
    string? ErrorCode = null)
{
    public string StatusPath => $"/api/v1/exports/{Id}";

    public string DownloadPath => $"/api/v1/exports/{Id}/file";

    /// <summary>Why a failed job failed, to show in the reader's language; null unless it failed.</summary>
    public Refusal? Reason() => ExportJobs.ReasonOf(ErrorCode, Error);
}

/// <summary>An export job in the administrator's list of everyone's jobs: its owner by name.</summary>
public sealed record ExportJobEntry(
    long Id,
    long OwnerId,
    string OwnerName,
    string Format,
    string Title,
    ExportState State,
    long RowsTotal,
    long RowsWritten,
    long? FileBytes,
    string? Error,
    string? ErrorCode,
    DateTime CreatedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt)
{
    public Refusal? Reason() => ExportJobs.ReasonOf(ErrorCode, Error);
}

public sealed record ExportJobEntries(IReadOnlyList<ExportJobEntry> Items, long Total);

/// <summary>What to export: <see cref="Parameters"/> is the request as JSON, read by the feature that writes the file.</summary>
public sealed record ExportJobRequest(string Kind, string Format, string Parameters, string Title, string FileName, long RowsTotal);

/// <summary>A job a worker has claimed, with what it needs to write the file.</summary>
public sealed record ClaimedExport(long Id, long OwnerId, string Kind, string Format, string Parameters, string Title, string FileName, long RowsTotal, int Slot);

/// <summary>A ready file that its reader may download.</summary>
public sealed record ExportFile(string Path, string FileName, string Format);

/// <summary>
/// The export jobs in PostgreSQL: started by a user, claimed by workers under a fair share (at most
/// <see cref="ExportOptions.MaxRunning"/> at once across the app, one per user; unique indexes hold both under any number
/// of instances), finished with a notification in the same transaction, downloaded by their owner or an administrator,
/// and expired after <see cref="ExportOptions.KeepFor"/>.
/// </summary>
public sealed class ExportJobs(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<ExportOptions> options)
{
    public const string ReadyKind = "export_ready";
    public const string FailedKind = "export_failed";
    public const string CancelledKind = "export_cancelled";

    private const string Columns = """
        j.id, j.owner_id, j.kind, j.format, j.title, j.file_name, j.state, j.rows_total, j.rows_written,
        CASE WHEN j.state = 'queued' THEN (SELECT count(*)::int FROM export_jobs q WHERE q.state = 'queued' AND q.id <= j.id) END AS queue_position,
        j.error, j.file_bytes, j.created_at, j.started_at, j.finished_at, j.expires_at, j.error_code
        """;

    private const string Insert = $"""
        WITH j AS (
            INSERT INTO export_jobs (owner_id, kind, format, parameters, title, file_name, rows_total, created_at)
            VALUES (@owner, @kind, @format, @parameters::jsonb, @title, @fileName, @rowsTotal, @now)
            RETURNING *)
        SELECT j.id, j.owner_id, j.kind, j.format, j.title, j.file_name, j.state, j.rows_total, j.rows_written,
               (SELECT count(*)::int + 1 FROM export_jobs q WHERE q.state = 'queued') AS queue_position,
               j.error, j.file_bytes, j.created_at, j.started_at, j.finished_at, j.expires_at, j.error_code
        FROM j
        """;

    private const string One = $"SELECT {Columns} FROM export_jobs j WHERE j.id = @id";

    private const string Mine = $"SELECT {Columns} FROM export_jobs j WHERE j.owner_id = @owner ORDER BY j.id DESC LIMIT @take";

    // A worker that stopped renewing its lease left its job: back to the queue, or failed after too many tries. The row
    // lock makes a second worker doing the same at the same moment find the job no longer running, so only the first
    // gets it back (and tells the owner of a failed one).
    private const string Requeue = """
        UPDATE export_jobs
        SET state = CASE WHEN attempts >= @maxAttempts THEN 'failed' ELSE 'queued' END,
            error = CASE WHEN attempts >= @maxAttempts THEN @stopped END,
            error_code = CASE WHEN attempts >= @maxAttempts THEN @stoppedCode END,
            finished_at = CASE WHEN attempts >= @maxAttempts THEN @now END,
            expires_at = CASE WHEN attempts >= @maxAttempts THEN @expires END,
            slot = NULL, worker = NULL, lease_until = NULL
        WHERE state = 'running' AND lease_until < @now
        RETURNING id, owner_id, title, state = 'failed' AS failed
        """;

    // The oldest queued job whose owner has none running, into the lowest free slot. Two workers may pick the same slot
    // or two jobs of one owner at the same moment; the unique indexes let only one of them commit.
    private const string Claim = """
        WITH free AS (
            SELECT s FROM generate_series(1, @slots) s
            WHERE s NOT IN (SELECT slot FROM export_jobs WHERE state = 'running')
            ORDER BY s
            LIMIT 1),
        next AS (
            SELECT j.id FROM export_jobs j
            WHERE j.state = 'queued' AND EXISTS (SELECT 1 FROM free)
              AND NOT EXISTS (SELECT 1 FROM export_jobs r WHERE r.state = 'running' AND r.owner_id = j.owner_id)
            ORDER BY j.id
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
        UPDATE export_jobs j
        SET state = 'running', slot = (SELECT s FROM free), worker = @worker, lease_until = @lease, started_at = @now,
            attempts = j.attempts + 1, rows_written = 0
        FROM next
        WHERE j.id = next.id
        RETURNING j.id, j.owner_id, j.kind, j.format, j.parameters::text AS parameters, j.title, j.file_name, j.rows_total, j.slot
        """;

    private const string Progress = """
        UPDATE export_jobs SET rows_written = @rows, lease_until = @lease
        WHERE id = @id AND state = 'running' AND worker = @worker
        """;

    private const string Complete = """
        UPDATE export_jobs
        SET state = 'ready', rows_written = @rows, file_path = @path, file_bytes = @bytes, finished_at = @now, expires_at = @expires,
            slot = NULL, worker = NULL, lease_until = NULL
        WHERE id = @id AND state = 'running' AND worker = @worker
        RETURNING owner_id
        """;

    private const string Fail = """
        UPDATE export_jobs
        SET state = 'failed', error = left(@error, 1000), error_code = @errorCode, finished_at = @now, expires_at = @now, slot = NULL, worker = NULL, lease_until = NULL
        WHERE id = @id AND state = 'running' AND worker = @worker
        RETURNING owner_id
        """;

    private const string Release = """
        UPDATE export_jobs SET state = 'queued', rows_written = 0, slot = NULL, worker = NULL, lease_until = NULL
        WHERE id = @id AND state = 'running' AND worker = @worker
        """;

    private const string Expiring = """
        SELECT id, file_path FROM export_jobs
        WHERE state IN ('ready', 'failed') AND expires_at <= @now
        ORDER BY expires_at
        LIMIT 500
        FOR UPDATE SKIP LOCKED
        """;

    private const string Expire = "UPDATE export_jobs SET state = 'expired', file_path = NULL WHERE id = ANY(@ids)";

    private const string Notify = """
        INSERT INTO notifications (user_id, kind, text, link, created_at, code, args)
        VALUES (@owner, @kind, left(@text, 1000), @link, @now, @code, @args)
        """;

    // Cancelling a running job frees its slot at once; its worker's next report finds the job gone and stops.
    private const string Cancel = """
        UPDATE export_jobs
        SET state = 'cancelled', cancelled_by = @by, finished_at = @now, slot = NULL, worker = NULL, lease_until = NULL
        WHERE id = @id AND state IN ('queued', 'running')
        RETURNING owner_id
        """;

    private const string AllCount = "SELECT count(*) FROM export_jobs j WHERE @state::text IS NULL OR j.state = @state";

    private const string All = """
        SELECT j.id, j.owner_id, u.display_name AS owner_name, j.format, j.title, j.state, j.rows_total, j.rows_written, j.file_bytes,
               j.error, j.error_code, j.created_at, j.started_at, j.finished_at
        FROM export_jobs j JOIN users u ON u.id = j.owner_id
        WHERE @state::text IS NULL OR j.state = @state
        ORDER BY j.id DESC
        LIMIT @take OFFSET @skip
        """;

    /// <summary>The refusal code of a job that stopped each time it was tried.</summary>
    public const string StoppedCode = "export.reason.stopped";

    /// <summary>The refusal code of a job whose file could not be written; its detail is the error.</summary>
    public const string ErrorCode = "export.reason.error";

    /// <summary>Why a job failed, from its stored code and detail (jobs failed before codes were kept have only the detail).</summary>
    public static Refusal? ReasonOf(string? code, string? error) =>
        code is not null ? new Refusal(code, error) : error is not null ? new Refusal(ErrorCode, error) : null;

    public ExportOptions Options => options.Value;

    /// <summary>Queues an export for the actor; the answer says where it stands in the queue.</summary>
    public async Task<ExportJob> StartAsync(Actor actor, ExportJobRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<ExportJob>(new CommandDefinition(
            Insert,
            new
            {
                owner = actor.UserId, kind = request.Kind, format = request.Format, parameters = request.Parameters, title = request.Title,
                fileName = request.FileName, rowsTotal = request.RowsTotal, now = Now,
            },
            cancellationToken: cancellationToken));
    }

    private const string InsertKeyed = $"""
        WITH j AS (
            INSERT INTO export_jobs (owner_id, kind, format, parameters, title, file_name, rows_total, created_at, idempotency_key, request_hash)
            VALUES (@owner, @kind, @format, @parameters::jsonb, @title, @fileName, @rowsTotal, @now, @key, @hash)
            ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING *)
        SELECT j.id, j.owner_id, j.kind, j.format, j.title, j.file_name, j.state, j.rows_total, j.rows_written,
               (SELECT count(*)::int + 1 FROM export_jobs q WHERE q.state = 'queued') AS queue_position,
               j.error, j.file_bytes, j.created_at, j.started_at, j.finished_at, j.expires_at, j.error_code
        FROM j
        """;

    private const string FindKey = "SELECT id, request_hash FROM export_jobs WHERE owner_id = @owner AND idempotency_key = @key";

    /// <summary>
    /// Queues an export once per <paramref name="idempotencyKey"/> of the actor: a retry of the same request gets the job
    /// the first one made (however often and however concurrently it is sent); a different request under a used key is
    /// refused. Without a key, as <see cref="StartAsync(Actor, ExportJobRequest, CancellationToken)"/>.
    /// </summary>
    public async Task<Outcome<ExportJob>> StartAsync(Actor actor, ExportJobRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is null)
        {
            return await StartAsync(actor, request, cancellationToken);
        }

        if (idempotencyKey.Length is 0 or > WorkOrders.CreateWorkOrder.MaxIdempotencyKeyLength)
        {
            return Failure.Invalid("Idempotency-Key", "idempotency_key.length", WorkOrders.CreateWorkOrder.MaxIdempotencyKeyLength);
        }

        // The row count is left out: it is read anew for each request and may have moved between a request and its retry.
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{request.Kind}\n{request.Format}\n{request.Parameters}"));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var started = await connection.QuerySingleOrDefaultAsync<ExportJob>(new CommandDefinition(
            InsertKeyed,
            new
            {
                owner = actor.UserId, kind = request.Kind, format = request.Format, parameters = request.Parameters, title = request.Title,
                fileName = request.FileName, rowsTotal = request.RowsTotal, now = Now, key = idempotencyKey, hash,
            },
            cancellationToken: cancellationToken));
        if (started is not null)
        {
            return started;
        }

        var earlier = await connection.QuerySingleAsync<(long Id, byte[] Hash)>(new CommandDefinition(
            FindKey, new { owner = actor.UserId, key = idempotencyKey }, cancellationToken: cancellationToken));
        return earlier.Hash.AsSpan().SequenceEqual(hash) ? await GetAsync(actor, earlier.Id, cancellationToken) : Failure.Invalid("Idempotency-Key", "idempotency_key.reused");
    }

    /// <summary>One job, for its owner or an administrator.</summary>
    public async Task<Outcome<ExportJob>> GetAsync(Actor actor, long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var job = await connection.QuerySingleOrDefaultAsync<ExportJob>(new CommandDefinition(One, new { id }, cancellationToken: cancellationToken));
        if (job is null)
        {
            return Failure.NotFound("export.not_found", id);
        }

        return job.OwnerId == actor.UserId || actor.Role == Role.Admin ? job : Failure.Forbidden("export.not_yours");
    }

    /// <summary>The actor's own exports, newest first.</summary>
    public async Task<IReadOnlyList<ExportJob>> MineAsync(Actor actor, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<ExportJob>(new CommandDefinition(
            Mine, new { owner = actor.UserId, take = Math.Clamp(take, 1, 200) }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>The file of a ready job, for its owner or an administrator; a job not ready (or expired) is a conflict.</summary>
    public async Task<Outcome<ExportFile>> FileAsync(Actor actor, long id, CancellationToken cancellationToken)
    {
        var job = await GetAsync(actor, id, cancellationToken);
        if (job.Failure is { } failure)
        {
            return failure;
        }

        if (job.Value!.State != ExportState.Ready)
        {
            return Failure.Conflict("export.not_ready", WireNames.Of(job.Value.State));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var path = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT file_path FROM export_jobs WHERE id = @id AND state = 'ready'", new { id }, cancellationToken: cancellationToken));
        return path is not null && File.Exists(path)
            ? new ExportFile(path, job.Value.FileName, job.Value.Format)
            : Failure.Conflict("export.not_ready", WireNames.Of(ExportState.Expired));
    }

    /// <summary>
    /// Claims the next job this worker may run under the fair share, or null when none may start now (none queued, every
    /// slot taken, or another worker claimed at the same moment: it tries again at its next look).
    /// </summary>
    public async Task<ClaimedExport?> ClaimAsync(string worker, CancellationToken cancellationToken)
    {
        var now = Now;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            var left = await connection.QueryAsync<(long Id, long OwnerId, string Title, bool Failed)>(new CommandDefinition(
                Requeue,
                new
                {
                    now, maxAttempts = Options.MaxAttempts, expires = now + Options.KeepFor, stoppedCode = StoppedCode,
                    stopped = new Refusal(StoppedCode).ToString(),
                },
                transaction,
                cancellationToken: cancellationToken));
            foreach (var (_, owner, title, _) in left.Where(l => l.Failed))
            {
                await NotifyFailedAsync(connection, transaction, owner, title, new Refusal(StoppedCode), now, cancellationToken);
            }

            var claimed = await connection.QuerySingleOrDefaultAsync<ClaimedExport>(new CommandDefinition(
                Claim, new { slots = Options.MaxRunning, worker, lease = now + Options.Lease, now }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return claimed;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected)
        {
            return null;
        }
    }

    /// <summary>Records the rows written so far and renews the lease; false when the job is no longer this worker's.</summary>
    public async Task<bool> ReportAsync(long id, string worker, long rows, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            Progress, new { id, worker, rows, lease = Now + Options.Lease }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>
    /// Marks the job ready with its file and tells its owner, in one transaction; false (and nothing changed) when the job
    /// is no longer this worker's, so the caller deletes the file.
    /// </summary>
    public async Task<bool> CompleteAsync(long id, string worker, string path, long rows, string title, CancellationToken cancellationToken)
    {
        var now = Now;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var owner = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            Complete,
            new { id, worker, path, bytes = new FileInfo(path).Length, rows, now, expires = now + Options.KeepFor },
            transaction,
            cancellationToken: cancellationToken));
        if (owner is null)
        {
            return false;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            Notify,
            new { owner, kind = ReadyKind, text = $"Your export is ready: {title} ({rows:N0} rows).", link = $"/api/v1/exports/{id}/file", now, code = (string?)null, args = (string[]?)null },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Marks the job failed and tells its owner why.</summary>
    public async Task FailAsync(long id, string worker, string error, string title, CancellationToken cancellationToken)
    {
        var now = Now;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var owner = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            Fail, new { id, worker, error, errorCode = ErrorCode, now }, transaction, cancellationToken: cancellationToken));
        if (owner is { } found)
        {
            await NotifyFailedAsync(connection, transaction, found, title, new Refusal(ErrorCode, error), now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Cancels a job that waits or runs, for its owner or an administrator; a running job's worker stops at its next
    /// report and deletes what it wrote. An administrator cancelling someone else's job tells its owner.
    /// </summary>
    public async Task<Outcome<ExportJob>> CancelAsync(Actor actor, long id, CancellationToken cancellationToken)
    {
        var job = await GetAsync(actor, id, cancellationToken);
        if (job.Failure is not null)
        {
            return job;
        }

        var now = Now;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var owner = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(Cancel, new { id, by = actor.UserId, now }, transaction, cancellationToken: cancellationToken));
        if (owner is null)
        {
            var state = await connection.ExecuteScalarAsync<string>(new CommandDefinition("SELECT state FROM export_jobs WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
            return Failure.Conflict("export.not_cancellable", state);
        }

        if (owner != actor.UserId)
        {
            var told = new Refusal("export.cancelled_by_admin", job.Value!.Title);
            await connection.ExecuteAsync(new CommandDefinition(
                Notify,
                new { owner, kind = CancelledKind, text = told.ToString(), link = "/exports", now, code = told.Code, args = Args(told) },
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return (await GetAsync(actor, id, cancellationToken)).Value!;
    }

    /// <summary>Everyone's export jobs, newest first, in one state or all; administrators only.</summary>
    public async Task<Outcome<ExportJobEntries>> AllAsync(Actor actor, ExportState? state, int skip, int take, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("export.admins_only");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var wire = state is { } s ? WireNames.Of(s) : null;
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition(AllCount, new { state = wire }, cancellationToken: cancellationToken));
        var items = await connection.QueryAsync<ExportJobEntry>(new CommandDefinition(
            All, new { state = wire, skip = Math.Max(skip, 0), take = Math.Clamp(take, 1, 200) }, cancellationToken: cancellationToken));
        return new ExportJobEntries(items.AsList(), total);
    }

    /// <summary>Tells the owner of a failed job why, in the transaction that failed it (so once, whoever failed it).</summary>
    private static Task NotifyFailedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long owner, string title, Refusal reason, DateTime now, CancellationToken cancellationToken)
    {
        var told = reason.Code == StoppedCode
            ? new Refusal("export.failed_stopped", title)
            : new Refusal("export.failed_error", title, reason.Args.FirstOrDefault());
        return connection.ExecuteAsync(new CommandDefinition(
            Notify,
            new { owner, kind = FailedKind, text = told.ToString(), link = "/exports", now, code = told.Code, args = Args(told) },
            transaction,
            cancellationToken: cancellationToken));
    }

    private static string?[] Args(Refusal refusal) => [.. refusal.Args.Select(a => a?.ToString())];

    /// <summary>Puts a job this worker will not finish (its app is stopping) back at its place in the queue for another worker.</summary>
    public async Task ReleaseAsync(long id, string worker, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(Release, new { id, worker }, cancellationToken: cancellationToken));
    }

    /// <summary>Deletes the files of jobs past their keeping time and marks the jobs expired; returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = (await connection.QueryAsync<(long Id, string? FilePath)>(new CommandDefinition(
            Expiring, new { now = Now }, transaction, cancellationToken: cancellationToken))).AsList();
        if (due.Count == 0)
        {
            return 0;
        }

        foreach (var (_, path) in due)
        {
            // Deleted before the rows say so: a crash in between leaves a row that the next run expires again, never a file no row names.
            if (path is not null)
            {
                File.Delete(path);
            }
        }

        await connection.ExecuteAsync(new CommandDefinition(Expire, new { ids = due.Select(d => d.Id).ToArray() }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return due.Count;
    }

    private DateTime Now => clock.GetUtcNow().UtcDateTime;
}
