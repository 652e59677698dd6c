using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Dashboard.Tests.Localization;

/// <summary>
/// The resource files as a translator leaves them: every culture has every neutral key and no other, with the same
/// placeholders; and every key the code names literally is in the neutral file.
/// </summary>
public sealed partial class ResourceFileTests
{
    private static readonly string Root = RepositoryRoot();

    public static TheoryData<string> NeutralFiles() => [.. Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.resx", SearchOption.AllDirectories)
        .Where(f => !IsBuildOutput(f) && !Path.GetFileNameWithoutExtension(f).Contains('.', StringComparison.Ordinal))
        .Select(f => Path.GetRelativePath(Root, f))];

    [Theory]
    [MemberData(nameof(NeutralFiles))]
    public void every_culture_of_a_resource_file_has_exactly_its_neutral_keys_with_the_same_placeholders(string neutralFile)
    {
        var neutral = Entries(Path.Combine(Root, neutralFile));
        var cultures = CultureFiles(neutralFile).ToList();
        Assert.Contains(cultures, c => c.Culture == "zh-TW");
        Assert.True(neutral.Count > 10, $"{neutralFile} holds only {neutral.Count} entries");

        foreach (var (culture, file) in cultures)
        {
            var translated = Entries(file);
            Assert.True(neutral.Keys.Except(translated.Keys).ToList() is [], $"{culture} lacks: {string.Join(", ", neutral.Keys.Except(translated.Keys))}");
            Assert.True(translated.Keys.Except(neutral.Keys).ToList() is [], $"{culture} has keys the neutral file lacks: {string.Join(", ", translated.Keys.Except(neutral.Keys))}");
            var disagreeing = neutral.Where(e => !Placeholders(e.Value).SetEquals(Placeholders(translated[e.Key]))).Select(e => e.Key).ToList();
            Assert.True(disagreeing is [], $"{culture} placeholders differ from the neutral text in: {string.Join(", ", disagreeing)}");
            Assert.True(translated.Where(e => string.IsNullOrWhiteSpace(e.Value)).ToList() is [], $"{culture} has empty texts");
        }
    }

    [Fact]
    public void every_key_the_ui_names_in_code_is_in_the_neutral_resources()
    {
        var neutral = Entries(Path.Combine(Root, "src", "Dashboard", "Resources", "UiText.resx"));
        var named = SourceFiles("Dashboard")
            .SelectMany(f => UiKey().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Key: m.Groups["key"].Value)))
            .ToList();

        Assert.True(named.Count > 400, $"found only {named.Count} keys; has the pattern stopped matching?");
        Assert.Empty(named.Where(n => !neutral.ContainsKey(n.Key)).Select(n => $"{n.File}: {n.Key}").Distinct());
    }

    [Fact]
    public void every_refusal_code_in_code_is_in_the_neutral_refusal_texts()
    {
        var neutral = Entries(Path.Combine(Root, "src", "Ticketing", "Resources", "Refusals.resx"));
        var areas = neutral.Keys.Select(k => k.Split('.')[0]).ToHashSet(StringComparer.Ordinal);

        // A literal shaped like a code (area.name) whose area is one the refusal texts use, wherever it is written:
        // Failure.Invalid(field, "code"), errors.Add(field, "code"), new Refusal("code"), a switch arm.
        var named = new[] { "Ticketing", "Dashboard", "Ingest", "Analytics" }.SelectMany(SourceFiles)
            .SelectMany(f => CodeLiteral().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Code: m.Groups["code"].Value)))
            .Where(n => areas.Contains(n.Code.Split('.')[0]))
            .ToList();

        Assert.True(named.Count > 200, $"found only {named.Count} codes; has the pattern stopped matching?");
        Assert.Empty(named.Where(n => !neutral.ContainsKey(n.Code)).Select(n => $"{n.File}: {n.Code}").Distinct());
        var unused = neutral.Keys.Except(named.Select(n => n.Code)).ToList();
        Assert.True(unused is [], $"texts no code names: {string.Join(", ", unused)}");
    }

    [Fact]
    public void every_member_of_an_enum_the_ui_names_has_its_key()
    {
        var neutral = Entries(Path.Combine(Root, "src", "Dashboard", "Resources", "UiText.resx"));
        (string Group, Type Enum)[] labelled =
        [
            ("Status", typeof(WorkOrderStatus)), ("Action", typeof(WorkOrderAction)), ("WorkType", typeof(WorkType)), ("FieldKind", typeof(FieldKind)),
            ("AssetKind", typeof(AssetKind)), ("Source", typeof(WorkOrderSource)), ("Role", typeof(Role)), ("Strategy", typeof(AssignmentStrategy)),
        ];

        var missing = labelled.SelectMany(l => Enum.GetNames(l.Enum).Select(name => $"{l.Group}.{name}")).Where(key => !neutral.ContainsKey(key)).ToList();
        Assert.True(missing is [], $"missing: {string.Join(", ", missing)}");
    }

    internal static Dictionary<string, string> Entries(string file) =>
        XDocument.Load(file).Root!.Elements("data").ToDictionary(d => (string)d.Attribute("name")!, d => (string?)d.Element("value") ?? "", StringComparer.Ordinal);

    internal static IEnumerable<string> SourceFiles(string project) =>
        Directory.EnumerateFiles(Path.Combine(Root, "src", project), "*.*", SearchOption.AllDirectories)
            .Where(f => (f.EndsWith(".razor", StringComparison.Ordinal) || f.EndsWith(".cs", StringComparison.Ordinal)) && !IsBuildOutput(f));

    private static IEnumerable<(string Culture, string File)> CultureFiles(string neutralFile)
    {
        var full = Path.Combine(Root, neutralFile);
        var name = Path.GetFileNameWithoutExtension(full);
        return Directory.EnumerateFiles(Path.GetDirectoryName(full)!, $"{name}.*.resx")
            .Select(f => (Culture: Path.GetFileNameWithoutExtension(f)[(name.Length + 1)..], File: f))
            .Where(c => CultureInfo.GetCultureInfo(c.Culture) is { });
    }

    private static HashSet<string> Placeholders(string text) => [.. Placeholder().Matches(text).Select(m => m.Groups["index"].Value)];

    private static bool IsBuildOutput(string path) =>
        path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WorkOrders.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("WorkOrders.sln not found above the test's folder.");
    }

    // T["Key"] and T["Key", args] as pages and helpers write them.
    [GeneratedRegex("""\bT\[\s*"(?<key>[^"]+)"\s*[\],]""")]
    private static partial Regex UiKey();

    [GeneratedRegex(@"(?<![$@\w])""(?<code>[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)""")]
    private static partial Regex CodeLiteral();

    // {0}, {1:N0}, {2,5}; an escaped {{ is text.
    [GeneratedRegex(@"(?<!\{)\{(?<index>\d+)(?:[,:][^}]*)?\}")]
    private static partial Regex Placeholder();
}
