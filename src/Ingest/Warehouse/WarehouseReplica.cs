using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Ingest.Warehouse;

/// <summary>What a reader process serves: the replica file, when it was taken, the owner's tag and the latest ingest run in it.</summary>
public sealed record WarehouseReplicaState(string File, DateTime TakenAt, string? Tag, long RunId, DateTime RunFinishedAt, long Bytes);

/// <summary>The owner cannot hand over a snapshot usable here: not reachable, refused, none yet, or of another schema version.</summary>
public sealed class WarehouseReplicaException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A reader process's copy of the owner's warehouse (Warehouse:Role = reader). Each refresh asks the owner for its latest
/// published snapshot (over HTTP with the tag of the one held, so an unchanged snapshot costs one 304; or from a shared
/// folder), writes it to a new file of its own beside Warehouse:Path (<c>warehouse.replica-N.duckdb</c>), checks it, and
/// points the <see cref="WarehouseReader"/> at it. A question already running finishes on the file it opened; the
/// next opens the new one. One connection stays open on the file served, so DuckDB keeps it open with its cache
/// between questions. Refreshes run one at a time (the ingest's job runner calls them).
/// </summary>
public sealed partial class WarehouseReplica(
    WarehouseReader reader,
    IOptions<WarehouseOptions> options,
    IHttpClientFactory http,
    TimeProvider clock,
    ILogger<WarehouseReplica> logger) : IDisposable
{
    /// <summary>The name of the HTTP client the replica asks the owner with.</summary>
    public const string HttpClientName = "warehouse-replica";

    public const string TokenHeader = "X-Warehouse-Token";

    private DuckDBConnection? _held;
    private bool _resumed;
    private volatile WarehouseReplicaState? _state;

    public WarehouseReplicaState? State => _state;

    /// <summary>Takes the owner's snapshot if it changed since the last one taken; returns whether a new one is served.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var folder = Path.GetDirectoryName(Path.GetFullPath(settings.Path))!;
        Directory.CreateDirectory(folder);
        if (!_resumed)
        {
            _resumed = true;
            ResumeLatest(folder);
        }

        var current = _state;
        var next = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(settings.Path)}.replica-{Generation(current?.File) + 1}.duckdb");
        var part = next + ".part";
        File.Delete(part);
        try
        {
            var tag = IsHttp(settings.Source!, out var owner)
                ? await DownloadAsync(owner, settings.SnapshotToken, current?.Tag, part, cancellationToken)
                : await CopyAsync(settings.Source!, current?.Tag, part, cancellationToken);
            if (tag is null)
            {
                return false;
            }

            File.Move(part, next);
            Serve(next, tag);
            LogTaken(logger, next, _state!.RunId, _state.Bytes);
            return true;
        }
        finally
        {
            File.Delete(part);
        }
    }

    private static bool IsHttp(string source, out Uri owner) =>
        Uri.TryCreate(source, UriKind.Absolute, out owner!) && owner.Scheme is "http" or "https";

    private async Task<string?> DownloadAsync(Uri owner, string? token, string? held, string part, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(owner, "/api/v1/warehouse/snapshot"));
        if (token is not null)
        {
            request.Headers.Add(TokenHeader, token);
        }

        if (held is not null)
        {
            request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(held));
        }

        using var client = http.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new WarehouseReplicaException($"The warehouse owner at {owner} cannot be reached: {e.Message}", e);
        }

        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.NotModified:
                    return null;
                case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                    throw new WarehouseReplicaException(
                        $"The warehouse owner at {owner} refused the snapshot ({(int)response.StatusCode}): set the same {WarehouseOptions.Section}:{nameof(WarehouseOptions.SnapshotToken)} on both.");
                case not HttpStatusCode.OK:
                    throw new WarehouseReplicaException($"The warehouse owner at {owner} answered {(int)response.StatusCode} for its snapshot.");
            }

            await using (var file = new FileStream(part, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await response.Content.CopyToAsync(file, cancellationToken);
            }

            return response.Headers.ETag?.ToString() ?? throw new WarehouseReplicaException($"The warehouse owner at {owner} sent its snapshot without an ETag.");
        }
    }

    private static async Task<string?> CopyAsync(string source, string? held, string part, CancellationToken cancellationToken)
    {
        // The owner renames each new snapshot over the last, so the file opened here stays whole while it is copied.
        FileStream snapshot;
        try
        {
            snapshot = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException e)
        {
            throw new WarehouseReplicaException($"No warehouse snapshot at {source} yet: the owner publishes it after each ingest.", e);
        }

        await using (snapshot)
        {
            var tag = Tag(snapshot);
            if (tag == held)
            {
                return null;
            }

            await using var file = new FileStream(part, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await snapshot.CopyToAsync(file, cancellationToken);
            return tag;
        }
    }

    /// <summary>The tag of a snapshot file: its time of writing and its length, read from the open file, as a strong ETag.</summary>
    public static string Tag(FileStream snapshot) => string.Create(
        CultureInfo.InvariantCulture, $"\"{File.GetLastWriteTimeUtc(snapshot.SafeFileHandle).Ticks:x}-{snapshot.Length:x}\"");

    /// <summary>Checks the file and serves it: a warehouse of this build's schema version that holds an ingest run.</summary>
    private void Serve(string file, string? tag)
    {
        DuckDBConnection? held = new($"Data Source={file}");
        try
        {
            held.Open();
            using var command = held.CreateCommand();
            command.CommandText = "SELECT value FROM warehouse_info WHERE key = 'schema_version'";
            string? version;
            try
            {
                version = command.ExecuteScalar() as string;
            }
            catch (DuckDBException e)
            {
                throw new WarehouseReplicaException($"The warehouse snapshot taken is not a warehouse: {e.Message}", e);
            }

            if (version != WarehouseSchema.Version.ToString(CultureInfo.InvariantCulture))
            {
                throw new WarehouseReplicaException(
                    $"The owner's warehouse is of schema version {version ?? "none"} and this process reads version {WarehouseSchema.Version}: run the same release on both.");
            }

            command.CommandText = "SELECT run_id, finished_at FROM ingest_run ORDER BY run_id DESC LIMIT 1";
            WarehouseReplicaState state;
            using (var run = command.ExecuteReader())
            {
                if (!run.Read())
                {
                    throw new WarehouseReplicaException("The owner's warehouse holds no ingest yet.");
                }

                state = new WarehouseReplicaState(file, clock.GetUtcNow().UtcDateTime, tag, run.GetInt64(0), run.GetDateTime(1), new FileInfo(file).Length);
            }

            var previous = _state?.File;
            _state = state;
            reader.SwitchTo(file);
            (_held, held) = (held, _held);
            RemoveAllBut(file, previous);
        }
        catch
        {
            held?.Dispose();
            held = null;
            File.Delete(file);
            throw;
        }
        finally
        {
            held?.Dispose();
        }
    }

    /// <summary>After a restart, serves the latest replica left by the last run at once, until the owner's next snapshot.</summary>
    private void ResumeLatest(string folder)
    {
        var latest = Replicas(folder).OrderByDescending(r => r.Generation).Select(r => r.File).FirstOrDefault();
        if (latest is null)
        {
            return;
        }

        try
        {
            Serve(latest, tag: null);
        }
        catch (Exception e) when (e is WarehouseReplicaException or DuckDBException or IOException)
        {
            LogResumeFailed(logger, latest, e);
        }
    }

    /// <summary>
    /// Removes the replicas before the one served before <paramref name="file"/>: that one stays until the next swap, so a
    /// question that chose it just before this swap still finds it (and the reader opens the new one if it is gone).
    /// </summary>
    private void RemoveAllBut(string file, string? previous)
    {
        foreach (var replica in Replicas(Path.GetDirectoryName(file)!).Where(r => r.File != file && r.File != previous))
        {
            try
            {
                File.Delete(replica.File);
                File.Delete(replica.File + ".wal");
            }
            catch (IOException)
            {
                // Still open where an open file cannot be removed; the next refresh tries again.
            }
        }
    }

    private IEnumerable<(string File, long Generation)> Replicas(string folder)
    {
        var prefix = Path.GetFileNameWithoutExtension(options.Value.Path) + ".replica-";
        return Directory.EnumerateFiles(folder, prefix + "*.duckdb")
            .Select(f => (File: f, Generation: Generation(f)))
            .Where(r => r.Generation > 0);
    }

    private static long Generation(string? file) =>
        file is not null && ReplicaNumber().Match(Path.GetFileName(file)) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"\.replica-([0-9]{1,18})\.duckdb$")]
    private static partial Regex ReplicaNumber();

    public void Dispose() => _held?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving the warehouse replica {File} (ingest run {RunId}, {Bytes} bytes)")]
    private static partial void LogTaken(ILogger logger, string file, long runId, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The warehouse replica {File} left by the last run cannot be served; waiting for the owner's snapshot")]
    private static partial void LogResumeFailed(ILogger logger, string file, Exception exception);
}
