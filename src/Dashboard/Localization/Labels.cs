using System.Text.RegularExpressions;
using Microsoft.Extensions.Localization;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Localization;

/// <summary>
/// The words for the core's enums and messages, in the current UI language. An enum value's key is its group and
/// member name (Status.InProgress), so a new member needs only its resource entries.
/// </summary>
public static partial class Labels
{
    public static string Of(this IStringLocalizer T, WorkOrderStatus status) => T[$"Status.{status}"];

    public static string Of(this IStringLocalizer T, WorkOrderAction action) => T[$"Action.{action}"];

    public static string Of(this IStringLocalizer T, WorkType type) => T[$"WorkType.{type}"];

    public static string Of(this IStringLocalizer T, FieldKind kind) => T[$"FieldKind.{kind}"];

    public static string Of(this IStringLocalizer T, AssetKind kind) => T[$"AssetKind.{kind}"];

    public static string Of(this IStringLocalizer T, WorkOrderSource source) => T[$"Source.{source}"];

    public static string Of(this IStringLocalizer T, Role role) => T[$"Role.{role}"];

    public static string Of(this IStringLocalizer T, AssignmentStrategy strategy) => T[$"Strategy.{strategy}"];

    /// <summary>A backlog age bucket as the warehouse names it.</summary>
    public static string AgeBucket(this IStringLocalizer T, string bucket) => bucket switch
    {
        "0-7 days" => T["Kpi.Age.UpTo7Days"],
        "8-30 days" => T["Kpi.Age.8To30Days"],
        "31-90 days" => T["Kpi.Age.31To90Days"],
        "over 90 days" => T["Kpi.Age.Over90Days"],
        _ => bucket,
    };

    /// <summary>
    /// A history event's kind: the creation, a comment, an attachment or another event the core writes (keyed by its
    /// wire name), else an action's wire name.
    /// </summary>
    public static string EventKind(this IStringLocalizer T, string kind) =>
        T[$"Event.{kind}"] is { ResourceNotFound: false } known ? known
        : WireNames.TryParse<WorkOrderAction>(kind, out var action) ? T.Of(action)
        : kind;

    /// <summary>A KPI's definition (the variant the figure uses), by its key in KpiQueries.Definitions.</summary>
    public static string KpiDefinition(this IStringLocalizer T, string kpi) => T[$"Kpi.Definition.{kpi}"];

    /// <summary>The custom field's label in the UI language (administrators may give a Traditional Chinese one).</summary>
    public static string Of(TemplateField field) =>
        System.Globalization.CultureInfo.CurrentUICulture.Name == "zh-TW" && !string.IsNullOrWhiteSpace(field.LabelZh) ? field.LabelZh : field.Label;

    /// <summary>
    /// A validation reason from the core, shown next to its field. The common ones are translated; the rest stay in English,
    /// which still names what is wrong.
    /// </summary>
    public static string Reason(this IStringLocalizer T, string reason)
    {
        if (ReasonKeys.Value.TryGetValue(reason, out var key))
        {
            return T[key];
        }

        if (QuotedRequired().IsMatch(reason))
        {
            return T["Reason.IsRequired"];
        }

        if (Between().Match(reason) is { Success: true } between)
        {
            return T["Reason.MustBeBetweenAnd", between.Groups[1].Value, between.Groups[2].Value];
        }

        if (AtMost().Match(reason) is { Success: true } atMost)
        {
            return T["Reason.MustBeAtMostCharacters", atMost.Groups[1].Value];
        }

        if (OneOf().Match(reason) is { Success: true } oneOf)
        {
            return T["Reason.MustBeOneOf", oneOf.Groups[1].Value];
        }

        if (AssetMissing().Match(reason) is { Success: true } asset)
        {
            return T["Reason.AssetDoesNotExist", asset.Groups[1].Value];
        }

        return reason;
    }

    // The core still sends English sentences; their resource entries are found by their neutral text.
    private static readonly Lazy<IReadOnlyDictionary<string, string>> ReasonKeys = new(() =>
    {
        var neutral = new System.Resources.ResourceManager(typeof(UiText).FullName!.Replace(".UiText", ".Resources.UiText", StringComparison.Ordinal), typeof(UiText).Assembly)
            .GetResourceSet(System.Globalization.CultureInfo.InvariantCulture, createIfNotExists: true, tryParents: false)!;
        return neutral.Cast<System.Collections.DictionaryEntry>()
            .Where(e => ((string)e.Key).StartsWith("Reason.", StringComparison.Ordinal))
            .ToDictionary(e => (string)e.Value!, e => (string)e.Key, StringComparer.Ordinal);
    });

    [GeneratedRegex(@"^'.*' is required\.$", RegexOptions.Singleline)]
    private static partial Regex QuotedRequired();

    [GeneratedRegex(@"^must be between (\S+) and (\S+)\.$")]
    private static partial Regex Between();

    [GeneratedRegex(@"^must be at most (\d+) characters")]
    private static partial Regex AtMost();

    [GeneratedRegex(@"^must be one of: (.*)\.$", RegexOptions.Singleline)]
    private static partial Regex OneOf();

    [GeneratedRegex(@"^asset (\d+) does not exist\.$")]
    private static partial Regex AssetMissing();
}
