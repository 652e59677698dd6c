using System.Text.RegularExpressions;
using WorkOrders.Dashboard.Localization;

namespace WorkOrders.Dashboard.Tests.Components;

public sealed partial class TranslationTests
{
    [Fact]
    public void every_text_the_pages_show_has_a_traditional_chinese_translation()
    {
        var source = Path.Combine(RepositoryRoot(), "src", "Dashboard");
        var english = Directory.EnumerateFiles(source, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".razor", StringComparison.Ordinal) || f.EndsWith(".cs", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => UiText().Matches(File.ReadAllText(f)).Select(m => m.Groups["text"].Value))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        Assert.True(english.Count > 100, $"found only {english.Count} texts; has the pattern stopped matching?");
        Assert.Empty(Text.Missing(english));
    }

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

    // T["..."] and T.Format("...", ...) as the pages and Labels write them.
    [GeneratedRegex("""\b(?:T|text)(?:\[\s*|\.Format\(\s*)"(?<text>(?:[^"\\]|\\.)*)"(?=\s*[\],])""")]
    private static partial Regex UiText();
}
