using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Playwright;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace WorkOrders.EndToEnd.Tests;

/// <summary>
/// A big photo taken in the field app (/field) in a real browser goes up over a link that is cut again and again: the
/// app asks the server where the upload stands after each cut and goes on from there.
/// </summary>
public sealed class FieldAppUploadTests(ITestOutputHelper output) : FieldAppTest
{
    private const int Chunk = 1024 * 1024;

    [Fact]
    public async Task a_10_mb_photo_taken_in_the_app_goes_up_over_a_link_cut_every_megabyte_attached_once_re_sending_at_most_one_chunk_per_cut()
    {
        var org = await TestOrg.CreateAsync(Database.DataSource);
        const string Title = "Cracked pump housing";
        var workOrder = await AssignedWorkOrderAsync(org, Title);
        // A PNG by its signature, ten million bytes long: another file than any other test's.
        var photo = new byte[10_000_000];
        new Random(13).NextBytes(photo);
        Png.CopyTo(photo, 0);
        var sha = Convert.ToHexStringLower(SHA256.HashData(photo));
        var (context, page, _) = await SignedInDeviceAsync(org[Role.Technician]);

        // The link to the photo's upload address: the first send of every chunk (one per MiB of progress) is cut, in turn
        // after the server has stored it (its answer is lost) and before it gets there (the request is lost); and once,
        // the question that follows a cut (HEAD) is cut too. Every other request goes through as the app sent it.
        var puts = new ConcurrentQueue<(string Range, string Fate)>();
        var heads = 0;
        var cuts = 0;
        var headCut = 0;
        var sendsOf = new ConcurrentDictionary<string, int>();
        await context.RouteAsync($"**/api/v1/field/photos/{sha}", async route =>
        {
            var request = route.Request;
            if (request.Method == "HEAD")
            {
                Interlocked.Increment(ref heads);
                if (Volatile.Read(ref cuts) == 3 && Interlocked.Exchange(ref headCut, 1) == 0)
                {
                    await route.AbortAsync("connectionreset");
                    return;
                }

                await route.ContinueAsync();
                return;
            }

            var range = await request.HeaderValueAsync("content-range") ?? "";
            if (request.Method != "PUT" || sendsOf.AddOrUpdate(range, 1, (_, n) => n + 1) > 1)
            {
                puts.Enqueue((range, "through"));
                await route.ContinueAsync();
                return;
            }

            if (Interlocked.Increment(ref cuts) % 2 == 1)
            {
                // Through to the server with the chunk's bytes (the app's own when the browser hands them over), the answer dropped.
                var (from, to) = Bounds(range);
                var body = request.PostDataBuffer is { } sent && sent.Length == to - from + 1 ? sent : photo[(int)from..(int)(to + 1)];
                var answer = await route.FetchAsync(new() { PostData = body });
                puts.Enqueue((range, $"answer lost ({answer.Status})"));
            }
            else
            {
                puts.Enqueue((range, "request lost"));
            }

            await route.AbortAsync("connectionreset");
        });

        // The photo taken on the work order; then Sync.
        await OpenOrderAsync(page, Title);
        await page.GetByTestId("order-photo").SetInputFilesAsync(new FilePayload { Name = "housing.png", MimeType = "image/png", Buffer = photo });
        await Expect(page.GetByTestId("waiting")).ToContainTextAsync("1");
        await page.Locator("header a.title").ClickAsync();
        var clock = Stopwatch.StartNew();
        await page.GetByTestId("sync").ClickAsync();
        await Expect(page.GetByTestId("waiting-count")).ToHaveTextAsync("0", new() { Timeout = 60_000 });
        var took = clock.Elapsed;
        Assert.Equal(0, await page.GetByTestId("refused").CountAsync());

        var sends = puts.ToList();
        foreach (var (range, fate) in sends)
        {
            output.WriteLine($"PUT {range}: {fate}");
        }

        // Every chunk once in order, from 0 to the last byte; a chunk whose request was lost once more; one whose answer
        // was lost never again (the app took the server's offset): at most one chunk re-sent per cut.
        var chunks = (photo.Length + Chunk - 1) / Chunk;
        var expected = Enumerable.Range(0, chunks)
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"bytes {(long)i * Chunk}-{Math.Min((long)(i + 1) * Chunk, photo.Length) - 1}/{photo.Length}"))
            .ToList();
        Assert.Equal(expected, sends.Select(s => s.Range).Distinct());
        Assert.Equal(chunks, cuts);
        Assert.All(sends.Where(s => s.Fate.StartsWith("answer lost", StringComparison.Ordinal)), s => Assert.Equal("answer lost (200)", s.Fate));
        foreach (var range in expected)
        {
            var fates = sends.Where(s => s.Range == range).Select(s => s.Fate).ToList();
            List<string> once = fates[0] == "request lost" ? ["request lost", "through"] : [fates[0]];
            Assert.Equal(once, fates);
        }

        var resent = sends.Count - chunks;
        Assert.True(resent <= cuts, $"{resent} chunks re-sent over {cuts} cuts");
        Assert.Equal(1, headCut);
        output.WriteLine($"10 MB photo: {chunks} chunks, {cuts} cuts and one cut HEAD, {sends.Count} PUTs ({resent} chunks re-sent), {heads} HEADs, {took.TotalSeconds:0.0} s");

        // On the server: the photo's bytes under their SHA-256, once, and attached to the work order once.
        Assert.Equal(1, await Scalar<long>(
            "SELECT count(*) FROM inspection_photos WHERE sha256 = decode(@sha, 'hex') AND encode(sha256(content), 'hex') = @sha AND size_bytes = @size",
            new { sha, size = photo.Length }));
        Assert.Equal(1, await Scalar<long>(
            "SELECT count(*) FROM attachments WHERE work_order_id = @workOrder AND sha256 = decode(@sha, 'hex')", new { workOrder, sha }));
        Assert.Equal(0, await Scalar<long>("SELECT count(*) FROM field_photo_uploads WHERE sha256 = decode(@sha, 'hex')", new { sha }));
        await context.CloseAsync();
    }

    private static (long From, long To) Bounds(string contentRange)
    {
        // bytes 0-1048575/10000000
        var parts = contentRange["bytes ".Length..].Split('/')[0].Split('-');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
