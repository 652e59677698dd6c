using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// The app's own OpenAPI document read as JSON, and requests made from it: the suites that must cover every
/// operation walk this, so an endpoint added later is tried without anyone listing it.
/// </summary>
public sealed partial class OpenApi(JsonNode document)
{
    public JsonNode Document { get; } = document;

    public static async Task<OpenApi> ReadAsync(HttpClient client) =>
        new(JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!);

    /// <summary>Every operation as "METHOD /route" with its OpenAPI node.</summary>
    public IEnumerable<(string Method, string Path, JsonNode Operation)> Operations()
    {
        foreach (var (path, item) in Document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (method is "get" or "post" or "put" or "patch" or "delete")
                {
                    yield return (method.ToUpperInvariant(), path, operation!);
                }
            }
        }
    }

    public JsonNode? Resolve(JsonNode? schema)
    {
        while (schema?["$ref"]?.GetValue<string>() is { } reference)
        {
            schema = Document["components"]!["schemas"]![reference.Split('/')[^1]];
        }

        return schema;
    }

    public static string TypeOf(JsonNode? schema) => schema?["type"]?.ToJsonString() ?? "";

    /// <summary>The route with each <c>{name}</c> replaced by what <paramref name="id"/> says for it (segment before it, name).</summary>
    public static string Fill(string path, Func<string, string, long> id) =>
        Parameter().Replace(path, m =>
        {
            var before = path[..m.Index].TrimEnd('/');
            var segment = before[(before.LastIndexOf('/') + 1)..];
            return id(segment, m.Groups[1].Value).ToString(CultureInfo.InvariantCulture);
        });

    /// <summary>
    /// A body that passes the binder: every required property with a plausible value of its type, where a property
    /// named like an id takes what <paramref name="id"/> gives for it. It need not pass validation.
    /// </summary>
    public JsonNode? Example(JsonNode? schema, Func<string, long?> id, string name = "", int depth = 0)
    {
        schema = Resolve(schema);
        if (schema is null || depth > 5)
        {
            return null;
        }

        if (schema["enum"] is JsonArray { Count: > 0 } choices)
        {
            return choices[0]?.DeepClone();
        }

        var type = TypeOf(schema);
        if (type.Contains("\"object\"", StringComparison.Ordinal) || schema["properties"] is not null)
        {
            var body = new JsonObject();
            var required = (schema["required"]?.AsArray() ?? []).Select(r => r!.GetValue<string>()).ToHashSet();
            foreach (var (property, inner) in schema["properties"]?.AsObject() ?? [])
            {
                if (required.Contains(property) || id(property) is not null)
                {
                    body[property] = Example(inner, id, property, depth + 1);
                }
            }

            return body;
        }

        if (type.Contains("\"array\"", StringComparison.Ordinal))
        {
            return new JsonArray();
        }

        if (type.Contains("\"integer\"", StringComparison.Ordinal) || type.Contains("\"number\"", StringComparison.Ordinal))
        {
            return JsonValue.Create(id(name) ?? 1);
        }

        if (type.Contains("\"boolean\"", StringComparison.Ordinal))
        {
            return JsonValue.Create(false);
        }

        if (type.Contains("\"string\"", StringComparison.Ordinal))
        {
            return schema["format"]?.GetValue<string>() switch
            {
                "date-time" => JsonValue.Create("2030-01-02T08:00:00Z"),
                "date" => JsonValue.Create("2030-01-02"),
                "time" => JsonValue.Create("08:00:00"),
                "int64" or "int32" => JsonValue.Create((id(name) ?? 1).ToString(CultureInfo.InvariantCulture)),
                _ => JsonValue.Create("x1"),
            };
        }

        return null;
    }

    public static HttpContent Json(JsonNode? body) => new StringContent(body?.ToJsonString() ?? "{}", Encoding.UTF8, "application/json");

    [GeneratedRegex("\\{([^}:]+)(:[^}]*)?\\}")]
    private static partial Regex Parameter();
}
