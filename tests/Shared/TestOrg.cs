using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Tests;

/// <summary>
/// A small organisation made by one test for itself: a department with one user of every role (password "pw-test"),
/// a site > line > machine asset chain, and a repair template with required custom fields. Names carry a unique
/// suffix so that many of these live side by side in one database.
/// </summary>
public sealed record TestOrg(
    string Suffix,
    long DepartmentId,
    string DepartmentName,
    IReadOnlyDictionary<Role, Actor> Users,
    Actor OtherTechnician,
    Actor OutsideManager,
    long SiteId,
    long MachineId,
    long TemplateId,
    string TemplateName)
{
    public const string Password = "pw-test";

    public Actor this[Role role] => Users[role];

    public static async Task<TestOrg> CreateAsync(NpgsqlDataSource dataSource)
    {
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await using var connection = await dataSource.OpenConnectionAsync();
        var department = await connection.ExecuteScalarAsync<long>("INSERT INTO departments (name) VALUES (@n) RETURNING id", new { n = $"Dept {suffix}" });
        var otherDepartment = await connection.ExecuteScalarAsync<long>("INSERT INTO departments (name) VALUES (@n) RETURNING id", new { n = $"Other {suffix}" });
        await connection.ExecuteAsync("INSERT INTO skills (name) VALUES ('mechanical') ON CONFLICT DO NOTHING");

        var hash = new PasswordHasher<Users>().HashPassword(null!, Password);
        async Task<Actor> User(string name, Role role, long? dept)
        {
            var userName = $"{name}-{suffix}";
            var id = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO users (user_name, display_name, password_hash, role, department_id) VALUES (@userName, @display, @hash, @role, @dept) RETURNING id",
                new { userName, display = $"{name} {suffix}", hash, role = Roles.ToName(role), dept });
            return new Actor(id, userName, role, dept);
        }

        var users = new Dictionary<Role, Actor>();
        foreach (var role in Roles.All)
        {
            users[role] = await User(Roles.ToName(role).Replace('_', '-'), role, role is Role.Manager or Role.Technician or Role.Planner or Role.ReliabilityEngineer ? department : null);
        }

        var otherTechnician = await User("tech2", Role.Technician, department);
        var outsideManager = await User("outside", Role.Manager, otherDepartment);

        var site = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind) VALUES (@c, 'Site', 'site') RETURNING id", new { c = $"S-{suffix}" });
        var line = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind, parent_id) VALUES (@c, 'Line', 'line', @site) RETURNING id", new { c = $"L-{suffix}", site });
        var machine = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind, parent_id, asset_type) VALUES (@c, 'Pump', 'machine', @line, 'pump') RETURNING id", new { c = $"M-{suffix}", line });

        TemplateField[] fields =
        [
            new("fault_code", "Fault", FieldKind.Choice, Required: true, Options: ["bearing", "leak", "other"], Labels: TemplateSchema.Label("zh-TW", "故障類型")),
            new("downtime_hours", "Downtime (hours)", FieldKind.Number, Min: 0, Max: 100),
            new("observed_on", "Observed on", FieldKind.Date),
            new("notes", "Notes", FieldKind.Text, MaxLength: 50),
            new("related_asset", "Related asset", FieldKind.Asset),
        ];
        var templateName = $"Repair {suffix}";
        var template = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields)
            VALUES (@templateName, 'corrective', 3, @department, true, @fields::jsonb) RETURNING id
            """,
            new { templateName, department, fields = JsonSerializer.Serialize(fields, TemplateSchema.Json) });

        return new TestOrg(suffix, department, $"Dept {suffix}", users, otherTechnician, outsideManager, site, machine, template, templateName);
    }
}
