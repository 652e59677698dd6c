using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Benchmarks;

/// <summary>A benchmark that needs a PostgreSQL server, named by <see cref="BenchmarkDatabase.Variable"/>; left out when it is not set.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class NeedsPostgreSqlAttribute : Attribute;

/// <summary>The PostgreSQL server the benchmarks may use, and throwaway databases on it.</summary>
internal sealed class BenchmarkDatabase : IAsyncDisposable
{
    public const string Variable = "WORKORDERS_BENCH_PG";

    private readonly NpgsqlConnectionStringBuilder _server;
    private readonly string _name;

    private BenchmarkDatabase(NpgsqlConnectionStringBuilder server, string name, NpgsqlDataSource data)
    {
        _server = server;
        _name = name;
        Data = data;
    }

    /// <summary>A connection string for a role that may create databases, or null when none is given.</summary>
    public static string? Server => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;

    public NpgsqlDataSource Data { get; }

    /// <summary>A new database, migrated, on the server; dropped again on dispose.</summary>
    public static async Task<BenchmarkDatabase> CreateAsync(string purpose)
    {
        var server = new NpgsqlConnectionStringBuilder(Server ?? throw new InvalidOperationException($"{Variable} is not set"));
        var name = $"bench_{purpose}_{Environment.ProcessId}";
        await using (var admin = NpgsqlDataSource.Create(server.ConnectionString))
        {
            await admin.CreateCommand($"CREATE DATABASE {name}").ExecuteNonQueryAsync();
        }

        var data = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name }.ConnectionString);
        await new Migrator(data, NullLogger<Migrator>.Instance).ApplyAsync(CancellationToken.None);
        return new BenchmarkDatabase(server, name, data);
    }

    public async ValueTask DisposeAsync()
    {
        await Data.DisposeAsync();
        await using var admin = NpgsqlDataSource.Create(_server.ConnectionString);
        await admin.CreateCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)").ExecuteNonQueryAsync();
    }
}
