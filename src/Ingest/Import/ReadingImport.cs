using System.CommandLine;
using System.Globalization;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Meters;

namespace WorkOrders.Ingest.Import;

/// <summary>A row that passed the file checks: the meter by asset code and name, and the reading.</summary>
public sealed record ReadingRow(long SourceRow, string AssetCode, string MeterName, DateTime ReadAt, decimal Value, bool IsReset, string? ResetReason);

public sealed record ReadingImportResult(long Read, long Added, long AlreadyThere, long Rejected, string? RejectsPath);

/// <summary>
/// The checks of one row of a readings file, with no database: asset code, meter name, read_at (ISO 8601; without an
/// offset it is in the file's time zone), value (invariant decimal), reset flag (empty, 0/1, true/false, yes/no,
/// y/n) and an optional reset_reason. The reading rules themselves (monotonic, resets) are the core's, applied
/// when the row is recorded.
/// </summary>
public sealed class ReadingRowRules(IReadOnlyList<string> columns, TimeZoneInfo zone, string fileName)
{
    public static readonly string[] Required = ["asset_code", "meter", "read_at", "value"];
    public static readonly string[] Optional = ["reset", "reset_reason"];

    private readonly int[] _index = [.. Required.Concat(Optional).Select(c => IndexOf(columns, c))];

    public RowVerdict Decide(SourceRow row, out ReadingRow? reading)
    {
        reading = null;
        var problems = new List<RowProblem>();
        string? Get(int i) => _index[i] < 0 ? null : Blank(row.Values[_index[i]]);
        var asset = Get(0);
        var meter = Get(1);
        var readAtText = Get(2);
        var valueText = Get(3);
        var resetText = Get(4);
        var reason = Get(5);
        if (asset is null)
        {
            problems.Add(new("asset_code", "is empty; the asset's code is required."));
        }

        if (meter is null)
        {
            problems.Add(new("meter", "is empty; the meter's name is required."));
        }

        DateTime? readAt = null;
        if (readAtText is null)
        {
            problems.Add(new("read_at", "is empty; the time of the reading is required."));
        }
        else if (TryParseTime(readAtText, zone, out var parsed))
        {
            readAt = parsed;
        }
        else
        {
            problems.Add(new("read_at", $"'{readAtText}' is not a date and time (ISO 8601 expected, such as 2026-05-06 07:30)."));
        }

        decimal? value = null;
        if (valueText is null)
        {
            problems.Add(new("value", "is empty; the meter's value is required."));
        }
        else if (decimal.TryParse(valueText, NumberStyles.Number, CultureInfo.InvariantCulture, out var number))
        {
            value = number;
        }
        else
        {
            problems.Add(new("value", $"'{valueText}' is not a number (write 1234.5, a dot for decimals)."));
        }

        var isReset = false;
        switch (resetText?.ToUpperInvariant())
        {
            case null or "0" or "FALSE" or "NO" or "N":
                break;
            case "1" or "TRUE" or "YES" or "Y":
                isReset = true;
                break;
            default:
                problems.Add(new("reset", $"'{resetText}' is not a reset flag (use 1/0, true/false, yes/no)."));
                break;
        }

        if (problems.Count == 0)
        {
            reading = new ReadingRow(row.Number, asset!, meter!, readAt!.Value, value!.Value, isReset,
                isReset ? reason ?? $"reset in {fileName}, row {row.Number}" : reason);
        }

        return new RowVerdict(row.Number, asset is null ? null : $"{asset}/{meter}", null, problems);
    }

    /// <summary>
    /// A time of a file in UTC: ISO 8601 with an offset as it says, without one in <paramref name="zone"/> (a wall time a
    /// daylight-saving jump skipped is read in standard time).
    /// </summary>
    internal static bool TryParseTime(string text, TimeZoneInfo zone, out DateTime utc)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var parsed) && HasOffset(text))
        {
            utc = parsed.UtcDateTime;
            return true;
        }

        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var local))
        {
            var wall = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
            utc = zone.IsInvalidTime(wall) ? DateTime.SpecifyKind(wall - zone.BaseUtcOffset, DateTimeKind.Utc) : TimeZoneInfo.ConvertTimeToUtc(wall, zone);
            return true;
        }

        utc = default;
        return false;
    }

    private static bool HasOffset(string text) =>
        text.EndsWith('Z') || text.EndsWith('z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');

    private static int IndexOf(IReadOnlyList<string> columns, string name) =>
        columns.Select((c, i) => (c, i)).FirstOrDefault(x => string.Equals(x.c, name, StringComparison.OrdinalIgnoreCase), (null!, -1)).i;

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>
/// Imports meter readings from CSV or .xlsx row by row: each row is checked, then recorded through the core's meter
/// register (source "import"), so the reading rules are the ones the UI and the API apply. Rows go in time order,
/// whatever order the file has. A rejected row goes to the reject file with the field and the reason; a row recorded
/// before is counted as already there, so running the same file again adds nothing.
/// </summary>
public sealed class ReadingImport(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public async Task<ReadingImportResult> RunAsync(string file, string rejectsPath, TimeZoneInfo zone, CancellationToken cancellationToken)
    {
        using var source = SourceFile.OpenTable(file, ReadingRowRules.Required, ReadingRowRules.Optional);
        var rules = new ReadingRowRules(source.Columns, zone, Path.GetFileName(file));
        await using var rejects = new RejectFile(rejectsPath);
        var rows = new List<ReadingRow>();
        long read = 0, rejected = 0, added = 0, already = 0;
        foreach (var row in source.Rows(cancellationToken))
        {
            read++;
            var verdict = rules.Decide(row, out var reading);
            if (reading is null)
            {
                rejected++;
                await rejects.WriteAsync(verdict, cancellationToken);
            }
            else
            {
                rows.Add(reading);
            }
        }

        var register = new MeterRegister(dataSource, clock);
        var meters = new Dictionary<(string, string), long?>();
        foreach (var row in rows.OrderBy(r => r.ReadAt).ThenBy(r => r.SourceRow))
        {
            var key = (row.AssetCode, row.MeterName.ToUpperInvariant());
            if (!meters.TryGetValue(key, out var meterId))
            {
                meterId = meters[key] = await register.FindAsync(row.AssetCode, row.MeterName, cancellationToken);
            }

            IReadOnlyList<RowProblem> problems;
            if (meterId is null)
            {
                problems = [new("meter", $"asset '{row.AssetCode}' has no meter '{row.MeterName}' (or there is no such asset).")];
            }
            else
            {
                var outcome = await register.RecordAsync(
                    new ReadingEntry(meterId, row.ReadAt, row.Value, row.IsReset, row.ResetReason), null, ReadingSource.Import, cancellationToken);
                if (outcome.Value is { } recorded)
                {
                    _ = recorded.Created ? added++ : already++;
                    continue;
                }

                problems = Problems(outcome.Failure!);
            }

            rejected++;
            await rejects.WriteAsync(new RowVerdict(row.SourceRow, $"{row.AssetCode}/{row.MeterName}", null, problems), cancellationToken);
        }

        return new ReadingImportResult(read, added, already, rejected, rejects.Written ? rejects.Path : null);
    }

    /// <summary>The verb: <c>import-readings --file FILE</c>.</summary>
    internal static Command Verb()
    {
        var file = new Option<string>("--file")
        {
            Description = "the readings: CSV or .xlsx with columns asset_code, meter, read_at, value, and optionally reset and reset_reason",
            HelpName = "FILE",
            Required = true,
        };
        var rejects = new Option<string?>("--rejects") { Description = "where rows that fail go, with the field and reason (default: FILE.rejects.csv)", HelpName = "FILE" };
        var zone = new Option<string>("--time-zone")
        {
            Description = "the IANA time zone of read_at values written without an offset (default: UTC)",
            HelpName = "ZONE",
            DefaultValueFactory = _ => "UTC",
        };
        var command = new Command("import-readings", "import meter readings; rows already imported are skipped, so a file can be imported again") { file, rejects, zone };
        command.SetRun(async (parsed, cancellationToken) =>
        {
            var path = Cli.ExistingFile(parsed.GetRequiredValue(file));

            if (!TimeZoneInfo.TryFindSystemTimeZoneById(parsed.GetRequiredValue(zone), out var timeZone))
            {
                throw new CliException($"--time-zone {parsed.GetRequiredValue(zone)} is not a time zone (use an IANA name such as Asia/Taipei)", Cli.UsageError);
            }

            await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
            await Cli.RequireMigratedAsync(data, cancellationToken);
            ReadingImportResult result;
            try
            {
                result = await new ReadingImport(data, TimeProvider.System).RunAsync(
                    path, parsed.GetValue(rejects) ?? $"{Path.GetFileName(path)}.rejects.csv", timeZone, cancellationToken);
            }
            catch (MappingException e)
            {
                throw new CliException(e.Message, Cli.Failed);
            }

            AnsiConsole.MarkupLine(
                $"[green]{result.Added:N0}[/] readings added, {result.AlreadyThere:N0} already there, [red]{result.Rejected:N0}[/] rejected, of {result.Read:N0} rows");
            if (result.RejectsPath is { } rejected)
            {
                AnsiConsole.MarkupLine($"rejected rows and reasons: [blue]{Markup.Escape(rejected)}[/]");
            }

            return result.Rejected > 0 ? 1 : 0;
        });
        return command;
    }

    private static RowProblem[] Problems(Failure failure) => failure.Errors is { } errors
        ? [.. errors.SelectMany(e => e.Value.Select(r => new RowProblem(Column(e.Key), r.ToString())))]
        : [new RowProblem("meter", failure.Message)];

    private static string Column(string field) => field switch
    {
        "readAt" => "read_at",
        "resetReason" => "reset_reason",
        "meterId" => "meter",
        _ => field,
    };
}
