using WorkOrders.Ticketing.Inspections;

namespace WorkOrders.Ticketing.Tests.Inspections;

/// <summary>The server's judgement of a result against its item, and the rules of an item: no database.</summary>
public sealed class InspectionRulesTests
{
    private static readonly CheckItem Temperature = new(
        CheckKind.Number, "Bearing temperature", "°C", WarningLow: 10, WarningHigh: 70, AlarmLow: 0, AlarmHigh: 80, FindingTemplateId: 1);

    private static Judgement Judge(CheckItem item, decimal? number = null, string? text = null, bool photo = false)
    {
        var outcome = InspectionRules.Judge(item, new ResultValue(number, text, photo));
        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        return outcome.Value!;
    }

    private static string RefusedField(CheckItem item, decimal? number = null, string? text = null, bool photo = false)
    {
        var outcome = InspectionRules.Judge(item, new ResultValue(number, text, photo));
        Assert.False(outcome.Succeeded);
        return outcome.Failure!.Errors!.Keys.Single() + ":" + outcome.Failure.Main.Code;
    }

    [Theory]
    [InlineData(50, "pass", null)]
    [InlineData(70, "pass", null)]
    [InlineData(70.001, "warning", "warning_high")]
    [InlineData(80, "warning", "warning_high")]
    [InlineData(80.5, "fail", "alarm_high")]
    [InlineData(9.9, "warning", "warning_low")]
    [InlineData(-0.1, "fail", "alarm_low")]
    public void a_number_is_judged_against_its_warning_and_alarm_limits(double value, string verdict, string? limit)
    {
        var judgement = Judge(Temperature, (decimal)value);

        Assert.Equal(verdict, WireNames.Of(judgement.Verdict));
        Assert.Equal(limit, judgement.LimitName);
    }

    [Fact]
    public void a_failure_names_the_limit_it_crossed_with_its_value()
    {
        Assert.Equal(new Judgement(Verdict.Fail, "alarm_high", 80m), Judge(Temperature, 95m));
    }

    [Fact]
    public void a_choice_fails_on_a_failing_option_and_refuses_an_unknown_one()
    {
        var oil = new CheckItem(CheckKind.Choice, "Oil level", Options: ["ok", "low", "empty"], FailingOptions: ["empty"], FindingTemplateId: 1);

        Assert.Equal(Verdict.Pass, Judge(oil, text: "low").Verdict);
        Assert.Equal(new Judgement(Verdict.Fail, "failing_option", null), Judge(oil, text: "empty"));
        Assert.Equal("value:inspection.value_option", RefusedField(oil, text: "half"));
    }

    [Fact]
    public void pass_fail_takes_only_pass_or_fail_and_never_trusts_a_number()
    {
        var guard = new CheckItem(CheckKind.PassFail, "Guard", FindingTemplateId: 1);

        Assert.Equal(Verdict.Fail, Judge(guard, text: "FAIL").Verdict);
        Assert.Equal(Verdict.Pass, Judge(guard, text: "pass").Verdict);
        Assert.Equal("value:inspection.value_pass_fail", RefusedField(guard, number: 1));
        Assert.Equal("value:inspection.value_number", RefusedField(Temperature, text: "hot"));
    }

    [Fact]
    public void a_photo_is_required_always_or_only_when_the_item_fails()
    {
        var always = new CheckItem(CheckKind.Text, "Leaks seen", Photo: PhotoRule.Always);
        var onFailure = Temperature with { Photo = PhotoRule.OnFailure };

        Assert.Equal("photoSha256:inspection.photo_always", RefusedField(always, text: "none"));
        Assert.Equal(Verdict.Pass, Judge(always, text: "none", photo: true).Verdict);
        Assert.Equal(Verdict.Warning, Judge(onFailure, 75m).Verdict);
        Assert.Equal("photoSha256:inspection.photo_on_failure", RefusedField(onFailure, 90m));
        Assert.Equal(Verdict.Fail, Judge(onFailure, 90m, photo: true).Verdict);
    }

    [Fact]
    public void an_item_with_limits_out_of_order_or_a_failure_without_a_template_is_refused_naming_the_field()
    {
        var errors = new FieldErrors();
        InspectionRules.Validate(Temperature with { WarningHigh = 90, FindingTemplateId = null }, "stops[0].items[1].", errors);
        var failure = errors.ToFailure();

        Assert.Equal("inspection.limits_order", failure.Errors!["stops[0].items[1].alarmHigh"][0].Code);
        Assert.Equal("inspection.finding_template_required", failure.Errors["stops[0].items[1].findingTemplateId"][0].Code);
    }

    [Fact]
    public void a_text_item_with_limits_or_a_choice_with_one_option_is_refused()
    {
        var errors = new FieldErrors();
        InspectionRules.Validate(new CheckItem(CheckKind.Text, "Notes", AlarmHigh: 3), "a.", errors);
        InspectionRules.Validate(new CheckItem(CheckKind.Choice, "Oil", Options: ["ok"]), "b.", errors);
        InspectionRules.Validate(new CheckItem(CheckKind.Choice, "Oil", Options: ["ok", "low"], FailingOptions: ["gone"], FindingTemplateId: 1), "c.", errors);
        var failure = errors.ToFailure();

        Assert.Equal("inspection.limits_only_number", failure.Errors!["a.kind"][0].Code);
        Assert.Equal("inspection.options", failure.Errors["b.options"][0].Code);
        Assert.Equal("inspection.failing_option_unknown", failure.Errors["c.failingOptions"][0].Code);
    }

    [Theory]
    [InlineData("P-101", "P-101")]
    [InlineData(" https://plant.example/a/P-101 ", "P-101")]
    [InlineData("http://localhost:5000/a/PUMP%20A/", "PUMP A")]
    [InlineData("/a/P-101?from=label", "P-101")]
    public void a_scanned_label_or_a_typed_code_gives_the_asset_code(string scanned, string code)
    {
        Assert.Equal(code, InspectionRules.CodeFromScan(scanned));
    }

    [Theory]
    [InlineData(Severity.Critical, 1)]
    [InlineData(Severity.High, 2)]
    [InlineData(Severity.Medium, 3)]
    [InlineData(Severity.Low, 4)]
    public void severity_gives_the_priority_of_the_work_order(Severity severity, int priority)
    {
        Assert.Equal(priority, InspectionRules.PriorityOf(severity));
    }
}
