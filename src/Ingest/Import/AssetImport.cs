using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Assets;

namespace WorkOrders.Ingest.Import;

public sealed record AssetImportResult(long Read, long Loaded, long Rejected, long Skipped, string? RejectsPath, TimeSpan Duration);

/// <summary>
/// The bulk register: assets from a CSV, Parquet or .xlsx file, one per row, checked row by row with the register's own
/// rules (<see cref="AssetAttributes.Check"/>, <see cref="AssetPlacement"/>) and written through the register, each with
/// an 'imported' history event. A row whose code is already registered is skipped, so a file can be imported again.
/// Parents may come later in the file than their children, or be registered already; a row whose parent is rejected
/// is rejected too. What fails goes to the same reject file as the work-order importer's.
/// </summary>
public sealed class AssetImport(NpgsqlDataSource dataSource, TimeProvider clock)
{
    /// <summary>The columns read, by their names in the file (case and spaces do not matter); the first three are required.</summary>
    public static IReadOnlyList<string> Columns { get; } =
        ["code", "name", "kind", "parent_code", "type", "manufacturer", "model", "serial", "installed_on", "commissioned_on", "criticality", "cost", "warranty_ends_on", "location"];

    // The register's field names, as refusals name them, and the column each comes from.
    private static readonly Dictionary<string, string> ColumnOfField = new(StringComparer.Ordinal)
    {
        ["code"] = "code", ["name"] = "name", ["kind"] = "kind", ["parentId"] = "parent_code", ["assetType"] = "type",
        ["manufacturer"] = "manufacturer", ["model"] = "model", ["serialNumber"] = "serial", ["installedOn"] = "installed_on",
        ["commissionedOn"] = "commissioned_on", ["criticality"] = "criticality", ["cost"] = "cost", ["warrantyEndsOn"] = "warranty_ends_on",
        ["location"] = "location", ["lifecycle"] = "kind",
    };

    public async Task<AssetImportResult> RunAsync(string path, string rejectsPath, long? actorId, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        using var source = SourceFile.OpenTable(path);
        var index = ColumnIndexes(source.Columns, path);
        var rows = source.Rows(cancellationToken).Select(r => Parse(r, index)).ToList();

        // Later rows with a code seen before are rejected; the first keeps the code.
        var firstRow = new Dictionary<string, Row>(StringComparer.Ordinal);
        foreach (var row in rows.Where(r => r.Code is not null))
        {
            if (!firstRow.TryAdd(row.Code!, row))
            {
                row.Problems.Add(new RowProblem("code", $"'{row.Code}' is on row {firstRow[row.Code!].Number} already"));
            }
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var wanted = rows.SelectMany(r => new[] { r.Code, r.ParentCode }).OfType<string>().Distinct().ToArray();
        var registered = (await connection.QueryAsync<(string Code, long Id)>(new CommandDefinition(
            "SELECT code, id FROM assets WHERE code = ANY(@wanted)", new { wanted }, cancellationToken: cancellationToken)))
            .ToDictionary(a => a.Code, a => a.Id, StringComparer.Ordinal);
        foreach (var row in rows.Where(r => r.Problems.Count == 0 && registered.ContainsKey(r.Code!)))
        {
            row.Skipped = true;
        }

        var register = new AssetRegister(dataSource, clock);
        long loaded = 0;
        foreach (var row in InParentOrder(rows, firstRow, registered))
        {
            cancellationToken.ThrowIfCancellationRequested();
            long? parentId = row.ParentCode is null ? null : registered.GetValueOrDefault(row.ParentCode);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var created = await register.CreateAsync(connection, transaction, row.Request with { ParentId = parentId }, actorId, "imported", cancellationToken);
            if (created.Failure is { } failure)
            {
                await transaction.RollbackAsync(cancellationToken);
                row.Problems.AddRange(Problems(failure));
                continue;
            }

            await transaction.CommitAsync(cancellationToken);
            registered[row.Code!] = created.Value;
            loaded++;
        }

        var rejected = rows.Where(r => r.Problems.Count > 0).OrderBy(r => r.Number).ToList();
        await using (var rejects = new RejectFile(rejectsPath))
        {
            foreach (var row in rejected)
            {
                await rejects.WriteAsync(new RowVerdict(row.Number, row.Code, null, row.Problems), cancellationToken);
            }
        }

        return new AssetImportResult(
            rows.Count, loaded, rejected.Count, rows.Count(r => r.Skipped && r.Problems.Count == 0), rejected.Count > 0 ? Path.GetFullPath(rejectsPath) : null, started.Elapsed);
    }

    /// <summary>
    /// The rows to create, each after its parent: a row whose parent is in the file waits for it; one whose parent is
    /// rejected, missing, or in a loop of the file's own parents gets the reason instead.
    /// </summary>
    private static List<Row> InParentOrder(List<Row> rows, Dictionary<string, Row> byCode, Dictionary<string, long> registered)
    {
        var order = new List<Row>();
        var state = new Dictionary<Row, int>();
        foreach (var row in rows)
        {
            Visit(row, []);
        }

        return order;

        // 0 unvisited, 1 on the path being followed, 2 decided.
        bool Visit(Row row, List<Row> path)
        {
            switch (state.GetValueOrDefault(row))
            {
                case 2:
                    return row.Problems.Count == 0;
                case 1:
                    foreach (var inLoop in path.SkipWhile(r => r != row))
                    {
                        inLoop.Problems.Add(new RowProblem("parent_code", $"'{inLoop.ParentCode}' leads back to '{inLoop.Code}': the parents form a loop"));
                    }

                    return false;
            }

            if (row.Problems.Count > 0 || row.Skipped)
            {
                state[row] = 2;
                return row.Problems.Count == 0;
            }

            state[row] = 1;
            path.Add(row);
            var parentFine = true;
            if (row.ParentCode is { } parentCode)
            {
                if (byCode.TryGetValue(parentCode, out var parent) && !parent.Skipped)
                {
                    parentFine = Visit(parent, path);
                    if (!parentFine && row.Problems.Count == 0)
                    {
                        row.Problems.Add(new RowProblem("parent_code", $"'{parentCode}' on row {parent.Number} was rejected"));
                    }
                }
                else if (!registered.ContainsKey(parentCode))
                {
                    row.Problems.Add(new RowProblem("parent_code", $"no asset '{parentCode}' in the file or the register"));
                    parentFine = false;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[row] = 2;
            if (parentFine && row.Problems.Count == 0)
            {
                order.Add(row);
                return true;
            }

            return false;
        }
    }

    private static Dictionary<string, int> ColumnIndexes(IReadOnlyList<string> columns, string path)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < columns.Count; i++)
        {
            var name = columns[i].Trim().ToLowerInvariant().Replace(' ', '_').Replace('-', '_');
            name = name switch { "serial_number" => "serial", "asset_type" => "type", "parent" => "parent_code", _ => name };
            index.TryAdd(name, i);
        }

        var missing = Columns.Take(3).Where(c => !index.ContainsKey(c)).ToList();
        return missing.Count == 0
            ? index
            : throw new MappingException($"{Path.GetFileName(path)} lacks the column(s) {string.Join(", ", missing)} (it has: {string.Join(", ", columns)})");
    }

    private static Row Parse(SourceRow source, Dictionary<string, int> index)
    {
        string? Value(string column) => index.TryGetValue(column, out var i) && source.Values[i] is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        var problems = new List<RowProblem>();

        DateOnly? Date(string column)
        {
            if (Value(column) is not { } text)
            {
                return null;
            }

            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                return day;
            }

            if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            {
                return DateOnly.FromDateTime(time);
            }

            problems.Add(new RowProblem(column, $"'{text}' is not a date (write yyyy-MM-dd)"));
            return null;
        }

        AssetKind? kind = null;
        if (Value("kind") is { } kindText)
        {
            if (WireNames.TryParse<AssetKind>(kindText.ToLowerInvariant(), out var k))
            {
                kind = k;
            }
            else
            {
                problems.Add(new RowProblem("kind", $"'{kindText}' is not a kind; use: {string.Join(", ", Enum.GetValues<AssetKind>().Select(WireNames.Of))}"));
            }
        }
        else
        {
            problems.Add(new RowProblem("kind", new Refusal("asset.kind_required").ToString()));
        }

        var criticality = 3;
        if (Value("criticality") is { } criticalityText && !int.TryParse(criticalityText, NumberStyles.Integer, CultureInfo.InvariantCulture, out criticality))
        {
            problems.Add(new RowProblem("criticality", $"'{criticalityText}' is not a whole number from 1 to 5"));
        }

        decimal? cost = null;
        if (Value("cost") is { } costText)
        {
            if (decimal.TryParse(costText, NumberStyles.Number, CultureInfo.InvariantCulture, out var c))
            {
                cost = c;
            }
            else
            {
                problems.Add(new RowProblem("cost", $"'{costText}' is not a number"));
            }
        }

        var request = new CreateAssetRequest(
            Value("code"), Value("name"), kind, null, Value("type"), Value("location"), criticality, Date("installed_on"),
            Value("manufacturer"), Value("model"), Value("serial"), Date("commissioned_on"), cost, Date("warranty_ends_on"));
        var errors = new FieldErrors();
        AssetAttributes.Check(
            request.Code, request.Name, request.AssetType, request.Manufacturer, request.Model, request.SerialNumber, request.InstalledOn,
            request.CommissionedOn, request.Criticality, request.Cost, request.WarrantyEndsOn, request.Location, errors);
        if (errors.Any)
        {
            problems.AddRange(Problems(errors.ToFailure()));
        }

        return new Row(source.Number, request.Code?.Trim() is { Length: > 0 } code ? code : null, Value("parent_code"), request, problems);
    }

    private static IEnumerable<RowProblem> Problems(Failure failure) => failure.Errors is null
        ? [new RowProblem("code", failure.Message)]
        : failure.Texts(CultureInfo.InvariantCulture).SelectMany(e => e.Value.Select(text => new RowProblem(ColumnOfField.GetValueOrDefault(e.Key, e.Key), text)));

    private sealed class Row(long number, string? code, string? parentCode, CreateAssetRequest request, List<RowProblem> problems)
    {
        public long Number { get; } = number;

        public string? Code { get; } = code;

        public string? ParentCode { get; } = parentCode;

        public CreateAssetRequest Request { get; } = request;

        public List<RowProblem> Problems { get; } = problems;

        public bool Skipped { get; set; }
    }
}

/// <summary>The import-assets verb of the command line.</summary>
internal static class AssetImportCommand
{
    public static Command Verb()
    {
        var file = new Option<string>("--file")
        {
            Description = $"the assets: CSV, Parquet or .xlsx with the columns {string.Join(", ", AssetImport.Columns)} (code, name and kind required)",
            HelpName = "FILE",
            Required = true,
        };
        var rejects = new Option<string?>("--rejects") { Description = "where rows that fail go, with the column and reason (default: FILE.rejects.csv)", HelpName = "FILE" };
        var command = new Command("import-assets", "register assets in bulk; parents may come later in the file or be registered already") { file, rejects };
        command.SetRun(async (parsed, cancellationToken) =>
        {
            var path = Cli.ExistingFile(parsed.GetRequiredValue(file));

            await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
            await Cli.RequireMigratedAsync(data, cancellationToken);
            AssetImportResult result;
            try
            {
                result = await new AssetImport(data, TimeProvider.System).RunAsync(
                    path, parsed.GetValue(rejects) ?? $"{Path.GetFileName(path)}.rejects.csv", null, cancellationToken);
            }
            catch (MappingException e)
            {
                throw new CliException(e.Message, Cli.Failed);
            }

            var output = parsed.InvocationConfiguration.Output;
            await output.WriteLineAsync(
                $"{result.Loaded:N0} registered, {result.Rejected:N0} rejected, {result.Skipped:N0} skipped as already registered, of {result.Read:N0} rows in {result.Duration.TotalSeconds:F1} s");
            if (result.RejectsPath is { } rejected)
            {
                await output.WriteLineAsync($"rejected rows and reasons: {rejected}");
            }

            return result.Rejected > 0 ? Cli.Failed : 0;
        });
        return command;
    }
}
