using System.Diagnostics;

namespace WorkOrders.Ingest.Import;

/// <summary>The phases of an import that <see cref="ImportTimings"/> times.</summary>
public enum ImportPhase
{
    /// <summary>DuckDB scanning, sorting and handing over the rows.</summary>
    Read,

    /// <summary>Mapping and checking rows (the live create's rules), on every checking thread together.</summary>
    Check,

    /// <summary>Writing rejected rows to the reject file.</summary>
    Rejects,

    /// <summary>The reader waiting for the writer to take a batch.</summary>
    WaitForWriter,

    /// <summary>Asking which external ids of a batch are in already.</summary>
    Dedup,

    /// <summary>Reserving id and number blocks.</summary>
    Reserve,

    /// <summary>Resolving departments, sites, assets and assignees to ids (creating the missing ones).</summary>
    Resolve,

    /// <summary>Binary COPY of the work orders, with their index maintenance.</summary>
    CopyWorkOrders,

    /// <summary>Binary COPY of the history events, with their index maintenance.</summary>
    CopyEvents,

    /// <summary>The bulk foreign-key checks and the triggers' effects (superuser path only).</summary>
    BulkChecks,

    /// <summary>Committing each batch (or the whole import's one transaction).</summary>
    Commit,

    /// <summary>Dropping the secondary indexes at the start of a large import and building them at its end.</summary>
    Indexes,
}

/// <summary>
/// Where an import's time went, phase by phase. Reading and checking run beside the writer, so the phases add up to more
/// than the wall-clock time; thread-safe.
/// </summary>
public sealed class ImportTimings
{
    private readonly long[] _ticks = new long[Enum.GetValues<ImportPhase>().Length];

    /// <summary>Adds the time since <paramref name="started"/> (a <see cref="Stopwatch.GetTimestamp"/>) to the phase; returns now.</summary>
    public long Add(ImportPhase phase, long started)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _ticks[(int)phase], now - started);
        return now;
    }

    public TimeSpan this[ImportPhase phase] => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks[(int)phase]));
}
