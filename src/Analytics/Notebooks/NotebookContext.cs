using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Kpis;

namespace WorkOrders.Analytics.Notebooks;

/// <summary>
/// What a notebook (<c>dotnet run notebooks/NAME.cs -- [--warehouse FILE] [--out DIR] [--from yyyy-MM-dd] [--to yyyy-MM-dd]</c>)
/// needs: the warehouse snapshot opened read-only (the dashboard owns the live file), the period, and a Markdown
/// report with tables and charts written beside it.
/// </summary>
public sealed class NotebookContext : IDisposable
{
    private readonly StringBuilder _report = new();

    private NotebookContext(string name, DuckDBConnection warehouse, string output, KpiFilter period)
    {
        Name = name;
        Warehouse = warehouse;
        Output = output;
        Period = period;
    }

    public string Name { get; }

    public DuckDBConnection Warehouse { get; }

    public string Output { get; }

    public KpiFilter Period { get; }

    public static NotebookContext Open(string name, string[] args)
    {
        string? Option(string option) => args.SkipWhile(a => a != option).Skip(1).FirstOrDefault();
        var path = Option("--warehouse") ?? Environment.GetEnvironmentVariable("WORKORDERS_WAREHOUSE_SNAPSHOT") ?? Path.Combine(".data", "warehouse-snapshot.duckdb");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"No warehouse snapshot at {Path.GetFullPath(path)}. Run ./run.sh (its ingest publishes one) or " +
                "'dotnet run --project src/Ingest -- ingest', or pass --warehouse FILE.", path);
        }

        DuckDBConnection? warehouse = new($"Data Source={path};ACCESS_MODE=READ_ONLY");
        NotebookContext context;
        try
        {
            warehouse.Open();
            using var command = warehouse.CreateCommand();
            command.CommandText = "SELECT coalesce(max(created_at), current_date)::DATE FROM (SELECT created_at FROM fact_work_order UNION ALL SELECT created_at FROM open_work_order)";
            var latest = (DateOnly)command.ExecuteScalar()!;
            var to = Date(Option("--to")) ?? latest.AddDays(1);
            var from = Date(Option("--from")) ?? to.AddYears(-1);
            var period = new KpiFilter(from, to);
            if (period.Problems().Count > 0)
            {
                throw new ArgumentException($"--to must be after --from ({from:yyyy-MM-dd} .. {to:yyyy-MM-dd}).");
            }

            var output = Path.GetFullPath(Option("--out") ?? Path.Combine("notebooks", "out", name));
            Directory.CreateDirectory(output);
            context = new NotebookContext(name, warehouse, output, period);
            warehouse = null;
        }
        finally
        {
            warehouse?.Dispose();
        }

        var (first, last) = (context.Period.From, context.Period.To.AddDays(-1));
        context.Line($"# {name}");
        context.Line();
        context.Line($"Warehouse snapshot `{Path.GetFileName(path)}`, period {first:yyyy-MM-dd} to {last:yyyy-MM-dd} (UTC).");
        context.Line();
        Console.WriteLine($"{name}: {first:yyyy-MM-dd} .. {last:yyyy-MM-dd}, output in {context.Output}");
        return context;
    }

    public void Line(string text = "") => _report.AppendLine(text);

    /// <summary>Prints a table and adds it to the report.</summary>
    public void Table(string title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<object?>> rows)
    {
        var cells = rows.Select(r => r.Select(Format).ToArray()).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))));
        foreach (var row in cells)
        {
            Console.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))));
        }

        Line($"## {title}");
        Line();
        Line("| " + string.Join(" | ", headers) + " |");
        Line("|" + string.Concat(headers.Select(_ => " --- |")));
        foreach (var row in cells)
        {
            Line("| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
        }

        if (cells.Count == 0)
        {
            Line("_No data in this period._");
        }

        Line();
    }

    /// <summary>Where to save a chart; <see cref="Chart"/> then links it in the report.</summary>
    public string ImagePath(string fileName) => Path.Combine(Output, fileName);

    public void Chart(string fileName, string caption)
    {
        Line($"![{caption}]({fileName})");
        Line();
    }

    public void Dispose()
    {
        File.WriteAllText(Path.Combine(Output, "report.md"), _report.ToString());
        Warehouse.Dispose();
        Console.WriteLine($"report: {Path.Combine(Output, "report.md")}");
    }

    private static DateOnly? Date(string? text) =>
        text is null ? null : DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Format(object? value) => value switch
    {
        null => "",
        double d => d.ToString("0.##", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
