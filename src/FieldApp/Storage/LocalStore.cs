using System.Text.Json;
using Microsoft.JSInterop;
using WorkOrders.FieldApp.Sync;

namespace WorkOrders.FieldApp.Storage;

/// <summary>What the browser says about the app's storage: bytes used and offered, and whether it is kept when space runs short.</summary>
public sealed record StorageInfo(long Usage, long Quota, bool Persisted);

/// <summary>A photo kept in IndexedDB by its SHA-256 (the bytes stay in the browser).</summary>
public sealed record KeptPhoto(string Sha256, string FileName, string ContentType, long Size);

/// <summary>One change waiting in the outbox: the command as JSON, what the technician sees, the photo it needs.</summary>
public sealed record OutboxItem(string CommandId, string Command, string Summary, string? Photo, DateTimeOffset CreatedAt);

/// <summary>A final answer the technician should see (refused or conflict), with the change it was for.</summary>
public sealed record SyncNote(string CommandId, string Status, string? Code, string? Message, string Summary, DateTimeOffset At);

/// <summary>The result of uploading one photo from IndexedDB.</summary>
public sealed record UploadOutcome(bool Ok, int Status, long Sent, bool Missing);

/// <summary>
/// IndexedDB through wwwroot/js/store.js: <c>kv</c> (device, trip pack, cursor, progress, as JSON text), <c>outbox</c>,
/// <c>photos</c> (blobs by SHA-256) and <c>results</c> (refusals to show).
/// </summary>
public sealed class LocalStore(IJSRuntime js)
{
    private IJSObjectReference? _module;

    private async ValueTask<IJSObjectReference> ModuleAsync() =>
        _module ??= await js.InvokeAsync<IJSObjectReference>("import", "./js/store.js");

    public async Task<T?> GetAsync<T>(string key)
    {
        var text = await (await ModuleAsync()).InvokeAsync<string?>("get", "kv", key);
        return text is null ? default : JsonSerializer.Deserialize<T>(text, FieldJson.Options);
    }

    public async Task SetAsync<T>(string key, T value) =>
        await (await ModuleAsync()).InvokeVoidAsync("put", "kv", JsonSerializer.Serialize(value, FieldJson.Options), key);

    public async Task RemoveAsync(string key) => await (await ModuleAsync()).InvokeVoidAsync("remove", "kv", key);

    public async Task AddToOutboxAsync(OutboxItem item) => await (await ModuleAsync()).InvokeVoidAsync("put", "outbox", item);

    /// <summary>The outbox in the order the changes were made (UUIDv7 keys).</summary>
    public async Task<IReadOnlyList<OutboxItem>> OutboxAsync(int limit = 0) =>
        await (await ModuleAsync()).InvokeAsync<OutboxItem[]>("all", "outbox", limit);

    public async Task<int> OutboxCountAsync() => await (await ModuleAsync()).InvokeAsync<int>("count", "outbox");

    public async Task RemoveFromOutboxAsync(IEnumerable<string> commandIds) =>
        await (await ModuleAsync()).InvokeVoidAsync("removeMany", "outbox", commandIds.ToArray());

    public async Task AddNoteAsync(SyncNote note) => await (await ModuleAsync()).InvokeVoidAsync("put", "results", note);

    public async Task<IReadOnlyList<SyncNote>> NotesAsync() => await (await ModuleAsync()).InvokeAsync<SyncNote[]>("all", "results", 0);

    public async Task RemoveNoteAsync(string commandId) => await (await ModuleAsync()).InvokeVoidAsync("remove", "results", commandId);

    public async Task ClearAsync() => await (await ModuleAsync()).InvokeVoidAsync("clearAll");

    public async Task<StorageInfo> StorageAsync() => await (await ModuleAsync()).InvokeAsync<StorageInfo>("storage");

    public async Task<bool> PersistAsync() => await (await ModuleAsync()).InvokeAsync<bool>("persist");

    /// <summary>Keeps the photo chosen in a file input; null when none was chosen.</summary>
    public async Task<KeptPhoto?> KeepPhotoAsync(Microsoft.AspNetCore.Components.ElementReference input) =>
        await (await ModuleAsync()).InvokeAsync<KeptPhoto?>("keepPhoto", input);

    public async Task<string?> PhotoUrlAsync(string sha256) => await (await ModuleAsync()).InvokeAsync<string?>("photoUrl", sha256);

    public async Task<UploadOutcome> UploadPhotoAsync(string sha256, string authorization, int chunkBytes) =>
        await (await ModuleAsync()).InvokeAsync<UploadOutcome>("uploadPhoto", sha256, authorization, chunkBytes);

    public async Task<bool> OnlineAsync() => await (await ModuleAsync()).InvokeAsync<bool>("online");

    public async Task<string> LanguageAsync() => await (await ModuleAsync()).InvokeAsync<string>("language");

    public async Task WatchAsync<T>(DotNetObjectReference<T> target) where T : class =>
        await (await ModuleAsync()).InvokeVoidAsync("watch", target);

    public async Task<bool> CanScanAsync() => await (await ModuleAsync()).InvokeAsync<bool>("canScan");

    public async Task<string?> ScanAsync(Microsoft.AspNetCore.Components.ElementReference video) =>
        await (await ModuleAsync()).InvokeAsync<string?>("scan", TimeSpan.FromMinutes(2), [video]);

    public async Task ClickAsync(Microsoft.AspNetCore.Components.ElementReference element) =>
        await (await ModuleAsync()).InvokeVoidAsync("clickElement", element);
}
