using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>
/// The one rule for what no input may hold, tried on every operation of the OpenAPI document (so an endpoint added
/// later is covered without touching this test) and on the paths that are not in it (the sign-in form, multipart).
/// Every refusal must be a 400 problem naming the field, and nothing may be stored.
/// </summary>
public sealed class InputGuardTests(ApiHost host) : IClassFixture<ApiHost>
{
    private const string Nul = "pump\u0000room";

    [Fact]
    public async Task a_nul_in_any_string_of_any_json_body_in_the_openapi_document_is_a_400_naming_that_field_and_stores_nothing()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var clients = await ClientsAsync(org);
        var document = await OpenApiAsync(clients[Role.Admin]);
        var rowsBefore = await RowsAsync();

        var cases = 0;
        var failures = new List<string>();
        foreach (var (method, path, operation) in Operations(document))
        {
            if (operation["requestBody"]?["content"]?["application/json"]?["schema"] is not { } schema)
            {
                continue;
            }

            foreach (var (field, body) in BodiesWithOneBadString(document, schema))
            {
                cases++;
                var (status, problem) = await SendAsync(clients, method, path, JsonContent(body));
                var named = problem?["errors"]?[field] is not null && problem["codes"]?[field]?[0]?.GetValue<string>() == "text.control_character";
                if (status != HttpStatusCode.BadRequest || !named)
                {
                    failures.Add($"{method} {path} {field}: {(int)status} {problem?.ToJsonString()}");
                }
            }
        }

        Assert.Empty(failures);
        Assert.True(cases >= 100, $"only {cases} body cases came out of the OpenAPI document");
        Assert.Equal(rowsBefore, await RowsAsync());
    }

    [Fact]
    public async Task a_bad_query_string_or_paging_value_is_refused_the_same_way_on_every_operation_that_takes_one()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        var clients = await ClientsAsync(org);
        var document = await OpenApiAsync(clients[Role.Admin]);

        var cases = 0;
        var failures = new List<string>();
        foreach (var (method, path, operation) in Operations(document))
        {
            foreach (var parameter in operation["parameters"]?.AsArray() ?? [])
            {
                if (parameter?["in"]?.GetValue<string>() != "query")
                {
                    continue;
                }

                var name = parameter["name"]!.GetValue<string>();
                var type = Resolve(document, parameter["schema"])?["type"]?.ToString();
                string[] values = name is "skip" ? ["-1", "100000001", "x"] : name is "take" ? ["0", "-1", "201", "100000000"] : type == "string" ? [Nul, "a\u001Bb"] : [];
                foreach (var value in values)
                {
                    cases++;
                    var (status, problem) = await SendAsync(clients, method, $"{path}?{name}={Uri.EscapeDataString(value)}", method == "GET" ? null : JsonContent(new JsonObject()));
                    if (status != HttpStatusCode.BadRequest || problem?["errors"]?[name] is null)
                    {
                        failures.Add($"{method} {path}?{name}={value}: {(int)status} {problem?.ToJsonString()}");
                    }
                }
            }
        }

        Assert.Empty(failures);
        Assert.True(cases >= 40, $"only {cases} query cases came out of the OpenAPI document");
    }

    [Theory]
    [InlineData("{\"title\": \"Leak\",", "body", "body.malformed")]
    [InlineData("{\"title\": \"Leak\" \"x\": 1}", "body", "body.malformed")]
    [InlineData("{\"title\": \"\\ud800\"}", "title", "text.invalid_unicode")]
    [InlineData("{\"customFields\": {\"fault_code\": \"a\\u0007b\"}}", "customFields.fault_code", "text.control_character")]
    [InlineData("{\"items\": [{\"note\": \"ok\"}, {\"note\": \"a\\u009Fb\"}]}", "items[1].note", "text.control_character")]
    [InlineData("{\"na\\u0000me\": 1}", "na\u0000me", "text.control_character")]
    public async Task malformed_json_is_blamed_on_the_body_and_a_bad_string_on_its_path(string body, string field, string code)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Requester]);

        var response = await client.PostAsync("/api/v1/work-orders", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(code, problem.GetProperty("codes").GetProperty(field)[0].GetString());
    }

    [Fact]
    public async Task tabs_line_breaks_and_chinese_text_with_emoji_pass_and_are_stored_as_sent()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Requester]);
        const string description = "第一行\t漏油\r\n第二行 🔧 泵浦";

        var response = await client.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = "泵浦漏油", description, assetId = org.MachineId, customFields = new { fault_code = "leak" },
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await using var connection = await host.Data.OpenConnectionAsync();
        Assert.Equal(description, await connection.ExecuteScalarAsync<string>("SELECT description FROM work_orders WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task a_nul_in_the_sign_in_form_or_the_login_api_is_a_400_not_a_500()
    {
        using var client = host.Anonymous();

        var form = await client.PostAsync("/account/login", new FormUrlEncodedContent([new("userName", "admin\u0000"), new("password", "x")]));
        var api = await client.PostAsJsonAsync("/api/v1/auth/login", new { userName = "admin\u0000", password = "x" });

        Assert.Equal(HttpStatusCode.BadRequest, form.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, api.StatusCode);
        Assert.Equal("text.control_character", (await api.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").GetProperty("userName")[0].GetString());
    }

    [Fact]
    public async Task a_multipart_upload_cut_before_its_closing_boundary_or_with_a_bad_file_name_is_a_400_and_stores_no_attachment()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Requester]);
        var created = await client.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = "Leak", description = "Oil under the pump.", assetId = org.MachineId, customFields = new { fault_code = "leak" },
        });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        const string cut = "--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello, this part never ends";
        var cutContent = new StringContent(cut, Encoding.UTF8);
        cutContent.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b1");
        var cutResponse = await client.PostAsync($"/api/v1/work-orders/{id}/attachments", cutContent);

        using var named = new MultipartFormDataContent { { new ByteArrayContent("hello"u8.ToArray()), "file", "re\u0001port.txt" } };
        var namedResponse = await client.PostAsync($"/api/v1/work-orders/{id}/attachments", named);

        Assert.Equal(HttpStatusCode.BadRequest, cutResponse.StatusCode);
        var cutProblem = await cutResponse.Content.ReadAsStringAsync();
        Assert.True(cutProblem.Contains("\"body.unreadable\"", StringComparison.Ordinal), cutProblem);
        Assert.Equal(HttpStatusCode.BadRequest, namedResponse.StatusCode);
        Assert.Equal("text.control_character", (await namedResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").GetProperty("file")[0].GetString());
        await using var connection = await host.Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM attachments WHERE work_order_id = @id", new { id }));
    }

    [Fact]
    public async Task a_url_longer_than_the_limit_is_a_414_with_a_problem_body()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Manager]);

        var response = await client.GetAsync("/api/v1/work-orders?text=" + new string('a', Ticketing.Api.InputGuard.MaxUrlLength));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("status.url_too_long", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    private async Task<Dictionary<Role, HttpClient>> ClientsAsync(TestOrg org)
    {
        var clients = new Dictionary<Role, HttpClient>();
        foreach (var role in Roles.All)
        {
            clients[role] = await host.SignedInAsync(org[role]);
        }

        return clients;
    }

    /// <summary>Sent as the administrator, or as the first role the operation lets in: the guard runs after authorization.</summary>
    private static async Task<(HttpStatusCode Status, JsonNode? Problem)> SendAsync(Dictionary<Role, HttpClient> clients, string method, string path, HttpContent? content)
    {
        var url = path.Replace("{id}", "1", StringComparison.Ordinal);
        url = System.Text.RegularExpressions.Regex.Replace(url, "\\{[^}]+\\}", "1");
        HttpResponseMessage? response = null;
        foreach (var role in Roles.All.OrderBy(r => r != Role.Admin))
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = content is null ? null : await CopyAsync(content) };
            response = await clients[role].SendAsync(request);
            if (response.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized))
            {
                break;
            }
        }

        var text = await response!.Content.ReadAsStringAsync();
        return (response.StatusCode, text.StartsWith('{') ? JsonNode.Parse(text) : null);
    }

    private static async Task<HttpContent> CopyAsync(HttpContent content)
    {
        var copy = new ByteArrayContent(await content.ReadAsByteArrayAsync());
        copy.Headers.ContentType = content.Headers.ContentType;
        return copy;
    }

    private static StringContent JsonContent(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<JsonNode> OpenApiAsync(HttpClient client) =>
        JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;

    private static IEnumerable<(string Method, string Path, JsonNode Operation)> Operations(JsonNode document)
    {
        foreach (var (path, item) in document["paths"]!.AsObject())
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

    /// <summary>One body per string the schema can hold (nested objects and arrays of objects included), that string carrying a NUL.</summary>
    private static IEnumerable<(string Field, JsonNode Body)> BodiesWithOneBadString(JsonNode document, JsonNode schema)
    {
        foreach (var (field, build) in StringPaths(document, schema, "", depth: 0))
        {
            yield return (field, build(JsonValue.Create(Nul)));
        }
    }

    private static IEnumerable<(string Field, Func<JsonNode, JsonNode> Build)> StringPaths(JsonNode document, JsonNode? schema, string prefix, int depth)
    {
        schema = Resolve(document, schema);
        if (schema is null || depth > 4)
        {
            yield break;
        }

        var type = schema["type"]?.ToJsonString() ?? "";
        if (type.Contains("\"string\"", StringComparison.Ordinal) && schema["format"] is null && schema["enum"] is null)
        {
            yield return (prefix, value => value);
        }

        foreach (var (name, property) in schema["properties"]?.AsObject() ?? [])
        {
            var field = prefix.Length == 0 ? name : $"{prefix}.{name}";
            foreach (var (inner, build) in StringPaths(document, property, field, depth + 1))
            {
                yield return (inner, value => new JsonObject { [name] = build(value) });
            }
        }

        if (schema["items"] is { } items)
        {
            foreach (var (inner, build) in StringPaths(document, items, prefix + "[0]", depth + 1))
            {
                yield return (inner, value => new JsonArray(build(value)));
            }
        }

        if (schema["additionalProperties"] is JsonObject values)
        {
            var field = prefix.Length == 0 ? "key" : $"{prefix}.key";
            foreach (var (inner, build) in StringPaths(document, values, field, depth + 1))
            {
                yield return (inner, value => new JsonObject { ["key"] = build(value) });
            }
        }

        foreach (var choice in (schema["oneOf"] ?? schema["anyOf"])?.AsArray() ?? [])
        {
            foreach (var path in StringPaths(document, choice, prefix, depth + 1))
            {
                yield return path;
            }
        }
    }

    private static JsonNode? Resolve(JsonNode document, JsonNode? schema)
    {
        while (schema?["$ref"]?.GetValue<string>() is { } reference)
        {
            schema = document["components"]!["schemas"]![reference.Split('/')[^1]];
        }

        return schema;
    }

    /// <summary>Every row of every table, so "nothing stored" is checked across the whole database.</summary>
    private async Task<long> RowsAsync()
    {
        await using var connection = await host.Data.OpenConnectionAsync();
        var tables = await connection.QueryAsync<string>("SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
        return await connection.ExecuteScalarAsync<long>("SELECT " + string.Join(" + ", tables.Select(t => $"(SELECT count(*) FROM {t})")));
    }
}
