using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing.Database;

namespace WorkOrders.Ingest.Bench;

/// <summary>
/// The throwaway database of a bench command: made beside the one the command line points at and migrated, dropped
/// when disposed, or kept (and named) for a look afterwards.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly NpgsqlConnectionStringBuilder _server;
    private readonly bool _keep;

    private BenchDatabase(NpgsqlConnectionStringBuilder server, NpgsqlConnectionStringBuilder connection, bool keep)
    {
        _server = server;
        _keep = keep;
        Connection = connection;
        Data = NpgsqlDataSource.Create(PostgresConnections.ForApplication(connection.ConnectionString));
    }

    public NpgsqlConnectionStringBuilder Connection { get; }

    public NpgsqlDataSource Data { get; }

    public static async Task<BenchDatabase> CreateAsync(string prefix, int maxPoolSize, bool keep, CancellationToken cancellationToken)
    {
        var server = new NpgsqlConnectionStringBuilder(Cli.ConnectionString());
        var name = $"{prefix}_{Environment.ProcessId}";
        await using (var admin = NpgsqlDataSource.Create(server.ConnectionString))
        {
            await admin.CreateCommand($"CREATE DATABASE {name}").ExecuteNonQueryAsync(cancellationToken);
        }

        var database = new BenchDatabase(server, new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name, MaxPoolSize = maxPoolSize }, keep);
        try
        {
            DefaultTypeMap.MatchNamesWithUnderscores = true;
            await new Migrator(database.Data, NullLogger<Migrator>.Instance).ApplyAsync(cancellationToken);
            return database;
        }
        catch
        {
            await database.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Data.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        if (_keep)
        {
            AnsiConsole.MarkupLine($"kept the database [blue]{Connection.Database}[/]");
            return;
        }

        await using var admin = NpgsqlDataSource.Create(_server.ConnectionString);
        await admin.CreateCommand($"DROP DATABASE IF EXISTS {Connection.Database} WITH (FORCE)").ExecuteNonQueryAsync(CancellationToken.None);
    }
}
