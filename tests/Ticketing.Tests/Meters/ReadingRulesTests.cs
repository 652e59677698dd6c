using WorkOrders.Ticketing.Meters;

namespace WorkOrders.Ticketing.Tests.Meters;

public class ReadingRulesTests
{
    private static readonly DateTime T0 = new(2026, 5, 6, 7, 0, 0, DateTimeKind.Utc);

    private static readonly StoredReading Latest = new(T0, 1200m, 200m, false);

    private static Failure Refused(Outcome<ReadingDecision> outcome) => outcome.Failure ?? throw new Xunit.Sdk.XunitException("the reading was accepted");

    [Fact]
    public void the_first_reading_of_a_meter_starts_the_lifetime_at_zero()
    {
        var decision = ReadingRules.Decide(null, false, T0, 1234.5m, false);

        Assert.Equal(new ReadingDecision.Store(0m), decision.Value);
    }

    [Fact]
    public void a_higher_reading_adds_the_difference_to_the_lifetime()
    {
        var decision = ReadingRules.Decide(Latest, false, T0.AddHours(5), 1250.25m, false);

        Assert.Equal(new ReadingDecision.Store(250.25m), decision.Value);
    }

    [Fact]
    public void the_same_value_later_is_no_usage_and_is_kept()
    {
        Assert.Equal(new ReadingDecision.Store(200m), ReadingRules.Decide(Latest, false, T0.AddHours(1), 1200m, false).Value);
    }

    [Fact]
    public void a_reading_below_the_previous_one_is_refused_with_the_previous_value()
    {
        var failure = Refused(ReadingRules.Decide(Latest, false, T0.AddHours(1), 1100m, false));

        var reason = Assert.Single(failure.Errors!["value"]);
        Assert.Equal("meter.reading_backwards", reason.Code);
        Assert.Equal([1100m, 1200m, T0], reason.Args);
        Assert.Contains("1200", reason.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void a_reset_below_the_previous_reading_is_kept_and_its_value_adds_to_the_lifetime()
    {
        var decision = ReadingRules.Decide(Latest, false, T0.AddHours(1), 15m, true);

        Assert.Equal(new ReadingDecision.Store(215m), decision.Value);
    }

    [Fact]
    public void lifetime_keeps_counting_over_two_resets()
    {
        var first = new StoredReading(T0, 100m, 0m, false);
        var afterReset = new StoredReading(T0.AddDays(1), 10m, ((ReadingDecision.Store)ReadingRules.Decide(first, false, T0.AddDays(1), 10m, true).Value!).Lifetime, true);
        var later = ReadingRules.Decide(afterReset, false, T0.AddDays(2), 50m, false);
        var secondReset = ReadingRules.Decide(new StoredReading(T0.AddDays(2), 50m, 50m, false), false, T0.AddDays(3), 5m, true);

        Assert.Equal(10m, afterReset.Lifetime);
        Assert.Equal(new ReadingDecision.Store(50m), later.Value);
        Assert.Equal(new ReadingDecision.Store(55m), secondReset.Value);
    }

    [Fact]
    public void the_same_meter_time_and_value_again_is_already_stored_whatever_came_after()
    {
        var decision = ReadingRules.Decide(new StoredReading(T0.AddDays(1), 2000m, 1000m, false), true, T0, 1200m, false);

        Assert.IsType<ReadingDecision.AlreadyStored>(decision.Value);
    }

    [Fact]
    public void a_reading_older_than_the_latest_is_refused_on_its_time()
    {
        var failure = Refused(ReadingRules.Decide(Latest, false, T0.AddHours(-1), 1300m, false));

        Assert.Equal("meter.reading_out_of_order", Assert.Single(failure.Errors!["readAt"]).Code);
    }

    [Fact]
    public void another_value_at_the_time_of_the_latest_reading_is_refused()
    {
        var failure = Refused(ReadingRules.Decide(Latest, false, T0, 1300m, false, "readings[2]."));

        Assert.Equal("meter.reading_out_of_order", Assert.Single(failure.Errors!["readings[2].readAt"]).Code);
    }

    [Theory]
    [InlineData(null, "1", false, null, "readAt", "meter.read_at_required")]
    [InlineData("2026-05-06T09:00:00Z", "1", false, null, "readAt", "meter.read_at_future")]
    [InlineData("2026-05-06T07:00:00Z", null, false, null, "value", "meter.value_required")]
    [InlineData("2026-05-06T07:00:00Z", "-1", false, null, "value", "meter.value_range")]
    [InlineData("2026-05-06T07:00:00Z", "1.2345", false, null, "value", "meter.value_range")]
    [InlineData("2026-05-06T07:00:00Z", "1", true, " ", "resetReason", "meter.reset_reason_required")]
    [InlineData("2026-05-06T07:00:00Z", "1", false, "new meter", "resetReason", "meter.reason_without_reset")]
    public void invalid_input_names_the_field_and_the_reason(string? readAt, string? value, bool reset, string? reason, string field, string code)
    {
        var errors = new FieldErrors();
        var input = new ReadingInput(
            readAt is null ? null : DateTime.Parse(readAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal),
            value is null ? null : decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture), reset, reason);

        ReadingRules.Validate(input, T0, errors);

        Assert.Equal(code, Assert.Single(errors.ToFailure().Errors![field]).Code);
    }

    [Fact]
    public void every_refusal_has_an_english_and_a_chinese_text()
    {
        string[] codes =
        [
            "meter.read_at_required", "meter.read_at_future", "meter.value_required", "meter.value_range", "meter.reset_reason_required",
            "meter.reason_without_reset", "meter.reading_backwards", "meter.reading_out_of_order", "meter.not_found", "meter.manage_forbidden",
            "meter.record_forbidden", "meter.batch_size", "meter.meter_required", "meter.name_taken",
        ];
        var zh = System.Globalization.CultureInfo.GetCultureInfo("zh-TW");
        foreach (var code in codes)
        {
            var refusal = new Refusal(code, 1m, 2m, T0);
            Assert.NotEqual(code, refusal.ToString());
            Assert.NotEqual(refusal.ToString(), refusal.ToText(zh));
        }
    }
}
