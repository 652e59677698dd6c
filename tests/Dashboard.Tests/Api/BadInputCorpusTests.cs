using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// A corpus of bad input made from the OpenAPI document: for every operation that takes a body, malformed JSON and,
/// for each of its properties, a value of the wrong type, an unknown enumeration value, an impossible date, an id
/// beyond 64 bits and a huge or control-character string; for every id in a route, 0, -1 and beyond 64 bits; for
/// every upload, a cut multipart body and one without its file. Each must be a 4xx problem that names the field (or
/// the body, or the resource), and nothing may be stored.
/// </summary>
public sealed class BadInputCorpusTests(ApiHost host) : IClassFixture<ApiHost>
{
    private const string Beyond64Bits = "18446744073709551616";

    [Fact]
    public async Task every_bad_input_of_the_corpus_is_a_4xx_problem_naming_the_field_and_stores_nothing()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var clients = new Dictionary<Role, HttpClient>();
        foreach (var role in Roles.All)
        {
            clients[role] = await host.SignedInAsync(org[role]);
        }

        var openApi = await OpenApi.ReadAsync(clients[Role.Admin]);
        var before = await ChecksumsAsync();

        var cases = 0;
        var operations = new HashSet<string>();
        var failures = new List<string>();
        foreach (var (method, path, operation) in openApi.Operations())
        {
            foreach (var (label, url, content, field) in Cases(openApi, method, path, operation))
            {
                cases++;
                operations.Add($"{method} {path}");
                var (status, type, problem) = await SendAsync(clients, method, url, content);
                var named = field is null || field.Split('|').Any(f => problem?["errors"]?[f] is not null);
                if ((int)status is < 400 or > 499 || type != "application/problem+json" || !named)
                {
                    failures.Add($"{method} {path} [{label}]: {(int)status} {type} {problem?.ToJsonString()}");
                }
            }
        }

        Console.WriteLine($"bad-input corpus: {cases} cases over {operations.Count} operations, {failures.Count} failures");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases failed:\n" + string.Join('\n', failures));
        Assert.True(cases >= 200, $"only {cases} cases came out of the OpenAPI document");
        var after = await ChecksumsAsync();
        Assert.Equal(before.Where(t => after[t.Key] != t.Value).Select(t => t.Key), []);
    }

    /// <summary>The cases of one operation: a label, the URL, the body, and the field the problem must name (null: any 4xx problem).</summary>
    private static IEnumerable<(string Label, string Url, Func<HttpContent?> Content, string? Field)> Cases(OpenApi openApi, string method, string path, JsonNode operation)
    {
        var url = OpenApi.Fill(path, (_, _) => 1);
        var requestBody = operation["requestBody"]?["content"];
        var schema = openApi.Resolve(requestBody?["application/json"]?["schema"]);
        Func<HttpContent?> noBody = () => method is "GET" or "DELETE" ? null : OpenApi.Json(new JsonObject());

        // Route ids: zero, negative and beyond 64 bits, each answered with a problem (404 for an id that names nothing).
        foreach (var parameter in operation["parameters"]?.AsArray() ?? [])
        {
            var type = OpenApi.TypeOf(openApi.Resolve(parameter?["schema"]));
            if (parameter?["in"]?.GetValue<string>() != "path" || !type.Contains("integer", StringComparison.Ordinal))
            {
                continue;
            }

            var name = parameter["name"]!.GetValue<string>();
            foreach (var id in new[] { "0", "-1", Beyond64Bits })
            {
                var bad = OpenApi.Fill(path, (_, n) => n == name ? long.MinValue : 1).Replace(long.MinValue.ToString(System.Globalization.CultureInfo.InvariantCulture), id, StringComparison.Ordinal);
                yield return ($"{name}={id}", bad, noBody, null);
            }
        }

        if (requestBody?["multipart/form-data"] is not null)
        {
            yield return ("multipart cut", url, () => Multipart("--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello, never ends"), "body");
            yield return ("multipart without a file", url, () => Multipart("--b1\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--b1--\r\n"), null);
        }

        if (schema is null)
        {
            yield break;
        }

        yield return ("malformed JSON", url, () => Raw("{\"a\": "), "body");
        yield return ("JSON of two values", url, () => Raw("{} {}"), "body");
        foreach (var (property, inner) in schema["properties"]?.AsObject() ?? [])
        {
            var propertySchema = openApi.Resolve(inner);
            var type = OpenApi.TypeOf(propertySchema);
            var format = propertySchema?["format"]?.GetValue<string>();
            IEnumerable<(string Label, string Json)> values = propertySchema?["enum"] is not null
                ? [("unknown enumeration value", "\"no_such_value\""), ("wrong type", "[1]")]
                : type.Contains("\"string\"", StringComparison.Ordinal) && format is "date-time" or "date"
                    ? [("impossible date", "\"2030-02-30T25:61:00Z\""), ("wrong type", "true")]
                    : type.Contains("\"integer\"", StringComparison.Ordinal)
                        ? [("wrong type", "\"twelve\""), ("beyond 64 bits", Beyond64Bits)]
                        : type.Contains("\"number\"", StringComparison.Ordinal)
                            ? [("wrong type", "\"twelve\""), ("out of range number", "1e400")]
                            : type.Contains("\"boolean\"", StringComparison.Ordinal)
                                ? [("wrong type", "\"maybe\"")]
                                : type.Contains("\"string\"", StringComparison.Ordinal)
                                    ? [("wrong type", "{\"a\": 1}"), ("control character", "\"a\\u001Bb\""), ("huge string", $"\"{new string('x', 300_000)}\"")]
                                    : type.Contains("\"array\"", StringComparison.Ordinal)
                                        ? [("wrong type", "\"not a list\"")]
                                        : type.Contains("\"object\"", StringComparison.Ordinal) || propertySchema?["properties"] is not null
                                            ? [("wrong type", "42")]
                                            : [];
            foreach (var (label, json) in values)
            {
                // A huge string may be stopped by the body size limit before anything reads the field.
                yield return ($"{property}: {label}", url, () => Raw($"{{\"{property}\": {json}}}"), label == "huge string" ? $"{property}|body" : property);
            }
        }
    }

    private static StringContent Raw(string json) => new(json, Encoding.UTF8, "application/json");

    private static StringContent Multipart(string body)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b1");
        return content;
    }

    /// <summary>Sent as the administrator, or as the first role the operation lets in, so the answer is about the input.</summary>
    private static async Task<(HttpStatusCode Status, string? Type, JsonNode? Problem)> SendAsync(Dictionary<Role, HttpClient> clients, string method, string url, Func<HttpContent?> content)
    {
        HttpResponseMessage? response = null;
        foreach (var role in Roles.All.OrderBy(r => r != Role.Admin))
        {
            response?.Dispose();
            using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = content() };
            response = await clients[role].SendAsync(request);
            if (response.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized))
            {
                break;
            }
        }

        using (response)
        {
            var text = await response!.Content.ReadAsStringAsync();
            return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, text.StartsWith('{') ? JsonNode.Parse(text) : null);
        }
    }

    /// <summary>A checksum of every table's rows, so "nothing stored" covers changed rows as well as new ones.</summary>
    private async Task<Dictionary<string, string>> ChecksumsAsync()
    {
        await using var connection = await host.Data.OpenConnectionAsync();
        var tables = await connection.QueryAsync<string>("SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
        var sums = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            sums[table] = await connection.ExecuteScalarAsync<string>($"SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') FROM {table} t") ?? "";
        }

        return sums;
    }
}
