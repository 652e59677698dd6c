using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;

namespace WorkOrders.Ingest.Import;

/// <summary>The import verb of the command line.</summary>
internal static class ImportCommand
{
    public static Command Verb()
    {
        var file = new Option<string>("--file") { Description = "the ticket export: CSV, CSV.gz or Parquet, one row per ticket", HelpName = "FILE", Required = true };
        var mapping = new Option<string>("--mapping")
        {
            Description = "the mapping of its columns and values (samples/nyc311-elevator-mapping.json explains every option)",
            HelpName = "FILE",
            Required = true,
        };
        var rejects = new Option<string?>("--rejects") { Description = "where rows that fail go, with the field and reason (default: FILE.rejects.csv)", HelpName = "FILE" };
        var indexes = IndexesOption();
        var command = new Command("import", "import another system's ticket history as work orders") { file, mapping, rejects, indexes };
        command.SetRun((parsed, cancellationToken) =>
            RunAsync(parsed.GetRequiredValue(file), parsed.GetRequiredValue(mapping), parsed.GetValue(rejects), Upkeep(parsed.GetValue(indexes)), cancellationToken));
        return command;
    }

    /// <summary>--indexes: how the import keeps the indexes of work_orders and work_order_events (see <see cref="IndexUpkeep"/>).</summary>
    internal static Option<string> IndexesOption()
    {
        var option = new Option<string>("--indexes")
        {
            Description = "per-row: batches of their own, tables usable meanwhile; rebuild: one transaction that drops the secondary indexes and builds " +
                "them at the end, tables locked for everyone else until then; auto: rebuild when the file has 100,000 rows or more and at least as many as the table",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "per-row", "rebuild");
        return option;
    }

    internal static IndexUpkeep Upkeep(string? value) => value switch
    {
        "per-row" => IndexUpkeep.PerRow,
        "rebuild" => IndexUpkeep.Rebuild,
        _ => IndexUpkeep.Auto,
    };

    private static async Task<int> RunAsync(string fileName, string mappingName, string? rejectsName, IndexUpkeep indexes, CancellationToken cancellationToken)
    {
        var file = Cli.ExistingFile(fileName);

        var mappingPath = Path.GetFullPath(mappingName);
        if (!File.Exists(mappingPath))
        {
            throw new CliException($"--mapping {mappingPath} does not exist (samples/nyc311-elevator-mapping.json is an example)", Cli.Failed);
        }

        var rejects = rejectsName ?? $"{Path.GetFileName(file)}.rejects.csv";
        await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
        await Cli.RequireMigratedAsync(data, cancellationToken);

        ImportResult? result = null;
        try
        {
            var mapping = ImportMapping.Load(mappingPath);
            var import = new HistoryImport(data, NullLogger<HistoryImport>.Instance);
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask("reading", maxValue: 1);
                    var progress = new Warehouse.InlineProgress<ImportProgress>(p =>
                    {
                        task.MaxValue = Math.Max(p.Total, 1);
                        task.Value = p.Read;
                        task.Description = $"{p.Read:N0}/{p.Total:N0} rows: [green]{p.Loaded:N0}[/] loaded, [red]{p.Rejected:N0}[/] rejected, {p.Skipped:N0} skipped";
                    });
                    result = await import.RunAsync(file, mapping, rejects, progress, cancellationToken, indexes: indexes);
                    task.Value = task.MaxValue;
                    task.StopTask();
                });
        }
        catch (MappingException e)
        {
            throw new CliException(e.Message, Cli.Failed);
        }

        var r = result!;
        AnsiConsole.MarkupLine(
            $"[green]{r.Loaded:N0}[/] loaded, [red]{r.Rejected:N0}[/] rejected, {r.Skipped:N0} skipped as already imported, of {r.Read:N0} rows; " +
            $"{r.Events:N0} history events, in {r.Duration.TotalSeconds:F1} s ({r.Read / Math.Max(r.Duration.TotalSeconds, 0.001):N0} rows/s)" +
            (r.IndexesRebuilt ? "; in one transaction, the indexes built at its end" : ""));
        if (r.TemplateCreated || r.DepartmentsCreated + r.SitesCreated + r.AssetsCreated + r.UsersCreated > 0)
        {
            AnsiConsole.MarkupLine(
                $"created: {(r.TemplateCreated ? "the template, " : "")}{r.DepartmentsCreated} department(s), {r.SitesCreated} site(s), {r.AssetsCreated} asset(s), {r.UsersCreated} assignee(s)");
        }

        if (r.RejectsPath is { } path)
        {
            AnsiConsole.MarkupLine($"rejected rows and reasons: [blue]{Markup.Escape(path)}[/]");
        }

        return r.Rejected > 0 ? 1 : 0;
    }
}
