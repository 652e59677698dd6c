using Dapper;
using Npgsql;

namespace WorkOrders.Ticketing.Forecasts;

/// <summary>
/// The assets a history generator planted as wearing out (table generator_degradations): the ground truth a forecast
/// backtest is also scored against. Empty for real data.
/// </summary>
public sealed class GeneratorTruth(NpgsqlDataSource dataSource)
{
    public async Task<IReadOnlySet<long>> DegradingAssetsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var ids = await connection.QueryAsync<long>(new CommandDefinition("SELECT asset_id FROM generator_degradations", cancellationToken: cancellationToken));
        return ids.ToHashSet();
    }
}
