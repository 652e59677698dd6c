namespace WorkOrders.Ingest.Generate;

/// <summary>
/// One way an asset type fails. Time between failures is Weibull(shape, scale) in stress-days (see <see cref="StressClock"/>).
/// PmEffect is the share of the mode's effective age a preventive maintenance removes (0: PM does not help);
/// SummerAmplitude how much faster the stress clock runs at the height of summer (0.6: 60 % faster in July);
/// AlarmChance and MinorChance the chances that a sensor alarm (on a monitored machine) or a reported minor fault
/// precede a failure; RepairHours the median hands-on time of the repair.
/// </summary>
public sealed record FailureMode(
    string FaultCode,
    double Shape,
    double ScaleDays,
    double PmEffect,
    double SummerAmplitude,
    string Skill,
    double AlarmChance,
    double MinorChance,
    double RepairHours);

/// <summary>A kind of machine or component, with how it fails.</summary>
public sealed record AssetType(
    string Code,
    string Name,
    string NameZh,
    IReadOnlyList<FailureMode> Modes,
    string Signal,
    string Symptom);

/// <summary>A kind of machine: its own failure modes, its components, and how often it gets preventive maintenance.</summary>
public sealed record MachineType(AssetType Type, int Weight, int PmIntervalDays, double MonitoredChance, IReadOnlyList<AssetType> Components);

/// <summary>The asset types, failure laws, skills and phrases of the generated plants.</summary>
public static class Catalogue
{
    public static IReadOnlyList<string> FaultCodes { get; } =
        ["bearing", "overheating", "leak", "electrical", "vibration", "wear", "blockage", "misalignment", "sensor", "other"];

    public static IReadOnlyList<string> Skills { get; } = ["mechanical", "electrical", "hydraulics", "plc", "hvac", "plumbing"];

    public static IReadOnlyList<string> Symptoms { get; } = ["noise", "vibration", "drip", "heat", "smell", "intermittent_stop"];

    public static IReadOnlyList<string> Signals { get; } = ["vibration", "temperature", "pressure", "current", "flow"];

    public static IReadOnlyList<string> Areas { get; } = ["Production", "Warehouse", "Office"];

    private static FailureMode Bearing(double scale, double summer = 0) => new("bearing", 2.3, scale, 0.5, summer, "mechanical", 0.6, 0.5, 4);

    private static FailureMode Overheating(double scale, double summer, string skill = "electrical") => new("overheating", 1.3, scale, 0.3, summer, skill, 0.5, 0.3, 2.5);

    private static FailureMode Leak(double scale, double shape = 1.6, double summer = 0) => new("leak", shape, scale, 0.45, summer, "hydraulics", 0.3, 0.5, 3);

    private static FailureMode Electrical(double scale) => new("electrical", 1.0, scale, 0, 0, "electrical", 0.1, 0.2, 2);

    private static FailureMode Vibration(double scale, double summer = 0) => new("vibration", 2.0, scale, 0.4, summer, "mechanical", 0.5, 0.3, 3);

    private static FailureMode Wear(double scale, double shape = 2.8) => new("wear", shape, scale, 0.45, 0, "mechanical", 0, 0.4, 4);

    private static FailureMode Blockage(double scale, double summer = 0, string skill = "mechanical") => new("blockage", 2.2, scale, 0.7, summer, skill, 0.3, 0.3, 1.5);

    private static FailureMode Misalignment(double scale) => new("misalignment", 1.8, scale, 0.55, 0, "mechanical", 0.1, 0.5, 2);

    private static FailureMode Sensor(double scale) => new("sensor", 0.9, scale, 0, 0, "plc", 0.4, 0.2, 1);

    private static readonly AssetType Spindle = new("spindle", "Spindle", "主軸", [Bearing(440), Vibration(600)], "vibration", "noise");
    private static readonly AssetType ServoMotor = new("servo_motor", "Servo motor", "伺服馬達", [Bearing(600), Overheating(760, 0.5), Electrical(1040)], "current", "heat");
    private static readonly AssetType DriveMotor = new("drive_motor", "Drive motor", "驅動馬達", [Bearing(520), Overheating(680, 0.6), Electrical(960)], "temperature", "heat");
    private static readonly AssetType CoolantPump = new("coolant_pump", "Coolant pump", "冷卻液泵", [Leak(400, 1.5), Blockage(320)], "flow", "drip");
    private static readonly AssetType HydraulicPump = new("hydraulic_pump", "Hydraulic pump", "液壓泵", [Leak(360, 1.8, 0.2), Wear(520, 2.5)], "pressure", "drip");
    private static readonly AssetType ValveBlock = new("valve_block", "Valve block", "閥組", [Leak(480, 1.4), Sensor(880)], "pressure", "drip");
    private static readonly AssetType HeaterBand = new("heater_band", "Heater band", "加熱圈", [Electrical(280), Overheating(480, 0.5)], "temperature", "smell");
    private static readonly AssetType ScrewBarrel = new("screw_barrel", "Screw and barrel", "螺桿料管", [Wear(600, 3.0)], "temperature", "noise");
    private static readonly AssetType Gearbox = new("gearbox", "Gearbox", "減速機", [Wear(560, 3.0), Leak(640, 1.5), Vibration(680)], "vibration", "noise");
    private static readonly AssetType AirDryer = new("air_dryer", "Air dryer", "乾燥機", [Blockage(240, 0.7, "hvac")], "temperature", "heat");
    private static readonly AssetType Fan = new("fan", "Supply fan", "送風機", [Bearing(480, 0.3), Vibration(600, 0.2)], "vibration", "noise");
    private static readonly AssetType Gripper = new("gripper", "Gripper", "夾爪", [Wear(280, 2.2), Sensor(600)], "current", "intermittent_stop");
    private static readonly AssetType CentrifugalPump = new("centrifugal_pump", "Centrifugal pump", "離心泵", [Leak(400, 1.6, 0.3), Bearing(520, 0.2)], "vibration", "drip");

    public static IReadOnlyList<MachineType> Machines { get; } =
    [
        new(new("cnc_lathe", "CNC lathe", "CNC車床", [Electrical(1040), Sensor(1200)], "current", "noise"), 3, 90, 0.7, [Spindle, ServoMotor, CoolantPump]),
        new(new("machining_center", "Machining centre", "加工中心", [Electrical(1120), Misalignment(640)], "vibration", "vibration"), 2, 90, 0.7, [Spindle, ServoMotor, CoolantPump]),
        new(new("hydraulic_press", "Hydraulic press", "油壓機", [Leak(360, 1.6, 0.2), Electrical(1000)], "pressure", "drip"), 2, 90, 0.6, [HydraulicPump, ValveBlock]),
        new(new("injection_molding", "Injection moulding machine", "射出成型機", [Overheating(600, 0.6), Leak(560)], "temperature", "heat"), 2, 60, 0.6, [HeaterBand, HydraulicPump, ScrewBarrel]),
        new(new("conveyor", "Conveyor", "輸送帶", [Misalignment(280), Wear(360, 2.5)], "current", "noise"), 3, 60, 0.3, [DriveMotor, Gearbox]),
        new(new("air_compressor", "Air compressor", "空壓機", [Overheating(440, 0.8, "hvac"), Leak(520, 1.5)], "temperature", "heat"), 1, 90, 0.9, [DriveMotor, AirDryer]),
        new(new("ahu", "Air handling unit", "空調箱", [Blockage(160, 0.3, "hvac"), Overheating(600, 0.9, "hvac")], "temperature", "smell"), 1, 90, 0.8, [Fan]),
        new(new("packaging_robot", "Packaging robot", "包裝機器人", [Sensor(600), Misalignment(480)], "current", "intermittent_stop"), 2, 90, 0.8, [ServoMotor, Gripper]),
        new(new("cooling_pump", "Cooling water pump set", "冷卻水泵組", [Blockage(360), Electrical(1200)], "flow", "vibration"), 1, 180, 0.7, [CentrifugalPump, DriveMotor]),
    ];

    /// <summary>Every asset type that can fail, machine and component alike, each once.</summary>
    public static IReadOnlyList<AssetType> AllTypes { get; } = Machines
        .SelectMany(m => m.Components.Prepend(m.Type))
        .DistinctBy(t => t.Code)
        .ToList();

    public static IReadOnlyList<(string Code, string Name, string NameZh)> Sites { get; } =
    [
        ("TY", "Taoyuan", "桃園"), ("HC", "Hsinchu", "新竹"), ("TC", "Taichung", "台中"), ("TN", "Tainan", "台南"),
        ("KH", "Kaohsiung", "高雄"), ("CH", "Changhua", "彰化"), ("YL", "Yunlin", "雲林"), ("CY", "Chiayi", "嘉義"),
        ("PT", "Pingtung", "屏東"), ("IL", "Yilan", "宜蘭"), ("KL", "Keelung", "基隆"), ("ML", "Miaoli", "苗栗"),
    ];

    public static IReadOnlyList<string> LineProcesses { get; } = ["machining", "pressing", "moulding", "assembly", "packaging", "utilities"];

    public static IReadOnlyList<(string Latin, string Han)> Surnames { get; } =
    [
        ("Chen", "陳"), ("Lin", "林"), ("Huang", "黃"), ("Chang", "張"), ("Li", "李"), ("Wang", "王"), ("Wu", "吳"), ("Liu", "劉"),
        ("Tsai", "蔡"), ("Yang", "楊"), ("Hsu", "許"), ("Cheng", "鄭"), ("Hsieh", "謝"), ("Kuo", "郭"), ("Hung", "洪"), ("Tseng", "曾"),
    ];

    public static IReadOnlyList<(string Latin, string Han)> GivenNames { get; } =
    [
        ("Wei-ting", "威廷"), ("Mei-hua", "美華"), ("Chih-ming", "志明"), ("Yu-ting", "郁婷"), ("Chun-hao", "俊豪"), ("Shu-fen", "淑芬"),
        ("Chia-hung", "家宏"), ("Hsin-yi", "欣怡"), ("Kuan-yu", "冠宇"), ("Ya-wen", "雅雯"), ("Po-han", "柏翰"), ("Pei-shan", "佩珊"),
        ("Jun-jie", "俊傑"), ("I-chen", "怡真"), ("Tsung-han", "宗翰"), ("Hui-ling", "慧玲"), ("Cheng-en", "承恩"), ("Yi-hsuan", "宜萱"),
    ];

    public static IReadOnlyList<string> FailureTitles(string faultCode) => faultCode switch
    {
        "bearing" => ["Bearing noise, machine stopped", "Bearing seized", "Bearing running hot 軸承過熱"],
        "overheating" => ["Overheating alarm tripped the machine", "Motor overheating 馬達過熱", "Temperature too high, unit shut down"],
        "leak" => ["Oil leak under the machine", "Hydraulic pressure drops", "Leak at the seal 漏油"],
        "electrical" => ["Breaker trips on start", "No power to the drive", "Control cabinet fault 電氣故障"],
        "vibration" => ["Heavy vibration at full speed", "Vibration out of limits 振動異常"],
        "wear" => ["Worn part, output out of tolerance", "Excessive wear 磨耗"],
        "blockage" => ["Flow blocked", "Filter clogged 堵塞"],
        "misalignment" => ["Belt running off track", "Misalignment, parts jam 對位不良"],
        "sensor" => ["Sensor fault stops the cycle", "Position sensor not detected 感測器異常"],
        _ => ["Breakdown"],
    };

    public static string RepairNote(string faultCode) => faultCode switch
    {
        "bearing" => "Replaced the bearing, greased and test-ran for 30 minutes.",
        "overheating" => "Cleaned the cooling path, replaced the fan and checked the load.",
        "leak" => "Replaced the seal and topped up the oil; no leak under pressure.",
        "electrical" => "Replaced the failed contactor and checked the wiring.",
        "vibration" => "Balanced and re-tightened the mounting; vibration back in limits.",
        "wear" => "Replaced the worn parts and re-adjusted.",
        "blockage" => "Cleared the blockage and replaced the filter.",
        "misalignment" => "Re-aligned and tensioned; ran a test batch.",
        "sensor" => "Replaced the sensor and re-taught the position.",
        _ => "Repaired and tested.",
    };
}
