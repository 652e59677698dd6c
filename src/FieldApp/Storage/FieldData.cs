using System.Text.Json;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.FieldApp.Sync;

namespace WorkOrders.FieldApp.Storage;

/// <summary>This device as the server registered it: the credential every field call sends.</summary>
public sealed record DeviceState(long DeviceId, string Credential, string UserName, DateTimeOffset ExpiresAt)
{
    public string Authorization => $"Device {Credential}";
}

/// <summary>What was recorded on the device and not yet seen back from the server: rounds' stops and items, work-order statuses.</summary>
public sealed class Progress
{
    public Dictionary<long, string> Stops { get; set; } = [];

    public Dictionary<long, string> Items { get; set; } = [];

    public HashSet<long> CompletedRounds { get; set; } = [];

    public Dictionary<long, string> Statuses { get; set; } = [];

    public Dictionary<long, List<string>> Notes { get; set; } = [];
}

/// <summary>One line of "what changed since the pack": a work order or round new, changed or gone.</summary>
public sealed record ChangeNote(string What, string Label, string Change, DateTimeOffset At);

/// <summary>When the device last synced and how it went.</summary>
public sealed record SyncState(DateTimeOffset? LastSyncAt, string? Cursor, int Applied);

/// <summary>
/// The device's data: the registered device, the trip pack, what was done offline (<see cref="Progress"/>) and the
/// outbox. Every change is stored first and queued as a command; sync sends it later.
/// </summary>
public sealed class FieldData(LocalStore store, TimeProvider clock)
{
    public DeviceState? Device { get; private set; }

    public TripPack? Pack { get; private set; }

    public Progress Progress { get; private set; } = new();

    public List<ChangeNote> Changes { get; private set; } = [];

    public SyncState Sync { get; private set; } = new(null, null, 0);

    public int Waiting { get; private set; }

    public event Action? Changed;

    public bool Loaded { get; private set; }

    public async Task LoadAsync()
    {
        Loaded = true;
        Device = await store.GetAsync<DeviceState>("device");
        Pack = await store.GetAsync<TripPack>("pack");
        Progress = await store.GetAsync<Progress>("progress") ?? new();
        Changes = await store.GetAsync<List<ChangeNote>>("changes") ?? [];
        Sync = await store.GetAsync<SyncState>("sync") ?? new(null, Pack?.Cursor, 0);
        Waiting = await store.OutboxCountAsync();
    }

    public async Task SetDeviceAsync(DeviceState device)
    {
        Device = device;
        await store.SetAsync("device", device);
        _ = await store.PersistAsync();
        Notify();
    }

    /// <summary>Forgets this device and everything on it (the outbox too: the technician is told before).</summary>
    public async Task ForgetAsync()
    {
        await store.ClearAsync();
        Device = null;
        Pack = null;
        Progress = new();
        Changes = [];
        Sync = new(null, null, 0);
        Waiting = 0;
        Notify();
    }

    public async Task SetPackAsync(TripPack pack)
    {
        Pack = pack;
        Changes = [];
        Progress = new();
        Sync = Sync with { Cursor = pack.Cursor };
        await store.SetAsync("pack", pack);
        await store.SetAsync("changes", Changes);
        await store.SetAsync("progress", Progress);
        await store.SetAsync("sync", Sync);
        Notify();
    }

    /// <summary>Folds what the server says changed into the pack, noting each difference for the technician.</summary>
    public async Task ApplyChangesAsync(ChangeSet changes)
    {
        if (Pack is { } pack)
        {
            var orders = pack.WorkOrders.ToDictionary(w => w.Id);
            foreach (var changed in changes.WorkOrders)
            {
                var mine = changed.AssigneeId == pack.UserId && changed.Status is not ("resolved" or "closed" or "cancelled");
                if (orders.TryGetValue(changed.Id, out var before))
                {
                    if (before.Version != changed.Version || before.Status != changed.Status)
                    {
                        Changes.Add(new(mine ? "updated" : "gone", $"{changed.Number} {changed.Title}", changed.Status, changes.GeneratedAt));
                    }
                }
                else if (mine)
                {
                    Changes.Add(new("new", $"{changed.Number} {changed.Title}", changed.Status, changes.GeneratedAt));
                }

                Progress.Statuses.Remove(changed.Id);
                if (mine || orders.ContainsKey(changed.Id))
                {
                    orders[changed.Id] = changed;
                }
            }

            var rounds = pack.Rounds.ToDictionary(r => r.Id);
            foreach (var round in changes.Rounds)
            {
                if (rounds.TryGetValue(round.Id, out var before) && before.Status != round.Status)
                {
                    Changes.Add(new("updated", before.RouteName, round.Status, changes.GeneratedAt));
                    rounds[round.Id] = before with { Status = round.Status };
                }
            }

            Pack = pack with { WorkOrders = [.. orders.Values.OrderBy(w => w.DueAt ?? DateTimeOffset.MaxValue).ThenBy(w => w.Id)], Rounds = [.. rounds.Values] };
            if (Changes.Count > 50)
            {
                Changes = Changes[^50..];
            }

            await store.SetAsync("pack", Pack);
            await store.SetAsync("changes", Changes);
            await store.SetAsync("progress", Progress);
        }

        Sync = Sync with { Cursor = changes.Cursor };
        await store.SetAsync("sync", Sync);
        Notify();
    }

    public async Task SyncedAsync(int applied)
    {
        Sync = Sync with { LastSyncAt = clock.GetUtcNow(), Applied = Sync.Applied + applied };
        await store.SetAsync("sync", Sync);
        Waiting = await store.OutboxCountAsync();
        Notify();
    }

    public async Task RefreshWaitingAsync()
    {
        Waiting = await store.OutboxCountAsync();
        Notify();
    }

    public string StatusOf(PackWorkOrder order) => Progress.Statuses.GetValueOrDefault(order.Id) ?? order.Status;

    /// <summary>
    /// Stores a change and queues it: <paramref name="local"/> records it on the device first (both land in IndexedDB
    /// before the method returns), so the change survives the app being closed right after.
    /// </summary>
    public async Task QueueAsync<T>(string kind, T payload, int? baseVersion, string summary, string? photo = null, Action<Progress>? local = null)
    {
        var command = new SyncCommand(
            NextId(), Device?.DeviceId, baseVersion, clock.GetUtcNow(), kind,
            JsonSerializer.SerializeToElement(payload, FieldJson.Options));
        await store.AddToOutboxAsync(new OutboxItem(
            command.CommandId!.Value.ToString(), JsonSerializer.Serialize(command, FieldJson.Options), summary, photo, clock.GetUtcNow()));
        if (local is not null)
        {
            local(Progress);
            await store.SetAsync("progress", Progress);
        }

        Waiting = await store.OutboxCountAsync();
        Notify();
    }

    public void Notify() => Changed?.Invoke();

    private DateTimeOffset _lastId;

    /// <summary>A UUIDv7 a millisecond after the last one at least, so the outbox's key order is the order of the changes.</summary>
    private Guid NextId()
    {
        var now = clock.GetUtcNow();
        _lastId = now > _lastId ? now : _lastId.AddMilliseconds(1);
        return Guid.CreateVersion7(_lastId);
    }
}
