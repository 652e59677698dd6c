using WorkOrders.Analytics.Forecasting;
using WorkOrders.Ingest.Forecast;

namespace WorkOrders.Ingest.Tests.Forecasting;

/// <summary>When the forecast job chooses its horizon and method again, and how long it waits after finding none usable.</summary>
public sealed class ForecastJobBackoffTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 0);

    [Fact]
    public void after_no_usable_method_the_wait_doubles_from_an_hour_up_to_a_day()
    {
        var options = new ForecastJobOptions();

        Assert.Equal(
            [1, 2, 4, 8, 16, 24, 24],
            Enumerable.Range(1, 7).Select(n => options.RetryAfter(n).TotalHours));
        Assert.Equal(TimeSpan.FromDays(1), options.RetryAfter(1000));
    }

    [Fact]
    public void a_run_chooses_again_only_when_asked_when_there_is_no_choice_when_it_is_old_or_when_the_retry_time_has_come()
    {
        var options = new ForecastJobOptions();
        var usable = Choice(Now.AddDays(-1), ForecastBacktest.Mtbf);
        var none = Choice(Now.AddMinutes(-30), null);

        Assert.True(options.DueToChoose(null, Now, null, requested: false));
        Assert.False(options.DueToChoose(usable, Now, null, requested: false));
        Assert.True(options.DueToChoose(usable, Now.AddDays(7), null, requested: false));
        Assert.True(options.DueToChoose(usable, Now, null, requested: true));

        // Nothing usable 30 minutes ago: not every hour, but at the retry time (the first hour when the process just started).
        Assert.False(options.DueToChoose(none, Now, null, requested: false));
        Assert.True(options.DueToChoose(none, Now.AddMinutes(30), null, requested: false));
        Assert.False(options.DueToChoose(none, Now.AddHours(3), Now.AddHours(3.5), requested: false));
        Assert.True(options.DueToChoose(none, Now.AddHours(3.5), Now.AddHours(3.5), requested: false));
    }

    private static ForecastChoice Choice(DateTime at, string? method) =>
        new(1, at, method is null ? null : 14, method, null, method is null ? null : 0.4, 0.2, 0.05,
            method is null ? new ForecastRefusal("model", "forecast.no_method", 3) : null, []);
}
