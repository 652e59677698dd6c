using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ingest.Import;

/// <summary>The import command of the CLI.</summary>
internal static class ImportCommand
{
    public const string Help = "import another system's ticket history as work orders: --file F.csv|.csv.gz|.parquet --mapping M.json [--rejects R.csv]";

    public static async Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        var file = Path.GetFullPath(args.Required("file"));
        if (!File.Exists(file))
        {
            throw new CliException($"--file {file} does not exist");
        }

        var mappingPath = Path.GetFullPath(args.Required("mapping"));
        if (!File.Exists(mappingPath))
        {
            throw new CliException($"--mapping {mappingPath} does not exist (samples/nyc311-elevator-mapping.json is an example)");
        }

        var rejects = args.Text("rejects") ?? $"{Path.GetFileName(file)}.rejects.csv";
        await using var data = NpgsqlDataSource.Create(CliArgs.ConnectionString());
        if (await new Migrator(data, NullLogger<Migrator>.Instance).PendingAsync(cancellationToken) is { Count: > 0 } pending)
        {
            throw new CliException($"the database schema is behind ({pending.Count} migration(s) pending); start the app once (./run.sh) to migrate it");
        }

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
                    result = await import.RunAsync(file, mapping, rejects, progress, cancellationToken);
                    task.Value = task.MaxValue;
                    task.StopTask();
                });
        }
        catch (MappingException e)
        {
            throw new CliException(e.Message);
        }

        var r = result!;
        AnsiConsole.MarkupLine(
            $"[green]{r.Loaded:N0}[/] loaded, [red]{r.Rejected:N0}[/] rejected, {r.Skipped:N0} skipped as already imported, of {r.Read:N0} rows; " +
            $"{r.Events:N0} history events, in {r.Duration.TotalSeconds:F1} s ({r.Read / Math.Max(r.Duration.TotalSeconds, 0.001):N0} rows/s)");
        if (r.TemplateCreated || r.DepartmentsCreated + r.SitesCreated + r.UsersCreated > 0)
        {
            AnsiConsole.MarkupLine(
                $"created: {(r.TemplateCreated ? "the template, " : "")}{r.DepartmentsCreated} department(s), {r.SitesCreated} site(s), {r.UsersCreated} assignee(s)");
        }

        if (r.RejectsPath is { } path)
        {
            AnsiConsole.MarkupLine($"rejected rows and reasons: [blue]{Markup.Escape(path)}[/]");
        }

        return r.Rejected > 0 ? 1 : 0;
    }
}
