using System.Globalization;
using System.Text;

namespace WorkOrders.Ingest.Import;

/// <summary>
/// The rows that were not imported, as CSV: source row (1-based, header not counted), external id, field, reason; one line
/// per problem. The file is made at the first reject, so a clean import leaves none behind.
/// </summary>
public sealed class RejectFile(string path) : IAsyncDisposable
{
    public const string Header = "row,external_id,field,reason";

    private StreamWriter? _writer;

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public bool Written => _writer is not null;

    public async Task WriteAsync(RowVerdict verdict, CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            _writer = new StreamWriter(Path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            await _writer.WriteLineAsync(Header.AsMemory(), cancellationToken);
        }

        foreach (var problem in verdict.Problems)
        {
            var line = string.Join(',', verdict.SourceRow.ToString(CultureInfo.InvariantCulture), Field(verdict.ExternalId), Field(problem.Field), Field(problem.Reason));
            await _writer.WriteLineAsync(line.AsMemory(), cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }
    }

    private static string Field(string? value) =>
        value is null ? "" : value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
