using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ingest;

namespace WorkOrders.Benchmarks;

/// <summary>
/// What a field device's sync costs against a running dashboard, through its API only, as the field app does it: sign
/// in, register a device, take the trip pack, upload the photos in chunks, send the queued commands in batches of 200,
/// pull the changes. Prints the duration and the bytes on the wire (headers included) of each phase, then sends the same
/// batches again and checks that the answers are word for word the same and nothing changed; exits 1 when not. The
/// commands go to the user's open work orders of the pack (comments, the photos, and readings of the pack's meters),
/// so run it on a demo or bench database.
/// </summary>
public static class FieldSyncBench
{
    public const string Name = "field-sync";

    private const int BatchSize = 200;
    private const int ChunkBytes = 256 * 1024;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static Command Verb()
    {
        var url = new Option<string>("--url") { Description = "the running dashboard", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var user = new Option<string>("--user") { Description = "a technician or manager with open work orders", DefaultValueFactory = _ => "technician" };
        var password = new Option<string>("--password") { Description = "their password", DefaultValueFactory = _ => "demo" };
        var commands = Cli.Whole("--commands", "queued commands to send (the photos' among them)", 500, 1, 100_000);
        var photos = Cli.Whole("--photos", "photos of 200-600 KB to upload in 256 KB chunks", 50, 0, 10_000);
        var command = new Command(Name, "a field device's sync against a running dashboard: photos in chunks, queued commands in batches of 200, the changes; duration and bytes, and a replay that must change nothing")
        {
            url, user, password, commands, photos,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            parsed.GetRequiredValue(url), parsed.GetRequiredValue(user), parsed.GetRequiredValue(password), parsed.GetValue(commands), parsed.GetValue(photos), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string url, string user, string password, int commandCount, int photoCount, CancellationToken cancellationToken)
    {
        if (photoCount > commandCount)
        {
            throw new CliException($"--photos ({photoCount}) may not exceed --commands ({commandCount}): each photo is attached by one command");
        }

        var wire = new Wire();
        using var handler = new SocketsHttpHandler { ConnectCallback = wire.ConnectAsync };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(5) };
        var phases = new List<(string Name, TimeSpan Time, long Sent, long Received)>();
        async Task<T> Phase<T>(string name, Func<Task<T>> work)
        {
            var (sent, received) = wire.Totals;
            var clock = Stopwatch.StartNew();
            var result = await work();
            phases.Add((name, clock.Elapsed, wire.Totals.Sent - sent, wire.Totals.Received - received));
            return result;
        }

        var pack = await Phase("sign in, device, trip pack", async () =>
        {
            var login = await http.PostAsJsonAsync("/api/v1/auth/login", new { userName = user, password }, cancellationToken);
            await Ensure(login, "sign in", cancellationToken);
            var token = (await login.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accessToken").GetString();
            using var register = new HttpRequestMessage(HttpMethod.Post, "/api/v1/devices")
            {
                Content = JsonContent.Create(new RegisterDeviceRequest($"bench {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}"), options: Json),
            };
            register.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var registered = await http.SendAsync(register, cancellationToken);
            await Ensure(registered, "device registration", cancellationToken);
            var device = (await registered.Content.ReadFromJsonAsync<DeviceCredential>(Json, cancellationToken))!;
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Device", device.Credential);
            var response = await http.GetAsync("/api/v1/field/trip-pack?days=3", cancellationToken);
            await Ensure(response, "trip pack", cancellationToken);
            return (await response.Content.ReadFromJsonAsync<TripPack>(Json, cancellationToken))!;
        });
        if (pack.WorkOrders.Count == 0)
        {
            throw new CliException($"{user} has no open work orders in the trip pack; the commands need some (assign a few, or use ./run.sh's demo technician)", Cli.Failed);
        }

        // Photos: JPEG-like bytes (a valid header, random body), each unique to this run.
        var random = new Random(Environment.TickCount);
        var images = Enumerable.Range(0, photoCount).Select(_ => Jpeg(random, random.Next(200_000, 600_001))).ToList();
        var chunks = await Phase("photo upload", async () =>
        {
            var count = 0;
            foreach (var image in images)
            {
                var sha = Convert.ToHexStringLower(SHA256.HashData(image));
                for (var offset = 0; offset < image.Length; offset += ChunkBytes)
                {
                    var end = Math.Min(offset + ChunkBytes, image.Length);
                    var content = new ByteArrayContent(image, offset, end - offset);
                    content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
                    content.Headers.ContentRange = new ContentRangeHeaderValue(offset, end - 1, image.Length);
                    await Ensure(await http.PutAsync($"/api/v1/field/photos/{sha}", content, cancellationToken), "photo chunk", cancellationToken);
                    count++;
                }
            }

            return count;
        });

        var outbox = Outbox(pack, [.. images.Select(i => Convert.ToHexStringLower(SHA256.HashData(i)))], commandCount);
        var batches = outbox.Chunk(BatchSize).ToList();
        var answers = await Phase($"{outbox.Count} commands in {batches.Count} batches", async () =>
        {
            var texts = new List<string>();
            foreach (var batch in batches)
            {
                texts.Add(await SendAsync(http, batch, cancellationToken));
            }

            return texts;
        });
        var changes = await Phase("changes since the pack", () => ChangesAsync(http, pack.Cursor, cancellationToken));

        // The same batches again, as after a lost answer: every answer the same, nothing changed since the last pull.
        var replayed = await Phase("replay of the same batches", async () =>
        {
            var texts = new List<string>();
            foreach (var batch in batches)
            {
                texts.Add(await SendAsync(http, batch, cancellationToken));
            }

            return texts;
        });
        var after = await ChangesAsync(http, changes.Cursor, cancellationToken);

        var results = answers.SelectMany(a => JsonSerializer.Deserialize<SyncBatchResult>(a, Json)!.Results).ToList();
        var same = answers.Zip(replayed).Count(p => p.First == p.Second);
        var byStatus = string.Join(", ", results.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"));
        var refusals = results.Where(r => r.Code is not null).GroupBy(r => r.Code).Select(g => $"{g.Key} x{g.Count()}");
        Console.WriteLine(
            $"field sync against {url} as {user}: {outbox.Count} commands on {pack.WorkOrders.Count} work orders and {pack.Meters.Count} meters " +
            $"({outbox.Count(c => c.Kind == CommandKinds.WorkOrderComment)} comments, {outbox.Count(c => c.Kind == CommandKinds.MeterReading)} readings, " +
            $"{outbox.Count(c => c.Kind == CommandKinds.WorkOrderPhoto)} photos), {images.Count} photos of {images.Sum(i => (long)i.Length) / 1e6:0.0} MB in {chunks} chunks");
        Console.WriteLine($"{"phase",-34} {"seconds",9} {"sent",14} {"received",14}");
        foreach (var (name, time, sent, received) in phases)
        {
            Console.WriteLine($"{name,-34} {time.TotalSeconds,9:0.000} {sent,14:N0} {received,14:N0}");
        }

        var sync = phases.Skip(1).Take(3).ToList();
        Console.WriteLine($"{"sync (photos, commands, changes)",-34} {sync.Sum(p => p.Time.TotalSeconds),9:0.000} {sync.Sum(p => p.Sent),14:N0} {sync.Sum(p => p.Received),14:N0}");
        Console.WriteLine($"results: {byStatus}{(refusals.Any() ? $" ({string.Join(", ", refusals)})" : "")}");
        Console.WriteLine($"changes since the pack: {changes.WorkOrders.Count} work orders, {changes.Rounds.Count} rounds");
        Console.WriteLine($"replay: {same} of {batches.Count} batch answers identical; changes after it: {after.WorkOrders.Count} work orders, {after.Rounds.Count} rounds");
        var ok = same == batches.Count && after.WorkOrders.Count == 0 && results.Count == outbox.Count;
        if (!ok)
        {
            Console.WriteLine("replay changed something: a command was applied twice or answered differently");
        }

        return ok ? 0 : Cli.Failed;
    }

    /// <summary>
    /// Comments, a photo command per photo (every count/photos-th, so all fit) and readings of the pack's meters, spread
    /// over the work orders, oldest first. The field app's own outbox bench (<see cref="FieldAppLoadBench"/>) queues the same.
    /// </summary>
    internal static List<SyncCommand> Outbox(TripPack pack, IReadOnlyList<string> photos, int count, long? deviceId = null)
    {
        var commands = new List<SyncCommand>(count);
        var now = DateTimeOffset.UtcNow;
        var start = now.AddHours(-8);
        var step = TimeSpan.FromHours(7.5) / count;
        var meters = pack.Meters.Select(m => (m.Id, Value: m.LatestValue ?? 0m, At: m.LatestReadAt ?? DateTimeOffset.MinValue)).ToArray();
        var photo = 0;
        for (var i = 0; i < count; i++)
        {
            var at = start + (step * i);
            var workOrder = pack.WorkOrders[i % pack.WorkOrders.Count];
            object payload;
            string kind;
            if (photo < photos.Count && i % Math.Max(1, count / Math.Max(1, photos.Count)) == 0)
            {
                kind = CommandKinds.WorkOrderPhoto;
                payload = new PhotoPayload(workOrder.Id, photos[photo], $"bench-{photo}.jpg");
                photo++;
            }
            else if (meters.Length > 0 && i % 10 == 5 && meters[i % meters.Length] is var meter
                     && (meter.At < at ? at : meter.At.AddSeconds(1)) is var readAt && readAt < now)
            {
                // After the meter's latest reading (a reading older than it is refused), never in the future.
                kind = CommandKinds.MeterReading;
                meters[i % meters.Length] = (meter.Id, meter.Value + 1.5m, readAt);
                payload = new MeterReadingPayload(meter.Id, readAt, meter.Value + 1.5m);
            }
            else
            {
                kind = CommandKinds.WorkOrderComment;
                payload = new CommentPayload(workOrder.Id, $"Bench note {i}: checked the {(i % 2 == 0 ? "seal" : "bearing")} at {at:HH:mm}.");
            }

            commands.Add(new SyncCommand(Guid.CreateVersion7(at), deviceId, workOrder.Version, at, kind, JsonSerializer.SerializeToElement(payload, payload.GetType(), Json)));
        }

        return commands;
    }

    private static byte[] Jpeg(Random random, int size)
    {
        var bytes = new byte[size];
        random.NextBytes(bytes);
        byte[] header = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00];
        header.CopyTo(bytes, 0);
        bytes[^2] = 0xFF;
        bytes[^1] = 0xD9;
        return bytes;
    }

    private static async Task<string> SendAsync(HttpClient http, SyncCommand[] batch, CancellationToken cancellationToken)
    {
        var response = await http.PostAsJsonAsync("/api/v1/sync/commands", new SyncBatch(batch), Json, cancellationToken);
        await Ensure(response, "sync", cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    private static async Task<ChangeSet> ChangesAsync(HttpClient http, string cursor, CancellationToken cancellationToken)
    {
        var response = await http.GetAsync($"/api/v1/sync/changes?cursor={Uri.EscapeDataString(cursor)}", cancellationToken);
        await Ensure(response, "changes", cancellationToken);
        return (await response.Content.ReadFromJsonAsync<ChangeSet>(Json, cancellationToken))!;
    }

    private static async Task Ensure(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new CliException(string.Create(CultureInfo.InvariantCulture, $"{what}: {(int)response.StatusCode} {body}"), Cli.Failed);
        }
    }

    /// <summary>Counts the bytes on every connection the client opens: what went over the wire, headers and all.</summary>
    private sealed class Wire
    {
        private long _sent;
        private long _received;

        public (long Sent, long Received) Totals => (Interlocked.Read(ref _sent), Interlocked.Read(ref _received));

        public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new CountingStream(new NetworkStream(socket, ownsSocket: true), this);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        private sealed class CountingStream(Stream inner, Wire wire) : Stream
        {
            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override void Flush() => inner.Flush();

            public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

            public override int Read(byte[] buffer, int offset, int count) => Received(inner.Read(buffer, offset, count));

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
                Received(await inner.ReadAsync(buffer, cancellationToken));

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            public override void Write(byte[] buffer, int offset, int count)
            {
                inner.Write(buffer, offset, count);
                Interlocked.Add(ref wire._sent, count);
            }

            public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
            {
                await inner.WriteAsync(buffer, cancellationToken);
                Interlocked.Add(ref wire._sent, buffer.Length);
            }

            public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }

            private int Received(int count)
            {
                Interlocked.Add(ref wire._received, count);
                return count;
            }
        }
    }
}
