using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.WorkOrders;

public sealed record AttachmentContent(string FileName, string ContentType, byte[] Content);

/// <summary>Evidence on a work order: photos, signed confirmations, documents. Stored in PostgreSQL with its SHA-256.</summary>
public sealed class Attachments(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<TicketingOptions> options)
{
    /// <summary>The types we accept, each with the leading bytes its content must have (none for plain text).</summary>
    public static IReadOnlyDictionary<string, byte[][]> AllowedTypes { get; } = new Dictionary<string, byte[][]>(StringComparer.OrdinalIgnoreCase)
    {
        ["image/png"] = [[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]],
        ["image/jpeg"] = [[0xFF, 0xD8, 0xFF]],
        ["image/gif"] = [[0x47, 0x49, 0x46, 0x38]],
        ["image/webp"] = [[0x52, 0x49, 0x46, 0x46]],
        ["application/pdf"] = [[0x25, 0x50, 0x44, 0x46]],
        ["text/plain"] = [],
        ["text/csv"] = [],
    };

    private const string Insert = """
        INSERT INTO attachments (work_order_id, file_name, content_type, size_bytes, sha256, content, uploaded_by, uploaded_at)
        VALUES (@workOrderId, @fileName, @contentType, @size, @sha256, @content, @uploadedBy, @now)
        RETURNING id AS Id, file_name AS FileName, content_type AS ContentType, size_bytes AS SizeBytes, encode(sha256, 'hex') AS Sha256,
                  (SELECT display_name FROM users WHERE id = @uploadedBy) AS UploadedByName, uploaded_at AS UploadedAt
        """;

    /// <summary>
    /// Reads an upload of a checked type, at most one byte past the limit (an oversized upload is refused without holding
    /// all of it), and refuses it empty or when its first bytes are not those of its claimed type.
    /// </summary>
    internal static async Task<Outcome<byte[]>> ReadCheckedAsync(
        Stream content, string type, byte[][] signatures, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await content.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
            {
                return Failure.Invalid("file", "attachment.too_large", limit / (1024 * 1024));
            }
        }

        var bytes = buffer.ToArray();
        if (bytes.Length == 0)
        {
            return Failure.Invalid("file", "attachment.empty");
        }

        if (signatures.Length > 0 ? !signatures.Any(s => bytes.AsSpan().StartsWith(s)) : !LooksLikeText(bytes))
        {
            return Failure.Invalid("file", "attachment.content", type);
        }

        return bytes;
    }

    /// <summary>
    /// Text in any single-byte or UTF-8 encoding (Big5 and Windows-1252 exports included): no NUL byte anywhere, and
    /// control bytes other than tab, line breaks and form feed in at most 1% of the first 8 KiB. A program or an archive
    /// claimed as text fails both.
    /// </summary>
    internal static bool LooksLikeText(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Contains((byte)0))
        {
            return false;
        }

        var head = bytes[..Math.Min(bytes.Length, 8192)];
        var controls = 0;
        foreach (var b in head)
        {
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C or 0x1A))
            {
                controls++;
            }
        }

        return controls * 100 <= head.Length;
    }

    public async Task<Outcome<AttachmentInfo>> AddAsync(
        long workOrderId, string? fileName, string? contentType, Stream content, Actor actor, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxAttachmentBytes;
        var name = Path.GetFileName(fileName?.Trim() ?? "");
        if (string.IsNullOrEmpty(name) || name.Length > 255)
        {
            return await WorkOrderAccess.ResourceFirstAsync(dataSource, workOrderId, actor, Failure.Invalid("file", "attachment.name"), cancellationToken);
        }

        var type = contentType?.Split(';')[0].Trim() ?? "";
        if (!AllowedTypes.TryGetValue(type, out var signatures))
        {
            return await WorkOrderAccess.ResourceFirstAsync(
                dataSource, workOrderId, actor, Failure.Invalid("file", "attachment.type", type, string.Join(", ", AllowedTypes.Keys)), cancellationToken);
        }

        var read = await ReadCheckedAsync(content, type, signatures, limit, cancellationToken);
        if (read.Failure is { } unreadable)
        {
            return unreadable.Kind == FailureKind.Validation
                ? await WorkOrderAccess.ResourceFirstAsync(dataSource, workOrderId, actor, unreadable, cancellationToken)
                : unreadable;
        }

        var bytes = read.Value!;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await WorkOrderAccess.CheckAsync(connection, transaction, workOrderId, actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var info = await connection.QuerySingleAsync<AttachmentInfo>(new CommandDefinition(
            Insert,
            new { workOrderId, fileName = name, contentType = type.ToLowerInvariant(), size = bytes.Length, sha256 = SHA256.HashData(bytes), content = bytes, uploadedBy = actor.UserId, now },
            transaction,
            cancellationToken: cancellationToken));
        await History.AppendAsync(
            connection, transaction, workOrderId, now, actor.UserId, EventKinds.Attachment, null, null, name,
            new { attachmentId = info.Id, info.ContentType, info.SizeBytes, info.Sha256 }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return info;
    }

    public async Task<Outcome<AttachmentContent>> GetAsync(long workOrderId, long attachmentId, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await WorkOrderAccess.CheckAsync(connection, null, workOrderId, actor, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var found = await connection.QuerySingleOrDefaultAsync<AttachmentContent>(new CommandDefinition(
            "SELECT file_name AS FileName, content_type AS ContentType, content AS Content FROM attachments WHERE id = @attachmentId AND work_order_id = @workOrderId",
            new { attachmentId, workOrderId },
            cancellationToken: cancellationToken));
        return found is null ? Failure.NotFound("attachment.not_found", attachmentId) : found;
    }
}
