using System.Globalization;
using WorkOrders.Ticketing.Scheduling;

namespace WorkOrders.Ticketing.Inspections;

public enum CheckKind
{
    PassFail,
    Number,
    Choice,
    Text,
}

public enum PhotoRule
{
    Never,
    Always,
    OnFailure,
}

public enum Severity
{
    Low,
    Medium,
    High,
    Critical,
}

public enum Verdict
{
    Pass,
    Warning,
    Fail,
}

public enum RoundStatus
{
    Open,
    InProgress,
    Completed,
    Missed,
}

public enum StopStatus
{
    Confirmed,
    Skipped,
    Missed,
}

/// <summary>One check item as a version of a route states it: what the server judges a result against.</summary>
public sealed record CheckItem(
    CheckKind Kind,
    string Label,
    string? Unit = null,
    decimal? WarningLow = null,
    decimal? WarningHigh = null,
    decimal? AlarmLow = null,
    decimal? AlarmHigh = null,
    IReadOnlyList<string>? Options = null,
    IReadOnlyList<string>? FailingOptions = null,
    PhotoRule Photo = PhotoRule.Never,
    Severity Severity = Severity.Medium,
    string? FaultCode = null,
    long? FindingTemplateId = null,
    string? MeterName = null)
{
    /// <summary>Whether a result of this item can ever fail (and so needs a template for the work order it raises).</summary>
    public bool CanFail => Kind switch
    {
        CheckKind.PassFail => true,
        CheckKind.Number => AlarmLow is not null || AlarmHigh is not null,
        CheckKind.Choice => FailingOptions is { Count: > 0 },
        _ => false,
    };
}

/// <summary>What a client sends for one item: a number for number items, else text ("pass"/"fail", an option, free text).</summary>
public sealed record ResultValue(decimal? Number, string? Text, bool HasPhoto);

/// <summary>The server's verdict on a result, and the limit a warning or failure crossed.</summary>
public sealed record Judgement(Verdict Verdict, string? LimitName, decimal? LimitValue);

/// <summary>
/// The rules of inspection: a route's items are valid, and a result is judged against its item. Pure functions; the
/// client's own verdict is never an input.
/// </summary>
public static class InspectionRules
{
    public const int MaxNameLength = 200;
    public const int MaxLabelLength = 200;
    public const int MaxTextLength = 2000;
    public const int MaxStops = 200;
    public const int MaxItemsPerStop = 50;
    public const int MaxOptions = 20;
    public const int MaxReasonLength = 500;

    /// <summary>The priority a finding gets from its item's severity (1 is the most urgent).</summary>
    public static int PriorityOf(Severity severity) => severity switch
    {
        Severity.Critical => 1,
        Severity.High => 2,
        Severity.Medium => 3,
        _ => 4,
    };

    /// <summary>
    /// Judges a value against an item: refuses a value of the wrong shape (naming the field), else the verdict. A number
    /// beyond an alarm limit fails, beyond a warning limit warns; a failing option or "fail" fails; text always passes.
    /// A photo the item asks for (always, or on failure when it fails) is required.
    /// </summary>
    public static Outcome<Judgement> Judge(CheckItem item, ResultValue value)
    {
        Judgement judgement;
        switch (item.Kind)
        {
            case CheckKind.PassFail:
                var answer = value.Text?.Trim().ToLowerInvariant();
                if (answer is not ("pass" or "fail"))
                {
                    return Failure.Invalid("value", "inspection.value_pass_fail");
                }

                judgement = answer == "fail" ? new Judgement(Verdict.Fail, "failed", null) : new Judgement(Verdict.Pass, null, null);
                break;
            case CheckKind.Number:
                if (value.Number is not { } number)
                {
                    return Failure.Invalid("value", "inspection.value_number");
                }

                judgement = JudgeNumber(item, number);
                break;
            case CheckKind.Choice:
                var option = value.Text?.Trim();
                if (string.IsNullOrEmpty(option) || item.Options?.Contains(option, StringComparer.Ordinal) != true)
                {
                    return Failure.Invalid("value", "inspection.value_option", string.Join(", ", item.Options ?? []));
                }

                judgement = item.FailingOptions?.Contains(option, StringComparer.Ordinal) == true
                    ? new Judgement(Verdict.Fail, "failing_option", null)
                    : new Judgement(Verdict.Pass, null, null);
                break;
            default:
                var text = value.Text?.Trim();
                if (string.IsNullOrEmpty(text))
                {
                    return Failure.Invalid("value", "field.required");
                }

                if (text.Length > MaxTextLength)
                {
                    return Failure.Invalid("value", "field.too_long", MaxTextLength);
                }

                judgement = new Judgement(Verdict.Pass, null, null);
                break;
        }

        var photoNeeded = item.Photo == PhotoRule.Always || (item.Photo == PhotoRule.OnFailure && judgement.Verdict == Verdict.Fail);
        if (photoNeeded && !value.HasPhoto)
        {
            return Failure.Invalid("photoSha256", item.Photo == PhotoRule.Always ? "inspection.photo_always" : "inspection.photo_on_failure");
        }

        return judgement;
    }

    private static Judgement JudgeNumber(CheckItem item, decimal number)
    {
        if (item.AlarmLow is { } alarmLow && number < alarmLow)
        {
            return new Judgement(Verdict.Fail, "alarm_low", alarmLow);
        }

        if (item.AlarmHigh is { } alarmHigh && number > alarmHigh)
        {
            return new Judgement(Verdict.Fail, "alarm_high", alarmHigh);
        }

        if (item.WarningLow is { } warningLow && number < warningLow)
        {
            return new Judgement(Verdict.Warning, "warning_low", warningLow);
        }

        if (item.WarningHigh is { } warningHigh && number > warningHigh)
        {
            return new Judgement(Verdict.Warning, "warning_high", warningHigh);
        }

        return new Judgement(Verdict.Pass, null, null);
    }

    /// <summary>The rules of one item that need no database; fields are named under <paramref name="prefix"/>.</summary>
    public static void Validate(CheckItem item, string prefix, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(item.Label))
        {
            errors.Add(prefix + "label", "field.required");
        }
        else if (item.Label.Trim().Length > MaxLabelLength)
        {
            errors.Add(prefix + "label", "field.too_long", MaxLabelLength);
        }

        if (item.Kind == CheckKind.Number)
        {
            if (item.Unit is { } unit && (unit.Trim().Length is 0 or > 20))
            {
                errors.Add(prefix + "unit", "field.required_short", 20);
            }

            // Lowest to highest: alarm low, warning low, warning high, alarm high (any of them may be left out).
            decimal?[] limits = [item.AlarmLow, item.WarningLow, item.WarningHigh, item.AlarmHigh];
            string[] names = ["alarmLow", "warningLow", "warningHigh", "alarmHigh"];
            for (var i = 0; i < limits.Length; i++)
            {
                for (var j = i + 1; j < limits.Length; j++)
                {
                    if (limits[i] is { } low && limits[j] is { } high && low > high)
                    {
                        errors.Add(prefix + names[j], "inspection.limits_order", names[i], names[j]);
                    }
                }
            }

            if (item.MeterName is { } meter && (meter.Trim().Length is 0 or > 100))
            {
                errors.Add(prefix + "meterName", "field.required_short", 100);
            }
        }
        else if (item.Unit is not null || item.WarningLow is not null || item.WarningHigh is not null || item.AlarmLow is not null || item.AlarmHigh is not null
                 || item.MeterName is not null)
        {
            errors.Add(prefix + "kind", "inspection.limits_only_number");
        }

        if (item.Kind == CheckKind.Choice)
        {
            var options = item.Options?.Select(o => o?.Trim() ?? "").ToList() ?? [];
            if (options.Count < 2 || options.Count > MaxOptions || options.Any(o => o.Length is 0 or > 100) || options.Distinct(StringComparer.Ordinal).Count() != options.Count)
            {
                errors.Add(prefix + "options", "inspection.options", MaxOptions);
            }
            else if (item.FailingOptions?.FirstOrDefault(f => !options.Contains(f?.Trim() ?? "", StringComparer.Ordinal)) is { } unknown)
            {
                errors.Add(prefix + "failingOptions", "inspection.failing_option_unknown", unknown);
            }
        }
        else if (item.Options is not null || item.FailingOptions is { Count: > 0 })
        {
            errors.Add(prefix + "options", "inspection.options_only_choice");
        }

        if (item.CanFail && item.FindingTemplateId is null)
        {
            errors.Add(prefix + "findingTemplateId", "inspection.finding_template_required");
        }

        if (item.FaultCode is { } code && (code.Trim().Length is 0 or > 50))
        {
            errors.Add(prefix + "faultCode", "field.required_short", 50);
        }

        if (item.Kind == CheckKind.Text && item.Photo == PhotoRule.OnFailure)
        {
            errors.Add(prefix + "photo", "inspection.photo_text_never_fails");
        }
    }

    /// <summary>The rules of a schedule; <paramref name="prefix"/> names it in the request.</summary>
    public static void Validate(ScheduleRequest schedule, string prefix, FieldErrors errors)
    {
        if (schedule.Every is not (>= 1 and <= 1000))
        {
            errors.Add(prefix + "every", "inspection.every", 1000);
        }

        if (schedule.Unit is null)
        {
            errors.Add(prefix + "unit", "field.required");
        }

        if (schedule.Anchor is null)
        {
            errors.Add(prefix + "anchor", "field.required");
        }

        if (schedule.Times is not { Count: >= 1 and <= 24 })
        {
            errors.Add(prefix + "times", "inspection.times", 24);
        }

        if (schedule.WindowMinutes is not (>= 1 and <= 10080))
        {
            errors.Add(prefix + "windowMinutes", "inspection.minutes", 1, 10080);
        }

        if (schedule.GraceMinutes is { } grace && grace is < 0 or > 10080)
        {
            errors.Add(prefix + "graceMinutes", "inspection.minutes", 0, 10080);
        }

        if (schedule.LeadMinutes is { } lead && lead is < 0 or > 10080)
        {
            errors.Add(prefix + "leadMinutes", "inspection.minutes", 0, 10080);
        }
    }

    /// <summary>
    /// The asset code a scanned label names: the label's QR code is the asset page's address (…/a/{code}); a typed code
    /// is the code itself.
    /// </summary>
    public static string CodeFromScan(string scanned)
    {
        var text = scanned.Trim();
        var at = text.LastIndexOf("/a/", StringComparison.OrdinalIgnoreCase);
        if (at >= 0)
        {
            text = Uri.UnescapeDataString(text[(at + 3)..].Split('?', '#')[0].TrimEnd('/'));
        }

        return text;
    }

    /// <summary>A decimal without the trailing zeros numeric(18, 3) gives it back with (80.000 is 80).</summary>
    public static decimal? Trim(decimal? value) => value is { } v ? v / 1.000000000000000000000000000000000m : null;

    /// <summary>A value as the history and descriptions write it.</summary>
    public static string Describe(decimal? number, string? text, string? unit) =>
        number is { } n ? (n.ToString("0.###", CultureInfo.InvariantCulture) + (unit is null ? "" : " " + unit)) : text ?? "";

    internal static Recurrence ToRecurrence(ScheduleRow schedule, NodaTime.DateTimeZone zone) => new(
        NodaTime.LocalDate.FromDateOnly(schedule.Anchor),
        schedule.EveryN,
        WireNames.Parse<RecurrenceUnit>(schedule.Unit),
        schedule.LocalTimes.Select(NodaTime.LocalTime.FromTimeOnly),
        zone);
}
