using System.Text.RegularExpressions;
using Npgsql;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ingest.Import;

/// <summary>What an upload to the register did, and the token of its reject file when rows were rejected.</summary>
public sealed record AssetUploadResult(long Read, long Loaded, long Rejected, long Skipped, string? RejectsToken);

/// <summary>
/// The bulk register from the web: an uploaded file goes through the same <see cref="AssetImport"/> as the command line,
/// as the signed-in administrator or planner. The reject file stays in a folder of its own under the system's
/// temporary files, named by a random token, for the HTTP endpoint that offers it for download.
/// </summary>
public sealed partial class AssetUploads(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const long MaxBytes = 50 * 1024 * 1024;

    private static readonly string[] Extensions = [".csv", ".tsv", ".parquet", ".xlsx"];

    private readonly string _folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "workorders-asset-imports")).FullName;

    public async Task<Outcome<AssetUploadResult>> ImportAsync(Stream content, string fileName, Actor actor, CancellationToken cancellationToken)
    {
        if (!actor.WritesAssets)
        {
            return Failure.Forbidden("asset.write_forbidden");
        }

        var extension = Path.GetExtension(fileName).ToLowerInvariant();
        if (!Extensions.Contains(extension))
        {
            return Failure.Invalid("file", "asset.import_format", string.Join(", ", Extensions));
        }

        var token = Guid.NewGuid().ToString("N");
        var upload = Path.Combine(_folder, token + extension);
        try
        {
            await using (var file = File.Create(upload))
            {
                await content.CopyToAsync(file, cancellationToken);
            }

            var result = await new AssetImport(dataSource, clock).RunAsync(upload, Path.Combine(_folder, token + ".rejects.csv"), actor.UserId, cancellationToken);
            return new AssetUploadResult(result.Read, result.Loaded, result.Rejected, result.Skipped, result.RejectsPath is null ? null : token);
        }
        catch (MappingException e)
        {
            return Failure.Invalid("file", "asset.import_unreadable", e.Message);
        }
        finally
        {
            File.Delete(upload);
        }
    }

    /// <summary>The reject file of an upload, for those who may write the register; null when there is none.</summary>
    public string? RejectsPath(string token, Actor actor)
    {
        if (!actor.WritesAssets || !Token().IsMatch(token))
        {
            return null;
        }

        var path = Path.Combine(_folder, token + ".rejects.csv");
        return File.Exists(path) ? path : null;
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex Token();
}
