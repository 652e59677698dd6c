using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace WorkOrders.Ingest.Bench;

/// <summary>What one pgbench run gave: its transactions per second, or why there is no figure.</summary>
internal sealed record PgbenchResult(double? Tps, string Text)
{
    public string Describe(string unit) => Tps is { } tps ? $"{tps.ToString("N0", CultureInfo.InvariantCulture)} {unit}" : Text;
}

/// <summary>
/// pgbench, as Debian's PostgreSQL packages install it, against a bench command's throwaway database: the cluster's
/// own rates beside which the application's figures are read.
/// </summary>
internal static class Pgbench
{
    /// <summary>The newest pgbench under /usr/lib/postgresql, or null.</summary>
    public static string? Binary() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pgbench")).Where(File.Exists).Order().LastOrDefault()
            : null;

    /// <summary>A one-line INSERT script into a table of its own (an identity key and two columns).</summary>
    public static async Task<PgbenchResult> RawInsertAsync(NpgsqlConnectionStringBuilder bench, int clients, int seconds, CancellationToken cancellationToken)
    {
        if (Binary() is null)
        {
            return NotFound;
        }

        await using (var data = NpgsqlDataSource.Create(bench.ConnectionString))
        {
            await data.CreateCommand("CREATE TABLE IF NOT EXISTS bench_insert (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL)")
                .ExecuteNonQueryAsync(cancellationToken);
        }

        var script = Path.Combine(Path.GetTempPath(), $"bench-insert-{Environment.ProcessId}.sql");
        await File.WriteAllTextAsync(script, "INSERT INTO bench_insert (payload, created_at) VALUES ('work order', now());\n", cancellationToken);
        try
        {
            return await RunAsync(bench, ["-n", "-f", script, .. Load(clients, seconds)], cancellationToken);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// The built-in TPC-B-like transaction (three updates, a select and an insert), on tables initialised at a scale of
    /// at least the client count, so clients do not all queue on one branch row.
    /// </summary>
    public static async Task<PgbenchResult> TpcbAsync(NpgsqlConnectionStringBuilder bench, int clients, int seconds, CancellationToken cancellationToken)
    {
        if (Binary() is null)
        {
            return NotFound;
        }

        var init = await RunAsync(bench, ["-i", "-q", "-s", Math.Max(clients, 1).ToString(CultureInfo.InvariantCulture)], cancellationToken, expectTps: false);
        return init.Text.Length > 0 ? init : await RunAsync(bench, Load(clients, seconds), cancellationToken);
    }

    private static PgbenchResult NotFound => new(null, "not run: pgbench was not found under /usr/lib/postgresql/*/bin");

    private static string[] Load(int clients, int seconds) =>
    [
        "-c", clients.ToString(CultureInfo.InvariantCulture),
        "-j", Math.Min(clients, Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture),
        "-T", seconds.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>Runs pgbench; with <paramref name="expectTps"/> off, an empty text means it succeeded.</summary>
    private static async Task<PgbenchResult> RunAsync(NpgsqlConnectionStringBuilder bench, IEnumerable<string> arguments, CancellationToken cancellationToken, bool expectTps = true)
    {
        var start = new ProcessStartInfo(Binary()!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var argument in new[] { "-h", bench.Host ?? "localhost", "-p", bench.Port.ToString(CultureInfo.InvariantCulture), "-U", bench.Username ?? "postgres", bench.Database! })
        {
            start.ArgumentList.Add(argument);
        }

        if (bench.Password is { } password)
        {
            start.Environment["PGPASSWORD"] = password;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            return new PgbenchResult(null, $"pgbench failed ({process.ExitCode}): {(await errors).Trim()}");
        }

        if (!expectTps)
        {
            return new PgbenchResult(null, "");
        }

        var tps = (await output).Split('\n').FirstOrDefault(l => l.StartsWith("tps = ", StringComparison.Ordinal));
        return tps is not null && double.TryParse(tps[6..].Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? new PgbenchResult(value, tps)
            : new PgbenchResult(null, $"pgbench printed no tps line: {(await output).Trim()}");
    }
}
