using Dapper;
using Npgsql;

namespace WorkOrders.Ingest.Generate;

/// <summary>
/// The assets a history generator planted as wearing out (generator.degradations): the ground truth a forecast
/// backtest is also scored against. Empty for real data, where the generator never ran.
/// </summary>
public sealed class GeneratorTruth(NpgsqlDataSource dataSource)
{
    private const string Degrading = "SELECT asset_id FROM generator.degradations";

    private const string Exists = "SELECT to_regclass('generator.degradations') IS NOT NULL";

    public async Task<IReadOnlySet<long>> DegradingAssetsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(Exists, cancellationToken: cancellationToken)))
        {
            return new HashSet<long>();
        }

        var ids = await connection.QueryAsync<long>(new CommandDefinition(Degrading, cancellationToken: cancellationToken));
        return ids.ToHashSet();
    }
}
