using System.Globalization;
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

    /// <summary>An asset's lifecycle state; its key is the wire name (AssetLifecycle.in_service), as the register stores it.</summary>
    public static string Of(this IStringLocalizer T, AssetState state) => T[$"AssetLifecycle.{WireNames.Of(state)}"];

    public static string Of(this IStringLocalizer T, AssetAction action) => T[$"AssetAction.{WireNames.Of(action)}"];

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

    /// <summary>The custom field's label in the UI language, falling back to its parent culture's and the neutral one.</summary>
    public static string Of(TemplateField field) => field.LabelFor(CultureInfo.CurrentUICulture);

    /// <summary>
    /// Input attributes naming a drop-down for screen readers; without them Radzen names it by its selected value, which
    /// for a status or a kind is a wire name rather than words.
    /// </summary>
    public static IReadOnlyDictionary<string, object> AriaLabel(string label) => new Dictionary<string, object> { ["aria-label"] = label };

    /// <summary>A refusal of the core in the UI language.</summary>
    public static string Text(this Refusal refusal) => refusal.ToText(CultureInfo.CurrentUICulture);

    /// <summary>What a failure says in the UI language: each field with its reasons, or the reason itself.</summary>
    public static string Text(this Failure failure) => failure.Describe(CultureInfo.CurrentUICulture);

    /// <summary>A notification in the reader's language (its English text when it carries no refusal code).</summary>
    public static string Text(this WorkOrders.Ticketing.Notifications.Notification notification) => notification.TextIn(CultureInfo.CurrentUICulture);

    /// <summary>A failure's field reasons in the UI language, keyed like the request ("title", "customFields.fault_code").</summary>
    public static IReadOnlyDictionary<string, string[]> FieldTexts(this Failure failure) => failure.Texts(CultureInfo.CurrentUICulture);

    /// <summary>The reasons for one field, or else the failure itself, for a panel with one input.</summary>
    public static string[] TextsFor(this Failure failure, string field) =>
        failure.Errors?.GetValueOrDefault(field) is { } reasons ? [.. reasons.Select(Text)] : [failure.Text()];
}
