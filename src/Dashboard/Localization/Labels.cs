using System.Text.RegularExpressions;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Localization;

/// <summary>The words for the core's enums and messages, in the current UI language.</summary>
public static partial class Labels
{
    public static string Of(this Text T, WorkOrderStatus status) => status switch
    {
        WorkOrderStatus.New => T["New"],
        WorkOrderStatus.Assigned => T["Assigned"],
        WorkOrderStatus.InProgress => T["In progress"],
        WorkOrderStatus.OnHold => T["On hold"],
        WorkOrderStatus.AwaitingFeedback => T["Awaiting feedback"],
        WorkOrderStatus.NeedsCollaboration => T["Needs collaboration"],
        WorkOrderStatus.Resolved => T["Resolved"],
        WorkOrderStatus.Closed => T["Closed"],
        WorkOrderStatus.Cancelled => T["Cancelled"],
        _ => status.ToString(),
    };

    public static string Of(this Text T, WorkOrderAction action) => action switch
    {
        WorkOrderAction.Assign => T["Assign"],
        WorkOrderAction.Start => T["Start"],
        WorkOrderAction.Hold => T["Put on hold"],
        WorkOrderAction.AwaitFeedback => T["Await feedback"],
        WorkOrderAction.RequestCollaboration => T["Request collaboration"],
        WorkOrderAction.Resume => T["Resume"],
        WorkOrderAction.Resolve => T["Resolve"],
        WorkOrderAction.Approve => T["Approve"],
        WorkOrderAction.Reject => T["Reject"],
        WorkOrderAction.Cancel => T["Cancel work order"],
        _ => action.ToString(),
    };

    public static string Of(this Text T, WorkType type) => type switch
    {
        WorkType.Corrective => T["Corrective"],
        WorkType.Preventive => T["Preventive"],
        WorkType.Inspection => T["Inspection"],
        WorkType.ServiceRequest => T["Service request"],
        WorkType.Approval => T["Approval"],
        _ => type.ToString(),
    };

    public static string Of(this Text T, FieldKind kind) => kind switch
    {
        FieldKind.Text => T["Text"],
        FieldKind.Number => T["Numeric"],
        FieldKind.Date => T["Date"],
        FieldKind.Choice => T["Choice"],
        FieldKind.Asset => T["Asset"],
        _ => kind.ToString(),
    };

    public static string Of(this Text T, AssetKind kind) => kind switch
    {
        AssetKind.Site => T["Site"],
        AssetKind.Line => T["Line"],
        AssetKind.Machine => T["Machine"],
        AssetKind.Component => T["Component"],
        _ => kind.ToString(),
    };

    public static string Of(this Text T, WorkOrderSource source) => source switch
    {
        WorkOrderSource.Web => T["Web form"],
        WorkOrderSource.Api => T["REST API"],
        WorkOrderSource.Alarm => T["Sensor alarm"],
        WorkOrderSource.Inspection => T["Inspection round"],
        WorkOrderSource.Pm => T["Preventive schedule"],
        WorkOrderSource.Forecast => T["Forecast proposal"],
        WorkOrderSource.Import => T["Import"],
        _ => source.ToString(),
    };

    public static string Of(this Text T, Role role) => role switch
    {
        Role.Admin => T["Administrator"],
        Role.Executive => T["Executive"],
        Role.ReliabilityEngineer => T["Reliability engineer"],
        Role.Manager => T["Manager"],
        Role.Planner => T["Planner"],
        Role.Technician => T["Technician"],
        Role.Requester => T["Requester"],
        _ => role.ToString(),
    };

    /// <summary>A backlog age bucket as the warehouse names it.</summary>
    public static string AgeBucket(this Text T, string bucket) => bucket switch
    {
        "0-7 days" => T["0-7 days"],
        "8-30 days" => T["8-30 days"],
        "31-90 days" => T["31-90 days"],
        "over 90 days" => T["over 90 days"],
        _ => bucket,
    };

    /// <summary>A history event's kind: the creation, an action's wire name, a comment or an attachment.</summary>
    public static string EventKind(this Text T, string kind) => kind switch
    {
        "created" => T["Work order created"],
        "comment" => T["Comment"],
        "attachment" => T["Attachment"],
        "sla_paused" => T["SLA clock paused"],
        "sla_resumed" => T["SLA clock resumed"],
        "sla_warning" => T["SLA warning"],
        "sla_breach" => T["SLA breached"],
        "sla_priority_raised" => T["Priority raised after an SLA breach"],
        "auto_assigned" => T["Assigned automatically"],
        "queued" => T["Queued"],
        "claim" => T["Claimed"],
        "reassign" => T["Reassigned"],
        "subtask_added" => T["Sub-task added"],
        "subtask_of" => T["Split from a work order"],
        "subtask_override" => T["Resolved over open sub-tasks"],
        "collaborator_added" => T["Collaborator added"],
        "collaborator_removed" => T["Collaborator removed"],
        _ when WireNames.TryParse<WorkOrderAction>(kind, out var action) => T.Of(action),
        _ => kind,
    };

    /// <summary>The custom field's label in the UI language (administrators may give a Traditional Chinese one).</summary>
    public static string Label(this Text T, TemplateField field) =>
        T.IsChinese && !string.IsNullOrWhiteSpace(field.LabelZh) ? field.LabelZh : field.Label;

    /// <summary>
    /// A validation reason from the core, shown next to its field. The common ones are translated; the rest stay in English,
    /// which still names what is wrong.
    /// </summary>
    public static string Reason(this Text T, string reason)
    {
        if (Text.Has(reason))
        {
            return T[reason];
        }

        if (QuotedRequired().IsMatch(reason))
        {
            return T["is required."];
        }

        if (Between().Match(reason) is { Success: true } between)
        {
            return T.Format("must be between {0} and {1}.", between.Groups[1].Value, between.Groups[2].Value);
        }

        if (AtMost().Match(reason) is { Success: true } atMost)
        {
            return T.Format("must be at most {0} characters.", atMost.Groups[1].Value);
        }

        if (OneOf().Match(reason) is { Success: true } oneOf)
        {
            return T.Format("must be one of: {0}.", oneOf.Groups[1].Value);
        }

        if (AssetMissing().Match(reason) is { Success: true } asset)
        {
            return T.Format("asset {0} does not exist.", asset.Groups[1].Value);
        }

        return reason;
    }

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
