using System.Globalization;
using System.Text.Json;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ingest.Generate;

public enum TemplateKind
{
    Repair,
    MinorFault,
    AlarmCheck,
    Preventive,
    Inspection,
    Facility,
}

public sealed record DepartmentPlan(string Name);

/// <summary>A generated account. <see cref="Pace"/> multiplies how long this person takes (below 1: faster than usual).</summary>
public sealed record UserPlan(string UserName, string DisplayName, Role Role, int Department, double Pace, IReadOnlyList<UserSkill> Skills)
{
    public int Level(string skill)
    {
        foreach (var s in Skills)
        {
            if (s.Skill == skill)
            {
                return s.Level;
            }
        }

        return 1;
    }
}

/// <summary>A node of the asset tree. Machines and components have a type with failure modes.</summary>
public sealed record AssetPlan(
    string Code,
    string Name,
    string Kind,
    int Parent,
    int Site,
    AssetType? Type,
    int Criticality,
    DateOnly InstalledOn,
    Degradation Degradation);

public sealed record TemplatePlan(string Name, TemplateKind Kind, WorkType WorkType, int DefaultPriority, int Department, bool AssetRequired, bool ContactRequired, IReadOnlyList<TemplateField> Fields);

/// <summary>A machine with its components, and what its failure simulation needs.</summary>
public sealed record MachinePlan(int Asset, int Line, int Site, MachineType Type, bool Monitored, IReadOnlyList<int> Components, int Seed);

public sealed record LinePlan(int Asset, int Site, string Name, int Seed);

/// <summary>A plant site: its maintenance department, manager, crew and the people who raise work there.</summary>
public sealed class SitePlan
{
    public required int Asset { get; init; }

    public required string Name { get; init; }

    public required int Department { get; init; }

    public required int Manager { get; init; }

    public required IReadOnlyList<int> Technicians { get; init; }

    public required IReadOnlyDictionary<string, int[]> BySkill { get; init; }

    public required IReadOnlyList<int> Operators { get; init; }

    /// <summary>Template index per <see cref="TemplateKind"/> (Facility points to the shared facilities template).</summary>
    public required int[] Templates { get; init; }

    public int Machines { get; set; }
}

/// <summary>The sizes the organisation is built for.</summary>
public sealed record PlantSize(int Machines, int WorkOrders, int Months);

/// <summary>
/// The generated organisation, in memory: departments, people, the asset tree, templates. Everything is derived from
/// the seed and the sizes; a machine's own properties come from a seed of its index alone, so the first machines are
/// the same whatever the machine count (which lets the generator size the plant by trial).
/// </summary>
public sealed class Plant
{
    public const double AssetShare = 0.85;

    private const int MachineStream = 1;
    private const int LineStream = 2;
    private const int PeopleStream = 3;

    private Plant(string tag)
    {
        Tag = tag;
    }

    public string Tag { get; }

    public List<DepartmentPlan> Departments { get; } = [];

    public List<UserPlan> Users { get; } = [];

    public List<AssetPlan> Assets { get; } = [];

    public List<TemplatePlan> Templates { get; } = [];

    public List<SitePlan> Sites { get; } = [];

    public List<LinePlan> Lines { get; } = [];

    public List<MachinePlan> Machines { get; } = [];

    public int FacilitiesDepartment { get; private set; }

    public int FacilitiesManager { get; private set; }

    public IReadOnlyList<int> FacilitiesTechnicians { get; private set; } = [];

    public IReadOnlyDictionary<string, int[]> FacilitiesBySkill { get; private set; } = new Dictionary<string, int[]>();

    public int Planner { get; private set; }

    public int AlarmGateway { get; private set; }

    public static Plant Build(string tag, int seed, PlantSize size, StressClock clock)
    {
        var plant = new Plant(tag);
        plant.Populate(seed, size, clock);
        return plant;
    }

    private void Populate(int seed, PlantSize size, StressClock clock)
    {
        var siteCount = Math.Clamp((int)Math.Round(size.Machines / 250.0), size.Machines >= 40 ? 2 : 1, Catalogue.Sites.Count);
        var people = new Random(Sampling.Derive(seed, PeopleStream, 0));
        var monthly = (double)size.WorkOrders / size.Months;
        var lower = Tag.ToLowerInvariant();

        int User(string prefix, int number, Role role, int department, IReadOnlyList<UserSkill> skills)
        {
            var (surname, given) = (people.Pick(Catalogue.Surnames), people.Pick(Catalogue.GivenNames));
            var display = $"{surname.Latin} {given.Latin} {surname.Han}{given.Han}";
            var pace = Math.Clamp(people.LogNormal(1.0, 0.25), 0.55, 1.8);
            Users.Add(new UserPlan(string.Create(CultureInfo.InvariantCulture, $"{lower}.{prefix}{number:D4}"), display, role, department, pace, skills));
            return Users.Count - 1;
        }

        IReadOnlyList<int> Crew(int count, int department, IReadOnlyList<string> primaries, IReadOnlyList<string> extras, ref int numbering)
        {
            var crew = new List<int>();
            for (var i = 0; i < count; i++)
            {
                var skills = new List<UserSkill> { new(primaries[i % primaries.Count], people.Next(2, 6)) };
                foreach (var extra in extras)
                {
                    if (skills.TrueForAll(s => s.Skill != extra) && people.Chance(0.25))
                    {
                        skills.Add(new UserSkill(extra, people.Next(1, 5)));
                    }
                }

                crew.Add(User("tech", ++numbering, Role.Technician, department, skills));
            }

            return crew;
        }

        Dictionary<string, int[]> BySkill(IReadOnlyList<int> crew) => Catalogue.Skills.ToDictionary(
            s => s,
            s => crew.Where(u => Users[u].Skills.Any(k => k.Skill == s)).ToArray() is { Length: > 0 } found ? found : [.. crew]);

        var techNumber = 0;
        var managerNumber = 0;
        var operatorNumber = 0;

        Departments.Add(new DepartmentPlan($"Reliability & Planning ({Tag})"));
        User("mgr", ++managerNumber, Role.Manager, 0, []);
        Planner = User("planner", 1, Role.Planner, 0, []);
        User("engineer", 1, Role.ReliabilityEngineer, 0, []);
        AlarmGateway = Users.Count;
        Users.Add(new UserPlan($"{lower}.scada", $"SCADA alarm gateway ({Tag})", Role.Requester, -1, 1, []));

        Departments.Add(new DepartmentPlan($"Facilities ({Tag})"));
        FacilitiesDepartment = Departments.Count - 1;
        FacilitiesManager = User("mgr", ++managerNumber, Role.Manager, FacilitiesDepartment, []);
        var facilitiesCrew = Math.Clamp((int)Math.Ceiling(monthly * (1 - AssetShare) / 40), 2, 300);
        FacilitiesTechnicians = Crew(facilitiesCrew, FacilitiesDepartment, ["hvac", "plumbing", "electrical"], ["electrical", "mechanical"], ref techNumber);
        FacilitiesBySkill = BySkill(FacilitiesTechnicians);
        var facilityFields = new TemplateField[]
        {
            new("area", "Area", FieldKind.Choice, Required: true, Options: [.. Catalogue.Areas], Labels: TemplateSchema.Label("zh-TW", "區域")),
        };
        Templates.Add(new TemplatePlan($"Facility request ({Tag})", TemplateKind.Facility, WorkType.ServiceRequest, 3, FacilitiesDepartment, false, true, facilityFields));
        var facilityTemplate = Templates.Count - 1;

        var perSiteMonthly = monthly * AssetShare / siteCount;
        var perSiteMachines = (int)Math.Ceiling((double)size.Machines / siteCount);
        for (var s = 0; s < siteCount; s++)
        {
            var (code, name, nameZh) = Catalogue.Sites[s];
            Assets.Add(new AssetPlan($"{Tag}-{code}", $"{name} Plant {nameZh}廠", "site", -1, s, null, 5, new DateOnly(2005, 1, 1).AddDays(people.Next(0, 3000)), Degradation.None));
            Departments.Add(new DepartmentPlan($"Maintenance · {name} ({Tag})"));
            var department = Departments.Count - 1;
            var manager = User("mgr", ++managerNumber, Role.Manager, department, [new UserSkill("mechanical", 5), new UserSkill("electrical", 4)]);
            var crew = Crew(
                Math.Clamp((int)Math.Ceiling(perSiteMonthly / 40), 5, 2000),
                department,
                ["mechanical", "electrical", "mechanical", "hydraulics", "plc", "hvac", "electrical", "mechanical"],
                ["mechanical", "electrical", "hydraulics", "plc"],
                ref techNumber);
            var operators = new List<int>();
            for (var i = 0; i < Math.Clamp(perSiteMachines / 4, 3, 5000); i++)
            {
                operators.Add(User("op", ++operatorNumber, Role.Requester, -1, []));
            }

            var templates = new int[Enum.GetValues<TemplateKind>().Length];
            foreach (var (kind, template) in SiteTemplates(name, department))
            {
                Templates.Add(template);
                templates[(int)kind] = Templates.Count - 1;
            }

            templates[(int)TemplateKind.Facility] = facilityTemplate;
            Sites.Add(new SitePlan
            {
                Asset = Assets.Count - 1,
                Name = name,
                Department = department,
                Manager = manager,
                Technicians = crew,
                BySkill = BySkill(crew),
                Operators = operators,
                Templates = templates,
            });
        }

        var lineRandom = new Random(Sampling.Derive(seed, LineStream, 0));
        var lineNumbers = new int[siteCount];
        for (var m = 0; m < size.Machines;)
        {
            var site = Lines.Count % siteCount;
            var lineSize = Math.Min(lineRandom.Next(6, 13), size.Machines - m);
            var process = lineRandom.Pick(Catalogue.LineProcesses);
            var lineCode = string.Create(CultureInfo.InvariantCulture, $"{Assets[Sites[site].Asset].Code}-L{++lineNumbers[site]:D3}");
            var lineName = string.Create(CultureInfo.InvariantCulture, $"Line {lineNumbers[site]:D3} ({process})");
            Assets.Add(new AssetPlan(lineCode, lineName, "line", Sites[site].Asset, site, null, 4, Assets[Sites[site].Asset].InstalledOn, Degradation.None));
            Lines.Add(new LinePlan(Assets.Count - 1, site, lineName, Sampling.Derive(seed, LineStream, Lines.Count + 1)));
            for (var position = 1; position <= lineSize; position++, m++)
            {
                AddMachine(seed, m, Lines.Count - 1, site, lineCode, lineNumbers[site], position, clock);
            }
        }
    }

    private void AddMachine(int seed, int index, int line, int site, string lineCode, int lineNumber, int position, StressClock clock)
    {
        var random = new Random(Sampling.Derive(seed, MachineStream, index));
        var weights = Catalogue.Machines.Sum(t => t.Weight);
        var roll = random.Next(weights);
        var type = Catalogue.Machines.First(t => (roll -= t.Weight) < 0);
        var criticality = random.NextDouble() switch
        {
            < 0.15 => 2,
            < 0.50 => 3,
            < 0.85 => 4,
            _ => 5,
        };
        var installed = DateOnly.FromDateTime(clock.Start).AddDays(-random.Next(30, 12 * 365));
        var monitored = random.Chance(type.MonitoredChance);
        var code = string.Create(CultureInfo.InvariantCulture, $"{lineCode}-M{position:D2}");
        Degradation Wear() => random.Chance(0.1)
            ? new Degradation(clock.WindowDay + ((clock.EndDay - clock.WindowDay) * random.Between(0.1, 0.5)), random.Between(1.5, 3.0))
            : Degradation.None;

        Assets.Add(new AssetPlan(code, string.Create(CultureInfo.InvariantCulture, $"{type.Type.Name} L{lineNumber:D3}-{position}"), "machine", Lines[line].Asset, site, type.Type, criticality, installed, Wear()));
        var machine = Assets.Count - 1;
        var components = new List<int>();
        for (var c = 0; c < type.Components.Count; c++)
        {
            var component = type.Components[c];
            Assets.Add(new AssetPlan(
                string.Create(CultureInfo.InvariantCulture, $"{code}-C{c + 1}"),
                $"{component.Name} {component.NameZh}",
                "component",
                machine,
                site,
                component,
                Math.Max(1, criticality - random.Next(0, 2)),
                installed.AddDays(random.Next(0, 1500)),
                Wear()));
            components.Add(Assets.Count - 1);
        }

        Machines.Add(new MachinePlan(machine, line, site, type, monitored, components, random.Next()));
        Sites[site].Machines++;
    }

    private IEnumerable<(TemplateKind, TemplatePlan)> SiteTemplates(string site, int department)
    {
        yield return (TemplateKind.Repair, new TemplatePlan($"Equipment repair · {site} ({Tag})", TemplateKind.Repair, WorkType.Corrective, 2, department, true, false,
        [
            new("fault_code", "Fault", FieldKind.Choice, Required: true, Options: [.. Catalogue.FaultCodes], Labels: TemplateSchema.Label("zh-TW", "故障類型")),
            new("downtime_hours", "Downtime (hours)", FieldKind.Number, Min: 0, Max: 10000, Labels: TemplateSchema.Label("zh-TW", "停機時數")),
        ]));
        yield return (TemplateKind.MinorFault, new TemplatePlan($"Minor fault report · {site} ({Tag})", TemplateKind.MinorFault, WorkType.Corrective, 3, department, true, false,
        [
            new("symptom", "Symptom", FieldKind.Choice, Required: true, Options: [.. Catalogue.Symptoms], Labels: TemplateSchema.Label("zh-TW", "異常現象")),
        ]));
        yield return (TemplateKind.AlarmCheck, new TemplatePlan($"Alarm check · {site} ({Tag})", TemplateKind.AlarmCheck, WorkType.Inspection, 2, department, true, false,
        [
            new("signal", "Signal", FieldKind.Choice, Required: true, Options: [.. Catalogue.Signals], Labels: TemplateSchema.Label("zh-TW", "訊號")),
            new("reading", "Reading", FieldKind.Number, Labels: TemplateSchema.Label("zh-TW", "讀值")),
        ]));
        yield return (TemplateKind.Preventive, new TemplatePlan($"Preventive maintenance · {site} ({Tag})", TemplateKind.Preventive, WorkType.Preventive, 3, department, true, false,
        [
            new("interval_days", "Interval (days)", FieldKind.Number, Required: true, Min: 1, Max: 3650, Labels: TemplateSchema.Label("zh-TW", "週期（天）")),
            new("checklist", "Checklist", FieldKind.Text, MaxLength: 4000, Labels: TemplateSchema.Label("zh-TW", "檢查清單")),
            new("fault_code", "Fault mode addressed", FieldKind.Choice, Options: [.. Catalogue.FaultCodes], Labels: TemplateSchema.Label("zh-TW", "保養針對的故障模式")),
        ]));
        yield return (TemplateKind.Inspection, new TemplatePlan($"Inspection round · {site} ({Tag})", TemplateKind.Inspection, WorkType.Inspection, 3, department, true, false,
        [
            new("route", "Route", FieldKind.Text, Required: true, MaxLength: 200, Labels: TemplateSchema.Label("zh-TW", "巡檢路線")),
        ]));
    }

    public static string FieldsJson(TemplatePlan template) => JsonSerializer.Serialize(template.Fields, TemplateSchema.Json);
}
