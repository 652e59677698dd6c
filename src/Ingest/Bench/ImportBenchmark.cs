using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;
using WorkOrders.Ingest.Import;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// Measures the ticket importer: writes a synthetic export in the shape of the NYC 311 sample (its mapping plus an
/// assignee column naming one of a number of technicians, every one new to the database, and a small share of rows
/// with an unreadable created date), deterministic by seed, then imports it into a throwaway database and imports it
/// again (which must add nothing). Prints rows/s and the time of each phase; asserts nothing.
/// </summary>
internal static class ImportBenchmark
{
    // The sample mapping of samples/nyc311-elevator-mapping.json, with the assignee column the sample file lacks.
    private const string Mapping = """
        {
          "externalId": { "column": "unique_key", "prefix": "BENCH-" },
          "timeZone": "America/New_York",
          "dateFormats": ["%Y-%m-%d %H:%M:%S"],
          "times": { "created": "created_date", "closed": "closed_date" },
          "startWhenUnknown": "not_known",
          "template": { "name": "Elevator complaint", "workType": "corrective", "department": "Department of Buildings", "defaultPriority": 3 },
          "title": { "template": "{descriptor}" },
          "titleOverflow": "move_to_description",
          "description": { "template": "{resolution_description}\n\n{incident_address}, {city} {incident_zip}" },
          "priority": {
            "column": "descriptor",
            "values": {
              "Accident - Elevator": 1,
              "Elevator - Single Device On Property/No Alternate Service": 2,
              "Elevator - Multiple Devices On Property": 3,
              "MAINTENANCE": 3
            },
            "default": 3
          },
          "status": { "column": "status", "values": { "Closed": "closed", "Assigned": "in_progress", "Open": "new" } },
          "openWithClosedDate": "close",
          "department": { "column": "agency", "values": { "DOB": "Department of Buildings", "HPD": "Housing Preservation and Development" } },
          "site": {
            "column": "borough",
            "codePrefix": "NYC-",
            "values": { "BRONX": "Bronx", "BROOKLYN": "Brooklyn", "MANHATTAN": "Manhattan", "QUEENS": "Queens", "STATEN ISLAND": "Staten Island" },
            "passthrough": true
          },
          "category": {
            "column": "descriptor",
            "field": "fault_code",
            "label": "Fault",
            "values": {
              "Elevator - Single Device On Property/No Alternate Service": "single_device",
              "Elevator - Multiple Devices On Property": "multiple_devices",
              "MAINTENANCE": "maintenance",
              "Accident - Elevator": "accident"
            },
            "default": "other"
          },
          "customFields": [
            { "field": "address", "label": "Address", "template": "{incident_address}, {city} {incident_zip}" },
            { "field": "bbl", "label": "Borough-block-lot", "column": "bbl" }
          ],
          "assignee": { "column": "owner" }
        }
        """;

    // Rows spread over three years; about 80% closed, 15% open, 5% assigned (closed later); 70% with an assignee; one in
    // 500 with a created date that is no date (a reject naming the field).
    private const string Generate = """
        COPY (
            SELECT
                'K' || i AS unique_key,
                CASE WHEN hash(i, {0}, 1) % 500 = 0 THEN 'not a date'
                     ELSE strftime(TIMESTAMP '2022-01-01' + to_seconds(CAST(hash(i, {0}, 2) % 94608000 AS BIGINT)), '%Y-%m-%d %H:%M:%S') END AS created_date,
                CASE WHEN hash(i, {0}, 3) % 100 < 15 THEN NULL
                     ELSE strftime(TIMESTAMP '2022-01-01' + to_seconds(CAST(hash(i, {0}, 2) % 94608000 + 600 + hash(i, {0}, 4) % 1209600 AS BIGINT)), '%Y-%m-%d %H:%M:%S') END AS closed_date,
                CASE WHEN hash(i, {0}, 5) % 4 = 0 THEN 'HPD' ELSE 'DOB' END AS agency,
                ['Elevator - Single Device On Property/No Alternate Service', 'Elevator - Multiple Devices On Property', 'MAINTENANCE',
                 'Accident - Elevator', 'Elevator - Inspection Overdue'][1 + CAST(hash(i, {0}, 6) % 5 AS INTEGER)] AS descriptor,
                CASE WHEN hash(i, {0}, 3) % 100 < 15 THEN 'Open' WHEN hash(i, {0}, 3) % 100 < 20 THEN 'Assigned' ELSE 'Closed' END AS status,
                ['BRONX', 'BROOKLYN', 'MANHATTAN', 'QUEENS', 'STATEN ISLAND'][1 + CAST(hash(i, {0}, 7) % 5 AS INTEGER)] AS borough,
                'The Department of Buildings inspected the elevator at this address and ' ||
                    ['found it in service.', 'issued a violation.', 'could not gain access.'][1 + CAST(hash(i, {0}, 8) % 3 AS INTEGER)] AS resolution_description,
                CAST(1 + hash(i, {0}, 9) % 9999 AS VARCHAR) || ' ' || ['BROADWAY', 'MAIN STREET', 'GRAND CONCOURSE', 'OCEAN AVENUE'][1 + CAST(hash(i, {0}, 10) % 4 AS INTEGER)] AS incident_address,
                'NEW YORK' AS city,
                CAST(10001 + hash(i, {0}, 11) % 600 AS VARCHAR) AS incident_zip,
                CAST(1000000000 + hash(i, {0}, 12) % 4000000000 AS VARCHAR) AS bbl,
                CASE WHEN hash(i, {0}, 13) % 10 < 3 THEN NULL ELSE 'Tech ' || CAST(hash(i, {0}, 14) % {1} AS VARCHAR) END AS owner
            FROM range({2}) t(i)
        ) TO '{3}' (HEADER, DELIMITER ',')
        """;

    public static Command Verb()
    {
        var rows = Cli.Whole("--rows", "rows of the synthetic export", 100_000, 1, 100_000_000);
        var assignees = Cli.Whole("--assignees", "distinct technicians the rows name, all created by the import", 2_000, 1, 1_000_000);
        var seed = Cli.Whole("--seed", "seed of the synthetic values", 1, 0, int.MaxValue);
        var file = new Option<string?>("--file") { Description = "where the export is written (default: a temporary file, removed afterwards)", HelpName = "FILE.csv" };
        var keep = new Option<bool>("--keep") { Description = "leave the throwaway database for a look afterwards" };
        var indexes = ImportCommand.IndexesOption();
        var command = new Command(
            "bench-import",
            "measure the ticket importer: a synthetic export of --rows rows imported into a throwaway database, rows/s and time per phase, then a re-run")
        {
            rows, assignees, seed, file, keep, indexes,
        };
        command.SetRun((parsed, cancellationToken) => RunAsync(
            parsed.GetValue(rows), parsed.GetValue(assignees), parsed.GetValue(seed), parsed.GetValue(file), parsed.GetValue(keep),
            ImportCommand.Upkeep(parsed.GetValue(indexes)), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int rows, int assignees, int seed, string? fileName, bool keep, IndexUpkeep indexes, CancellationToken cancellationToken)
    {
        var file = Path.GetFullPath(fileName ?? Path.Combine(Path.GetTempPath(), $"bench-import-{Environment.ProcessId}.csv"));
        var mappingPath = Path.Combine(Path.GetTempPath(), $"bench-import-{Environment.ProcessId}.mapping.json");
        var rejects = Path.Combine(Path.GetTempPath(), $"bench-import-{Environment.ProcessId}.rejects.csv");
        try
        {
            var written = Stopwatch.StartNew();
            using (var duck = new DuckDBConnection("DataSource=:memory:"))
            {
                duck.Open();
                using var command = duck.CreateCommand();
#pragma warning disable CA2100 // numbers and a path of this process, the quote doubled
                command.CommandText = string.Format(CultureInfo.InvariantCulture, Generate, seed, assignees, rows, file.Replace("'", "''", StringComparison.Ordinal));
#pragma warning restore CA2100
                command.ExecuteNonQuery();
            }

            await File.WriteAllTextAsync(mappingPath, Mapping, cancellationToken);
            AnsiConsole.MarkupLine(
                $"wrote {rows:N0} rows ({new FileInfo(file).Length / 1048576.0:F1} MB) naming up to {assignees:N0} technicians to [blue]{Markup.Escape(file)}[/] in {written.Elapsed.TotalSeconds:F1} s");

            await using var database = await BenchDatabase.CreateAsync("bench_import", 10, keep, cancellationToken);
            var mapping = ImportMapping.Load(mappingPath);
            var import = new HistoryImport(database.Data, NullLogger<HistoryImport>.Instance);

            var timings = new ImportTimings();
            var first = await import.RunAsync(file, mapping, rejects, null, cancellationToken, timings, indexes);
            var again = await import.RunAsync(file, mapping, rejects, null, cancellationToken, indexes: indexes);

            var table = new Table().AddColumns("run", "rows", "loaded", "rejected", "skipped", "events", "users created", "indexes", "seconds", "rows/s");
            foreach (var (name, r) in new[] { ("first", first), ("re-run", again) })
            {
                table.AddRow(
                    name, $"{r.Read:N0}", $"{r.Loaded:N0}", $"{r.Rejected:N0}", $"{r.Skipped:N0}", $"{r.Events:N0}", $"{r.UsersCreated:N0}",
                    r.IndexesRebuilt ? "rebuilt" : "per row", $"{r.Duration.TotalSeconds:F1}", $"{r.Read / Math.Max(r.Duration.TotalSeconds, 0.001):N0}");
            }

            AnsiConsole.Write(table);

            var phases = new Table().AddColumns("phase of the first run", "seconds", "share of wall time");
            foreach (var phase in Enum.GetValues<ImportPhase>())
            {
                phases.AddRow(phase.ToString(), $"{timings[phase].TotalSeconds:F1}", $"{timings[phase] / first.Duration:P0}");
            }

            AnsiConsole.Write(phases);
            AnsiConsole.MarkupLine("Read, check and rejects run beside the writer's phases (dedup to commit), so the shares add up to more than 100%.");
            return 0;
        }
        finally
        {
            File.Delete(mappingPath);
            File.Delete(rejects);
            if (fileName is null)
            {
                File.Delete(file);
            }
        }
    }
}
