namespace WorkOrders.Ticketing.Notifications;

/// <summary>How an outbox retries: the first pause, how much each pause grows, the longest pause, and when to stop.</summary>
public sealed record RetryPolicy(TimeSpan FirstDelay, double Factor, int MaxAttempts, TimeSpan MaxDelay);

/// <summary>What happens after a failed attempt: try again at <see cref="NextAttemptAt"/>, or give up.</summary>
public readonly record struct RetryDecision(bool GiveUp, DateTime NextAttemptAt);

public static class Retry
{
    /// <summary>
    /// After the <paramref name="attemptsMade"/>-th failed attempt: give up when the policy's attempts are spent,
    /// otherwise wait FirstDelay × Factor^(attempts − 1), at most MaxDelay.
    /// </summary>
    public static RetryDecision AfterFailure(int attemptsMade, DateTime now, RetryPolicy policy)
    {
        if (attemptsMade >= policy.MaxAttempts)
        {
            return new RetryDecision(true, now);
        }

        var ticks = policy.FirstDelay.Ticks * Math.Pow(policy.Factor, Math.Max(0, attemptsMade - 1));
        var delay = ticks >= policy.MaxDelay.Ticks ? policy.MaxDelay : TimeSpan.FromTicks((long)ticks);
        return new RetryDecision(false, now + delay);
    }
}
