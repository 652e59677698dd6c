using System.Text.RegularExpressions;

namespace WorkOrders.Dashboard.Tests.Localization;

/// <summary>
/// The field app (a WebAssembly project no test project can load) keeps its words in one table per language in
/// src/FieldApp/Localization/Strings.cs; read as text, both tables have the same keys, the same placeholders, and every
/// key the app's pages name.
/// </summary>
public sealed partial class FieldAppTextTests
{
    private static readonly string Folder = Path.Combine(Root(), "src", "FieldApp");

    [Fact]
    public void english_and_traditional_chinese_have_the_same_keys_and_placeholders_and_every_key_the_pages_name()
    {
        var text = File.ReadAllText(Path.Combine(Folder, "Localization", "Strings.cs"));
        var split = text.IndexOf("ZhTw", StringComparison.Ordinal);
        var en = Entries(text[..split]);
        var zh = Entries(text[split..]);

        Assert.True(en.Count > 80, $"found only {en.Count} English texts; has the pattern stopped matching?");
        Assert.Equal(en.Keys.Order(StringComparer.Ordinal), zh.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(en.Where(e => Placeholders(e.Value) != Placeholders(zh[e.Key])).Select(e => e.Key));
        Assert.Empty(zh.Where(e => e.Value.Length == 0 || e.Value == en[e.Key] && e.Key is not ("app_name" or "other_language")).Select(e => e.Key));

        var named = Directory.EnumerateFiles(Folder, "*.*", SearchOption.AllDirectories)
            .Where(f => (f.EndsWith(".razor", StringComparison.Ordinal) || f.EndsWith(".cs", StringComparison.Ordinal))
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => Named().Matches(File.ReadAllText(f)).Select(m => m.Groups["key"].Value))
            .Distinct()
            .ToList();
        Assert.True(named.Count > 60, $"found only {named.Count} keys in the pages");
        Assert.All(named, k => Assert.True(en.ContainsKey(k), $"no text for {k}"));
    }

    private static Dictionary<string, string> Entries(string table) =>
        Entry().Matches(table).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value, StringComparer.Ordinal);

    private static string Placeholders(string value) => string.Join(",", Placeholder().Matches(value).Select(m => m.Value).Order(StringComparer.Ordinal));

    private static string Root()
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

    [GeneratedRegex("""\["(?<key>[a-z_]+)"\] = "(?<value>[^"]*)",""")]
    private static partial Regex Entry();

    [GeneratedRegex("""\b(?:T|texts)\["(?<key>[a-z_]+)"\]""")]
    private static partial Regex Named();

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex Placeholder();
}
