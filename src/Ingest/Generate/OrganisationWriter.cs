using Dapper;
using Microsoft.AspNetCore.Identity;
using Npgsql;
using NpgsqlTypes;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ingest.Generate;

/// <summary>Writes the generated organisation (departments, people, assets, templates) and the failure laws behind it.</summary>
public static class OrganisationWriter
{
    public const string Password = "demo";

    private const string InsertSkills = """
        INSERT INTO skills (name) SELECT unnest(@skills) ON CONFLICT (name) DO NOTHING
        """;

    private const string CopyDepartments = "COPY departments (id, name) FROM STDIN (FORMAT BINARY)";

    private const string CopyUsers = """
        COPY users (id, user_name, display_name, email, password_hash, role, department_id, active, created_at)
        FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyUserSkills = "COPY user_skills (user_id, skill, level) FROM STDIN (FORMAT BINARY)";

    private const string CopyAssets = """
        COPY assets (id, code, name, kind, parent_id, asset_type, location, criticality, installed_on, lifecycle, commissioned_on, updated_at)
        FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyTemplates = """
        COPY templates (id, name, work_type, default_priority, department_id, asset_required, contact_required, fields, active,
            row_version, updated_at)
        FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyModes = """
        COPY generator.failure_modes (run_id, asset_type, fault_code, shape, scale_days, pm_effect, summer_amplitude)
        FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyDegradations = """
        COPY generator.degradations (run_id, asset_id, starts_at, stress_per_year) FROM STDIN (FORMAT BINARY)
        """;

    public static async Task WriteAsync(NpgsqlConnection connection, Plant plant, StressClock clock, IdBlocks ids, long runId, CancellationToken cancellationToken)
    {
        // Hashing is deliberately slow: one hash serves every generated account.
        var hash = new PasswordHasher<Users>().HashPassword(null!, Password);
        var joined = clock.Start.AddDays(-30);
        await connection.ExecuteAsync(new CommandDefinition(InsertSkills, new { skills = Catalogue.Skills.ToArray() }, cancellationToken: cancellationToken));

        await using (var copy = await connection.BeginBinaryImportAsync(CopyDepartments, cancellationToken))
        {
            for (var i = 0; i < plant.Departments.Count; i++)
            {
                copy.StartRow();
                copy.Write(ids.Departments + i, NpgsqlDbType.Bigint);
                copy.Write(plant.Departments[i].Name, NpgsqlDbType.Text);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyUsers, cancellationToken))
        {
            for (var i = 0; i < plant.Users.Count; i++)
            {
                var user = plant.Users[i];
                copy.StartRow();
                copy.Write(ids.Users + i, NpgsqlDbType.Bigint);
                copy.Write(user.UserName, NpgsqlDbType.Text);
                copy.Write(user.DisplayName, NpgsqlDbType.Text);
                copy.Write($"{user.UserName}@example.com", NpgsqlDbType.Text);
                copy.Write(hash, NpgsqlDbType.Text);
                copy.Write(Roles.ToName(user.Role), NpgsqlDbType.Text);
                if (user.Department >= 0)
                {
                    copy.Write(ids.Departments + user.Department, NpgsqlDbType.Bigint);
                }
                else
                {
                    copy.WriteNull();
                }

                copy.Write(true, NpgsqlDbType.Boolean);
                copy.Write(joined, NpgsqlDbType.TimestampTz);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyUserSkills, cancellationToken))
        {
            for (var i = 0; i < plant.Users.Count; i++)
            {
                foreach (var skill in plant.Users[i].Skills)
                {
                    copy.StartRow();
                    copy.Write(ids.Users + i, NpgsqlDbType.Bigint);
                    copy.Write(skill.Skill, NpgsqlDbType.Text);
                    copy.Write((short)skill.Level, NpgsqlDbType.Smallint);
                }
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyAssets, cancellationToken))
        {
            for (var i = 0; i < plant.Assets.Count; i++)
            {
                var asset = plant.Assets[i];
                copy.StartRow();
                copy.Write(ids.Assets + i, NpgsqlDbType.Bigint);
                copy.Write(asset.Code, NpgsqlDbType.Text);
                copy.Write(asset.Name, NpgsqlDbType.Text);
                copy.Write(asset.Kind, NpgsqlDbType.Text);
                if (asset.Parent >= 0)
                {
                    copy.Write(ids.Assets + asset.Parent, NpgsqlDbType.Bigint);
                }
                else
                {
                    copy.WriteNull();
                }

                if (asset.Type is { } type)
                {
                    copy.Write(type.Code, NpgsqlDbType.Text);
                }
                else
                {
                    copy.WriteNull();
                }

                copy.Write(Catalogue.Sites[asset.Site].Code, NpgsqlDbType.Text);
                copy.Write((short)asset.Criticality, NpgsqlDbType.Smallint);
                copy.Write(asset.InstalledOn, NpgsqlDbType.Date);
                copy.Write("in_service", NpgsqlDbType.Text);
                // Commissioned the day it was installed and untouched since: the same seed gives the same rows.
                copy.Write(asset.InstalledOn, NpgsqlDbType.Date);
                copy.Write(asset.InstalledOn.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), NpgsqlDbType.TimestampTz);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyTemplates, cancellationToken))
        {
            for (var i = 0; i < plant.Templates.Count; i++)
            {
                var template = plant.Templates[i];
                copy.StartRow();
                copy.Write(ids.Templates + i, NpgsqlDbType.Bigint);
                copy.Write(template.Name, NpgsqlDbType.Text);
                copy.Write(WireNames.Of(template.WorkType), NpgsqlDbType.Text);
                copy.Write((short)template.DefaultPriority, NpgsqlDbType.Smallint);
                copy.Write(ids.Departments + template.Department, NpgsqlDbType.Bigint);
                copy.Write(template.AssetRequired, NpgsqlDbType.Boolean);
                copy.Write(template.ContactRequired, NpgsqlDbType.Boolean);
                copy.Write(Plant.FieldsJson(template), NpgsqlDbType.Jsonb);
                copy.Write(true, NpgsqlDbType.Boolean);
                copy.Write(1, NpgsqlDbType.Integer);
                copy.Write(joined, NpgsqlDbType.TimestampTz);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyModes, cancellationToken))
        {
            foreach (var type in Catalogue.AllTypes)
            {
                foreach (var mode in type.Modes)
                {
                    copy.StartRow();
                    copy.Write(runId, NpgsqlDbType.Bigint);
                    copy.Write(type.Code, NpgsqlDbType.Text);
                    copy.Write(mode.FaultCode, NpgsqlDbType.Text);
                    copy.Write(mode.Shape, NpgsqlDbType.Double);
                    copy.Write(mode.ScaleDays, NpgsqlDbType.Double);
                    copy.Write(mode.PmEffect, NpgsqlDbType.Double);
                    copy.Write(mode.SummerAmplitude, NpgsqlDbType.Double);
                }
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(CopyDegradations, cancellationToken))
        {
            for (var i = 0; i < plant.Assets.Count; i++)
            {
                var degradation = plant.Assets[i].Degradation;
                if (!degradation.Degrades)
                {
                    continue;
                }

                copy.StartRow();
                copy.Write(runId, NpgsqlDbType.Bigint);
                copy.Write(ids.Assets + i, NpgsqlDbType.Bigint);
                copy.Write(clock.ToTime(degradation.StartDay), NpgsqlDbType.TimestampTz);
                copy.Write(degradation.PerYear, NpgsqlDbType.Double);
            }

            await copy.CompleteAsync(cancellationToken);
        }
    }
}
