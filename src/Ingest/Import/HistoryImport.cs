using System.Diagnostics;
using System.Threading.Channels;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace WorkOrders.Ingest.Import;

/// <summary>How far the import is: rows read of the total, and what became of them.</summary>
public sealed record ImportProgress(long Read, long Total, long Loaded, long Rejected, long Skipped);

public sealed record ImportResult(
    long Read,
    long Loaded,
    long Rejected,
    long Skipped,
    long Events,
    bool TemplateCreated,
    int DepartmentsCreated,
    int SitesCreated,
    int UsersCreated,
    string? RejectsPath,
    TimeSpan Duration,
    int AssetsCreated = 0,
    bool IndexesRebuilt = false);

/// <summary>
/// Imports another system's ticket history: reads the file, checks each row by the mapping and the live rules, sends bad rows
/// to the reject file and writes the rest as work orders with source 'import' and their lifecycle history, in batches that
/// are each whole or absent. Rows whose external id was imported before are skipped, so a run can be repeated or resumed.
/// A large import (<see cref="IndexUpkeep"/>) is instead one transaction that drops the tables' secondary indexes and
/// builds them again at its end: whole or absent as a whole, the tables locked against everyone else meanwhile.
/// </summary>
public sealed partial class HistoryImport(NpgsqlDataSource dataSource, ILogger<HistoryImport> logger)
{
    public const int BatchSize = 5_000;

    private const long LockKey = 0x574f_494d_5054; // "WOIMPT": one import at a time, so batches never race on external ids.

    public async Task<ImportResult> RunAsync(
        string file, ImportMapping mapping, string rejectsPath, IProgress<ImportProgress>? progress, CancellationToken cancellationToken,
        ImportTimings? timings = null, IndexUpkeep indexes = IndexUpkeep.Auto)
    {
        timings ??= new ImportTimings();
        var stopwatch = Stopwatch.StartNew();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_lock(@LockKey)", new { LockKey }, cancellationToken: cancellationToken)))
        {
            throw new MappingException("another import is running against this database; wait for it to finish");
        }

        // A full batch is written while the next one is read and checked; at most one batch is being written.
        var writing = Task.CompletedTask;
        NpgsqlTransaction? whole = null;
        try
        {
            var references = await ImportReferences.PrepareAsync(dataSource, mapping, cancellationToken);
            using var source = SourceFile.Open(file, mapping);
            var rules = new RowRules(mapping, source.Columns, references.Template, references.Templates);
            var total = source.CountRows();

            // Decided at the first batch with anything new, by the rows left from there: a re-run that finds everything
            // in already never locks the tables.
            ImportIndexes? rebuilt = null;
            async Task<NpgsqlTransaction?> BeginWholeAsync(long rowsLeft, CancellationToken token)
            {
                var (tableRows, owner) = await ImportIndexes.TableAsync(connection, token);
                if (!ImportIndexes.ShouldRebuild(indexes, rowsLeft, tableRows, owner))
                {
                    return null;
                }

                var dropping = Stopwatch.GetTimestamp();
                whole = await connection.BeginTransactionAsync(token);
                rebuilt = await ImportIndexes.DropAsync(connection, whole, token);
                timings.Add(ImportPhase.Indexes, dropping);
                LogRebuilding(rowsLeft, tableRows, string.Join(", ", rebuilt.Dropped));
                return whole;
            }

            var writer = new ImportWriter(connection, references, timings, BeginWholeAsync);
            await using var rejects = new RejectFile(rejectsPath);
            long read = 0, loaded = 0, rejected = 0, skipped = 0, events = 0;
            var seen = new Dictionary<string, long>(StringComparer.Ordinal);
            var batch = new List<ImportedTicket>(BatchSize);
            void Report() => progress?.Report(new ImportProgress(read, total, loaded, rejected, skipped));

            async Task WriteBatchAsync(List<ImportedTicket> full, long rowsLeft)
            {
                var result = await writer.WriteAsync(full, rowsLeft, cancellationToken);
                loaded += result.Loaded;
                skipped += result.Skipped;
                events += result.Events;
                Report();
            }

            async Task FlushAsync()
            {
                var waited = Stopwatch.GetTimestamp();
                await writing;
                timings.Add(ImportPhase.WaitForWriter, waited);
                writing = WriteBatchAsync(batch, total - read + batch.Count);
                batch = new List<ImportedTicket>(BatchSize);
            }

            Report();
            // One thread reads and groups the rows; chunks of them are checked on the thread pool, as many at once as there
            // are cores, and their verdicts taken here in the file's order, so numbers, duplicates and rejects come out as
            // if one thread had done it all.
            var checks = Channel.CreateBounded<Task<(List<SourceRow>[] Tickets, RowVerdict[] Verdicts)>>(
                new BoundedChannelOptions(Environment.ProcessorCount + 1) { SingleReader = true, SingleWriter = true });
            using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var reading = Task.Factory.StartNew(
                () => ReadAsync(source, file, rules, mapping.EventLog is not null, checks.Writer, timings, stopReading.Token),
                stopReading.Token,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap();
            try
            {
                await foreach (var pending in checks.Reader.ReadAllAsync(cancellationToken))
                {
                    var (chunk, verdicts) = await pending;
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        var rows = chunk[i];
                        var row = rows[^1];
                        var verdict = verdicts[i];
                        read += rows.Count;
                        if (verdict.Ticket is { } ticket && seen.TryGetValue(ticket.Reference, out var first))
                        {
                            verdict = verdict with { Ticket = null, Problems = [new RowProblem("reference", $"external id '{verdict.ExternalId}' is also on row {first}; only that row is imported.")] };
                        }

                        if (verdict.Ticket is null)
                        {
                            var started = Stopwatch.GetTimestamp();
                            rejected++;
                            await rejects.WriteAsync(verdict, cancellationToken);
                            timings.Add(ImportPhase.Rejects, started);
                        }
                        else
                        {
                            seen[verdict.Ticket.Reference] = row.Number;
                            batch.Add(verdict.Ticket);
                            if (batch.Count == BatchSize)
                            {
                                await FlushAsync();
                            }
                        }

                        if (read % 1_000 < rows.Count)
                        {
                            Report();
                        }
                    }
                }
            }
            finally
            {
                // A failure here stops the reader; the reader's own failure is thrown by awaiting it.
                await stopReading.CancelAsync();
                await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await reading;

            if (batch.Count > 0)
            {
                await FlushAsync();
            }

            await writing;

            if (whole is not null)
            {
                await writer.FinishAsync(cancellationToken);
                var building = Stopwatch.GetTimestamp();
                await rebuilt!.RecreateAsync(connection, whole, cancellationToken);
                timings.Add(ImportPhase.Indexes, building);
                var committing = Stopwatch.GetTimestamp();
                await whole.CommitAsync(cancellationToken);
                timings.Add(ImportPhase.Commit, committing);
            }

            Report();
            var summary = new ImportResult(
                read, loaded, rejected, skipped, events, references.TemplateCreated, references.DepartmentsCreated, references.SitesCreated,
                references.UsersCreated, rejects.Written ? rejects.Path : null, stopwatch.Elapsed, references.AssetsCreated, whole is not null);
            LogImported(file, read, loaded, rejected, skipped, stopwatch.Elapsed.TotalSeconds);
            return summary;
        }
        finally
        {
            // The connection is free again only when the batch being written is done; a whole-import transaction not
            // committed by now is rolled back, and its dropped indexes with it.
            await writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (whole is not null)
            {
                await whole.DisposeAsync();
            }

            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@LockKey)", new { LockKey }, cancellationToken: CancellationToken.None));
        }
    }

    private const int CheckChunk = 1_000;

    /// <summary>
    /// Reads the tickets in chunks and hands each on as the task that checks it, in order; completes the channel at the
    /// end, or with the error that stopped it.
    /// </summary>
    private static async Task ReadAsync(
        SourceFile source,
        string file,
        RowRules rules,
        bool eventLog,
        ChannelWriter<Task<(List<SourceRow>[] Tickets, RowVerdict[] Verdicts)>> checks,
        ImportTimings timings,
        CancellationToken cancellationToken)
    {
        try
        {
            var chunk = new List<List<SourceRow>>(CheckChunk);
            var started = Stopwatch.GetTimestamp();
            foreach (var ticket in Tickets(Rows(source, file, cancellationToken), rules, eventLog))
            {
                chunk.Add(ticket);
                if (chunk.Count == CheckChunk)
                {
                    timings.Add(ImportPhase.Read, started);
                    await checks.WriteAsync(Check([.. chunk], rules, eventLog, timings), cancellationToken);
                    chunk.Clear();
                    started = Stopwatch.GetTimestamp();
                }
            }

            timings.Add(ImportPhase.Read, started);
            if (chunk.Count > 0)
            {
                await checks.WriteAsync(Check([.. chunk], rules, eventLog, timings), cancellationToken);
            }

            checks.Complete();
        }
        catch (Exception e)
        {
            checks.Complete(e);
            throw;
        }
    }

    /// <summary>The verdicts on a chunk of tickets, worked out on the thread pool (the rules hold no state between rows).</summary>
    private static Task<(List<SourceRow>[] Tickets, RowVerdict[] Verdicts)> Check(List<SourceRow>[] tickets, RowRules rules, bool eventLog, ImportTimings timings) =>
        Task.Run(() =>
        {
            var started = Stopwatch.GetTimestamp();
            var verdicts = new RowVerdict[tickets.Length];
            for (var i = 0; i < tickets.Length; i++)
            {
                verdicts[i] = eventLog ? rules.Decide(tickets[i]) : rules.Decide(tickets[i][^1]);
            }

            timings.Add(ImportPhase.Check, started);
            return (tickets, verdicts);
        });

    /// <summary>
    /// The rows of each ticket: one row each, or for an event log the run of rows with one external id (the file is read
    /// in that order). A row without an external id stands alone, to be rejected for it.
    /// </summary>
    private static IEnumerable<List<SourceRow>> Tickets(IEnumerable<SourceRow> rows, RowRules rules, bool eventLog)
    {
        var ticket = new List<SourceRow>();
        string? id = null;
        foreach (var row in rows)
        {
            var rowId = eventLog ? rules.ExternalIdOf(row) : null;
            if (ticket.Count > 0 && (!eventLog || rowId is null || rowId != id))
            {
                yield return ticket;
                ticket = [];
            }

            ticket.Add(row);
            id = rowId;
        }

        if (ticket.Count > 0)
        {
            yield return ticket;
        }
    }

    /// <summary>The rows, with DuckDB's own errors (a broken CSV) told as a problem of the file.</summary>
    private static IEnumerable<SourceRow> Rows(SourceFile source, string file, CancellationToken cancellationToken)
    {
        using var rows = source.Rows(cancellationToken).GetEnumerator();
        while (true)
        {
            try
            {
                if (!rows.MoveNext())
                {
                    yield break;
                }
            }
            catch (DuckDBException e)
            {
                throw new MappingException($"{file} cannot be read: {e.Message}");
            }

            yield return rows.Current;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Importing {Rows} rows into a table of about {TableRows} work orders in one transaction; dropped {Indexes} until its end")]
    private partial void LogRebuilding(long rows, long tableRows, string indexes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported {File}: {Read} rows read, {Loaded} loaded, {Rejected} rejected, {Skipped} skipped as imported before, in {Seconds:F1} s")]
    private partial void LogImported(string file, long read, long loaded, long rejected, long skipped, double seconds);
}
