using System.Collections.Frozen;
using System.Globalization;

namespace WorkOrders.Dashboard.Localization;

/// <summary>
/// The UI's words in English and Traditional Chinese. The English text is the key, so a missing translation
/// shows English rather than a blank; <see cref="Missing"/> lets a test find them.
/// </summary>
public sealed class Text
{
    private static readonly FrozenDictionary<string, string> ZhTw = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Sign in"] = "登入",
        ["Sign out"] = "登出",
        ["User name"] = "使用者名稱",
        ["Password"] = "密碼",
        ["The user name or password is wrong."] = "使用者名稱或密碼錯誤。",
        ["Language"] = "語言",
        ["My work"] = "我的工作",
        ["Work orders"] = "工單",
        ["New work order"] = "新增工單",
        ["Assets"] = "設備資產",
        ["Templates"] = "工單範本",
        ["Your role may not open this page."] = "您的角色無權開啟此頁面。",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public string this[string english] =>
        CultureInfo.CurrentUICulture.Name == "zh-TW" && ZhTw.TryGetValue(english, out var translated) ? translated : english;

    /// <summary>Formats a translated pattern with the current culture.</summary>
    public string Format(string english, params object?[] args) => string.Format(CultureInfo.CurrentCulture, this[english], args);

    public static bool Has(string english) => ZhTw.ContainsKey(english);

    public static IEnumerable<string> Missing(IEnumerable<string> english) => english.Where(e => !ZhTw.ContainsKey(e));
}
