using System.Net;
using System.Text.Json;
using Microsoft.JSInterop;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.FieldApp.Localization;
using WorkOrders.FieldApp.Storage;

namespace WorkOrders.FieldApp.Sync;

/// <summary>Where a sync run is: its stage, and how far through it.</summary>
public sealed record SyncProgress(string Stage, int Done, int Total);

/// <summary>
/// Sends the outbox and pulls what changed. Photos go first (chunked, each resumed from the offset the server holds),
/// then the commands in batches of at most 200 in the order they were made, then the changes since the cursor. A
/// command leaves the outbox only with its final answer (applied, refused, conflict); a batch whose answer was lost is
/// sent again as it was, which the server answers from what it stored. Runs when the app opens, when the connection
/// comes back, when the app becomes visible, and on the Sync button; never two at once.
/// </summary>
public sealed class SyncEngine(FieldData data, FieldApi api, LocalStore store, Texts texts)
{
    public const int MaxBatch = 200;
    public const int ChunkBytes = 1024 * 1024;

    private readonly SemaphoreSlim _one = new(1, 1);
    private bool _watching;

    public SyncProgress? Progress { get; private set; }

    public bool Running => Progress is not null;

    /// <summary>Why the last run stopped short (offline, signed out), or null when it went through.</summary>
    public string? LastError { get; private set; }

    public bool Offline { get; private set; }

    /// <summary>Bytes of photos sent by the last run (chunks cut and sent again included).</summary>
    public long PhotoBytesSent { get; private set; }

    public event Action? Changed;

    /// <summary>Starts listening for the moments sync runs (once per app start) and runs now.</summary>
    public async Task StartAsync()
    {
        if (!_watching)
        {
            _watching = true;
            await store.WatchAsync(DotNetObjectReference.Create(this));
        }

        Offline = !await store.OnlineAsync();
        _ = RunAsync();
    }

    [JSInvokable]
    public Task OnWake(string why)
    {
        Offline = why == "offline";
        Changed?.Invoke();
        return why == "offline" ? Task.CompletedTask : RunAsync();
    }

    public async Task RunAsync()
    {
        if (data.Device is null || !await _one.WaitAsync(0))
        {
            return;
        }

        LastError = null;
        PhotoBytesSent = 0;
        try
        {
            await UploadPhotosAsync();
            var applied = await SendCommandsAsync();
            if (data.Pack is not null)
            {
                Report("changes", 0, 1);
                await data.ApplyChangesAsync(await api.ChangesAsync(data.Sync.Cursor, CancellationToken.None));
            }

            await data.SyncedAsync(applied);
            Offline = false;
        }
        catch (HttpRequestException)
        {
            Offline = true;
            LastError = texts["sync_offline"];
        }
        catch (TaskCanceledException)
        {
            LastError = texts["sync_offline"];
        }
        catch (FieldApiException e)
        {
            LastError = e.Status == HttpStatusCode.Unauthorized ? texts["device_refused"] : e.Message;
        }
        catch (Exception e) when (e is JSException or JsonException or InvalidOperationException)
        {
            // Something on the device itself (its storage, a change it cannot read): said, not swallowed; the outbox stays as it was.
            LastError = texts["sync_failed"] + e.Message;
        }
        finally
        {
            Progress = null;
            _one.Release();
            await data.RefreshWaitingAsync();
            Changed?.Invoke();
        }
    }

    private async Task UploadPhotosAsync()
    {
        var photos = (await store.OutboxAsync()).Select(i => i.Photo).OfType<string>().Distinct().ToList();
        for (var i = 0; i < photos.Count; i++)
        {
            Report("photos", i, photos.Count);
            var outcome = await store.UploadPhotoAsync(photos[i], data.Device!.Authorization, ChunkBytes);
            PhotoBytesSent += outcome.Sent;
            if (!outcome.Ok && !outcome.Missing)
            {
                throw outcome.Status == 0
                    ? new HttpRequestException(texts["sync_offline"])
                    : new FieldApiException((HttpStatusCode)outcome.Status, texts["photo_refused"]);
            }
        }
    }

    private async Task<int> SendCommandsAsync()
    {
        var outbox = await store.OutboxAsync();
        var applied = 0;
        for (var start = 0; start < outbox.Count; start += MaxBatch)
        {
            Report("commands", start, outbox.Count);
            var items = outbox.Skip(start).Take(MaxBatch).ToList();
            var batch = new SyncBatch([.. items.Select(i => JsonSerializer.Deserialize<SyncCommand>(i.Command, FieldJson.Options)!)]);
            var answer = await api.SendAsync(batch, CancellationToken.None);
            var done = new List<string>();
            var waiting = false;
            foreach (var (item, result) in items.Zip(answer.Results))
            {
                switch (result.Status)
                {
                    case CommandStatus.WaitingForPhoto:
                        waiting = true;
                        continue;
                    case CommandStatus.Applied:
                        applied++;
                        break;
                    default:
                        await store.AddNoteAsync(new SyncNote(
                            item.CommandId, WireName(result.Status), result.Code, result.Message, item.Summary, result.SyncedAt ?? DateTimeOffset.UtcNow));
                        break;
                }

                done.Add(item.CommandId);
            }

            await store.RemoveFromOutboxAsync(done);
            await data.RefreshWaitingAsync();
            if (waiting)
            {
                // A photo is not in yet: what follows may depend on it, so the rest waits for the next run.
                LastError = texts["sync_waiting_photo"];
                break;
            }
        }

        return applied;
    }

    private static string WireName(CommandStatus status) => JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString());

    private void Report(string stage, int done, int total)
    {
        Progress = new SyncProgress(stage, done, total);
        Changed?.Invoke();
    }
}
