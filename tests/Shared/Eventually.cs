using System.Diagnostics;

namespace WorkOrders.Tests;

/// <summary>
/// Waits for what a test cannot await directly (a background delivery, a listener connecting, a page that shows the
/// result after a click) by looking again until it holds or the time is up; then the test fails saying what it waited
/// for and what it saw last.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultPause = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Observes until <paramref name="done"/> holds for what was observed, and returns that. <paramref name="waitingFor"/>
    /// reads after "Waited n s for".
    /// </summary>
    public static async Task<T> Until<T>(Func<Task<T>> observe, Func<T, bool> done, string waitingFor, TimeSpan within, TimeSpan? pause = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var observed = await observe();
            if (done(observed))
            {
                return observed;
            }

            if (clock.Elapsed >= within)
            {
                Assert.Fail($"Waited {within.TotalSeconds:0.#} s for {waitingFor}; last observed: {observed?.ToString() ?? "null"}");
            }

            await Task.Delay(pause ?? DefaultPause);
        }
    }

    /// <inheritdoc cref="Until{T}(Func{Task{T}}, Func{T, bool}, string, TimeSpan, TimeSpan?)"/>
    public static Task<T> Until<T>(Func<T> observe, Func<T, bool> done, string waitingFor, TimeSpan within) =>
        Until(() => Task.FromResult(observe()), done, waitingFor, within);

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static Task Until(Func<bool> condition, string waitingFor, TimeSpan within) =>
        Until(condition, held => held, waitingFor, within);
}
