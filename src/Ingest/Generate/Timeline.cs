using System.Globalization;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Generate;

/// <summary>One lifecycle action in a planned history, with who took it (indexes into <see cref="Plant.Users"/>).</summary>
public readonly record struct Step(
    double Day,
    WorkOrderAction Action,
    WorkOrderStatus From,
    WorkOrderStatus To,
    int Actor,
    int Assignee,
    int Previous,
    string? Note,
    int Rating);

/// <summary>
/// A work order as planned: what it is about and its history up to the end of the window, plus the row state that
/// history leads to. Reused from one work order to the next to keep the garbage collector idle.
/// </summary>
public sealed class PlannedWorkOrder
{
    public Occurrence Occurrence { get; private set; }

    public int Template { get; set; }

    public int Priority { get; set; }

    public WorkOrderSource Source { get; set; }

    public int Requester { get; set; }

    public int Department { get; set; }

    public int Asset { get; set; }

    public double Created { get; set; }

    public double? DueAt { get; set; }

    public double ResponseDue { get; set; }

    public double ResolutionDue { get; set; }

    public int Variant { get; set; }

    public int Choice { get; set; }

    public double Reading { get; set; }

    public string? Contact { get; set; }

    public string? Reference { get; set; }

    public List<Step> Steps { get; } = new(8);

    public WorkOrderStatus Status { get; private set; }

    public int Assignee { get; private set; }

    public double? Acknowledged { get; private set; }

    public double? Started { get; private set; }

    public double? Resolved { get; private set; }

    public double? Closed { get; private set; }

    public int Rating { get; private set; }

    public double Updated => Steps.Count == 0 ? Created : Steps[^1].Day;

    public int RowVersion => 1 + Steps.Count;

    public void Reset(in Occurrence occurrence)
    {
        Occurrence = occurrence;
        Steps.Clear();
        Status = WorkOrderStatus.New;
        Assignee = -1;
        Acknowledged = Started = Resolved = Closed = null;
        Rating = 0;
        DueAt = null;
        Contact = Reference = null;
        Asset = occurrence.Asset;
        Variant = Choice = 0;
        Reading = 0;
    }

    /// <summary>Records a step and applies it to the row exactly as <see cref="ApplyTransition"/> does.</summary>
    public void Apply(in Step step)
    {
        Steps.Add(step);
        Status = step.To;
        if (step.Action == WorkOrderAction.Assign)
        {
            Assignee = step.Assignee;
        }

        if (step.Action == WorkOrderAction.Start)
        {
            Acknowledged ??= step.Day;
            Started ??= step.Day;
        }

        if (step.Action == WorkOrderAction.Resolve)
        {
            Resolved = step.Day;
        }

        if (step.Action == WorkOrderAction.Reject)
        {
            Resolved = null;
        }

        if (step.Action is WorkOrderAction.Approve or WorkOrderAction.Cancel)
        {
            Closed = step.Day;
        }

        if (step.Rating > 0)
        {
            Rating = step.Rating;
        }
    }
}

/// <summary>
/// Turns an occurrence into a work order with a history the live lifecycle would have produced: who raises it, who is
/// assigned (by skill, balancing load), how long each stage takes (by priority and the technician's pace), holds,
/// reassignments, reopens, cancellations, and the requester's rating, which falls as the wait grows. Steps past the
/// end of the window are left out, so the newest work orders stay open at whatever stage they reached.
/// </summary>
public sealed class TimelinePlanner
{
    private const double Hour = 1.0 / 24;
    private const double Minute = Hour / 60;

    private static readonly double[] ResponseHours = [1, 4, 24, 72];
    private static readonly double[] ResolutionHours = [8, 24, 72, 168];
    private static readonly double[] AssignHours = [0.1, 0.4, 1.5, 6];
    private static readonly double[] StartHours = [0.3, 1.2, 6, 20];

    private static readonly (WorkOrderStatus[] From, WorkOrderStatus To)[] Rules =
        [.. Enum.GetValues<WorkOrderAction>().Select(Lifecycle.Rule)];

    private static readonly string[] HoldNotes =
    [
        "Waiting for spare parts (PO {0}).",
        "Waiting for production to release the machine.",
        "Waiting for the vendor's service engineer (case {0}).",
        "等待備品到貨 (PO {0}).",
    ];

    private static readonly string[] RejectNotes =
    [
        "Still not right at full speed; please check again.",
        "The problem came back after an hour.",
        "Not fixed: same symptom on the night shift. 問題仍在。",
    ];

    public static IReadOnlyList<(string Title, string Skill, int Area)> FacilityRequests { get; } =
    [
        ("Air conditioning too warm in the office 辦公室太熱", "hvac", 2),
        ("Water leak in the washroom", "plumbing", 2),
        ("Lights out in the warehouse aisle", "electrical", 1),
        ("Drain blocked in the canteen", "plumbing", 0),
        ("Socket without power at a workstation", "electrical", 0),
        ("Ventilation noisy in the meeting room", "hvac", 2),
        ("Dock door does not close", "electrical", 1),
        ("Too hot at the assembly line 產線太熱", "hvac", 0),
    ];

    private readonly Plant _plant;
    private readonly double _end;
    private readonly Random _random;
    private readonly int[] _load;
    private int _alarms;

    public TimelinePlanner(Plant plant, StressClock clock, int seed)
    {
        _plant = plant;
        _end = clock.EndDay;
        _random = new Random(Sampling.Derive(seed, 5, 0));
        _load = new int[plant.Users.Count];
    }

    public void Plan(in Occurrence occurrence, PlannedWorkOrder wo)
    {
        wo.Reset(occurrence);
        var site = _plant.Sites[occurrence.Site];
        var kind = occurrence.Kind;
        var mode = occurrence.Mode >= 0 ? _plant.Assets[occurrence.Asset].Type!.Modes[occurrence.Mode] : null;
        var operatorId = _random.Pick(site.Operators);
        var (template, requester, source, skill, workHours) = kind switch
        {
            OccurrenceKind.Failure => (TemplateKind.Repair, operatorId, _random.Chance(0.7) ? WorkOrderSource.Web : WorkOrderSource.Api, mode!.Skill, mode.RepairHours),
            OccurrenceKind.Alarm => (TemplateKind.AlarmCheck, _plant.AlarmGateway, WorkOrderSource.Alarm, mode!.Skill, 0.6),
            OccurrenceKind.MinorFault => (TemplateKind.MinorFault, operatorId, occurrence.Flag ? WorkOrderSource.Inspection : WorkOrderSource.Web, mode!.Skill, 1.0),
            OccurrenceKind.FalseAlarm => (TemplateKind.AlarmCheck, _plant.AlarmGateway, WorkOrderSource.Alarm, "plc", 0.5),
            OccurrenceKind.Preventive => (TemplateKind.Preventive, _plant.Planner, WorkOrderSource.Pm, "mechanical", 2.5),
            OccurrenceKind.Inspection => (TemplateKind.Inspection, _plant.Planner, WorkOrderSource.Inspection, "mechanical", 1.5),
            _ => (TemplateKind.Facility, operatorId, _random.Chance(0.8) ? WorkOrderSource.Web : WorkOrderSource.Api, "hvac", 1.2),
        };

        wo.Template = site.Templates[(int)template];
        wo.Requester = requester;
        wo.Source = source;
        wo.Department = _plant.Templates[wo.Template].Department;
        wo.Created = Math.Min(occurrence.Day, _end - (2.0 / 86_400));
        wo.Priority = Priority(occurrence, _plant.Templates[wo.Template].DefaultPriority);
        wo.ResponseDue = wo.Created + (ResponseHours[wo.Priority - 1] * Hour);
        wo.ResolutionDue = wo.Created + (ResolutionHours[wo.Priority - 1] * Hour);
        Describe(wo, occurrence, ref skill);

        var facilities = wo.Department == _plant.FacilitiesDepartment;
        var manager = facilities ? _plant.FacilitiesManager : site.Manager;
        var crew = (facilities ? _plant.FacilitiesBySkill : site.BySkill)[skill];
        var human = requester != _plant.AlarmGateway;
        var reviewer = kind switch
        {
            OccurrenceKind.Alarm or OccurrenceKind.FalseAlarm => manager,
            OccurrenceKind.Preventive or OccurrenceKind.Inspection => _random.Chance(0.6) ? requester : manager,
            _ => _random.Chance(0.85) ? requester : manager,
        };
        var planned = kind is OccurrenceKind.Preventive or OccurrenceKind.Inspection;
        var p = wo.Priority - 1;
        var t = wo.Created;

        bool Step(double after, WorkOrderAction action, int actor, int assignee = -1, int previous = -1, string? note = null, int rating = 0)
        {
            t = Math.Max(t + after, (wo.Steps.Count == 0 ? wo.Created : wo.Steps[^1].Day) + Minute);
            if (t >= _end)
            {
                return false;
            }

            var (from, to) = Rules[(int)action];
            if (Array.IndexOf(from, wo.Status) < 0)
            {
                throw new InvalidOperationException($"The generator planned '{action}' on a work order that is {wo.Status}.");
            }

            wo.Apply(new Step(t, action, wo.Status, to, actor, assignee, previous, note, rating));
            return true;
        }

        void Backlog()
        {
            // Forgotten work: an old one is cancelled in a backlog review, a recent one is simply still open.
            if (wo.Created < _end - 120)
            {
                Step(_random.Between(30, 90), WorkOrderAction.Cancel, manager, note: "Closed in the backlog review: no longer needed.");
            }
        }

        if (kind is OccurrenceKind.MinorFault or OccurrenceKind.FacilityRequest && _random.Chance(0.015))
        {
            Step(_random.LogNormal(0.5, 0.8) * Hour, WorkOrderAction.Cancel, requester, note: "Raised twice by mistake; see the other work order.");
            return;
        }

        var tech = Choose(crew, -1);
        var claims = !planned && _random.Chance(0.15);
        var assignDelay = _random.LogNormal(planned ? 4 : AssignHours[p], 0.9) * Hour;
        if (!Step(assignDelay, WorkOrderAction.Assign, claims ? tech : manager, tech))
        {
            return;
        }

        if (kind == OccurrenceKind.FalseAlarm && _random.Chance(0.5))
        {
            Step(_random.LogNormal(0.4, 0.8) * Hour, WorkOrderAction.Cancel, manager, note: "Alarm cleared by itself; no fault on the trend.");
            return;
        }

        if (kind == OccurrenceKind.Preventive && occurrence.Flag)
        {
            Step(_random.LogNormal(12, 0.8) * Hour, WorkOrderAction.Cancel, requester, note: "Machine released to production for a rush order; the PM moves to the next cycle.");
            return;
        }

        var stalls = _random.Chance(0.015);
        if (stalls && _random.Chance(0.5))
        {
            Backlog();
            return;
        }

        var startMedian = kind switch
        {
            OccurrenceKind.Preventive => 48,
            OccurrenceKind.Inspection => 16,
            _ => StartHours[p],
        };
        if (_random.Chance(0.05))
        {
            var other = Choose(crew, tech);
            if (other != tech && !Step(_random.LogNormal(startMedian * 0.5, 0.8) * Hour, WorkOrderAction.Assign, manager, other, tech))
            {
                return;
            }

            tech = other;
        }

        if (!Step(_random.LogNormal(startMedian, 0.9) * _plant.Users[tech].Pace * Hour, WorkOrderAction.Start, tech))
        {
            return;
        }

        var work = Work(workHours, tech, skill);
        var held = false;
        var holdChance = kind switch
        {
            OccurrenceKind.Failure => 0.18,
            OccurrenceKind.FacilityRequest => 0.08,
            OccurrenceKind.Preventive => 0.06,
            OccurrenceKind.MinorFault => 0.05,
            _ => 0.02,
        };
        if (_random.Chance(holdChance))
        {
            held = true;
            var note = string.Format(CultureInfo.InvariantCulture, _random.Pick(HoldNotes), _random.Next(40000, 50000));
            if (!Step(work * 0.3 * Hour, WorkOrderAction.Hold, tech, note: note))
            {
                return;
            }

            if (stalls)
            {
                Backlog();
                return;
            }

            var waitHours = kind == OccurrenceKind.Failure ? _random.LogNormal(60, 0.9) : _random.LogNormal(12, 0.8);
            if (!Step(waitHours * Hour, WorkOrderAction.Resume, tech) || !Step(work * 0.7 * Hour, WorkOrderAction.Resolve, tech, note: ResolveNote(kind, mode)))
            {
                return;
            }
        }
        else if (_random.Chance(0.02) && Choose(crew, tech) is var other && other != tech)
        {
            if (!Step(work * 0.4 * Hour, WorkOrderAction.Assign, manager, other, tech)
                || !Step(_random.LogNormal(1, 0.8) * Hour, WorkOrderAction.Start, other)
                || !Step(work * 0.6 * Hour, WorkOrderAction.Resolve, other, note: ResolveNote(kind, mode)))
            {
                return;
            }

            tech = other;
        }
        else if (!Step(work * Hour, WorkOrderAction.Resolve, tech, note: ResolveNote(kind, mode)))
        {
            return;
        }

        var reviewMedian = reviewer == manager ? 30 : reviewer == _plant.Planner ? 48 : 24;
        var reopened = false;
        var rejectChance = kind switch
        {
            OccurrenceKind.Failure => 0.06,
            OccurrenceKind.FacilityRequest => 0.05,
            OccurrenceKind.MinorFault => 0.04,
            OccurrenceKind.Preventive => 0.02,
            _ => 0.01,
        };
        if (_random.Chance(rejectChance))
        {
            reopened = true;
            if (!Step(_random.LogNormal(reviewMedian, 1.1) * Hour, WorkOrderAction.Reject, reviewer, note: _random.Pick(RejectNotes))
                || !Step(Work(workHours * 0.5, tech, skill) * Hour, WorkOrderAction.Resolve, tech, note: "Re-done and tested at full load with the operator."))
            {
                return;
            }
        }

        var rates = reviewer == requester && human && _random.Chance(0.9);
        var rating = rates ? Rate(wo, reopened, held) : 0;
        Step(_random.LogNormal(reviewMedian, 1.1) * Hour, WorkOrderAction.Approve, reviewer, note: !planned && _random.Chance(0.3) ? "Thanks, works again." : null, rating: rating);
    }

    private int Priority(in Occurrence occurrence, int fallback)
    {
        var roll = _random.NextDouble();
        return occurrence.Kind switch
        {
            OccurrenceKind.Failure => _plant.Assets[occurrence.Asset].Criticality switch
            {
                5 => roll < 0.7 ? 1 : 2,
                4 => roll < 0.2 ? 1 : roll < 0.9 ? 2 : 3,
                3 => roll < 0.6 ? 2 : 3,
                _ => roll < 0.2 ? 2 : roll < 0.9 ? 3 : 4,
            },
            OccurrenceKind.Alarm => roll < 0.6 ? 2 : 3,
            OccurrenceKind.MinorFault => roll < 0.7 ? 3 : 4,
            OccurrenceKind.FalseAlarm => 3,
            OccurrenceKind.FacilityRequest => roll < 0.1 ? 2 : roll < 0.7 ? 3 : 4,
            _ => fallback,
        };
    }

    private static int IndexOf(IReadOnlyList<string> items, string item)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] == item)
            {
                return i;
            }
        }

        return 0;
    }

    private int Choose(int[] crew, int exclude)
    {
        var a = _random.Pick(crew);
        var b = _random.Pick(crew);
        var chosen = _load[a] <= _load[b] ? a : b;
        if (chosen == exclude)
        {
            chosen = chosen == a ? b : a;
        }

        _load[chosen]++;
        return chosen;
    }

    private double Work(double medianHours, int tech, string skill)
    {
        var person = _plant.Users[tech];
        return _random.LogNormal(medianHours, 0.6) * person.Pace * (1.3 - (0.1 * person.Level(skill)));
    }

    /// <summary>Satisfaction falls as resolution overruns its target, and with reopens and waits.</summary>
    private int Rate(PlannedWorkOrder wo, bool reopened, bool held)
    {
        var ratio = (wo.Resolved!.Value - wo.Created) / (wo.ResolutionDue - wo.Created);
        var score = 4.7 - (1.1 * Math.Max(0, ratio - 0.6)) - (reopened ? 1.3 : 0) - (held ? 0.3 : 0) + (0.7 * _random.Normal());
        return (int)Math.Clamp(Math.Round(score), 1, 5);
    }

    private static string ResolveNote(OccurrenceKind kind, FailureMode? mode) => kind switch
    {
        OccurrenceKind.Failure => Catalogue.RepairNote(mode!.FaultCode),
        OccurrenceKind.MinorFault => "Adjusted and tightened; will keep an eye on it.",
        OccurrenceKind.Alarm => "Checked on site; the reading was real and the cause is fixed.",
        OccurrenceKind.FalseAlarm => "No fault found; the sensor reading is back to normal.",
        OccurrenceKind.Preventive => "Checklist done: lubricated, belts and filters checked.",
        OccurrenceKind.Inspection => "Round done; findings logged.",
        _ => "Done; the requester confirmed on site.",
    };

    /// <summary>The custom values, reference and contact of a work order, and the skill it needs.</summary>
    private void Describe(PlannedWorkOrder wo, in Occurrence occurrence, ref string skill)
    {
        var asset = occurrence.Asset >= 0 ? _plant.Assets[occurrence.Asset] : null;
        switch (occurrence.Kind)
        {
            case OccurrenceKind.Failure:
                wo.Variant = _random.Next(Catalogue.FailureTitles(asset!.Type!.Modes[occurrence.Mode].FaultCode).Count);
                wo.Contact = _random.Chance(0.5) ? string.Create(CultureInfo.InvariantCulture, $"ext. {_random.Next(2000, 3000)}") : null;
                break;
            case OccurrenceKind.Alarm:
            case OccurrenceKind.FalseAlarm:
                wo.Choice = IndexOf(Catalogue.Signals, asset!.Type!.Signal);
                wo.Reading = Math.Round(occurrence.Kind == OccurrenceKind.Alarm ? _random.Between(100, 140) : _random.Between(95, 115), 1);
                wo.Reference = string.Create(CultureInfo.InvariantCulture, $"SCADA-{++_alarms:D7}");
                break;
            case OccurrenceKind.MinorFault:
                wo.Choice = IndexOf(Catalogue.Symptoms, asset!.Type!.Symptom);
                break;
            case OccurrenceKind.Preventive:
                var machine = asset!;
                var interval = Catalogue.Machines.First(m => m.Type == machine.Type).PmIntervalDays;
                wo.Choice = interval;
                wo.DueAt = wo.Created + Math.Min(7, interval * 0.25);
                wo.ResponseDue = wo.Created + 3;
                wo.ResolutionDue = wo.DueAt.Value;
                wo.Reference = string.Create(CultureInfo.InvariantCulture, $"PM plan {machine.Code} / {interval} d");
                break;
            case OccurrenceKind.Inspection:
                wo.ResponseDue = wo.Created + 1;
                wo.ResolutionDue = wo.Created + 3;
                break;
            case OccurrenceKind.FacilityRequest:
                wo.Variant = _random.Next(FacilityRequests.Count);
                skill = FacilityRequests[wo.Variant].Skill;
                wo.Choice = FacilityRequests[wo.Variant].Area;
                wo.Contact = string.Create(CultureInfo.InvariantCulture, $"ext. {_random.Next(1000, 2000)}");
                break;
            default:
                break;
        }
    }
}
