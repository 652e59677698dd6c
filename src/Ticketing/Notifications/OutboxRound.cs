namespace WorkOrders.Ticketing.Notifications;

/// <summary>One round of an outbox sender: batches until one comes back short.</summary>
internal static class OutboxRound
{
    /// <summary>
    /// Runs <paramref name="batch"/> until it handles fewer than <paramref name="batchSize"/>; database trouble and any
    /// other failure are handed to the caller's log and left for the next round, so a bad batch never stops the host.
    /// </summary>
    public static async Task DrainAsync(
        Func<CancellationToken, Task<int>> batch, int batchSize, Action<Exception> databaseTrouble, Action<Exception> failed, CancellationToken cancellationToken)
    {
        try
        {
            while (await batch(cancellationToken) >= batchSize)
            {
            }
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or IOException or TimeoutException)
        {
            databaseTrouble(e);
        }
#pragma warning disable CA1031 // A bug met by one batch must not stop the host: it is logged and the next round tries again.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            failed(e);
        }
    }
}
