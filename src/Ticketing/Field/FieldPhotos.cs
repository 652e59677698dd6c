using System.Globalization;
using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Field;

/// <summary>A byte range of a photo as <c>Content-Range: bytes {From}-{To}/{Total}</c> names it (To inclusive).</summary>
public readonly record struct ChunkRange(long From, long To, long Total)
{
    public long Length => To - From + 1;

    public static ChunkRange? Parse(string? header)
    {
        // bytes 0-1048575/10000000
        if (header is null || !header.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var parts = header[6..].Split('/');
        var range = parts.Length == 2 ? parts[0].Split('-') : [];
        return range.Length == 2
               && long.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
               && long.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out var to)
               && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var total)
               && from <= to && to < total
            ? new ChunkRange(from, to, total)
            : null;
    }
}

/// <summary>
/// Photos from the field, uploaded by their SHA-256 in chunks that resume where a dropped connection left them. Each
/// PUT carries the next chunk at the offset the server has (a chunk it has already is answered as it stands, one past
/// it is a 409 with the offset to resume from). A chunk is stored only when its whole body arrived, in a transaction
/// that locks the upload's row, so two instances receiving the same chunk store it once. With the last byte the server
/// joins the chunks, checks the hash and the image type, and moves the photo into the content-addressed store
/// (<c>inspection_photos</c>), where rounds and work orders take it from.
/// </summary>
public sealed class FieldPhotos(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<TicketingOptions> ticketing, IOptions<FieldOptions> options)
{
    public static byte[]? ParseSha(string? hex) =>
        hex is { Length: 64 } && hex.All(Uri.IsHexDigit) ? Convert.FromHexString(hex) : null;

    internal static Task<bool> IsCompleteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, byte[] sha, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM inspection_photos WHERE sha256 = @sha)", new { sha }, transaction, cancellationToken: cancellationToken));

    public async Task<Outcome<PhotoUploadStatus>> StatusAsync(string sha256, Actor actor, CancellationToken cancellationToken)
    {
        if (!SyncCommands.MaySync(actor))
        {
            return Failure.Forbidden("sync.forbidden");
        }

        if (ParseSha(sha256) is not { } sha)
        {
            return Failure.Invalid("sha256", "inspection.photo_sha");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadStatusAsync(connection, null, sha, cancellationToken) is { } status ? status : Failure.NotFound("field_photo.unknown", sha256.ToLowerInvariant());
    }

    public async Task<Outcome<PhotoUploadStatus>> PutAsync(
        string sha256, string? contentRange, string? contentType, Stream body, Actor actor, CancellationToken cancellationToken)
    {
        if (!SyncCommands.MaySync(actor))
        {
            return Failure.Forbidden("sync.forbidden");
        }

        var errors = new FieldErrors();
        var sha = ParseSha(sha256);
        if (sha is null)
        {
            errors.Add("sha256", "inspection.photo_sha");
        }

        var limit = ticketing.Value.MaxAttachmentBytes;
        var range = ChunkRange.Parse(contentRange);
        if (range is not { } r)
        {
            errors.Add("Content-Range", "field_photo.range");
        }
        else if (r.Total > limit)
        {
            errors.Add("Content-Range", "attachment.too_large", limit / (1024 * 1024));
        }
        else if (r.Length > options.Value.MaxChunkBytes)
        {
            errors.Add("Content-Range", "field_photo.chunk_too_large", options.Value.MaxChunkBytes);
        }

        var type = contentType?.Split(';')[0].Trim().ToLowerInvariant() ?? "";
        if (!type.StartsWith("image/", StringComparison.Ordinal) || !Attachments.AllowedTypes.ContainsKey(type))
        {
            errors.Add("Content-Type", "attachment.type", type, string.Join(", ", Attachments.AllowedTypes.Keys.Where(k => k.StartsWith("image/", StringComparison.Ordinal))));
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var chunk = range!.Value;
        // The whole chunk, or nothing: a body cut short throws here (the connection dropped) or comes up short.
        var bytes = new byte[chunk.Length];
        var read = 0;
        int n;
        while (read < bytes.Length && (n = await body.ReadAsync(bytes.AsMemory(read), cancellationToken)) > 0)
        {
            read += n;
        }

        if (read != bytes.Length || await body.ReadAsync(new byte[1], cancellationToken) > 0)
        {
            return Failure.Invalid("body", "field_photo.chunk_length", chunk.Length, read);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await IsCompleteAsync(connection, transaction, sha!, cancellationToken))
        {
            return (await ReadStatusAsync(connection, transaction, sha!, cancellationToken))!;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO field_photo_uploads (sha256, total_bytes, content_type, started_by, started_at, updated_at)
            VALUES (@sha, @total, @type, @actorId, @now, @now) ON CONFLICT (sha256) DO NOTHING
            """,
            new { sha, total = (int)chunk.Total, type, actorId = actor.UserId, now },
            transaction,
            cancellationToken: cancellationToken));
        var upload = await connection.QuerySingleOrDefaultAsync<UploadRow>(new CommandDefinition(
            "SELECT total_bytes, received_bytes, content_type FROM field_photo_uploads WHERE sha256 = @sha FOR UPDATE",
            new { sha },
            transaction,
            cancellationToken: cancellationToken));
        if (upload is null)
        {
            // Completed by another request between the two statements.
            return (await ReadStatusAsync(connection, transaction, sha!, cancellationToken))!;
        }

        if (upload.TotalBytes != chunk.Total)
        {
            return Failure.Invalid("Content-Range", "field_photo.total_mismatch", upload.TotalBytes);
        }

        if (chunk.From > upload.ReceivedBytes)
        {
            return Failure.Conflict("field_photo.offset", upload.ReceivedBytes);
        }

        if (chunk.To >= upload.ReceivedBytes)
        {
            // From the first byte not yet held: a chunk that overlaps what is stored adds only its new part.
            var skip = (int)(upload.ReceivedBytes - chunk.From);
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO field_photo_chunks (sha256, start_byte, content) VALUES (@sha, @start, @content);
                UPDATE field_photo_uploads SET received_bytes = @received, updated_at = @now WHERE sha256 = @sha;
                """,
                new { sha, start = upload.ReceivedBytes, content = bytes[skip..], received = (int)chunk.To + 1, now },
                transaction,
                cancellationToken: cancellationToken));
            if (chunk.To + 1 == chunk.Total && await CompleteAsync(connection, transaction, sha!, upload.ContentType, actor, now, cancellationToken) is { } refused)
            {
                // The bytes are not the photo the name promised: start again from nothing.
                await transaction.RollbackAsync(cancellationToken);
                await using var reset = await dataSource.OpenConnectionAsync(cancellationToken);
                await reset.ExecuteAsync(new CommandDefinition("DELETE FROM field_photo_uploads WHERE sha256 = @sha", new { sha }, cancellationToken: cancellationToken));
                return refused;
            }
        }

        var status = await ReadStatusAsync(connection, transaction, sha!, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return status!;
    }

    private static async Task<Failure?> CompleteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, byte[] sha, string type, Actor actor, DateTime now, CancellationToken cancellationToken)
    {
        var parts = await connection.QueryAsync<byte[]>(new CommandDefinition(
            "SELECT content FROM field_photo_chunks WHERE sha256 = @sha ORDER BY start_byte", new { sha }, transaction, cancellationToken: cancellationToken));
        using var joined = new MemoryStream();
        foreach (var part in parts)
        {
            joined.Write(part);
        }

        var content = joined.ToArray();
        if (!SHA256.HashData(content).AsSpan().SequenceEqual(sha))
        {
            return Failure.Invalid("sha256", "field_photo.hash_mismatch");
        }

        if (!Attachments.AllowedTypes[type].Any(s => content.AsSpan().StartsWith(s)))
        {
            return Failure.Invalid("Content-Type", "attachment.content", type);
        }

        var hex = Convert.ToHexStringLower(sha);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO inspection_photos (sha256, file_name, content_type, size_bytes, content, uploaded_by, uploaded_at)
            VALUES (@sha, @name, @type, @size, @content, @actorId, @now) ON CONFLICT (sha256) DO NOTHING;
            DELETE FROM field_photo_uploads WHERE sha256 = @sha;
            """,
            new { sha, name = $"{hex[..16]}.{type[6..]}", type, size = content.Length, content, actorId = actor.UserId, now },
            transaction,
            cancellationToken: cancellationToken));
        return null;
    }

    private static async Task<PhotoUploadStatus?> ReadStatusAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, byte[] sha, CancellationToken cancellationToken)
    {
        var hex = Convert.ToHexStringLower(sha);
        var done = await connection.QuerySingleOrDefaultAsync<(int Size, string Type)?>(new CommandDefinition(
            "SELECT size_bytes, content_type FROM inspection_photos WHERE sha256 = @sha", new { sha }, transaction, cancellationToken: cancellationToken));
        if (done is { } photo)
        {
            return new PhotoUploadStatus(hex, photo.Size, photo.Size, true, photo.Type);
        }

        var upload = await connection.QuerySingleOrDefaultAsync<UploadRow>(new CommandDefinition(
            "SELECT total_bytes, received_bytes, content_type FROM field_photo_uploads WHERE sha256 = @sha", new { sha }, transaction, cancellationToken: cancellationToken));
        return upload is null ? null : new PhotoUploadStatus(hex, upload.TotalBytes, upload.ReceivedBytes, false, upload.ContentType);
    }

    private sealed class UploadRow
    {
        public int TotalBytes { get; init; }
        public int ReceivedBytes { get; init; }
        public string ContentType { get; init; } = "";
    }
}
