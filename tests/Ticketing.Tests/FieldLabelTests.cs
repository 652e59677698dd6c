using System.Globalization;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>A custom field's label per culture: what is shown in which language, what is refused, and how old fields moved over.</summary>
public sealed class FieldLabelTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly TemplateField Fault = new("fault_code", "Fault", FieldKind.Text,
        Labels: new Dictionary<string, string> { ["zh-TW"] = "故障類型", ["zh"] = "故障", ["de"] = "Störung" });

    private NpgsqlDataSource Data => database.DataSource;

    [Theory]
    [InlineData("zh-TW", "故障類型")]
    [InlineData("zh-CN", "故障")]
    [InlineData("de-AT", "Störung")]
    [InlineData("fr", "Fault")]
    [InlineData("en", "Fault")]
    public void a_label_falls_back_from_the_culture_to_its_parents_and_then_to_the_neutral_label(string culture, string shown) =>
        Assert.Equal(shown, Fault.LabelFor(CultureInfo.GetCultureInfo(culture)));

    [Fact]
    public void a_label_under_an_unknown_culture_name_or_an_empty_or_overlong_one_is_refused_naming_the_field()
    {
        var errors = new FieldErrors();
        TemplateSchema.ValidateDefinition(
        [
            Fault with { Labels = new Dictionary<string, string> { ["klingon-XX"] = "x", ["zh-tw"] = "x" } },
            Fault with { Key = "notes", Labels = new Dictionary<string, string> { ["zh-TW"] = " ", ["de"] = new string('x', 101) } },
        ], errors);

        var texts = errors.ToFailure().Texts(CultureInfo.InvariantCulture);
        Assert.Equal(["fields[0].labels", "fields[1].labels.zh-TW", "fields[1].labels.de"], texts.Keys);
        Assert.Equal(["'klingon-XX' is not a culture name such as zh-TW or de.", "'zh-tw' is not a culture name such as zh-TW or de."], texts["fields[0].labels"]);
        Assert.Equal(["is required, at most 100 characters."], texts["fields[1].labels.de"]);
        Assert.False(Validated(Fault).Any);
    }

    [Fact]
    public async Task a_template_keeps_its_labels_per_culture_through_a_save_and_a_read()
    {
        var org = await TestOrg.CreateAsync(Data);
        var templates = new Templates.Templates(Data);

        var saved = await templates.CreateAsync(
            new TemplateRequest($"Labels {org.Suffix}", WorkType.Corrective, 3, org.DepartmentId, Fields: [Fault]), org[Role.Admin], CancellationToken.None);

        var read = (await templates.FindAsync(saved.Value!.Id, CancellationToken.None))!.Fields.Single();
        Assert.Equal(Fault.Labels, read.Labels);
    }

    [Fact]
    public async Task the_migration_turns_a_stored_chinese_label_into_the_label_of_zh_tw()
    {
        var org = await TestOrg.CreateAsync(Data);
        await using var connection = await Data.OpenConnectionAsync();
        var id = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO templates (name, work_type, default_priority, department_id, fields)
            VALUES (@name, 'corrective', 3, @department,
                    '[{"key": "fault_code", "label": "Fault", "kind": "text", "labelZh": "故障類型"}, {"key": "notes", "label": "Notes", "kind": "text", "labelZh": ""}, {"key": "area", "label": "Area", "kind": "text"}]')
            RETURNING id
            """,
            new { name = $"Before labels {org.Suffix}", department = org.DepartmentId });

        await connection.ExecuteAsync(MigrationText("0012_field_labels.sql"));

        var fields = (await new Templates.Templates(Data).FindAsync(id, CancellationToken.None))!.Fields;
        Assert.Equal(("故障類型", "Fault"), (fields[0].LabelFor(CultureInfo.GetCultureInfo("zh-TW")), fields[0].Label));
        Assert.Null(fields[1].Labels);
        Assert.Equal(["fault_code", "notes", "area"], fields.Select(f => f.Key));
        Assert.False(await connection.ExecuteScalarAsync<bool>("SELECT fields::text LIKE '%labelZh%' FROM templates WHERE id = @id", new { id }));
    }

    private static FieldErrors Validated(params TemplateField[] fields)
    {
        var errors = new FieldErrors();
        TemplateSchema.ValidateDefinition(fields, errors);
        return errors;
    }

    private static string MigrationText(string file)
    {
        var assembly = typeof(Failure).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(file, StringComparison.Ordinal));
        using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
        return reader.ReadToEnd();
    }
}
