using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>Problems speak the language of Accept-Language (English without one) and carry stable codes in every language.</summary>
public sealed class LocalizedProblemTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static object Untitled(TestOrg org) => new
    {
        templateId = org.TemplateId, title = " ", description = "Oil under the pump.", assetId = org.MachineId, customFields = new { fault_code = "fire" },
    };

    private async Task<JsonElement> CreateRefusedAsync(TestOrg org, string? language)
    {
        using var client = await host.SignedInAsync(org[Role.Requester]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/work-orders") { Content = JsonContent.Create(Untitled(org)) };
        if (language is not null)
        {
            request.Headers.AcceptLanguage.ParseAdd(language);
        }

        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string[] Texts(JsonElement problem, string property, string field) =>
        [.. problem.GetProperty(property).GetProperty(field).EnumerateArray().Select(e => e.GetString()!)];

    [Fact]
    public async Task a_validation_problem_without_accept_language_is_english_and_names_the_codes()
    {
        var org = await TestOrg.CreateAsync(host.Data);

        var problem = await CreateRefusedAsync(org, language: null);

        Assert.Equal("The request has invalid fields.", problem.GetProperty("title").GetString());
        Assert.Equal(["is required."], Texts(problem, "errors", "title"));
        Assert.Equal(["must be one of: bearing, leak, other."], Texts(problem, "errors", "customFields.fault_code"));
        Assert.Equal(["field.required"], Texts(problem, "codes", "title"));
        Assert.Equal(["field.one_of"], Texts(problem, "codes", "customFields.fault_code"));
        Assert.Contains("title: is required.", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task with_accept_language_zh_tw_the_same_problem_is_traditional_chinese_with_the_same_codes()
    {
        var org = await TestOrg.CreateAsync(host.Data);

        var problem = await CreateRefusedAsync(org, "zh-TW,zh;q=0.9,en;q=0.5");

        Assert.Equal("請求中有欄位不正確。", problem.GetProperty("title").GetString());
        Assert.Equal(["必填。"], Texts(problem, "errors", "title"));
        Assert.Equal(["必須是下列之一：bearing, leak, other。"], Texts(problem, "errors", "customFields.fault_code"));
        Assert.Equal(["field.required"], Texts(problem, "codes", "title"));
        Assert.Equal(["field.one_of"], Texts(problem, "codes", "customFields.fault_code"));
    }

    [Fact]
    public async Task an_api_call_ignores_the_pages_culture_cookie_and_a_refusal_carries_its_code()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Requester]);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/work-orders/999999999");
        request.Headers.Add("Cookie", ".AspNetCore.Culture=c%3Dzh-TW%7Cuic%3Dzh-TW");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("Not found.", "Work order 999999999 was not found.", "work_order.not_found"),
            (problem.GetProperty("title").GetString(), problem.GetProperty("detail").GetString(), problem.GetProperty("code").GetString()));
    }

    [Fact]
    public async Task an_anonymous_call_is_told_how_to_sign_in_in_its_language()
    {
        using var client = host.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/work-orders");
        request.Headers.AcceptLanguage.ParseAdd("zh-TW");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("未登入", problem.GetProperty("title").GetString());
        Assert.StartsWith("請先登入", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("status.unauthorized", problem.GetProperty("code").GetString());
    }
}
