using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Tests.Api;

/// <summary>Values of the right type that are still wrong: refused with the field named, and nothing stored.</summary>
public sealed class InputRangeTests(ApiHost host) : IClassFixture<ApiHost>
{
    [Theory]
    [InlineData("0001-01-01T00:00:00Z", HttpStatusCode.BadRequest)]
    [InlineData("1970-01-01T00:00:00Z", HttpStatusCode.BadRequest)]
    [InlineData("2100-01-01T00:00:00Z", HttpStatusCode.BadRequest)]
    [InlineData("2027-06-30T12:00:00Z", HttpStatusCode.Created)]
    public async Task a_due_date_outside_2000_to_2099_is_refused_naming_due_at(string dueAt, HttpStatusCode expected)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Requester]);
        var title = $"Due {dueAt} {org.Suffix}";

        var response = await client.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title, description = "Oil under the pump.", assetId = org.MachineId, dueAt, customFields = new { fault_code = "leak" },
        });

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.BadRequest)
        {
            Assert.Equal("field.from_to", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").GetProperty("dueAt")[0].GetString());
            await using var connection = await host.Data.OpenConnectionAsync();
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM work_orders WHERE title = @title", new { title }));
        }
    }

    [Theory]
    [InlineData("no-at-sign.example")]
    [InlineData("two@@example.com")]
    [InlineData("someone@localhost")]
    [InlineData("with space@example.com")]
    public async Task an_e_mail_address_that_no_mail_server_takes_is_refused_naming_email(string email)
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var admin = await host.SignedInAsync(org[Role.Admin]);
        var userName = $"mail-{Guid.NewGuid():N}"[..20];

        var response = await admin.PostAsJsonAsync("/api/v1/users", new { userName, password = "long-enough", role = "requester", email });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("user.email_form", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").GetProperty("email")[0].GetString());
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/users", new { userName, password = "long-enough", role = "requester", email = "ok@example.com" })).StatusCode);
    }

    [Fact]
    public async Task a_program_uploaded_as_plain_text_is_refused_and_a_big5_csv_is_taken()
    {
        var org = await TestOrg.CreateAsync(host.Data);
        using var client = await host.SignedInAsync(org[Role.Requester]);
        var created = await client.PostAsJsonAsync("/api/v1/work-orders", new
        {
            templateId = org.TemplateId, title = "Leak", description = "Oil under the pump.", assetId = org.MachineId, customFields = new { fault_code = "leak" },
        });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        byte[] elf = [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3E, 0];
        byte[] big5 = [0xA4, 0xA4, 0xA4, 0xE5, (byte)',', (byte)'1', (byte)'\r', (byte)'\n', 0xB4, 0xFA, 0xB8, 0xD5, (byte)',', (byte)'2', (byte)'\r', (byte)'\n'];

        var program = await UploadAsync(client, id, "notes.txt", "text/plain", elf);
        var sheet = await UploadAsync(client, id, "readings.csv", "text/csv", big5);

        Assert.Equal(HttpStatusCode.BadRequest, program.StatusCode);
        Assert.Equal("attachment.content", (await program.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").GetProperty("file")[0].GetString());
        Assert.Equal(HttpStatusCode.Created, sheet.StatusCode);
        await using var connection = await host.Data.OpenConnectionAsync();
        Assert.Equal(["readings.csv"], await connection.QueryAsync<string>("SELECT file_name FROM attachments WHERE work_order_id = @id", new { id }));
    }

    private static Task<HttpResponseMessage> UploadAsync(HttpClient client, long workOrderId, string name, string type, byte[] content)
    {
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        var form = new MultipartFormDataContent { { file, "file", name } };
        return client.PostAsync($"/api/v1/work-orders/{workOrderId}/attachments", form);
    }
}
